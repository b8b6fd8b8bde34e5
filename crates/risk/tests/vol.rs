//! Volatility estimators against their f64 reference formulas (docs/risk-model.md §3), and the
//! property that intraday and daily cranks estimate the same variance.

mod reference;

use keel_risk::vol::{ewma, garch};
use keel_risk::{Fx, RiskParams, VolState};
use proptest::prelude::*;

const DAY: i64 = 86_400;
const Q: f64 = 4294967296.0;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 20_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn ewma_step_matches_f64(var in 0.0001f64..20.0, r in -0.5f64..0.5, dt in 60i64..(30 * DAY), tau in 3_600i64..(365 * DAY)) {
        let rq = (r * Q) as i64;
        let cap = (100.0 * Q) as i64;
        let sample = ewma::variance_sample(rq, dt, cap).unwrap();
        let got = ewma::update((var * Q) as i64, sample, dt, tau).unwrap() as f64 / Q;
        let rf = rq as f64 / Q;
        let s = (rf * rf * reference::YEAR / dt as f64).min(100.0);
        let a = 1.0 - (-(dt as f64) / tau as f64).exp();
        let want = var + a * (s - var);
        // To the Q32 grid of the state (2.3e-10) and 2e-9 relative of the step.
        prop_assert!((got - want).abs() <= 2e-9 * (s - var).abs() + 1e-9, "got {got} want {want}");
    }

    #[test]
    fn garch_step_matches_f64(h in 0.001f64..10.0, s in 0.0f64..50.0, dt in 60i64..(30 * DAY)) {
        let p = RiskParams::DEFAULT;
        let got = garch::update((h * Q) as i64, (s * Q) as i64, dt, &p).unwrap() as f64 / Q;
        let (a, b, vl) = (p.garch_alpha.to_num::<f64>(), p.garch_beta.to_num::<f64>(), p.garch_long_run_var.to_num::<f64>());
        let n = dt as f64 / p.garch_step_secs as f64;
        let c_n = (b / (1.0 - a)).powf(n);
        let a_n = 1.0 - (1.0 - a).powf(n);
        let mid = vl + c_n * (h - vl);
        let want = mid + a_n * (s - mid);
        // a_n·(s − mid) is exact for short steps too (ewma::decay): 2e-9 of the step plus the
        // Q32 grid and the reversion term's rounding.
        prop_assert!((got - want).abs() <= 2e-9 * (s - mid).abs() + 1e-9 * (1.0 + h), "got {got} want {want}");
    }

    #[test]
    fn garch_forecast_matches_f64(h in 0.001f64..10.0, horizon in 0i64..(30 * DAY)) {
        let p = RiskParams::DEFAULT;
        let got = garch::forecast((h * Q) as i64, horizon, &p).unwrap() as f64 / Q;
        let phi = (p.garch_alpha + p.garch_beta).to_num::<f64>();
        let vl = p.garch_long_run_var.to_num::<f64>();
        let m = horizon as f64 / p.garch_step_secs as f64;
        let want = if m <= 1.0 { h } else { vl + (h - vl) * (1.0 - phi.powf(m)) / (m * (1.0 - phi)) };
        prop_assert!((got - want).abs() <= 1e-8 * want.max(1.0), "got {got} want {want}");
    }

    /// Any observation is applied or rejected with a named error — never a panic. A rejected one
    /// changes nothing; an accepted one advances the clock and price and leaves a positive vol.
    #[test]
    fn observe_is_total(price in any::<i64>(), ts in any::<i64>(), iv in any::<i64>(), iv_ts in any::<i64>()) {
        let p = RiskParams::DEFAULT;
        let mut s = VolState::new(1_000_000, 0, &p).unwrap();
        let before = s;
        match s.observe(price, ts, Some(keel_risk::ImpliedVol { vol: Fx::from_bits(iv), ts: iv_ts }), &p, 60) {
            Ok(step) => {
                prop_assert!(price > 0 && ts >= p.min_obs_interval_secs);
                prop_assert_eq!((s.last_price, s.last_ts, s.n_obs), (price, ts, before.n_obs + 1));
                prop_assert_eq!(step.dt_secs, ts);
                prop_assert!(s.margin_vol > Fx::ZERO && s.margin_vol >= p.apc_floor_vol);
            }
            Err(e) => {
                prop_assert_eq!(s, before);
                if price <= 0 {
                    prop_assert_eq!(e, keel_risk::RiskError::NonPositivePrice);
                } else if ts <= 0 {
                    prop_assert_eq!(e, keel_risk::RiskError::OutOfOrderObservation);
                } else if ts < p.min_obs_interval_secs {
                    prop_assert_eq!(e, keel_risk::RiskError::ObservationTooSoon);
                }
            }
        }
    }
}

/// A deterministic geometric Brownian motion with constant vol, observed every minute.
fn gbm(sigma: f64, days: i64) -> Vec<(i64, i64)> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let dt = 60.0 / reference::YEAR;
    let mut px = 1.0e9f64;
    let mut out = vec![(0i64, px as i64)];
    for i in 1..=(days * 1_440) {
        // Box–Muller
        let z = (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
        px *= (sigma * dt.sqrt() * z - 0.5 * sigma * sigma * dt).exp();
        out.push((i * 60, px as i64));
    }
    out
}

/// Cranks every 5 minutes, every 2 hours and once a day on the same path all estimate the path's
/// vol: the time-scaled EWMA makes the crank interval irrelevant in expectation.
#[test]
fn intraday_and_daily_cranks_agree() {
    let mut p = RiskParams::DEFAULT;
    p.garch_weight = Fx::ZERO; // compare the EWMA itself
    p.apc_floor_vol = Fx::ZERO;
    p.apc_buffer = Fx::ZERO;
    let path = gbm(0.6, 400);
    let mut estimates = Vec::new();
    for every in [5usize, 120, 1_440] {
        let mut s = VolState::new(path[0].1, path[0].0, &p).unwrap();
        for &(ts, px) in path.iter().step_by(every).skip(1) {
            s.observe(px, ts, None, &p, 60).unwrap();
        }
        estimates.push(s.ewma_var.to_num::<f64>().sqrt());
    }
    println!(
        "EWMA vol after 400 days of a 60% GBM: 5-min {:.4}, 2-hour {:.4}, daily {:.4}",
        estimates[0], estimates[1], estimates[2]
    );
    for e in &estimates {
        // A 16-day EWMA of daily returns has ~17% sampling error; intraday much less.
        assert!((e - 0.6).abs() < 0.6 * 0.35, "{e}");
    }
    assert!(
        (estimates[0] - 0.6).abs() < 0.6 * 0.05,
        "5-minute crank: {}",
        estimates[0]
    );
    assert!((estimates[0] - estimates[1]).abs() < 0.6 * 0.1);
}
