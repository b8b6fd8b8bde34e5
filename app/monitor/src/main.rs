//! `keel-monitor`: watches every market of a Keel deployment over RPC beside the keeper and
//! publishes the margin model's live backtest (see the library's documentation).
//!
//! ```sh
//! keel-monitor --url devnet --listen 127.0.0.1:9465 --records out/monitor/horizons.jsonl
//! curl -s 127.0.0.1:9465/metrics; curl -s 127.0.0.1:9465/monitor.json
//! keel dashboard --url devnet --monitor http://127.0.0.1:9465/monitor.json
//! ```

use clap::Parser;
use keel_client::rpc::RpcChain;
use keel_monitor::serve::{serve, Metrics};
use keel_monitor::watch::Watch;
use solana_commitment_config::CommitmentConfig;
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
    // The markets are the Keel program's accounts (a chain for another program id read the
    // system program's and listed none).
    let chain = RpcChain::keel(
        &args.url,
        CommitmentConfig::confirmed(),
        solana_keypair::Keypair::new(),
    );
    let mut watch = match Watch::new(args.records.clone(), Metrics::new()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("keel-monitor: {e}");
            std::process::exit(2);
        }
    };
    let replayed: u64 = watch.trackers.values().map(|t| t.total).sum();
    tracing::info!(horizons = replayed, records = %args.records.display(), "replayed");
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
    tokio::spawn(serve(listener, watch.metrics.clone()));
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(args.interval.max(1)));
    loop {
        tick.tick().await;
        if let Err(e) = watch.pass(&chain).await {
            tracing::warn!(error = %e);
        }
    }
}
