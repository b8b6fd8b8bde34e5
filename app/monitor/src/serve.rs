//! What the monitor publishes: Prometheus gauges per market (`GET /metrics`), the same as JSON
//! for the dashboard (`GET /monitor.json`, any origin may read it), and the alert when a market's
//! Basel zone turns yellow or red.

use crate::tracker::{Stats, Tracker};
use keel_stats::Zone;
use prometheus::{Encoder, GaugeVec, IntGaugeVec, Opts, Registry, TextEncoder};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One market as `/monitor.json` shows it (sdk/ts/dashboard/src/monitor.ts reads it).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MarketReport {
    pub market: String,
    pub name: String,
    pub horizons: u64,
    pub exceedances: u64,
    pub expected: f64,
    pub kupiec_p: Option<f64>,
    /// green, yellow, red, or insufficient (no horizon yet).
    pub zone: &'static str,
    /// Margin per notional of the book struck last.
    pub last_rate: Option<f64>,
    /// Horizons realised since the records began.
    pub total: u64,
}

/// The zone's name; `insufficient` before any horizon.
pub fn zone_name(s: &Stats) -> &'static str {
    match (s.horizons, s.zone) {
        (0, _) => "insufficient",
        (_, Zone::Green) => "green",
        (_, Zone::Yellow) => "yellow",
        (_, Zone::Red) => "red",
    }
}

/// The gauges.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    horizons: IntGaugeVec,
    exceedances: IntGaugeVec,
    kupiec_p: GaugeVec,
    zone: IntGaugeVec,
    alert: IntGaugeVec,
    margin_rate: GaugeVec,
    /// The last report per market, for `/monitor.json`.
    pub reports: Arc<Mutex<BTreeMap<String, MarketReport>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let int = |n: &str, h: &str| {
            let g = IntGaugeVec::new(Opts::new(n, h), &["market"]).expect("gauge");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let float = |n: &str, h: &str| {
            let g = GaugeVec::new(Opts::new(n, h), &["market"]).expect("gauge");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        Metrics {
            horizons: int(
                "keel_monitor_horizons",
                "Realised margin horizons in the rolling window (at most 250)",
            ),
            exceedances: int(
                "keel_monitor_exceedances",
                "Horizons in the window whose realised loss exceeded the margin",
            ),
            kupiec_p: float(
                "keel_monitor_kupiec_p",
                "Kupiec proportion-of-failures p-value of the window at 99%",
            ),
            zone: int(
                "keel_monitor_zone",
                "Basel traffic-light zone of the window: 0 green, 1 yellow, 2 red",
            ),
            alert: int("keel_monitor_alert", "1 while the zone is yellow or red"),
            margin_rate: float(
                "keel_monitor_margin_rate",
                "Margin per notional of the reference book struck last",
            ),
            registry,
            reports: Arc::default(),
        }
    }

    /// Publishes `t`'s statistics for `market`; returns the zone when it just turned yellow or
    /// red (the alert, which the caller logs).
    pub fn publish(&self, market: &str, name: &str, t: &Tracker) -> Option<&'static str> {
        let s = t.stats(crate::P);
        let zone = zone_name(&s);
        let l = &[name];
        self.horizons.with_label_values(l).set(s.horizons as i64);
        self.exceedances
            .with_label_values(l)
            .set(s.exceedances as i64);
        if let Some(p) = s.kupiec_p {
            self.kupiec_p.with_label_values(l).set(p);
        }
        let z = match s.zone {
            Zone::Green => 0,
            Zone::Yellow => 1,
            Zone::Red => 2,
        };
        self.zone
            .with_label_values(l)
            .set(if s.horizons == 0 { 0 } else { z });
        let alerting = matches!(zone, "yellow" | "red");
        self.alert.with_label_values(l).set(alerting as i64);
        let rate = t.open.map(|o| o.margin_rate());
        if let Some(r) = rate {
            self.margin_rate.with_label_values(l).set(r);
        }
        let report = MarketReport {
            market: market.into(),
            name: name.into(),
            horizons: s.horizons,
            exceedances: s.exceedances,
            expected: s.expected,
            kupiec_p: s.kupiec_p,
            zone,
            last_rate: rate,
            total: t.total,
        };
        let mut reports = self.reports.lock().expect("reports");
        let before = reports.insert(market.into(), report).map(|r| r.zone);
        (alerting && before != Some(zone)).then_some(zone)
    }

    /// The text exposition of every gauge.
    pub fn text(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encode");
        String::from_utf8(buf).expect("utf-8")
    }

    /// `/monitor.json`.
    pub fn json(&self) -> String {
        let markets: Vec<MarketReport> = self
            .reports
            .lock()
            .expect("reports")
            .values()
            .cloned()
            .collect();
        serde_json::json!({ "window": crate::WINDOW, "p": crate::P, "markets": markets })
            .to_string()
    }
}

/// Serves `/metrics` and `/monitor.json` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, metrics: Metrics) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let m = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path.split('?').next() {
                Some("/metrics") => ("200 OK", "text/plain; version=0.0.4", m.text()),
                Some("/monitor.json") => ("200 OK", "application/json", m.json()),
                _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(body.as_bytes()).await;
            let _ = s.shutdown().await;
        });
    }
}
