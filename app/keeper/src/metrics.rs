//! The keeper's Prometheus metrics, and a text-format endpoint on localhost
//! (`GET /metrics`, exposition format 0.0.4).

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntGauge, Registry, TextEncoder};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every metric the keeper exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Margin accounts seen in the last snapshot.
    pub accounts_watched: IntGauge,
    /// Of those, below maintenance margin.
    pub accounts_liquidatable: IntGauge,
    /// Liquidation transactions sent.
    pub liquidations_sent: IntCounter,
    /// … confirmed.
    pub liquidations_confirmed: IntCounter,
    /// … failed (rejected or not confirmed).
    pub liquidations_failed: IntCounter,
    /// Volatility cranks sent / confirmed.
    pub cranks_sent: IntCounter,
    /// Volatility cranks confirmed.
    pub cranks_confirmed: IntCounter,
    /// Risk-array cranks (`crank_arrays`) sent.
    pub array_cranks_sent: IntCounter,
    /// Risk-array cranks confirmed.
    pub array_cranks_confirmed: IntCounter,
    /// Settlement transactions confirmed.
    pub settlements_confirmed: IntCounter,
    /// Bankruptcies resolved (`resolve_bankruptcy` confirmed).
    pub bankruptcies_resolved: IntCounter,
    /// Liquidations that landed with a series passed read-only (the keeper held its side).
    pub liquidations_series_read: IntCounter,
    /// Liquidations sent again with every series writable after `SeriesNotWritable` (the slice
    /// closed a position).
    pub liquidations_series_retried: IntCounter,
    /// Largest time since a market's last volatility crank (seconds).
    pub crank_lag_secs: IntGauge,
    /// Markets whose realised vol is above their margin vol, with the realised-vol stress on:
    /// their accounts' liquidation trigger is raised (docs/liquidation.md §1).
    pub markets_stressed: IntGauge,
    /// Oracle publish time to send (seconds) of liquidations and cranks.
    pub oracle_to_send_secs: Histogram,
    /// Compute-unit limit requested for `liquidate` when fitted to a simulation.
    pub liquidate_cu_requested: Histogram,
    /// Duration of one keeper pass (seconds).
    pub tick_secs: Histogram,
    /// Actions of the current pass not yet sent (0 between passes).
    pub queue_length: IntGauge,
    /// From receiving the data a pass acted on (a subscription notification, or the start of a
    /// poll) to sending each transaction (seconds).
    pub update_to_send_secs: Histogram,
    /// From sending a transaction to the chain's answer (confirmation or error, seconds).
    pub send_to_answer_secs: Histogram,
    /// Subscription notifications received (Keel and oracle accounts).
    pub notifications: IntCounter,
    /// Full getProgramAccounts resyncs.
    pub resyncs: IntCounter,
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let gauge = |n: &str, h: &str| {
            let g = IntGauge::new(n, h).expect("gauge");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let counter = |n: &str, h: &str| {
            let c = IntCounter::new(n, h).expect("counter");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let histogram = |n: &str, h: &str, buckets: Vec<f64>| {
            let x =
                Histogram::with_opts(HistogramOpts::new(n, h).buckets(buckets)).expect("histogram");
            registry.register(Box::new(x.clone())).expect("register");
            x
        };
        Metrics {
            accounts_watched: gauge(
                "keel_keeper_accounts_watched",
                "Margin accounts in the last snapshot",
            ),
            accounts_liquidatable: gauge(
                "keel_keeper_accounts_liquidatable",
                "Margin accounts below maintenance margin in the last snapshot",
            ),
            liquidations_sent: counter(
                "keel_keeper_liquidations_sent_total",
                "Liquidation transactions sent",
            ),
            liquidations_confirmed: counter(
                "keel_keeper_liquidations_confirmed_total",
                "Liquidation transactions confirmed",
            ),
            liquidations_failed: counter(
                "keel_keeper_liquidations_failed_total",
                "Liquidation transactions rejected or not confirmed",
            ),
            cranks_sent: counter("keel_keeper_cranks_sent_total", "Volatility cranks sent"),
            cranks_confirmed: counter(
                "keel_keeper_cranks_confirmed_total",
                "Volatility cranks confirmed",
            ),
            array_cranks_sent: counter(
                "keel_keeper_array_cranks_sent_total",
                "Risk-array cranks (re-anchor and page pricing) sent",
            ),
            array_cranks_confirmed: counter(
                "keel_keeper_array_cranks_confirmed_total",
                "Risk-array cranks confirmed",
            ),
            settlements_confirmed: counter(
                "keel_keeper_settlements_confirmed_total",
                "Series and position settlements confirmed",
            ),
            bankruptcies_resolved: counter(
                "keel_keeper_bankruptcies_resolved_total",
                "Bankrupt accounts resolved (insurance, then socialisation)",
            ),
            liquidations_series_read: counter(
                "keel_keeper_liquidations_series_read_only_total",
                "Liquidations landed with a series only read (the keeper held its side)",
            ),
            liquidations_series_retried: counter(
                "keel_keeper_liquidations_series_retried_total",
                "Liquidations sent again with every series writable (the slice closed a position)",
            ),
            crank_lag_secs: gauge(
                "keel_keeper_crank_lag_seconds",
                "Largest time since a market's last volatility crank",
            ),
            markets_stressed: gauge(
                "keel_keeper_markets_stressed",
                "Markets whose realised vol is above their margin vol (liquidation trigger raised)",
            ),
            oracle_to_send_secs: histogram(
                "keel_keeper_oracle_to_send_seconds",
                "Time from the oracle publish time to sending a liquidation or crank",
                vec![0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0],
            ),
            liquidate_cu_requested: histogram(
                "keel_keeper_liquidate_cu_requested",
                "Compute-unit limit a liquidation asked for, fitted to its simulation",
                vec![50e3, 100e3, 200e3, 400e3, 800e3, 1.4e6],
            ),
            tick_secs: histogram(
                "keel_keeper_tick_seconds",
                "Duration of one keeper pass",
                vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            ),
            queue_length: gauge(
                "keel_keeper_queue_length",
                "Actions of the current pass not yet sent",
            ),
            update_to_send_secs: histogram(
                "keel_keeper_update_to_send_seconds",
                "Time from receiving the data a pass acted on to sending each transaction",
                vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            ),
            send_to_answer_secs: histogram(
                "keel_keeper_send_to_answer_seconds",
                "Time from sending a transaction to its confirmation or error",
                vec![0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0],
            ),
            notifications: counter(
                "keel_keeper_notifications_total",
                "Subscription notifications received",
            ),
            resyncs: counter(
                "keel_keeper_resyncs_total",
                "Full getProgramAccounts resyncs",
            ),
            registry,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).expect("utf-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `GET /metrics` on `addr` until the task is dropped. Anything else gets 404.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics endpoint");
    loop {
        let (mut sock, _) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut req = [0u8; 1024];
            let n = sock.read(&mut req).await.unwrap_or(0);
            let line = String::from_utf8_lossy(&req[..n]);
            let (status, body) = if line.starts_with("GET /metrics") {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "not found\n".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn endpoint_serves_the_text_format() {
        let m = Arc::new(Metrics::new());
        m.accounts_watched.set(7);
        m.liquidations_sent.inc();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let server = tokio::spawn(serve(addr, m.clone()));
        let mut body = String::new();
        for _ in 0..50 {
            if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
                s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
                    .await
                    .unwrap();
                s.read_to_string(&mut body).await.unwrap();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        server.abort();
        assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
        assert!(body.contains("keel_keeper_accounts_watched 7"), "{body}");
        assert!(body.contains("keel_keeper_liquidations_sent_total 1"));
        assert!(body.contains("# TYPE keel_keeper_oracle_to_send_seconds histogram"));
        assert!(body.contains("# TYPE keel_keeper_queue_length gauge"));
        assert!(body.contains("# TYPE keel_keeper_update_to_send_seconds histogram"));
    }
}
