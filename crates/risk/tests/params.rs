//! The parameter table of docs/risk-model.md §5: every default, every hard bound and every
//! figure derived from them that the table states. Changing a default or a bound means changing
//! this file and the table together.

use keel_risk::{Fx, LiquidationParams, RiskParams};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn f(x: Fx) -> f64 {
    x.to_num::<f64>()
}

/// The bounds (lo, hi) of the `Fx` field `name`.
fn fx_bound(name: &str) -> (Fx, Fx) {
    let (_, lo, hi) = RiskParams::FX_BOUNDS
        .iter()
        .find(|b| b.0 == name)
        .unwrap_or_else(|| panic!("no bound named {name}"));
    (*lo, *hi)
}

/// The bounds (lo, hi) of the integer field `name`.
fn int_bound(name: &str) -> (i64, i64) {
    let (_, lo, hi) = RiskParams::INT_BOUNDS
        .iter()
        .find(|b| b.0 == name)
        .unwrap_or_else(|| panic!("no bound named {name}"));
    (*lo, *hi)
}

fn lit(s: &str) -> Fx {
    Fx::lit(s)
}

#[test]
fn defaults_are_the_documented_ones() {
    let p = RiskParams::DEFAULT;
    assert_eq!(p.im_horizon_secs, DAY);
    assert_eq!(
        (p.im_range_sigmas, p.range_floor, p.range_cap),
        (lit("3.2"), lit("0.082"), lit("0.42"))
    );
    assert_eq!(p.mm_steps, 5);
    assert_eq!(
        (p.vol_up, p.vol_down, p.vol_down_floor),
        (lit("0.085"), lit("0.32"), lit("0.5"))
    );
    assert_eq!((p.vol_ts_ref_secs, p.vol_ts_min_secs), (30 * DAY, DAY));
    assert_eq!(
        (p.vol_ts_power_short, p.vol_ts_power_long),
        (lit("0.3"), lit("0.13"))
    );
    assert_eq!(
        (p.extreme_multiple, p.extreme_weight),
        (lit("2"), lit("0.35"))
    );
    let n = p.named_shocks;
    assert_eq!(
        (n[0].ln_move, n[0].vol_mult, n[0].weight),
        (lit("-0.494"), lit("2"), lit("0.25"))
    );
    assert_eq!(
        (n[1].ln_move, n[1].vol_mult, n[1].weight),
        (lit("0.329"), lit("1.5"), lit("0.25"))
    );
    assert_eq!(
        (p.short_min_im, p.short_min_mm),
        (lit("0.025"), lit("0.006"))
    );
    assert_eq!(p.conf_multiple, lit("3"));
    assert_eq!(p.impact_coef, lit("0.5"));
    // 1e9 USD in 6-decimal quote units.
    assert_eq!(p.liquidity_notional, 1_000_000_000 * 1_000_000);
    assert_eq!(p.long_haircut, lit("0.1"));
    assert_eq!(p.ewma_tau_secs, 161 * DAY);
    assert_eq!(
        (
            p.garch_alpha,
            p.garch_beta,
            p.garch_long_run_var,
            p.garch_step_secs,
            p.garch_weight
        ),
        (lit("0.1"), lit("0.85"), lit("0.36"), DAY, Fx::ZERO)
    );
    assert_eq!(
        (p.iv_weight, p.iv_fresh_secs, p.iv_max_age_secs),
        (lit("0.77"), HOUR, 6 * HOUR)
    );
    assert_eq!(
        (p.min_obs_interval_secs, p.max_sample_var),
        (60, lit("100"))
    );
    assert_eq!(
        (p.apc_floor_vol, p.apc_stressed_vol, p.apc_stressed_weight),
        (lit("0.15"), lit("1.2"), Fx::ZERO)
    );
    assert_eq!(
        (p.apc_buffer, p.apc_max_fall_per_day),
        (lit("0.01"), Fx::ONE)
    );
    assert_eq!(p.stable_growth_per_sec, lit("0.0001"));
    assert_eq!(p.hist_vol_premium, Fx::ZERO);
    assert_eq!(p.apc_max_rise_per_day, Fx::ZERO, "no range speed limit");
    assert_eq!((p.corr_floor, p.corr_max_offset), (lit("0.5"), Fx::ZERO));
    // 16.2 days (RiskMetrics' daily λ = 0.94 as a time constant, 1 day / (−ln 0.94)).
    assert!((p.corr_tau_secs as f64 / DAY as f64 - 16.2).abs() < 0.05);
    assert!((DAY as f64 / -(0.94f64).ln() / DAY as f64 - 16.2).abs() < 0.05);
    assert_eq!(LiquidationParams::DEFAULT.violation(), None);
}

#[test]
fn bounds_are_the_documented_ones() {
    assert_eq!(int_bound("im_horizon_secs"), (HOUR, 30 * DAY));
    assert_eq!(fx_bound("im_range_sigmas"), (lit("1"), lit("10")));
    assert_eq!(fx_bound("range_floor"), (lit("0.005"), lit("0.5")));
    assert_eq!(fx_bound("range_cap"), (lit("0.01"), lit("1.5")));
    assert_eq!(int_bound("mm_steps"), (1, 6));
    assert_eq!(fx_bound("vol_up"), (lit("0"), lit("3")));
    assert_eq!(fx_bound("vol_down"), (lit("0"), lit("0.9")));
    assert_eq!(fx_bound("vol_down_floor"), (lit("0.1"), lit("1")));
    assert_eq!(int_bound("vol_ts_ref_secs"), (DAY, 365 * DAY));
    // 60 s up to T_ref (the relation vol_ts_min ≤ vol_ts_ref does the rest).
    assert_eq!(int_bound("vol_ts_min_secs").0, 60);
    for name in ["vol_ts_power_short", "vol_ts_power_long"] {
        assert_eq!(fx_bound(name), (lit("0"), lit("1")));
    }
    assert_eq!(fx_bound("extreme_multiple"), (lit("1"), lit("4")));
    assert_eq!(fx_bound("extreme_weight"), (lit("0"), lit("1")));
    for i in 0..2 {
        assert_eq!(
            fx_bound(&format!("named_shocks[{i}].ln_move")),
            (lit("-2"), lit("2"))
        );
        assert_eq!(
            fx_bound(&format!("named_shocks[{i}].vol_mult")),
            (lit("0.1"), lit("10"))
        );
        assert_eq!(
            fx_bound(&format!("named_shocks[{i}].weight")),
            (lit("0"), lit("1"))
        );
    }
    for name in ["short_min_im", "short_min_mm"] {
        assert_eq!(fx_bound(name), (lit("0"), lit("0.5")));
    }
    assert_eq!(fx_bound("conf_multiple"), (lit("0"), lit("20")));
    assert_eq!(fx_bound("impact_coef"), (lit("0"), lit("10")));
    // At least 1 USD.
    assert_eq!(int_bound("liquidity_notional").0, 1_000_000);
    assert_eq!(fx_bound("long_haircut"), (lit("0"), lit("1")));
    assert_eq!(int_bound("ewma_tau_secs"), (HOUR, 365 * DAY));
    assert_eq!(fx_bound("garch_alpha"), (lit("0"), lit("0.5")));
    assert_eq!(fx_bound("garch_beta"), (lit("0"), lit("0.999")));
    for name in ["iv_weight", "garch_weight", "apc_stressed_weight"] {
        assert_eq!(fx_bound(name), (lit("0"), lit("1")));
    }
    for name in ["iv_fresh_secs", "iv_max_age_secs"] {
        assert_eq!(int_bound(name), (0, 7 * DAY));
    }
    assert_eq!(int_bound("min_obs_interval_secs"), (1, DAY));
    assert_eq!(fx_bound("max_sample_var"), (lit("0.01"), lit("10000")));
    assert_eq!(fx_bound("apc_floor_vol"), (lit("0"), lit("5")));
    assert_eq!(fx_bound("apc_stressed_vol"), (lit("0"), lit("10")));
    assert_eq!(fx_bound("apc_buffer"), (lit("0"), lit("2")));
    assert_eq!(fx_bound("hist_vol_premium"), (lit("0"), lit("2")));
    assert_eq!(fx_bound("apc_max_rise_per_day"), (lit("0"), lit("10")));
    assert_eq!(fx_bound("apc_max_fall_per_day"), (lit("0.001"), lit("1")));
    assert_eq!(
        fx_bound("stable_growth_per_sec"),
        (lit("0.0000001"), lit("0.01"))
    );
    // The correlation fields are checked by relation: floor in [0, 1], offset in [0, 0.9],
    // τ in 1 h – 365 d.
    let bad = |edit: fn(&mut RiskParams)| {
        let mut p = RiskParams::DEFAULT;
        edit(&mut p);
        p.violation()
    };
    assert!(bad(|p| p.corr_floor = Fx::ONE).is_none());
    assert!(bad(|p| p.corr_floor = Fx::ONE + Fx::DELTA).is_some());
    assert!(bad(|p| p.corr_max_offset = lit("0.9")).is_none());
    assert!(bad(|p| p.corr_max_offset = lit("0.9") + Fx::DELTA).is_some());
    assert!(bad(|p| p.corr_tau_secs = HOUR).is_none());
    assert!(bad(|p| p.corr_tau_secs = HOUR - 1).is_some());
    assert!(bad(|p| p.corr_tau_secs = 365 * DAY).is_none());
    assert!(bad(|p| p.corr_tau_secs = 365 * DAY + 1).is_some());
}

/// The figures the table derives from the defaults.
#[test]
fn derived_figures_are_the_documented_ones() {
    let p = RiskParams::DEFAULT;
    let mm_share = p.mm_steps as f64 / 6.0;
    let k = f(p.im_range_sigmas);
    // MM range 2.67σ√h; the floor keeps it ≥ 6.8%, the cap ≤ 35%.
    assert!((k * mm_share - 2.67).abs() < 0.005);
    assert!((f(p.range_floor) * mm_share - 0.068).abs() < 0.0005);
    assert!((f(p.range_cap) * mm_share - 0.35).abs() < 0.0005);
    // The IM ladder at the cap: −34% / +52%.
    let cap = f(p.range_cap);
    assert!(((-cap).exp() - 1.0 + 0.34).abs() < 0.005);
    assert!((cap.exp() - 1.0 - 0.52).abs() < 0.005);
    // The cap binds only above ~250% vol (one-day horizon); at 36% it bound above ~215%.
    let binds_above = |cap: f64| cap / (k * (p.im_horizon_secs as f64 / 31_536_000.0).sqrt());
    assert!((binds_above(cap) - 2.50).abs() < 0.01);
    assert!((binds_above(0.36) - 2.15).abs() < 0.01);
    // A straddle's MM never below 1.2% of spot: two shorts at 0.6%.
    assert!((2.0 * f(p.short_min_mm) - 0.012).abs() < 1e-9);
    // The named shocks: −39% (vol ×2) and +39% (vol ×1.5).
    let n = p.named_shocks;
    assert!((f(n[0].ln_move).exp() - 1.0 + 0.39).abs() < 0.005);
    assert!((f(n[1].ln_move).exp() - 1.0 - 0.39).abs() < 0.005);
    // IM counts gains at 90%.
    assert!((1.0 - f(p.long_haircut) - 0.9).abs() < 1e-9);
    // τ = 161 days is λ = 0.9938 per day.
    assert!(((-(DAY as f64) / p.ewma_tau_secs as f64).exp() - 0.9938).abs() < 0.00005);
    // V_L 0.36 is a 60% vol; max_sample_var 100 a 1000% vol.
    assert!((f(p.garch_long_run_var).sqrt() - 0.6).abs() < 1e-6);
    assert!((f(p.max_sample_var).sqrt() - 10.0).abs() < 1e-6);
    // The historical vol keeps 23% of the blend.
    assert!((1.0 - f(p.iv_weight) - 0.23).abs() < 1e-6);
    // A pump held 5 minutes moves the stable price at most e^(g·(300 + W)) − 1 = 3.67%, with
    // W the 60 s default staleness window (keel-state's market default).
    let g = f(p.stable_growth_per_sec);
    assert!(((g * 360.0).exp() - 1.0 - 0.0367).abs() < 0.00005);
}
