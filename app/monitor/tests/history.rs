//! The monitor on recorded history: BTC daily closes (../shared/data/btc_usdt_daily.csv, or
//! $KEEL_SHARED_DATA) cranked through keel-risk's volatility state with the default parameters,
//! one crank per day as the on-chain crank would see them. Every realised horizon is checked
//! against its definition, the live window against a recount of the last 250 horizons and
//! keel-stats, the alerts against the zone changes, and the worst window against keel-backtest's
//! own `worst_window` on the same hits. Skipped, saying so, without the data.

use keel_monitor::book::PULL_SECS;
use keel_monitor::serve::Metrics;
use keel_monitor::tracker::{Horizon, Step, Tracker};
use keel_risk::{RiskParams, VolState};
use keel_stats::rolling::worst_window;
use std::path::PathBuf;

fn data(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("KEEL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = dir.join(name);
    p.is_file().then_some(p)
}

/// Unix time of `YYYY-MM-DD` (end of that day) or `YYYY-MM-DD HH:MM:SS` (end of a 2-hour bar).
fn bar_close(t: &str) -> i64 {
    if t.len() > 10 {
        let h: i64 = t[11..13].parse().unwrap();
        let m: i64 = t[14..16].parse().unwrap();
        ts(&t[..10]) - 86_400 + h * 3_600 + m * 60 + 2 * 3_600
    } else {
        ts(t)
    }
}

fn ts(date: &str) -> i64 {
    // Days since 1970-01-01 of YYYY-MM-DD (civil-from-days inverse, Howard Hinnant's).
    let y: i64 = date[0..4].parse().unwrap();
    let m: i64 = date[5..7].parse().unwrap();
    let d: i64 = date[8..10].parse().unwrap();
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400 + 86_400 // the bar's close: end of its day
}

/// What a replay found.
struct Replay {
    hits: Vec<bool>,
    worst_live: u64,
    alerts: Vec<(i64, &'static str)>,
    last_zone: &'static str,
    horizons: Vec<Horizon>,
}

/// Cranks keel-risk's vol state through the closes of `file` (one crank per bar) and feeds the
/// monitor, checking every step.
fn replay(file: &str) -> Option<Replay> {
    let Some(path) = data(file) else {
        eprintln!(
            "skipped: {file} not found (set KEEL_SHARED_DATA or put the data in ../shared/data)"
        );
        return None;
    };
    let mut rd = csv::Reader::from_path(&path).unwrap();
    let bars: Vec<(i64, f64)> = rd
        .records()
        .map(|r| {
            let r = r.unwrap();
            (bar_close(&r[0]), r[4].parse().unwrap())
        })
        .collect();
    assert!(bars.len() > 2000, "{} bars", bars.len());
    // keel-backtest's contract scaling: 0.1 BTC per contract at BTC's first close (4 285 USD).
    let contract = 10f64.powi((1000.0 / bars[0].1).log10().round() as i32);
    let native = |px: f64| (px * contract * 1e6).round() as i64;
    let p = RiskParams::DEFAULT;
    let mut vol = VolState::new(native(bars[0].1), bars[0].0, &p).unwrap();
    let mut t = Tracker::default();
    let m = Metrics::new();
    let mut horizons: Vec<Horizon> = Vec::new();
    let mut alerts = Vec::new();
    let mut zones = Vec::new();
    let mut worst_live = 0;
    t.observe(&vol, &p).unwrap();
    for &(ts, px) in &bars[1..] {
        vol.observe(native(px), ts, None, &p, PULL_SECS).unwrap();
        if let Step::Realised(h, next) = t.observe(&vol, &p).unwrap() {
            // The horizon's definition, and no overlap: the next book starts where this ended.
            assert_eq!(h.loss, h.open.value - h.value);
            assert_eq!(h.exceeded, h.loss > h.open.margin);
            assert!(h.ts - h.open.ts >= h.open.horizon);
            if let Some(prev) = horizons.last() {
                assert_eq!(h.open.ts, prev.ts);
            }
            assert_eq!((next.ts, next.spot), (h.ts, h.spot));
            horizons.push(h);
            // The live window is the last 250 horizons, with keel-stats' statistics.
            let last: Vec<&Horizon> = horizons.iter().rev().take(250).collect();
            let x = last.iter().filter(|h| h.exceeded).count() as u64;
            let s = t.stats(0.01);
            assert_eq!((s.horizons, s.exceedances), (last.len() as u64, x));
            assert_eq!(s.kupiec_p, Some(keel_stats::kupiec(s.horizons, x, 0.01).p));
            assert_eq!(s.zone, keel_stats::basel_zone(250, x, 0.01));
            worst_live = worst_live.max(x);
            let before = zones.last().copied();
            let zone = keel_monitor::serve::zone_name(&s);
            if let Some(z) = m.publish("BTC", "BTC/USD", &t) {
                alerts.push((h.ts, z));
            }
            if matches!(zone, "yellow" | "red") && before != Some(zone) {
                assert_eq!(
                    alerts.last(),
                    Some(&(h.ts, zone)),
                    "alert when the zone turned {zone}"
                );
            }
            zones.push(zone);
        }
    }
    let hits: Vec<bool> = horizons.iter().map(|h| h.exceeded).collect();
    assert_eq!(
        worst_window(&hits, 250),
        worst_live,
        "keel-backtest's worst window"
    );
    let x = hits.iter().filter(|&&h| h).count();
    println!(
        "{file}: {} horizons, {} exceedances ({:.2}%), worst 250-window {} ({:?}), {} alerts, first at {:?}, last zone {}",
        hits.len(),
        x,
        100.0 * x as f64 / hits.len() as f64,
        worst_live,
        keel_stats::basel_zone(250, worst_live, 0.01),
        alerts.len(),
        alerts.first().map(|a| a.0),
        zones.last().unwrap()
    );
    Some(Replay {
        last_zone: zones.last().copied().unwrap(),
        hits,
        worst_live,
        alerts,
        horizons,
    })
}

#[test]
fn monitor_on_btc_daily_history() {
    let Some(r) = replay("btc_usdt_daily.csv") else {
        return;
    };
    let x = r.hits.iter().filter(|&&h| h).count();
    // One horizon per daily crank after the first (3 191 bars).
    assert_eq!(r.horizons.len(), 3190);
    // The figures docs/monitoring.md quotes (default parameters; the data file is fixed).
    assert_eq!(
        (r.hits.len(), x, r.worst_live, r.alerts.len(), r.last_zone),
        (3190, 22, 4, 0, "green"),
        "update docs/monitoring.md with the new figures"
    );
}

#[test]
fn monitor_on_btc_two_hourly_history() {
    let Some(r) = replay("btc_usdt_2h.csv") else {
        return;
    };
    // Cranks every two hours: each horizon is realised at the first crank a day later (later
    // only across a gap in the data).
    let exact = r
        .horizons
        .iter()
        .filter(|h| h.ts - h.open.ts == 86_400)
        .count();
    assert!(
        exact * 100 >= r.horizons.len() * 99,
        "{exact} of {}",
        r.horizons.len()
    );
    let x = r.hits.iter().filter(|&&h| h).count();
    assert_eq!(
        (r.hits.len(), x, r.worst_live, r.alerts.len(), r.last_zone),
        (2929, 17, 4, 0, "green"),
        "update docs/monitoring.md with the new figures"
    );
}
