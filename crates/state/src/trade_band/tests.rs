use super::*;
use crate::market::TradeBand;
use keel_risk::{RiskParams, VolState};

const NOW: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

fn market(band: TradeBand) -> Market {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = crate::LAYOUT_VERSION;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = -2;
    m.quote_decimals = 6;
    m.risk_params = RiskParams::DEFAULT;
    m.trade_band = band;
    // 60 000 USD/BTC → 600 USDC per 0.01 BTC contract.
    m.vol_state = VolState::new(600_000_000, NOW - 100, &RiskParams::DEFAULT).unwrap();
    m
}

fn reading(price_usd: i64) -> OracleReading {
    OracleReading {
        price: price_usd * 100_000_000,
        conf: 0,
        expo: -8,
        publish_time: NOW,
        prev_publish_time: NOW - 1,
    }
}

/// f64 Black-76 (the band is judged against an independent reference, not against itself).
fn black76_f64(call: bool, f: f64, k: f64, sigma: f64, t_secs: f64) -> f64 {
    let t = t_secs / (365.0 * DAY as f64);
    let w = sigma * libm::sqrt(t);
    let d1 = (libm::log(f / k) + 0.5 * w * w) / w;
    let d2 = d1 - w;
    let n = |x: f64| 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2);
    if call {
        f * n(d1) - k * n(d2)
    } else {
        k * n(-d2) - f * n(-d1)
    }
}

#[test]
fn option_band_spans_the_values_at_the_scaled_vols_plus_the_spot_floor() {
    let m = market(TradeBand::DEFAULT);
    let sigma = m.vol_state.mark_vol().to_num::<f64>();
    let (k, t) = (620_000_000i64, 7 * DAY);
    let b = band(&m, &reading(60_000), SeriesKind::Call, k, NOW + t, NOW).unwrap();
    let spot = 600_000_000.0;
    let floor = spot * 10.0 / 10_000.0;
    let lo = black76_f64(true, spot, k as f64, sigma * 0.5, t as f64) - floor;
    let hi = black76_f64(true, spot, k as f64, sigma * 1.5, t as f64) + floor;
    let mark = black76_f64(true, spot, k as f64, sigma, t as f64);
    // Within Black-76's fixed-point error (≪ 1 USDC here) of the f64 reference.
    let tol = 2.0;
    assert!(libm::fabs(b.lo as f64 - lo) < tol, "lo {} vs {lo}", b.lo);
    assert!(libm::fabs(b.hi as f64 - hi) < tol, "hi {} vs {hi}", b.hi);
    assert!(
        libm::fabs(b.mark as f64 - mark) < tol,
        "mark {} vs {mark}",
        b.mark
    );
    assert!(b.lo < b.mark && b.mark < b.hi);
    assert!(b.contains(b.lo) && b.contains(b.hi));
    assert!(!b.contains(b.lo - 1) && !b.contains(b.hi + 1));
    // The spot it was computed at (what `trade` records an option fill against).
    assert_eq!(b.spot, 600_000_000);
}

#[test]
fn a_worthless_option_may_trade_only_up_to_the_spot_floor() {
    let m = market(TradeBand::DEFAULT);
    // A put struck at a third of spot with a day to run is worth nothing at any vol in the band.
    let b = band(
        &m,
        &reading(60_000),
        SeriesKind::Put,
        200_000_000,
        NOW + DAY,
        NOW,
    )
    .unwrap();
    assert_eq!(b.mark, 0);
    assert_eq!(b.lo, 0);
    // 0.1% of 600 USDC.
    assert_eq!(b.hi, 600_000);
}

#[test]
fn future_band_is_spot_plus_minus_its_bps() {
    let m = market(TradeBand::DEFAULT);
    let b = band(&m, &reading(60_000), SeriesKind::Future, 0, NOW + DAY, NOW).unwrap();
    assert_eq!((b.mark, b.spot), (600_000_000, 600_000_000));
    assert_eq!(b.lo, 588_000_000);
    assert_eq!(b.hi, 612_000_000);
}

#[test]
fn a_zero_band_reads_as_the_default_and_bounds_are_enforced() {
    let zero: TradeBand = bytemuck::Zeroable::zeroed();
    assert_eq!(zero.effective(), TradeBand::DEFAULT);
    assert!(!zero.is_valid());
    assert!(TradeBand::DEFAULT.is_valid());
    let a = band(
        &market(zero),
        &reading(60_000),
        SeriesKind::Future,
        0,
        NOW + DAY,
        NOW,
    )
    .unwrap();
    let b = band(
        &market(TradeBand::DEFAULT),
        &reading(60_000),
        SeriesKind::Future,
        0,
        NOW + DAY,
        NOW,
    )
    .unwrap();
    assert_eq!(a, b);
    let mut wide = TradeBand::DEFAULT;
    wide.future_bps = TradeBand::FUTURE_BPS_BOUNDS.1 + 1;
    assert!(!wide.is_valid());
    wide.future_bps = TradeBand::FUTURE_BPS_BOUNDS.1;
    assert!(wide.is_valid());
    wide.vol_frac = keel_risk::Fx::from_bits(TradeBand::VOL_FRAC_BOUNDS.1 + 1);
    assert!(!wide.is_valid());
    wide.vol_frac = keel_risk::Fx::from_bits(TradeBand::VOL_FRAC_BOUNDS.0 - 1);
    assert!(!wide.is_valid());
    wide.vol_frac = TradeBand::DEFAULT.vol_frac;
    wide.option_spot_bps = 0;
    assert!(!wide.is_valid());
}

#[test]
fn a_wider_vol_fraction_widens_the_band() {
    let narrow = market(TradeBand::DEFAULT);
    let mut cfg = TradeBand::DEFAULT;
    cfg.vol_frac = keel_risk::Fx::from_bits(TradeBand::VOL_FRAC_BOUNDS.1);
    let wide = market(cfg);
    let r = reading(60_000);
    let a = band(
        &narrow,
        &r,
        SeriesKind::Call,
        600_000_000,
        NOW + 30 * DAY,
        NOW,
    )
    .unwrap();
    let b = band(
        &wide,
        &r,
        SeriesKind::Call,
        600_000_000,
        NOW + 30 * DAY,
        NOW,
    )
    .unwrap();
    assert_eq!(a.mark, b.mark);
    assert!(b.lo < a.lo && b.hi > a.hi);
}
