//! `keel-monitor`: watches every market of a Keel deployment over RPC beside the keeper and
//! publishes the margin model's live backtest (see the library's documentation).
//!
//! ```sh
//! keel-monitor --url devnet --listen 127.0.0.1:9465 --records out/monitor/horizons.jsonl
//! curl -s 127.0.0.1:9465/metrics; curl -s 127.0.0.1:9465/monitor.json
//! keel dashboard --url devnet --monitor http://127.0.0.1:9465/monitor.json
//! ```

use clap::Parser;
use keel_client::chain::Chain;
use keel_client::rpc::RpcChain;
use keel_monitor::record::{self, Line};
use keel_monitor::serve::{serve, Metrics};
use keel_monitor::tracker::{Step, Tracker};
use keel_state::{discriminator, read_account, Market};
use solana_commitment_config::CommitmentConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "keel-monitor",
    version,
    about = "Live backtest of Keel's margin model: exceedances, Kupiec, Basel zone per market"
)]
struct Args {
    /// RPC URL or moniker (mainnet-beta, devnet, testnet, localhost).
    #[arg(short = 'u', long, env = "KEEL_URL", default_value = "localhost")]
    url: String,
    /// Where /metrics and /monitor.json are served.
    #[arg(long, env = "KEEL_MONITOR_LISTEN", default_value = "127.0.0.1:9465")]
    listen: std::net::SocketAddr,
    /// JSON-lines file of realised horizons (appended; replayed at start).
    #[arg(
        long,
        env = "KEEL_MONITOR_RECORDS",
        default_value = "out/monitor/horizons.jsonl"
    )]
    records: PathBuf,
    /// Seconds between two reads of the markets.
    #[arg(long, env = "KEEL_MONITOR_INTERVAL", default_value_t = 10)]
    interval: u64,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let chain = RpcChain::new(
        &args.url,
        CommitmentConfig::confirmed(),
        solana_keypair::Keypair::new(),
        // The markets are the Keel program's accounts (keel-client derives every address from
        // this id too).
        keel::ID,
    );
    let metrics = Metrics::new();
    let mut trackers: BTreeMap<String, Tracker> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    match record::load(&args.records) {
        Ok(lines) => {
            for l in &lines {
                trackers
                    .entry(l.market.clone())
                    .or_default()
                    .record(l.horizon);
                names.insert(l.market.clone(), l.name.clone());
            }
            tracing::info!(horizons = lines.len(), records = %args.records.display(), "replayed");
        }
        Err(e) => {
            eprintln!("keel-monitor: {e}");
            std::process::exit(2);
        }
    }
    if let Some(dir) = args.records.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("keel-monitor: cannot listen on {}: {e}", args.listen);
            std::process::exit(2);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    eprintln!(
        "keel-monitor: http://{addr}/metrics and http://{addr}/monitor.json (reading {})",
        args.url
    );
    tokio::spawn(serve(listener, metrics.clone()));
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(args.interval.max(1)));
    loop {
        tick.tick().await;
        let markets = match chain.program_accounts(&discriminator::MARKET).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e.0, "reading markets");
                continue;
            }
        };
        for (key, acc) in markets {
            let Ok(m) = read_account::<Market>(&acc.data, &discriminator::MARKET) else {
                continue;
            };
            let key = key.to_string();
            let name = {
                let n = m.name.iter().position(|&b| b == 0).unwrap_or(16);
                String::from_utf8_lossy(&m.name[..n]).into_owned()
            };
            names.insert(key.clone(), name.clone());
            let t = trackers.entry(key.clone()).or_default();
            match t.observe(&m.vol_state, &m.risk_params) {
                Ok(Step::Realised(h, _)) => {
                    tracing::info!(market = %name, loss = h.loss, margin = h.open.margin, exceeded = h.exceeded, "horizon realised");
                    if let Err(e) =
                        record::append(&args.records, &Line::new(key.clone(), name.clone(), h))
                    {
                        tracing::warn!(error = %e, "writing the records");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(market = %name, error = %e, "margining the reference book")
                }
            }
            if let Some(zone) = metrics.publish(&key, &name, t) {
                let s = t.stats(keel_monitor::P);
                tracing::warn!(market = %name, zone, exceedances = s.exceedances, horizons = s.horizons, kupiec_p = ?s.kupiec_p, "ALERT: margin model backtest zone");
            }
        }
    }
}
