//! The keeper's configuration from flags, environment variables and a TOML file, in that order
//! of precedence, over the Solana CLI's own config file (`~/.config/solana/cli/config.yml`:
//! RPC URL, keypair, commitment) and defaults.

use crate::plan::Policy;
use crate::tracker::Backoff;
use crate::KeeperConfig;
use clap::Parser;
use keel_client::view::OracleDirectory;
use keel_client::{Budget, Pubkey};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Flags (each also readable from the environment variable named beside it).
#[derive(Parser, Debug, Default)]
#[command(
    name = "keel-keeper",
    version,
    about = "Keel's liquidation, volatility and settlement keeper"
)]
pub struct Args {
    /// TOML config file (keys as the long flags, with underscores).
    #[arg(long, env = "KEEL_KEEPER_CONFIG")]
    pub config: Option<PathBuf>,
    /// RPC URL or moniker (mainnet-beta, devnet, testnet, localhost).
    #[arg(long, short = 'u', env = "KEEL_RPC_URL")]
    pub url: Option<String>,
    /// Solana CLI JSON keypair of the keeper (fee payer and owner of its margin account).
    #[arg(long, short = 'k', env = "KEEL_KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// The Keel program id.
    #[arg(long, env = "KEEL_PROGRAM_ID")]
    pub program_id: Option<String>,
    /// Commitment: processed, confirmed or finalized.
    #[arg(long, env = "KEEL_COMMITMENT")]
    pub commitment: Option<String>,
    /// Seconds between passes.
    #[arg(long, env = "KEEL_POLL_INTERVAL_SECS")]
    pub poll_interval_secs: Option<f64>,
    /// Compute-unit limit of each transaction (default: 1,400,000, and `liquidate` asks for what
    /// its simulation used plus 20% and 10,000; a limit given here is used as given).
    #[arg(long, env = "KEEL_CU_LIMIT")]
    pub cu_limit: Option<u32>,
    /// Priority fee, micro-lamports per compute unit.
    #[arg(long, env = "KEEL_PRIORITY_FEE")]
    pub priority_fee: Option<u64>,
    /// The keeper's margin account id (the liquidator; PDA of the keypair and this id).
    #[arg(long, env = "KEEL_ACCOUNT_ID")]
    pub account_id: Option<u32>,
    /// The most of a book taken over per liquidation call, basis points.
    #[arg(long, env = "KEEL_MAX_FRACTION_BPS")]
    pub max_fraction_bps: Option<u16>,
    /// Crank a market at least this often (seconds).
    #[arg(long, env = "KEEL_CRANK_MAX_INTERVAL_SECS")]
    pub crank_max_interval_secs: Option<i64>,
    /// Crank when the oracle moved this much (basis points).
    #[arg(long, env = "KEEL_CRANK_MIN_MOVE_BPS")]
    pub crank_min_move_bps: Option<u64>,
    /// Do not settle expired series and positions.
    #[arg(long, env = "KEEL_NO_SETTLE")]
    pub no_settle: bool,
    /// Metrics endpoint (Prometheus text format), localhost by default.
    #[arg(long, env = "KEEL_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Oracle account of a market that does not pin one: MARKET=ACCOUNT (repeatable).
    #[arg(long = "oracle", value_name = "MARKET=ACCOUNT")]
    pub oracles: Vec<String>,
    /// Run one pass and exit.
    #[arg(long)]
    pub once: bool,
    /// React to websocket notifications (Keel program, oracles, clock) instead of polling.
    #[arg(long, env = "KEEL_SUBSCRIBE")]
    pub subscribe: bool,
    /// Websocket URL (default: the RPC URL's, as the Solana CLI derives it).
    #[arg(long, env = "KEEL_WS_URL")]
    pub ws_url: Option<String>,
    /// With --subscribe: seconds between full getProgramAccounts resyncs.
    #[arg(long, env = "KEEL_RESYNC_SECS")]
    pub resync_secs: Option<f64>,
}

/// The TOML file.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub url: Option<String>,
    pub keypair: Option<PathBuf>,
    pub program_id: Option<String>,
    pub commitment: Option<String>,
    pub poll_interval_secs: Option<f64>,
    pub cu_limit: Option<u32>,
    pub priority_fee: Option<u64>,
    pub account_id: Option<u32>,
    pub max_fraction_bps: Option<u16>,
    pub crank_max_interval_secs: Option<i64>,
    pub crank_min_move_bps: Option<u64>,
    pub no_settle: Option<bool>,
    pub metrics_addr: Option<SocketAddr>,
    pub subscribe: Option<bool>,
    pub ws_url: Option<String>,
    pub resync_secs: Option<f64>,
    /// Market address → oracle account address.
    #[serde(default)]
    pub oracles: std::collections::BTreeMap<String, String>,
}

/// What the Solana CLI's config file says (the fields the keeper uses).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SolanaCliConfig {
    pub json_rpc_url: Option<String>,
    pub keypair_path: Option<PathBuf>,
    pub commitment: Option<String>,
}

impl SolanaCliConfig {
    /// Parses the YAML of `~/.config/solana/cli/config.yml` (flat `key: value` lines).
    pub fn parse(text: &str) -> Self {
        let mut c = SolanaCliConfig::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v
                .trim()
                .trim_matches(|ch| ch == '"' || ch == '\'')
                .to_string();
            if v.is_empty() {
                continue;
            }
            match k.trim() {
                "json_rpc_url" => c.json_rpc_url = Some(v),
                "keypair_path" => c.keypair_path = Some(PathBuf::from(v)),
                "commitment" => c.commitment = Some(v),
                _ => {}
            }
        }
        c
    }

    /// The user's Solana CLI config, if there is one.
    pub fn load() -> Self {
        home()
            .map(|h| h.join(".config/solana/cli/config.yml"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub keypair: PathBuf,
    pub program_id: Pubkey,
    pub commitment: String,
    pub poll_interval_secs: f64,
    pub account_id: u32,
    pub metrics_addr: SocketAddr,
    pub once: bool,
    /// React to subscriptions instead of polling.
    pub subscribe: bool,
    /// The websocket URL.
    pub ws_url: String,
    /// Seconds between resyncs (with `subscribe`).
    pub resync_secs: f64,
    pub keeper: KeeperConfig,
}

/// A configuration error, worded for the operator.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn pubkey(what: &str, s: &str) -> Result<Pubkey, ConfigError> {
    Pubkey::from_str(s).map_err(|_| ConfigError(format!("{what}: '{s}' is not a base58 address")))
}

/// Reads the TOML config file at `path`.
pub fn read_file(path: &Path) -> Result<File, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
}

/// Resolves flags/env over the file over the Solana CLI config over defaults.
pub fn resolve(a: Args, file: File, cli: SolanaCliConfig) -> Result<Settings, ConfigError> {
    let url = a
        .url
        .or(file.url)
        .or(cli.json_rpc_url)
        .unwrap_or_else(|| "localhost".into());
    let keypair = a
        .keypair
        .or(file.keypair)
        .or(cli.keypair_path)
        .or_else(|| home().map(|h| h.join(".config/solana/id.json")))
        .ok_or_else(|| ConfigError("no keypair: pass --keypair".into()))?;
    let program_id = match a.program_id.or(file.program_id) {
        Some(s) => pubkey("program id", &s)?,
        None => keel::ID,
    };
    if program_id != keel::ID {
        return Err(ConfigError(format!(
            "program id {program_id}: this keeper is built for {} (keel-client derives every address from it); rebuild after `anchor keys sync`",
            keel::ID
        )));
    }
    let commitment = a
        .commitment
        .or(file.commitment)
        .or(cli.commitment)
        .unwrap_or_else(|| "confirmed".into());
    if !["processed", "confirmed", "finalized"].contains(&commitment.as_str()) {
        return Err(ConfigError(format!(
            "commitment '{commitment}': use processed, confirmed or finalized"
        )));
    }
    let poll_interval_secs = a
        .poll_interval_secs
        .or(file.poll_interval_secs)
        .unwrap_or(2.0);
    if !(poll_interval_secs > 0.0 && poll_interval_secs <= 3_600.0) {
        return Err(ConfigError(
            "poll interval must be in (0, 3600] seconds".into(),
        ));
    }
    let max_fraction_bps = a
        .max_fraction_bps
        .or(file.max_fraction_bps)
        .unwrap_or(10_000);
    if !(1..=10_000).contains(&max_fraction_bps) {
        return Err(ConfigError(
            "max fraction must be 1..=10000 basis points".into(),
        ));
    }
    let fixed_cu_limit = a.cu_limit.or(file.cu_limit);
    let cu_limit = fixed_cu_limit.unwrap_or(Budget::MAX_CU_LIMIT);
    if !(1_000..=1_400_000).contains(&cu_limit) {
        return Err(ConfigError(
            "compute-unit limit must be 1000..=1400000".into(),
        ));
    }
    let mut oracles = OracleDirectory::default();
    for (m, o) in file.oracles {
        oracles
            .overrides
            .insert(pubkey("market", &m)?, pubkey("oracle", &o)?);
    }
    for s in a.oracles {
        let (m, o) = s
            .split_once('=')
            .ok_or_else(|| ConfigError(format!("--oracle '{s}': expected MARKET=ACCOUNT")))?;
        oracles
            .overrides
            .insert(pubkey("market", m)?, pubkey("oracle", o)?);
    }
    let resync_secs = a.resync_secs.or(file.resync_secs).unwrap_or(30.0);
    if !(1.0..=86_400.0).contains(&resync_secs) {
        return Err(ConfigError(
            "resync interval must be in [1, 86400] seconds".into(),
        ));
    }
    let ws_url = a
        .ws_url
        .or(file.ws_url)
        .unwrap_or_else(|| crate::feed::websocket_url(&keel_client::rpc::resolve_url(&url)));
    let defaults = Policy::default();
    Ok(Settings {
        url,
        keypair,
        program_id,
        commitment,
        poll_interval_secs,
        account_id: a.account_id.or(file.account_id).unwrap_or(0),
        metrics_addr: a
            .metrics_addr
            .or(file.metrics_addr)
            .unwrap_or_else(|| "127.0.0.1:9464".parse().expect("address")),
        once: a.once,
        subscribe: a.subscribe || file.subscribe.unwrap_or(false),
        ws_url,
        resync_secs,
        keeper: KeeperConfig {
            policy: Policy {
                crank_max_interval_secs: a
                    .crank_max_interval_secs
                    .or(file.crank_max_interval_secs)
                    .unwrap_or(defaults.crank_max_interval_secs),
                crank_min_move_bps: a
                    .crank_min_move_bps
                    .or(file.crank_min_move_bps)
                    .unwrap_or(defaults.crank_min_move_bps),
                liquidator_account: None,
                settle: !(a.no_settle || file.no_settle.unwrap_or(false)),
            },
            budget: Budget {
                cu_limit,
                cu_price_micro_lamports: a.priority_fee.or(file.priority_fee).unwrap_or(0),
            },
            // A limit the operator sets is used as given; without one, liquidations ask for
            // what their simulation used.
            fit_liquidation_budget: fixed_cu_limit.is_none(),
            max_fraction_bps,
            backoff: Backoff::default(),
            oracles,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_the_solana_config() {
        let file: File = toml::from_str(
            r#"
            url = "devnet"
            keypair = "/keys/file.json"
            poll_interval_secs = 5.0
            priority_fee = 1000
            account_id = 3
            [oracles]
            "11111111111111111111111111111112" = "11111111111111111111111111111113"
            "#,
        )
        .unwrap();
        let cli = SolanaCliConfig::parse(
            "---\njson_rpc_url: \"https://api.mainnet-beta.solana.com\"\nkeypair_path: /keys/cli.json\ncommitment: finalized\n",
        );
        assert_eq!(cli.keypair_path, Some(PathBuf::from("/keys/cli.json")));
        let args = Args::parse_from([
            "keel-keeper",
            "--url",
            "localhost",
            "--max-fraction-bps",
            "2500",
        ]);
        let s = resolve(args, file, cli).unwrap();
        assert_eq!(s.url, "localhost", "flag over file");
        assert_eq!(
            s.keypair,
            PathBuf::from("/keys/file.json"),
            "file over Solana CLI config"
        );
        assert_eq!(s.commitment, "finalized", "Solana CLI config over default");
        assert_eq!(s.poll_interval_secs, 5.0);
        assert_eq!(s.account_id, 3);
        assert_eq!(s.keeper.max_fraction_bps, 2500);
        assert_eq!(s.keeper.budget.cu_price_micro_lamports, 1000);
        assert_eq!(s.keeper.oracles.overrides.len(), 1);
        assert_eq!(s.metrics_addr.to_string(), "127.0.0.1:9464");
        assert!(!s.subscribe);
        assert_eq!(s.ws_url, "ws://localhost:8900", "derived from the RPC URL");
        assert_eq!(s.resync_secs, 30.0);
    }

    #[test]
    fn environment_variables_are_flags() {
        // Every flag but --config's file keys and --once reads a KEEL_* variable (checked on the
        // parser itself: setting variables would race the other tests in this process).
        use clap::CommandFactory;
        let cmd = Args::command();
        let env = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(env("priority_fee").as_deref(), Some("KEEL_PRIORITY_FEE"));
        assert_eq!(env("url").as_deref(), Some("KEEL_RPC_URL"));
        assert_eq!(env("keypair").as_deref(), Some("KEEL_KEYPAIR"));
        assert_eq!(
            env("poll_interval_secs").as_deref(),
            Some("KEEL_POLL_INTERVAL_SECS")
        );
        assert_eq!(env("once"), None);
    }

    #[test]
    fn bad_values_are_named() {
        let bad = |argv: &[&str]| {
            let mut v = vec!["keel-keeper", "--keypair", "/k.json"];
            v.extend_from_slice(argv);
            resolve(
                Args::parse_from(v),
                File::default(),
                SolanaCliConfig::default(),
            )
            .unwrap_err()
            .0
        };
        assert!(bad(&["--commitment", "recent"]).contains("commitment"));
        assert!(bad(&["--resync-secs", "0.5"]).contains("resync"));
        assert!(bad(&["--max-fraction-bps", "0"]).contains("max fraction"));
        assert!(bad(&["--oracle", "nonsense"]).contains("MARKET=ACCOUNT"));
        assert!(bad(&["--program-id", "11111111111111111111111111111111"]).contains("built for"));
        assert!(
            toml::from_str::<File>("surprise = 1").is_err(),
            "unknown keys are refused"
        );
    }
}
