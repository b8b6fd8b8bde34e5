//! `keel-keeper`: runs the keeper against a Solana RPC node until interrupted.

use clap::Parser;
use keel_client::rpc::RpcChain;
use keel_keeper::config::{read_file, resolve, Args, File, SolanaCliConfig};
use keel_keeper::Keeper;
use solana_commitment_config::CommitmentConfig;
use std::str::FromStr;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    if let Err(e) = run().await {
        tracing::error!("{e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let file = match &args.config {
        Some(p) => read_file(p)?,
        None => File::default(),
    };
    let s = resolve(args, file, SolanaCliConfig::load())?;
    let authority = solana_keypair::read_keypair_file(&s.keypair)
        .map_err(|e| format!("keypair {}: {e}", s.keypair.display()))?;
    let payer = authority.insecure_clone();
    let commitment = CommitmentConfig::from_str(&s.commitment)?;
    let chain = RpcChain::new(&s.url, commitment, payer, s.program_id);
    let mut keeper = Keeper::for_account(s.keeper.clone(), authority, s.account_id);
    tracing::info!(
        url = %keel_client::rpc::resolve_url(&s.url),
        liquidator = %keeper.liquidator_account,
        "keel-keeper starting"
    );
    let metrics = keeper.metrics.clone();
    let addr = s.metrics_addr;
    tokio::spawn(async move {
        if let Err(e) = keel_keeper::metrics::serve(addr, metrics).await {
            tracing::error!(%addr, "metrics endpoint: {e}");
        }
    });
    let interval = Duration::from_secs_f64(s.poll_interval_secs);
    loop {
        match keeper.tick(&chain).await {
            Ok(r) => tracing::debug!(
                watched = r.plan.watched,
                liquidatable = r.plan.liquidatable.len(),
                sent = r.outcomes.len(),
                deferred = r.deferred,
                "pass"
            ),
            Err(e) => tracing::warn!("pass failed: {e}"),
        }
        if s.once {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted");
                return Ok(());
            }
        }
    }
}
