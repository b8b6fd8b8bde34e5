//! The AVSL rule as docs/liquidation.md §1–2 writes it, in floating point: what a `Liquidated`
//! event's cap and trigger level must be, derived from the event's own inputs (σ, E, MM, IM)
//! independently of keel-risk's fixed-point code.

use keel::events::Liquidated;
use keel_risk::LiquidationParams;

fn f(x: keel_risk::Fx) -> f64 {
    x.to_bits() as f64 / 4294967296.0
}

/// Q32.32 bits as a number.
pub fn q32(bits: i64) -> f64 {
    bits as f64 / 4294967296.0
}

/// The per-call cap: cap(σ) = clamp(fraction_ref·ref_vol/σ, fraction_min, 1), grown linearly to
/// 1 as equity falls from MM to δ·MM, 1 at or below δ·MM.
pub fn cap(ev: &Liquidated, p: &LiquidationParams) -> f64 {
    let (e, mm) = (ev.equity_mm_before as f64, ev.mm_before as f64);
    let delta = f(p.danger_mm_fraction);
    let vol_cap = (f(p.fraction_ref) * f(p.fraction_ref_vol) / q32(ev.sigma_q32))
        .clamp(f(p.fraction_min), 1.0);
    if e <= delta * mm {
        1.0
    } else if e >= mm {
        vol_cap
    } else {
        vol_cap + (1.0 - vol_cap) * (mm - e) / ((1.0 - delta) * mm)
    }
}

/// The trigger level L = min(MM·(1 + b·max(σ − ref_vol, 0)/ref_vol), IM).
pub fn trigger_level(mm: i64, im: i64, sigma_q32: i64, p: &LiquidationParams) -> f64 {
    let r = f(p.fraction_ref_vol);
    let raised = 1.0 + f(p.trigger_vol_buffer) * (q32(sigma_q32) - r).max(0.0) / r;
    (mm as f64 * raised).min(im.max(mm) as f64)
}

/// Asserts the event's cap and trigger level are the documented ones (to rounding).
pub fn assert_documented(ev: &Liquidated, p: &LiquidationParams) {
    let (got, want) = (q32(ev.fraction_cap_q32), cap(ev, p));
    assert!((got - want).abs() < 1e-6, "cap {got} vs documented {want}");
    let (got, want) = (
        ev.trigger_level as f64,
        trigger_level(ev.mm_before, ev.im_before, ev.sigma_q32, p),
    );
    assert!(
        (got - want).abs() <= 1e-6 * want.abs() + 2.0,
        "trigger level {got} vs documented {want}"
    );
    assert!(
        ev.equity_mm_before < ev.trigger_level,
        "liquidated below its trigger level: {} < {}",
        ev.equity_mm_before,
        ev.trigger_level
    );
}
