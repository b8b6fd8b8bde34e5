//! `keel-keeper`: runs the keeper against a Solana RPC node until interrupted.

use clap::Parser;
use keel_client::lookup::LookupTables;
use keel_client::rpc::RpcChain;
use keel_client::view::Snapshot;
use keel_keeper::config::{read_file, resolve, Args, File, SolanaCliConfig};
use keel_keeper::feed::Feed;
use keel_keeper::reactive::{self, Reactive};
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
    let chain = RpcChain::new(&s.url, commitment, payer, s.program_id)
        .with_lookup_tables(LookupTables::default());
    let mut keeper = Keeper::for_account(s.keeper.clone(), authority, s.account_id);
    tracing::info!(
        url = %keel_client::rpc::resolve_url(&s.url),
        liquidator = %keeper.liquidator_account,
        subscribe = s.subscribe,
        "keel-keeper starting"
    );
    let metrics = keeper.metrics.clone();
    let addr = s.metrics_addr;
    tokio::spawn(async move {
        if let Err(e) = keel_keeper::metrics::serve(addr, metrics).await {
            tracing::error!(%addr, "metrics endpoint: {e}");
        }
    });
    if s.subscribe && !s.once {
        let timing = Reactive {
            resync_every: Duration::from_secs_f64(s.resync_secs),
            idle_pass: Duration::from_secs_f64(s.poll_interval_secs.max(1.0)),
        };
        loop {
            let run = async {
                let feed = Feed::start(&s.ws_url, s.program_id, commitment).await?;
                tracing::info!(ws = %s.ws_url, "subscribed");
                reactive::run(&mut keeper, &chain, &feed, timing, |r| {
                    tracing::debug!(
                        watched = r.plan.watched,
                        liquidatable = r.plan.liquidatable.len(),
                        sent = r.outcomes.len(),
                        "pass"
                    );
                    true
                })
                .await
            };
            tokio::select! {
                r = run => if let Err(e) = r {
                    tracing::warn!("subscriptions: {e}; reconnecting");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                },
                _ = tokio::signal::ctrl_c() => {
                    tracing::info!("interrupted");
                    return Ok(());
                }
            }
        }
    }
    let interval = Duration::from_secs_f64(s.poll_interval_secs);
    loop {
        let started = std::time::Instant::now();
        match Snapshot::load(&chain, &keeper.config.oracles).await {
            Ok(snap) => {
                match keeper.prepare(&chain, &snap).await {
                    Ok(e) if e.appended > 0 => {
                        tracing::info!(appended = e.appended, "lookup tables extended");
                        if let Err(e) = keel_client::lookup::wait_active(
                            &chain,
                            e.active_after_slot,
                            Duration::from_secs(10),
                        )
                        .await
                        {
                            tracing::warn!("lookup tables: {e}");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("lookup tables: {e}"),
                }
                let r = keeper.act(&chain, &snap, started).await;
                tracing::debug!(
                    watched = r.plan.watched,
                    liquidatable = r.plan.liquidatable.len(),
                    sent = r.outcomes.len(),
                    deferred = r.deferred,
                    "pass"
                );
            }
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
