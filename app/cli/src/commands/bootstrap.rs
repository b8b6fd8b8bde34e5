//! `keel bootstrap --config <file>`: keel-migrations' idempotent bootstrap.

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::output::{Render, Table};
use keel_client::Chain;
use keel_migrations::{Config, Options, Report};
use serde::Serialize;

/// The bootstrap's report.
#[derive(Clone, Debug, Serialize)]
pub struct Bootstrapped {
    /// What was found and done.
    #[serde(flatten)]
    pub report: Report,
    /// How many things differ from the config.
    pub mismatches: usize,
}

impl Render for Bootstrapped {
    fn render(&self) -> String {
        let mut t = Table::new(&["kind", "name", "address", "status", "details"]);
        for i in &self.report.items {
            t.row(vec![
                i.kind.into(),
                i.name.clone(),
                i.address.clone(),
                serde_json::to_value(i.status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                i.details.join("; "),
            ]);
        }
        let mut s = t.to_string();
        s.push_str(&format!(
            "\n{} transaction(s) sent{}; {} mismatch(es)\n",
            self.report.sent.len(),
            if self.report.dry_run {
                " (dry run)"
            } else {
                ""
            },
            self.mismatches
        ));
        s
    }
}

/// Runs the bootstrap in `path`.
pub async fn bootstrap<C: Chain>(
    env: &Env<C>,
    config: &Config,
    opts: Options,
) -> CliResult<Bootstrapped> {
    let report = keel_migrations::bootstrap(&env.chain, config, opts)
        .await
        .map_err(|f| {
            let mut msg = f.to_string();
            for i in f.report.mismatches() {
                msg.push_str(&format!(
                    "\n  mismatch: {} {}: {}",
                    i.kind,
                    i.name,
                    i.details.join("; ")
                ));
            }
            CliError::Chain(msg)
        })?;
    let mismatches = report.mismatches().count();
    Ok(Bootstrapped { report, mismatches })
}
