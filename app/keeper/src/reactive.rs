//! The keeper driven by subscriptions ([`crate::feed::Feed`]): a pass runs as soon as a Keel or
//! oracle account changes, on the feed's cache (no RPC read before deciding), so the time from
//! an oracle update to the liquidation being sent is the notification's delay plus planning.
//! A full `getProgramAccounts` resync runs every `resync_every` (the safety net for a missed
//! notification), and a pass runs at least every `idle_pass` even when nothing changes (a
//! crank's interval or an expiry passes with time alone).

use crate::feed::Feed;
use crate::keeper::{Keeper, TickReport};
use keel_client::Chain;
use std::time::{Duration, Instant};

/// Timing of the reactive loop.
#[derive(Clone, Copy, Debug)]
pub struct Reactive {
    /// Full resync interval.
    pub resync_every: Duration,
    /// Longest time without a pass.
    pub idle_pass: Duration,
}

impl Default for Reactive {
    fn default() -> Self {
        Reactive {
            resync_every: Duration::from_secs(30),
            idle_pass: Duration::from_secs(5),
        }
    }
}

/// Runs `keeper` on `feed` until `after_pass` returns false (or the subscriptions stop: then
/// the error, so the caller reconnects). `after_pass` sees every pass's report.
pub async fn run(
    keeper: &mut Keeper,
    chain: &impl Chain,
    feed: &Feed,
    timing: Reactive,
    mut after_pass: impl FnMut(&TickReport) -> bool,
) -> Result<(), String> {
    let oracles = keeper.config.oracles.clone();
    feed.resync(chain, &oracles)
        .await
        .map_err(|e| e.to_string())?;
    keeper.metrics.resyncs.inc();
    prepare(keeper, chain, feed, &oracles).await;
    let mut next_resync = Instant::now() + timing.resync_every;
    let mut seen = feed.notifications();
    let mut observed = Instant::now();
    loop {
        let report = match feed.snapshot(&oracles) {
            Ok(s) => Some(keeper.act(chain, &s, observed).await),
            Err(e) => {
                // A half-delivered state (a market before its oracle): the resync repairs it.
                tracing::warn!("cache: {e}; resyncing");
                next_resync = Instant::now();
                None
            }
        };
        if let Some(r) = &report {
            if !after_pass(r) {
                return Ok(());
            }
        }
        if let Some(why) = feed.failed() {
            return Err(why);
        }
        let wait = next_resync.saturating_duration_since(Instant::now());
        tokio::select! {
            _ = feed.changed() => {
                observed = feed.last_notified().unwrap_or_else(Instant::now);
            }
            _ = tokio::time::sleep(wait.min(timing.idle_pass)) => {
                observed = Instant::now();
            }
        }
        let n = feed.notifications();
        keeper.metrics.notifications.inc_by(n.saturating_sub(seen));
        seen = n;
        if Instant::now() >= next_resync {
            match feed.resync(chain, &oracles).await {
                Ok(()) => {
                    keeper.metrics.resyncs.inc();
                    prepare(keeper, chain, feed, &oracles).await;
                }
                Err(e) => tracing::warn!("resync: {e}"),
            }
            next_resync = Instant::now() + timing.resync_every;
        }
    }
}

/// Extends the keeper's lookup tables with what the cache names (new series, markets), and
/// waits until they are usable.
async fn prepare(
    keeper: &Keeper,
    chain: &impl Chain,
    feed: &Feed,
    oracles: &keel_client::view::OracleDirectory,
) {
    let Ok(s) = feed.snapshot(oracles) else {
        return;
    };
    match keeper.prepare(chain, &s).await {
        Ok(e) if e.appended > 0 => {
            if let Err(e) = keel_client::lookup::wait_active(
                chain,
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
}
