//! A live copy of what the keeper decides on, kept by websocket subscriptions instead of
//! polling: `programSubscribe` to the Keel program (every exchange, market, series, margin and
//! correlation account as it changes), `accountSubscribe` to each market's oracle account and to
//! the `Clock` sysvar (the cluster time the program judges staleness and expiry by). Each
//! notification updates the cache and wakes the keeper, which plans on the cache at once
//! ([`Feed::snapshot`]) with no RPC read in between. A full `getProgramAccounts` read
//! ([`Feed::resync`]) replaces the cache periodically: a subscription may drop a message or
//! reconnect, and a resync is the safety net.

use keel_client::view::{OracleDirectory, Raw, Snapshot, ViewError};
use keel_client::{Chain, Pubkey};
use solana_account::Account;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, Notify};

/// What the subscriptions have delivered, each account with when it arrived.
#[derive(Debug, Default)]
struct Cache {
    keel: BTreeMap<Pubkey, (Account, Instant)>,
    oracles: BTreeMap<Pubkey, (Account, Instant)>,
    /// Cluster unix time (the Clock sysvar).
    now: i64,
    /// When the last notification of each kind arrived.
    last_update: Option<Instant>,
    last_oracle_update: Option<Instant>,
    /// When the last notification that woke the keeper arrived (clock seconds included).
    last_notified: Option<Instant>,
    notifications: u64,
}

/// The subscriptions and their cache.
#[derive(Clone)]
pub struct Feed {
    cache: Arc<Mutex<Cache>>,
    wake: Arc<Notify>,
    subscribe: mpsc::UnboundedSender<Pubkey>,
    /// The subscription task's last error, if it stopped.
    failed: Arc<Mutex<Option<String>>>,
}

enum Update {
    Keel(Pubkey, Account),
    Oracle(Pubkey, Account),
    Clock(Account),
}

fn account_config(commitment: CommitmentConfig) -> RpcAccountInfoConfig {
    RpcAccountInfoConfig {
        encoding: Some(UiAccountEncoding::Base64),
        commitment: Some(commitment),
        ..Default::default()
    }
}

impl Feed {
    /// Connects to `ws_url` and subscribes to `program`'s accounts and the Clock; oracle
    /// subscriptions follow [`Feed::resync`] (which learns the markets). Returns once the
    /// subscriptions are in place.
    pub async fn start(
        ws_url: &str,
        program: Pubkey,
        commitment: CommitmentConfig,
    ) -> Result<Feed, String> {
        let cache = Arc::new(Mutex::new(Cache::default()));
        let wake = Arc::new(Notify::new());
        let failed = Arc::new(Mutex::new(None));
        let (subscribe, mut requests) = mpsc::unbounded_channel::<Pubkey>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
        let url = ws_url.to_string();
        let (c, w, f) = (cache.clone(), wake.clone(), failed.clone());
        tokio::spawn(async move {
            use futures_util::stream::{SelectAll, StreamExt};
            let client = match PubsubClient::new(url.as_str()).await {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("connecting to {url}: {e}")));
                    return;
                }
            };
            let mut streams: SelectAll<futures_util::stream::BoxStream<'_, Update>> =
                SelectAll::new();
            let setup = async {
                let (s, _) = client
                    .program_subscribe(
                        &program,
                        Some(RpcProgramAccountsConfig {
                            account_config: account_config(commitment),
                            ..Default::default()
                        }),
                    )
                    .await
                    .map_err(|e| format!("programSubscribe: {e}"))?;
                streams.push(
                    s.filter_map(|r| async move {
                        let k: Pubkey = r.value.pubkey.parse().ok()?;
                        Some(Update::Keel(k, r.value.account.decode()?))
                    })
                    .boxed(),
                );
                let clock = <anchor_lang::prelude::Clock as
                    anchor_lang::solana_program::sysvar::SysvarId>::id();
                let (s, _) = client
                    .account_subscribe(&clock, Some(account_config(commitment)))
                    .await
                    .map_err(|e| format!("accountSubscribe(Clock): {e}"))?;
                streams.push(
                    s.filter_map(|r| async move { Some(Update::Clock(r.value.decode()?)) })
                        .boxed(),
                );
                Ok::<(), String>(())
            }
            .await;
            let ok = setup.is_ok();
            let _ = ready_tx.send(setup);
            if !ok {
                return;
            }
            let mut subscribed: Vec<Pubkey> = Vec::new();
            loop {
                tokio::select! {
                    Some(key) = requests.recv() => {
                        if subscribed.contains(&key) {
                            continue;
                        }
                        match client.account_subscribe(&key, Some(account_config(commitment))).await {
                            Ok((s, _)) => {
                                subscribed.push(key);
                                streams.push(
                                    s.filter_map(move |r| async move {
                                        Some(Update::Oracle(key, r.value.decode()?))
                                    })
                                    .boxed(),
                                );
                            }
                            Err(e) => tracing::warn!(%key, "accountSubscribe: {e}"),
                        }
                    }
                    u = streams.next() => {
                        let Some(u) = u else {
                            *f.lock().expect("feed") = Some("every subscription ended".into());
                            w.notify_one();
                            return;
                        };
                        let mut cache = c.lock().expect("feed cache");
                        let now = Instant::now();
                        match u {
                            Update::Keel(k, a) => {
                                cache.keel.insert(k, (a, now));
                                cache.last_update = Some(now);
                            }
                            Update::Oracle(k, a) => {
                                cache.oracles.insert(k, (a, now));
                                cache.last_update = Some(now);
                                cache.last_oracle_update = Some(now);
                            }
                            Update::Clock(a) => {
                                if let Some(t) = keel_client::rpc::clock_unix_timestamp(&a.data) {
                                    // Only a change of second can change a decision.
                                    if t == cache.now {
                                        continue;
                                    }
                                    cache.now = t;
                                }
                            }
                        }
                        cache.notifications += 1;
                        cache.last_notified = Some(now);
                        drop(cache);
                        w.notify_one();
                    }
                }
            }
        });
        ready_rx
            .await
            .map_err(|_| "the subscription task ended".to_string())??;
        Ok(Feed {
            cache,
            wake,
            subscribe,
            failed,
        })
    }

    /// Replaces the cache with a full read of the chain (getProgramAccounts per account type,
    /// the oracles, the clock) — keeping what a notification delivered after the read began,
    /// which is newer — and subscribes to any oracle not yet followed.
    pub async fn resync(
        &self,
        chain: &impl Chain,
        oracles: &OracleDirectory,
    ) -> Result<(), ViewError> {
        let started = Instant::now();
        let raw = Raw::read(chain, oracles).await?;
        let mut cache = self.cache.lock().expect("feed cache");
        let fresh =
            |m: &BTreeMap<Pubkey, (Account, Instant)>| -> BTreeMap<Pubkey, (Account, Instant)> {
                m.iter()
                    .filter(|(_, (_, at))| *at > started)
                    .map(|(k, v)| (*k, v.clone()))
                    .collect()
            };
        let (keep_keel, keep_oracles) = (fresh(&cache.keel), fresh(&cache.oracles));
        cache.keel = raw
            .keel
            .into_iter()
            .map(|(k, a)| (k, (a, started)))
            .collect();
        cache.keel.extend(keep_keel);
        cache.oracles = raw
            .oracles
            .iter()
            .map(|(k, a)| (*k, (a.clone(), started)))
            .collect();
        cache.oracles.extend(keep_oracles);
        cache.now = cache.now.max(raw.now);
        drop(cache);
        for k in raw.oracles.keys() {
            let _ = self.subscribe.send(*k);
        }
        Ok(())
    }

    /// The snapshot the cache holds now (no RPC read).
    pub fn snapshot(&self, oracles: &OracleDirectory) -> Result<Snapshot, ViewError> {
        let cache = self.cache.lock().expect("feed cache");
        let keel: Vec<(Pubkey, Account)> = cache
            .keel
            .iter()
            .map(|(k, (a, _))| (*k, a.clone()))
            .collect();
        let oracle_accounts: BTreeMap<Pubkey, Account> = cache
            .oracles
            .iter()
            .map(|(k, (a, _))| (*k, a.clone()))
            .collect();
        Snapshot::from_accounts(cache.now, keel, oracles, &oracle_accounts)
    }

    /// Waits for the next notification (or returns at once if one came since the last wait).
    pub async fn changed(&self) {
        self.wake.notified().await
    }

    /// When the last Keel or oracle account notification arrived.
    pub fn last_update(&self) -> Option<Instant> {
        self.cache.lock().expect("feed cache").last_update
    }

    /// When the last notification that woke the keeper arrived.
    pub fn last_notified(&self) -> Option<Instant> {
        self.cache.lock().expect("feed cache").last_notified
    }

    /// When the last oracle notification arrived.
    pub fn last_oracle_update(&self) -> Option<Instant> {
        self.cache.lock().expect("feed cache").last_oracle_update
    }

    /// Notifications received (Clock ticks that did not change the second excluded).
    pub fn notifications(&self) -> u64 {
        self.cache.lock().expect("feed cache").notifications
    }

    /// Why the subscriptions stopped, if they did (the caller reconnects).
    pub fn failed(&self) -> Option<String> {
        self.failed.lock().expect("feed").clone()
    }
}

/// The websocket URL of an RPC URL, as the Solana CLI derives it: `http` → `ws`, `https` →
/// `wss`, and an explicit port plus one (8899 → 8900).
pub fn websocket_url(rpc_url: &str) -> String {
    let (scheme, rest) = match rpc_url.split_once("://") {
        Some(("https", r)) => ("wss", r),
        Some((_, r)) => ("ws", r),
        None => ("ws", rpc_url),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    // An explicit port other than the scheme's default moves up by one (url's `port()` is
    // `None` for a default port, so the Solana CLI leaves those alone).
    let default_port = if scheme == "wss" { 443 } else { 80 };
    let host = match host.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) if p != default_port => format!("{h}:{}", p.saturating_add(1)),
            _ => host.to_string(),
        },
        None => host.to_string(),
    };
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8899"),
            "ws://127.0.0.1:8900"
        );
        assert_eq!(
            websocket_url("https://api.devnet.solana.com"),
            "wss://api.devnet.solana.com"
        );
        assert_eq!(
            websocket_url("https://rpc.example.com:443/key"),
            "wss://rpc.example.com:443/key"
        );
        assert_eq!(
            websocket_url("https://rpc.example.com:8443/key"),
            "wss://rpc.example.com:8444/key"
        );
    }
}
