//! `keel demo`: the main job on an embedded default — keel-demo's replay of real price history
//! on an in-process chain, with a progress bar, its summary as a table or JSON, and its chart.

use crate::output::Render;
use crate::CliError;
use keel_demo::summary::Summary;
use keel_demo::DemoConfig;

/// The demo's summary as a CLI result.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct DemoReport(pub Summary);

impl Render for DemoReport {
    fn render(&self) -> String {
        self.0.table()
    }
}

/// Runs the demo with `cfg` in-process, or on a local validator (`validator`). In-process the
/// program runs natively and Anchor prints its logs ("Instruction: …", "AnchorError …") to
/// standard output: they are silenced while the chain runs (they are in each transaction's log,
/// which the demo reads), so `--output json` prints JSON only. Progress goes to standard error.
pub async fn demo(
    cfg: &DemoConfig,
    progress: bool,
    validator: Option<keel_demo::validator::Target>,
) -> Result<DemoReport, CliError> {
    if !cfg.prices.is_file() {
        return Err(CliError::Usage(format!(
            "{}: no such price file (pass --prices <csv>: date|time,open,high,low,close[,volume])",
            cfg.prices.display()
        )));
    }
    let bar = if progress {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} bars ({elapsed})")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message("replaying");
    let silence = gag::Gag::stdout().ok();
    let on_bar = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let r = match validator {
        None => keel_demo::run(cfg, on_bar).await,
        Some(target) => {
            bar.set_message("replaying on the validator");
            keel_demo::run_on_validator(cfg, target, on_bar).await
        }
    };
    drop(silence);
    bar.finish_and_clear();
    r.map(DemoReport).map_err(|e| CliError::Chain(e.0))
}
