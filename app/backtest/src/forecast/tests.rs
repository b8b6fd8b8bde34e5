use super::*;
use crate::calibrate::Rng;
use crate::data::{Bar, DAY};

/// A synthetic daily history with GARCH-like volatility clustering and an implied vol.
fn synthetic(n: usize, seed: u64) -> Vec<Period> {
    let mut rng = Rng(seed);
    let mut var: f64 = 0.0004;
    let mut out = Vec::with_capacity(n);
    let mut prev_r: f64 = 0.0;
    for i in 0..n {
        var = 0.00002 + 0.1 * prev_r * prev_r + 0.85 * var;
        let r = var.sqrt() * rng.normal();
        prev_r = r;
        let rv = var * (0.5 + rng.uniform()) * YEAR / DAY as f64;
        out.push(Period {
            ts: (i as i64 + 1) * DAY,
            rv: Some(rv),
            ret: Some(r),
            iv: Some((var * YEAR / DAY as f64).sqrt() * 1.1),
            bar: i,
        });
    }
    out
}

/// The first period t at which some forecast differs between the real history and one whose
/// periods after t were altered — `None` when forecasts at t never depend on the future.
fn first_leak(
    periods: &[Period],
    run: &dyn Fn(&[Period]) -> Forecasts,
    checks: &[usize],
) -> Option<usize> {
    let base = run(periods);
    for &t in checks {
        let mut altered = periods.to_vec();
        for p in &mut altered[t + 1..] {
            p.rv = p.rv.map(|v| v * 7.0 + 0.3);
            p.ret = p.ret.map(|r| -3.0 * r);
            p.iv = p.iv.map(|v| v * 0.5);
        }
        let other = run(&altered);
        for m in 0..base.len() {
            if base[m][t].map(f64::to_bits) != other[m][t].map(f64::to_bits) {
                return Some(t);
            }
        }
    }
    None
}

fn small_candidates() -> Vec<Box<dyn Forecaster>> {
    let mut v = candidates(DAY, true);
    // A lighter boosted model keeps the debug-build test quick; the code path is the same.
    v.pop();
    v.push(Box::new(Boosted {
        h: DAY,
        params: GbtParams {
            trees: 20,
            ..GbtParams::default()
        },
        fitted: None,
    }));
    v
}

#[test]
fn no_look_ahead() {
    let periods = synthetic(420, 11);
    let checks = [250, 251, 300, 333, 380, 418];
    let honest = |p: &[Period]| walk_forward(p, &mut small_candidates(), 250, 40, || {});
    assert_eq!(first_leak(&periods, &honest, &checks), None);
    // Every model did forecast at the checked times (the test is not vacuous).
    let fc = honest(&periods);
    for (m, f) in fc.iter().enumerate() {
        assert!(
            checks.iter().all(|&t| f[t].is_some()),
            "model {m} has no forecast"
        );
    }
    // The detector catches a driver that fits on the whole history (a classic leak).
    let leaky = |p: &[Period]| {
        let mut models = small_candidates();
        for m in models.iter_mut() {
            m.fit(p);
        }
        (0..models.len())
            .map(|k| (0..p.len()).map(|t| models[k].forecast(&p[..=t])).collect())
            .collect()
    };
    assert!(first_leak(&periods, &leaky, &checks).is_some());
}

#[test]
fn har_least_squares_recovers_the_generating_coefficients() {
    // RV_{t+1} = (b0 + bd·RV_d + bw·RV_w + bm·RV_m)·ε with E[ε] = 1: OLS is consistent.
    let b = [0.02, 0.35, 0.30, 0.25];
    let mut rng = Rng(5);
    let mut rv: Vec<f64> = vec![0.4; 22];
    let n = 30_000;
    while rv.len() < n {
        let t = rv.len() - 1;
        let d = rv[t];
        let w = rv[t - 4..=t].iter().sum::<f64>() / 5.0;
        let m = rv[t - 21..=t].iter().sum::<f64>() / 22.0;
        let eps = (0.4 * rng.normal() - 0.08).exp(); // lognormal, mean 1
        rv.push((b[0] + b[1] * d + b[2] * w + b[3] * m) * eps);
    }
    let periods: Vec<Period> = rv
        .iter()
        .enumerate()
        .map(|(i, &v)| Period {
            ts: (i as i64 + 1) * DAY,
            rv: Some(v),
            ret: Some(0.0),
            iv: None,
            bar: i,
        })
        .collect();
    let mut har = Har::new(HarKind::Levels, DAY);
    har.fit(&periods);
    let c = har.coefficients().unwrap();
    for (got, want) in c.iter().zip(b) {
        assert!((got - want).abs() < 0.04, "{c:?} vs {b:?}");
    }
    // The forecast is the fitted line at the last terms.
    let terms = har_terms(&periods, DAY).unwrap();
    let f = har.forecast(&periods).unwrap();
    assert!((f - (c[0] + c[1] * terms[0] + c[2] * terms[1] + c[3] * terms[2])).abs() < 1e-12);
}

#[test]
fn har_terms_need_22_contiguous_complete_periods() {
    let mut p = synthetic(30, 2);
    assert!(har_terms(&p[..21], DAY).is_none());
    let t = har_terms(&p[..22], DAY).unwrap();
    let rv: Vec<f64> = p[..22].iter().map(|q| q.rv.unwrap()).collect();
    assert_eq!(t[0], rv[21]);
    assert!((t[1] - rv[17..].iter().sum::<f64>() / 5.0).abs() < 1e-15);
    p[10].rv = None;
    assert!(
        har_terms(&p[..22], DAY).is_none(),
        "a period with missing bars is not filled"
    );
    let mut q = synthetic(30, 2);
    for x in &mut q[5..] {
        x.ts += DAY; // a one-day gap
    }
    assert!(har_terms(&q[..22], DAY).is_none());
}

fn series(bars: Vec<Bar>, interval: i64) -> Series {
    Series {
        name: "t".into(),
        path: "t".into(),
        bars,
        interval,
        gaps: vec![],
        has_volume: false,
    }
}

#[test]
fn intraday_periods_sum_squared_returns_and_flag_missing_bars() {
    let h2 = 7200;
    let mut bars = Vec::new();
    let mut px: f64 = 100.0;
    for i in 1..=36 {
        px *= if i % 2 == 0 { 1.01 } else { 0.995 };
        if i == 30 {
            continue; // a missing bar on day 3
        }
        bars.push(Bar {
            ts: i * h2,
            open: px,
            high: px,
            low: px,
            close: px,
            volume: 0.0,
        });
    }
    let (p, incomplete) = periods(&series(bars.clone(), h2), None, DAY);
    assert_eq!(p.len(), 3);
    assert_eq!(
        incomplete, 2,
        "day 1 has no return into its first bar; day 3 misses a bar"
    );
    assert!(p[0].rv.is_none() && p[2].rv.is_none());
    let want: f64 = bars[11..23]
        .iter()
        .zip(&bars[12..24])
        .map(|(a, b)| (b.close / a.close).ln().powi(2))
        .sum();
    assert!((p[1].rv.unwrap() - want * YEAR / DAY as f64).abs() < 1e-12);
    assert_eq!(p[1].ts, 2 * DAY);
    assert!((p[1].ret.unwrap() - (bars[23].close / bars[11].close).ln()).abs() < 1e-15);
}

#[test]
fn daily_periods_use_the_range_estimator() {
    let b = |d: i64, o: f64, h: f64, l: f64, c: f64| Bar {
        ts: d * DAY,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: 0.0,
    };
    let (p, _) = periods(
        &series(
            vec![
                b(1, 100.0, 101.0, 99.0, 100.0),
                b(2, 100.0, 110.0, 100.0, 110.0),
            ],
            DAY,
        ),
        None,
        DAY,
    );
    let hl = (1.1f64).ln();
    let gk = 0.5 * hl * hl - (2.0 * std::f64::consts::LN_2 - 1.0) * hl * hl;
    assert!((p[1].rv.unwrap() - gk * YEAR / DAY as f64).abs() < 1e-12);
    assert!(p[0].ret.is_none());
    assert!((p[1].ret.unwrap() - hl).abs() < 1e-15);
}

#[test]
fn qlike_is_zero_only_for_a_perfect_forecast() {
    assert_eq!(qlike(0.5, 0.5), 0.0);
    assert!(qlike(0.5, 0.4) > 0.0 && qlike(0.5, 0.6) > 0.0);
    // Under-prediction costs more than over-prediction by the same factor.
    assert!(qlike(1.0, 0.5) > qlike(1.0, 2.0));
}
