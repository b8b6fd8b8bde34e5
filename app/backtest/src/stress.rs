//! The realised-vol stress of the liquidation trigger over a whole history (docs/liquidation.md
//! §1): at every bar, the factor k = min(realised/margin vol, cap) ≥ 1 by which a market opted in
//! reads MM and IM for liquidation — how often, and how far, it raises the trigger, inside the
//! stress windows and outside them (the price a market pays for it in calm times).

use crate::data::Bar;
use crate::metrics::Window;
use keel_risk::liquidation::realised_stress;
use keel_risk::{LiquidationParams, MarginBreakdown, VolState};
use serde::Serialize;

/// One asset's stress over its bars.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StressStats {
    /// Asset (file stem).
    pub asset: String,
    /// Bars counted (those with a realised vol).
    pub bars: usize,
    /// Share of bars with k > 1.
    pub above_one: f64,
    /// Share with k ≥ 1.5.
    pub from_1_5: f64,
    /// Share at the cap.
    pub at_cap: f64,
    /// Share with k > 1 among the bars outside every stress window.
    pub above_one_outside: f64,
    /// Mean k over the bars with k > 1 (1 if none).
    pub mean_when_above: f64,
    /// Longest run of consecutive bars with k > 1, in hours.
    pub longest_hours: f64,
}

/// k at one vol state, through keel-risk's own `realised_stress` (one market).
pub fn stress_at(v: &VolState, p: &LiquidationParams, b: &mut MarginBreakdown) -> f64 {
    b.n_markets = 1;
    b.markets[0].sigma = v.margin_vol;
    b.markets[0].realised_sigma = v.realised_vol;
    realised_stress(b, p).to_num()
}

/// The stress over `bars` (their vol states `states`, one per bar), with `windows` the stress
/// windows; bars before the first realised vol are not counted.
pub fn stats(
    asset: &str,
    bars: &[Bar],
    states: &[VolState],
    windows: &[Window],
    p: &LiquidationParams,
) -> StressStats {
    let mut b = MarginBreakdown::default();
    let cap: f64 = p.realised_stress_cap.to_num::<f64>().max(1.0);
    let (mut n, mut above, mut hi, mut capped, mut sum) = (0usize, 0usize, 0usize, 0usize, 0.0);
    let (mut outside, mut outside_above) = (0usize, 0usize);
    let (mut run, mut longest, mut run_from) = (false, 0i64, 0i64);
    for (bar, v) in bars.iter().zip(states) {
        if v.realised_vol.to_bits() <= 0 {
            continue;
        }
        let k = stress_at(v, p, &mut b);
        n += 1;
        let inside = windows
            .iter()
            .any(|w| bar.ts >= w.from && bar.ts < w.to + 86_400);
        if !inside {
            outside += 1;
        }
        if k > 1.0 {
            above += 1;
            sum += k;
            hi += (k >= 1.5) as usize;
            capped += (k >= cap) as usize;
            outside_above += (!inside) as usize;
            if !run {
                (run, run_from) = (true, bar.ts);
            }
            longest = longest.max(bar.ts - run_from);
        } else {
            run = false;
        }
    }
    let share = |x: usize, of: usize| if of == 0 { 0.0 } else { x as f64 / of as f64 };
    StressStats {
        asset: asset.to_string(),
        bars: n,
        above_one: share(above, n),
        from_1_5: share(hi, n),
        at_cap: share(capped, n),
        above_one_outside: share(outside_above, outside),
        mean_when_above: if above == 0 { 1.0 } else { sum / above as f64 },
        longest_hours: longest as f64 / 3600.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_risk::Fx;

    fn bar(ts: i64) -> Bar {
        Bar {
            ts,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            close: 1.0,
            volume: 0.0,
        }
    }

    fn state(margin: f64, realised: f64) -> VolState {
        VolState {
            margin_vol: Fx::from_num(margin),
            realised_vol: Fx::from_num(realised),
            ..VolState::default()
        }
    }

    #[test]
    fn counts_shares_runs_and_the_cap() {
        let p = LiquidationParams::DEFAULT;
        let h = 3_600;
        let bars: Vec<Bar> = (0..6).map(|i| bar(10 * 86_400 + i * 2 * h)).collect();
        // Not counted (no realised vol yet), calm, two bars at 1.5 and at the cap (3 → 2), calm,
        // one at 1.2.
        let states = [
            state(0.5, 0.0),
            state(0.5, 0.4),
            state(0.5, 0.75),
            state(0.5, 1.5),
            state(0.5, 0.5),
            state(0.5, 0.6),
        ];
        let w = [Window {
            name: "w".into(),
            from: 10 * 86_400,
            to: 10 * 86_400,
        }];
        let s = stats("x", &bars, &states, &w, &p);
        assert_eq!(s.bars, 5);
        assert!((s.above_one - 0.6).abs() < 1e-12);
        assert!((s.from_1_5 - 0.4).abs() < 1e-12);
        assert!((s.at_cap - 0.2).abs() < 1e-12);
        assert!((s.mean_when_above - (1.5 + 2.0 + 1.2) / 3.0).abs() < 1e-6);
        assert_eq!(s.longest_hours, 2.0, "two consecutive bars 2 h apart");
        // Every bar is inside the one-day window: nothing outside.
        assert_eq!(s.above_one_outside, 0.0);
        let none: [Window; 0] = [];
        assert!((stats("x", &bars, &states, &none, &p).above_one_outside - 0.6).abs() < 1e-12);
        // No cap above 1: no stress at all.
        let mut off = p;
        off.realised_stress_cap = Fx::ONE;
        let s = stats("x", &bars, &states, &w, &off);
        assert_eq!((s.above_one, s.mean_when_above), (0.0, 1.0));
    }
}
