//! The BTC-only choice rule of docs/validation.md ("Calibration", item 5) on the calibration asset,
//! BTC daily with DVOL (../shared/data or $KEEL_SHARED_DATA; skipped, saying so, without it): of
//! the defaults' 81 neighbours 28 meet the whole bar, of the set the rule chose 42, and that set
//! itself meets it.

mod shared_data;

use keel_backtest::backtest::Config;
use keel_backtest::calibrate::{self, Bar, Trial};
use keel_risk::{Fx, RiskParams};

/// The set `keel-backtest calibrate --robustness` chose on BTC daily (2,000 draws, seed 7).
fn chosen() -> RiskParams {
    RiskParams {
        im_range_sigmas: Fx::lit("3.108"),
        mm_steps: 5,
        vol_up: Fx::lit("0.073"),
        iv_weight: Fx::lit("0.8"),
        garch_weight: Fx::ZERO,
        ewma_tau_secs: 12_576_079,
        apc_floor_vol: Fx::lit("0.128"),
        apc_stressed_vol: Fx::lit("1.192"),
        apc_stressed_weight: Fx::lit("0.017"),
        apc_buffer: Fx::lit("0.002"),
        apc_max_fall_per_day: Fx::ONE,
        short_min_mm: Fx::lit("0.006"),
        range_floor: Fx::lit("0.09"),
        range_cap: Fx::lit("0.387"),
        vol_down: Fx::lit("0.303"),
        ..RiskParams::DEFAULT
    }
}

#[test]
fn on_btc_daily_the_chosen_set_has_42_of_81_neighbours_meeting_the_bar_and_the_defaults_28() {
    let Some(btc) = shared_data::asset("btc_usdt_daily.csv", "btc_dvol_daily.csv") else {
        eprintln!("skipped: ../shared/data not present (set KEEL_SHARED_DATA)");
        return;
    };
    let (bar, cfg, base) = (Bar::default(), Config::default(), RiskParams::DEFAULT);
    let assets = std::slice::from_ref(&btc);
    let trial = |p: &RiskParams| {
        let checks = calibrate::check(assets, p, &cfg, &bar).unwrap();
        Trial {
            knobs: calibrate::knobs_of(p).to_vec(),
            violation: checks.iter().map(|c| c.violation(&bar)).sum(),
            checks,
        }
    };
    let trials = [trial(&RiskParams::DEFAULT), trial(&chosen())];
    assert!(trials
        .iter()
        .all(|t| t.violation == 0.0 && t.checks[0].pass));
    let counts = calibrate::robustness(assets, &base, &cfg, &bar, &trials, &[0, 1], || {});
    let passing: Vec<(usize, usize)> = counts.iter().map(|c| (c.passing, c.total)).collect();
    assert_eq!(passing, [(28, 81), (42, 81)]);
    assert_eq!(calibrate::most_robust(&trials, &counts), Some(1));
}
