//! Black-76 in fixed point against the f64 reference over the specified domain
//! (spot/strike 0.2..5, vol 5%..500%, 1 minute..2 years), and its structural properties.

mod reference;

use keel_risk::pricing::{black76, greeks, SeriesKind, SECONDS_PER_YEAR};
use keel_risk::Fx;
use proptest::prelude::*;

/// A BTC-sized contract: 100,000 USD in 6-decimal native units.
const SPOT: i64 = 100_000_000_000;
/// The accuracy requirement: |error| ≤ 1e-7 × spot.
const TOL: f64 = 1e-7 * SPOT as f64;

fn kind_strategy() -> impl Strategy<Value = SeriesKind> {
    prop_oneof![Just(SeriesKind::Call), Just(SeriesKind::Put)]
}

fn domain() -> impl Strategy<Value = (SeriesKind, i64, f64, i64)> {
    (
        kind_strategy(),
        // spot/strike ∈ [0.2, 5], log-uniform
        (0.2f64.ln()..5.0f64.ln()).prop_map(|l| (SPOT as f64 / l.exp()).round() as i64),
        (0.05f64.ln()..5.0f64.ln()).prop_map(f64::exp),
        (60f64.ln()..(2.0 * SECONDS_PER_YEAR as f64).ln()).prop_map(|l| l.exp() as i64),
    )
}

fn fx(v: f64) -> Fx {
    Fx::from_num(v)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_f64_black76((kind, strike, sigma, t) in domain()) {
        let s = fx(sigma);
        let got = black76(kind, SPOT, strike, s, t).unwrap() as f64;
        let want = reference::black76(kind as u8, SPOT as f64, strike as f64, s.to_num(), t as f64);
        prop_assert!((got - want).abs() <= TOL, "got {got} want {want} err/spot {:e}", (got - want) / SPOT as f64);
    }

    #[test]
    fn put_call_parity((_k, strike, sigma, t) in domain()) {
        let s = fx(sigma);
        let c = black76(SeriesKind::Call, SPOT, strike, s, t).unwrap();
        let p = black76(SeriesKind::Put, SPOT, strike, s, t).unwrap();
        prop_assert!(((c - p) - (SPOT - strike)).abs() as f64 <= TOL);
    }

    #[test]
    fn monotone_in_spot_and_vol((kind, strike, sigma, t) in domain(), bump in 1.0001f64..1.5) {
        let s = fx(sigma);
        let base = black76(kind, SPOT, strike, s, t).unwrap();
        let up_spot = black76(kind, (SPOT as f64 * bump) as i64, strike, s, t).unwrap();
        let up_vol = black76(kind, SPOT, strike, fx(sigma * bump), t).unwrap();
        // Monotone up to the approximation error (documented bound 4e-9·(F+K) per price).
        let slack = (1e-8 * (SPOT + strike) as f64 * bump) as i64 + 2;
        match kind {
            SeriesKind::Call => prop_assert!(up_spot >= base - slack),
            _ => prop_assert!(up_spot <= base + slack),
        }
        prop_assert!(up_vol >= base - slack);
    }

    #[test]
    fn greeks_match_f64((kind, strike, sigma, t) in domain()) {
        let s = fx(sigma);
        let g = greeks(kind, SPOT, strike, s, t).unwrap();
        let r = reference::greeks(kind as u8, SPOT as f64, strike as f64, s.to_num(), t as f64);
        // ln(F/K) carries ~4e-9 absolute error (two table lns); delta amplifies it by φ(d1)/w,
        // which is gamma: the documented bound is 2e-9 + 5e-9·gamma.
        prop_assert!((g.delta.to_num::<f64>() - r.delta).abs() <= 2e-9 + 5e-9 * r.gamma.abs());
        // vega and theta are F·φ(d1) times exact factors: their relative error is φ's, i.e. the pdf's
        // absolute 2e-9 over φ plus d1's conditioning (|d1|·5e-9/w), plus rounding.
        let phi = reference::npdf(r.d1);
        let rel = 1e-8 + 2e-9 / phi.max(1e-300) + r.d1.abs() * 5e-9 / r.w;
        prop_assert!((g.vega as f64 - r.vega).abs() <= r.vega.abs() * rel + 2.0);
        prop_assert!((g.theta as f64 - r.theta).abs() <= r.theta.abs() * rel + 2.0);
        // gamma = φ/w: φ's error plus w's Q32 resolution (2.3e-10/w relative).
        let rel_gamma = rel + 2.5e-10 / r.w;
        prop_assert!((g.gamma.to_num::<f64>() - r.gamma).abs() <= r.gamma * rel_gamma + 1e-9);
    }

    #[test]
    fn total_on_any_input(kind in 0u8..3, f in any::<i64>(), k in any::<i64>(), sig in any::<i64>(), t in any::<i64>()) {
        let kind = SeriesKind::from_u8(kind).unwrap();
        let _ = black76(kind, f, k, Fx::from_bits(sig), t);
        let _ = greeks(kind, f, k, Fx::from_bits(sig), t);
    }
}

#[test]
fn exact_limits() {
    let k = SPOT / 2;
    let vol = fx(0.8);
    // At and after expiry: intrinsic.
    assert_eq!(
        black76(SeriesKind::Call, SPOT, k, vol, 0).unwrap(),
        SPOT - k
    );
    assert_eq!(black76(SeriesKind::Put, SPOT, k, vol, -10).unwrap(), 0);
    // Zero vol: intrinsic.
    assert_eq!(
        black76(SeriesKind::Put, k, SPOT, Fx::ZERO, 86_400).unwrap(),
        SPOT - k
    );
    // Deep ITM / OTM, one minute: intrinsic to the unit.
    assert_eq!(
        black76(SeriesKind::Call, SPOT, SPOT / 5, vol, 60).unwrap(),
        SPOT - SPOT / 5
    );
    assert_eq!(
        black76(SeriesKind::Call, SPOT, SPOT * 5, vol, 60).unwrap(),
        0
    );
    // Futures are linear.
    assert_eq!(black76(SeriesKind::Future, SPOT, 0, vol, 60).unwrap(), SPOT);
    // Bad prices are named errors.
    assert!(black76(SeriesKind::Call, 0, k, vol, 60).is_err());
    assert!(black76(SeriesKind::Put, SPOT, -1, vol, 60).is_err());
}

#[test]
fn worst_error_over_a_grid_is_reported() {
    // Deterministic sweep of the corners of the domain; prints the worst error for the docs.
    let mut worst: f64 = 0.0;
    for &m in &[0.2, 0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0, 5.0] {
        for &v in &[0.05, 0.2, 0.8, 2.0, 5.0] {
            for &t in &[60i64, 3_600, 86_400, 30 * 86_400, 2 * SECONDS_PER_YEAR] {
                for kind in [SeriesKind::Call, SeriesKind::Put] {
                    let strike = (SPOT as f64 / m) as i64;
                    let got = black76(kind, SPOT, strike, fx(v), t).unwrap() as f64;
                    let want = reference::black76(
                        kind as u8,
                        SPOT as f64,
                        strike as f64,
                        fx(v).to_num(),
                        t as f64,
                    );
                    worst = worst.max((got - want).abs() / SPOT as f64);
                }
            }
        }
    }
    println!("worst |error|/spot on the corner grid: {worst:e}");
    assert!(worst <= 1e-7);
}
