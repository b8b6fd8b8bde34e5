//! The tracker and what it publishes, on a synthetic market: books are struck at a crank,
//! realised at the first crank a horizon later (never overlapping), a crash exceeds the margin,
//! the window's statistics are keel-stats', alerts fire once per zone change, records replay.

use keel_monitor::book::PULL_SECS;
use keel_monitor::record::{self, Line};
use keel_monitor::serve::Metrics;
use keel_monitor::tracker::{Step, Tracker};
use keel_risk::{RiskParams, VolState};

const DAY: i64 = 86_400;
const P: RiskParams = RiskParams::DEFAULT;

fn state(price: i64, ts: i64, prev: Option<VolState>) -> VolState {
    match prev {
        None => VolState::new(price, ts, &P).unwrap(),
        Some(mut s) => {
            s.observe(price, ts, None, &P, PULL_SECS).unwrap();
            s
        }
    }
}

#[test]
fn horizons_do_not_overlap_and_a_crash_exceeds() {
    let mut t = Tracker::default();
    let t0 = 1_700_000_000;
    let s0 = state(600_000_000, t0, None);
    let Step::Struck(o) = t.observe(&s0, &P).unwrap() else {
        panic!("struck")
    };
    assert_eq!(
        (o.ts, o.spot, o.book.strike, o.horizon),
        (t0, 600_000_000, 600_000_000, DAY)
    );
    assert!(o.margin > 0 && o.value < 0, "{o:?}");
    assert_eq!(t.observe(&s0, &P).unwrap(), Step::Seen);
    // A crank half a horizon later is inside it.
    let s1 = state(601_000_000, t0 + DAY / 2, Some(s0));
    assert_eq!(t.observe(&s1, &P).unwrap(), Step::Waiting);
    // A day later, a 1% move: no exceedance.
    let s2 = state(606_000_000, t0 + DAY, Some(s1));
    let Step::Realised(h, next) = t.observe(&s2, &P).unwrap() else {
        panic!("realised")
    };
    assert_eq!(h.loss, o.value - h.value);
    assert!(!h.exceeded && h.loss < o.margin, "{h:?}");
    assert_eq!((next.ts, next.book.strike), (t0 + DAY, 606_000_000));
    // The next day spot falls 40%: the short put's loss exceeds the margin.
    let s3 = state(363_600_000, t0 + 2 * DAY, Some(s2));
    let Step::Realised(h, _) = t.observe(&s3, &P).unwrap() else {
        panic!("realised")
    };
    assert!(h.exceeded && h.loss > h.open.margin, "{h:?}");
    let s = t.stats(0.01);
    assert_eq!((s.horizons, s.exceedances, t.total), (2, 1, 2));
    assert_eq!(s.kupiec_p, Some(keel_stats::kupiec(2, 1, 0.01).p));
    assert_eq!(s.zone, keel_stats::basel_zone(250, 1, 0.01));
}

#[test]
fn publishes_gauges_json_and_alerts_once() {
    let m = Metrics::new();
    let mut t = Tracker::default();
    assert_eq!(m.publish("K", "BTC/USD", &t), None);
    assert!(m.json().contains("\"zone\":\"insufficient\""));
    let t0 = 1_700_000_000;
    let mut s = state(600_000_000, t0, None);
    t.observe(&s, &P).unwrap();
    let mut alerts = Vec::new();
    // 250 days with a 40% crash every 50th day: 5 exceedances, the last on day 250 (yellow).
    for d in 1..=250 {
        let px = if d % 50 == 0 {
            s.last_price * 6 / 10
        } else {
            s.last_price
        };
        s = state(px, t0 + d * DAY, Some(s));
        t.observe(&s, &P).unwrap();
        if let Some(z) = m.publish("K", "BTC/USD", &t) {
            alerts.push((d, z));
        }
    }
    let st = t.stats(0.01);
    assert_eq!((st.horizons, st.exceedances), (250, 5));
    assert_eq!(
        alerts,
        vec![(250, "yellow")],
        "one alert, when the 5th exceedance (day 250) turned the zone"
    );
    let text = m.text();
    assert!(
        text.contains("keel_monitor_exceedances{market=\"BTC/USD\"} 5"),
        "{text}"
    );
    assert!(text.contains("keel_monitor_zone{market=\"BTC/USD\"} 1"));
    assert!(text.contains("keel_monitor_alert{market=\"BTC/USD\"} 1"));
    let j: serde_json::Value = serde_json::from_str(&m.json()).unwrap();
    assert_eq!(j["markets"][0]["zone"], "yellow");
    assert_eq!(j["markets"][0]["exceedances"], 5);
    assert_eq!(j["window"], 250);
}

#[test]
fn records_replay_the_window() {
    let dir = std::env::temp_dir().join(format!("keel-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("h.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut t = Tracker::default();
    let t0 = 1_700_000_000;
    let mut s = state(600_000_000, t0, None);
    t.observe(&s, &P).unwrap();
    for d in 1..=20 {
        let px = if d == 7 {
            s.last_price / 2
        } else {
            s.last_price + 1_000_000
        };
        s = state(px, t0 + d * DAY, Some(s));
        if let Step::Realised(h, _) = t.observe(&s, &P).unwrap() {
            record::append(&path, &Line::new("K".into(), "BTC/USD".into(), h)).unwrap();
        }
    }
    let lines = record::load(&path).unwrap();
    assert_eq!(lines.len(), 20);
    assert!((lines[6].realised_move + 0.5).abs() < 1e-9);
    let mut replayed = Tracker::default();
    for l in &lines {
        replayed.record(l.horizon);
    }
    assert_eq!(replayed.stats(0.01), t.stats(0.01));
    assert_eq!(replayed.window, t.window);
    std::fs::remove_dir_all(&dir).unwrap();
}
