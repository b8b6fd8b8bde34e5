//! The AVSL rule as docs/liquidation.md §1–2 writes it, in floating point: what a `Liquidated`
//! event's cap and trigger level must be, derived from the event's own inputs (σ, the
//! realised-vol stress k, E, MM, IM) independently of keel-risk's fixed-point code.

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
/// 1 as equity falls from k·MM to δ·k·MM, 1 at or below δ·k·MM.
pub fn cap(ev: &Liquidated, p: &LiquidationParams) -> f64 {
    let (e, mm) = (
        ev.equity_mm_before as f64,
        q32(ev.stress_q32) * ev.mm_before as f64,
    );
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

/// The trigger level L = min(k·MM·(1 + b·max(σ − ref_vol, 0)/ref_vol), k·IM), k the
/// realised-vol stress (1 without it).
pub fn trigger_level(
    mm: i64,
    im: i64,
    sigma_q32: i64,
    stress_q32: i64,
    p: &LiquidationParams,
) -> f64 {
    let r = f(p.fraction_ref_vol);
    let k = q32(stress_q32);
    let raised = 1.0 + f(p.trigger_vol_buffer) * (q32(sigma_q32) - r).max(0.0) / r;
    (k * mm as f64 * raised).min(k * im.max(mm) as f64)
}

/// The realised-vol stress k of an account as its margin report shows it, as Q32.32 bits: the
/// largest realised/margin vol over its markets, within [1, `realised_stress_cap`] (1 when the
/// cap is ≤ 1).
pub fn stress_of(r: &keel::events::MarginReport, p: &LiquidationParams) -> i64 {
    let cap = f(p.realised_stress_cap);
    if cap <= 1.0 {
        return 1 << 32;
    }
    let k = r
        .markets
        .iter()
        .map(|m| q32(m.realised_sigma_q32) / q32(m.sigma_q32).max(1e-12))
        .fold(1.0f64, f64::max)
        .min(cap);
    (k * 4294967296.0).round() as i64
}

/// The trigger level of an account as its margin report shows it: [`trigger_level`] at the
/// highest margin vol among its markets and its stress ([`stress_of`]). Asserts that the
/// report's own `liquidation_level` and `stress_q32` are these documented figures (to
/// rounding), so every test reading a level through here checks what the program reports.
pub fn report_trigger_level(r: &keel::events::MarginReport, p: &LiquidationParams) -> f64 {
    let sigma = r.markets.iter().map(|m| m.sigma_q32).max().unwrap_or(0);
    let k = stress_of(r, p);
    let level = trigger_level(r.mm, r.im, sigma, k, p);
    assert!(
        (r.stress_q32 - k).abs() <= 4,
        "reported stress {} vs documented {k}",
        r.stress_q32
    );
    assert!(
        (r.liquidation_level as f64 - level).abs() <= 1e-6 * level.abs() + 2.0,
        "reported liquidation level {} vs documented {level}",
        r.liquidation_level
    );
    level
}

/// Asserts the event's cap and trigger level are the documented ones (to rounding).
pub fn assert_documented(ev: &Liquidated, p: &LiquidationParams) {
    let (got, want) = (q32(ev.fraction_cap_q32), cap(ev, p));
    assert!((got - want).abs() < 1e-6, "cap {got} vs documented {want}");
    let (got, want) = (
        ev.trigger_level as f64,
        trigger_level(ev.mm_before, ev.im_before, ev.sigma_q32, ev.stress_q32, p),
    );
    assert!(
        (got - want).abs() <= 1e-6 * want.abs() + 2.0,
        "trigger level {got} vs documented {want}"
    );
    let k = q32(ev.stress_q32);
    assert!(
        k >= 1.0 && k <= f(p.realised_stress_cap).max(1.0),
        "stress {k} within [1, cap]"
    );
    assert!(
        ev.equity_mm_before < ev.trigger_level,
        "liquidated below its trigger level: {} < {}",
        ev.equity_mm_before,
        ev.trigger_level
    );
}
