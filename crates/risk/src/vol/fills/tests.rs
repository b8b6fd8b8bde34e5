use super::*;
use crate::pricing::black76;
use proptest::prelude::*;
extern crate std;
use std::vec;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const P: FillVolParams = FillVolParams::DEFAULT;
/// A forward of 60,000 USDT a contract (6 decimals).
const F: i64 = 60_000_000_000;

fn fx(v: f64) -> Fx {
    Fx::from_num(v)
}

/// What fills can do to the level over `elapsed` seconds, either way, before the band: the
/// product of the per-fill factors 1 + rate·Δt/rate_secs is at most exp(rate·elapsed/rate_secs).
fn max_factor(elapsed: i64) -> f64 {
    (P.rate.to_num::<f64>() * elapsed as f64 / P.rate_secs as f64).exp()
}

#[test]
fn a_fill_at_a_black76_price_implies_its_vol() {
    let (mut solved, mut tiny) = (0, 0);
    for kind in [SeriesKind::Call, SeriesKind::Put] {
        for k in [0.85, 0.95, 1.0, 1.07, 1.2] {
            for days in [1, 7, 30, 90] {
                for sigma in [0.12, 0.35, 0.8, 1.6, 3.0] {
                    let strike = (F as f64 * k) as i64;
                    let t = days * DAY;
                    let price = black76(kind, F, strike, fx(sigma), t).unwrap();
                    let got = implied_vol(kind, F, strike, t, price, &P).unwrap();
                    // A time value below a millionth of the forward (6 cents here) has too
                    // few units to name a vol; everything above is solved to 2e-5.
                    if price - crate::pricing::intrinsic(kind, F, strike) < F / 1_000_000 {
                        tiny += 1;
                        continue;
                    }
                    let got = got.unwrap().to_num::<f64>();
                    assert!(
                        (got - sigma).abs() < 2e-5,
                        "{kind:?} K/F {k} {days}d σ {sigma}: {got}"
                    );
                    solved += 1;
                }
            }
        }
    }
    assert_eq!((solved, tiny), (172, 28));
}

#[test]
fn fills_without_information_imply_nothing() {
    let k = F;
    let price = black76(SeriesKind::Call, F, k, fx(0.6), 30 * DAY).unwrap();
    let none = |kind, strike, t, price| implied_vol(kind, F, strike, t, price, &P).unwrap();
    assert_eq!(none(SeriesKind::Future, k, 30 * DAY, F), None);
    // Less than a day to expiry, or more than 20% (log) from the money.
    assert_eq!(none(SeriesKind::Call, k, DAY - 1, price), None);
    assert!(none(SeriesKind::Call, k, DAY, price).is_some());
    assert_eq!(
        none(SeriesKind::Call, F * 13 / 10, 30 * DAY, price / 10),
        None
    );
    assert_eq!(
        none(SeriesKind::Put, F * 7 / 10, 30 * DAY, price / 10),
        None
    );
    // At or beyond what 1% and 1,000% vol are worth: no vol explains the price.
    let floor = black76(SeriesKind::Call, F, k, Fx::from_bits(VOL_MIN), 30 * DAY).unwrap();
    let cap = black76(SeriesKind::Call, F, k, Fx::from_bits(VOL_MAX), 30 * DAY).unwrap();
    assert_eq!(none(SeriesKind::Call, k, 30 * DAY, floor), None);
    assert_eq!(none(SeriesKind::Call, k, 30 * DAY, 0), None);
    assert_eq!(none(SeriesKind::Call, k, 30 * DAY, cap), None);
    assert_eq!(none(SeriesKind::Call, k, 30 * DAY, F), None);
    assert!(none(SeriesKind::Call, k, 30 * DAY, floor + 1).is_some());
    assert!(none(SeriesKind::Call, k, 30 * DAY, cap - 1).is_some());
    assert_eq!(
        implied_vol(SeriesKind::Call, 0, k, 30 * DAY, price, &P),
        Err(RiskError::NonPositivePrice)
    );
}

#[test]
fn the_first_fill_sets_the_level_and_later_ones_follow_within_the_rate() {
    let hist = fx(0.5).to_bits();
    let mut v = FillVol::default();
    assert_eq!(v.implied(), None);
    // The first fill sets the level, within the band only (0.25–1.5 here).
    v.observe(fx(0.9), P.full_notional, 0, hist, &P).unwrap();
    assert!((v.level.to_num::<f64>() - 0.9).abs() < 1e-6, "{}", v.level);
    assert_eq!(
        v.implied(),
        Some(ImpliedVol {
            vol: v.level,
            ts: 0
        })
    );
    // An hour later a full fill moves it by 3% at most; a day later (×1.72) all the way.
    v.observe(fx(0.3), P.full_notional, HOUR, hist, &P).unwrap();
    assert!(
        (v.level.to_num::<f64>() - 0.9 / 1.03).abs() < 1e-6,
        "{}",
        v.level
    );
    v.observe(fx(0.6), P.full_notional, DAY, hist, &P).unwrap();
    assert!((v.level.to_num::<f64>() - 0.6).abs() < 1e-6, "{}", v.level);
    // In the same second nothing moves; dust moves nothing; half the notional pulls half way.
    v.observe(fx(0.3), P.full_notional, DAY, hist, &P).unwrap();
    assert_eq!(v.level, fx(0.6));
    v.observe(fx(0.3), 0, 2 * DAY, hist, &P).unwrap();
    assert_eq!(v.level, fx(0.6));
    v.observe(fx(0.5), P.full_notional / 2, 3 * DAY, hist, &P)
        .unwrap();
    assert!((v.level.to_num::<f64>() - 0.55).abs() < 1e-6, "{}", v.level);
    assert_eq!(v.fills, 6);
    assert_eq!(
        v.observe(fx(0.5), P.full_notional, 3 * DAY - 1, hist, &P),
        Err(RiskError::OutOfOrderObservation)
    );
    // A first fill far outside the band stops at its edge.
    let mut w = FillVol::default();
    w.observe(fx(9.0), P.full_notional, 0, hist, &P).unwrap();
    assert!((w.level.to_num::<f64>() - 1.5).abs() < 1e-9, "{}", w.level);
}

#[test]
fn a_full_size_fill_is_ten_thousand_quote_units_whatever_the_decimals() {
    assert_eq!(FillVolParams::for_quote_decimals(6), P);
    assert_eq!(FillVolParams::for_quote_decimals(0).full_notional, 10_000);
    assert_eq!(
        FillVolParams::for_quote_decimals(9).full_notional,
        10_000_000_000_000
    );
    assert_eq!(
        FillVolParams::for_quote_decimals(15).full_notional,
        i64::MAX,
        "saturates"
    );
    // On a 9-decimal quote, 10 whole units pull a thousandth of the way, not all of it.
    let nine = FillVolParams::for_quote_decimals(9);
    let hist = fx(0.5).to_bits();
    let mut v = FillVol::default();
    v.observe(fx(0.5), nine.full_notional, 0, hist, &nine)
        .unwrap();
    v.observe(fx(1.0), 10_000_000_000, DAY, hist, &nine)
        .unwrap();
    assert!(
        (v.level.to_num::<f64>() - 0.5005).abs() < 1e-6,
        "{}",
        v.level
    );
    v.observe(fx(1.0), nine.full_notional, 2 * DAY, hist, &nine)
        .unwrap();
    assert!(
        (v.level.to_num::<f64>() - 0.8603).abs() < 1e-3,
        "{}",
        v.level
    );
}

#[test]
fn the_band_holds_the_level_within_half_and_three_times_the_historical_vol() {
    let hist = fx(0.4).to_bits();
    let mut v = FillVol::default();
    for d in 1..30 {
        v.observe(fx(0.01), P.full_notional, d * DAY, hist, &P)
            .unwrap();
    }
    assert!((v.level.to_num::<f64>() - 0.2).abs() < 1e-9, "{}", v.level);
    for d in 30..60 {
        v.observe(fx(9.0), P.full_notional, d * DAY, hist, &P)
            .unwrap();
    }
    assert!((v.level.to_num::<f64>() - 1.2).abs() < 1e-9, "{}", v.level);
}

proptest! {
    /// The wash-trade bound: two colluding accounts trading any size at any price, as often as
    /// they like (several fills a second included), move the level by at most
    /// exp(rate·elapsed/rate_secs) either way between any two times, and never out of the band.
    #[test]
    fn colluding_fills_move_the_level_no_faster_than_the_rate(
        start in 0.2f64..2.0,
        fills in prop::collection::vec((0.0f64..20.0, 0i64..i64::MAX, 0i64..3 * HOUR), 1..200),
    ) {
        let hist = fx(0.6).to_bits();
        let mut v = FillVol { level: fx(start.clamp(0.3, 1.8)), ts: 0, fills: 1, reserved: 0 };
        let mut history = vec![(0i64, v.level.to_num::<f64>())];
        let mut now = 0;
        for (sigma, notional, dt) in fills {
            now += dt;
            v.observe(fx(sigma), notional, now, hist, &P).unwrap();
            let level = v.level.to_num::<f64>();
            prop_assert!((0.3 - 1e-9..=1.8 + 1e-9).contains(&level), "band: {level}");
            for &(t, l) in &history {
                let f = max_factor(now - t) * (1.0 + 1e-8);
                prop_assert!(level <= l * f + 1e-9 && level >= l / f - 1e-9,
                    "{l} at {t} → {level} at {now}: more than ×{f}");
            }
            history.push((now, level));
        }
    }
}
