//! EWMA variance from irregularly spaced observations (docs/risk-model.md §3.1).
//!
//! Each observation contributes the annualised sample s = r²·Y/Δt (r the log return since the
//! last observation) with weight α = 1 − e^(−Δt/τ). Summed over a day, many small intraday
//! weights give the same expected update as one daily observation — α·s ≈ (Δt/τ)·r²·Y/Δt = r²·Y/τ
//! — so an intraday crank and a daily crank estimate the same variance.

use crate::error::{RiskError, RiskResult};
use crate::fx::{add, div_shift, imul, mul_ceil, mul_wide, sub, udiv_ceil, umul_sat, Round, ONE};
use crate::math::{decay_ratio, ln_scaled, one_minus_exp_neg};
use crate::pricing::SECONDS_PER_YEAR;

/// Log return ln(price/prev) in Q32.32 of two positive prices in the same unit.
pub fn log_return(prev: i64, price: i64) -> RiskResult<i64> {
    sub(ln_scaled(price, 0)?, ln_scaled(prev, 0)?)
}

/// `a·b·Y/Δt` for Q32.32 magnitudes `a`, `b` < 1 (so a·b is exact in Q0.64), rounded up;
/// `None` if an operand is ≥ 1 (then the caller's cap applies anyway).
fn annualised_product(a: u64, b: u64, dt_secs: i64) -> Option<i64> {
    if a >= 1 << 32 || b >= 1 << 32 {
        return None;
    }
    let ab = a * b; // Q0.64, exact
    let (hi, lo) = mul_wide(ab, SECONDS_PER_YEAR as u64); // < 2^89
    let q32 = (hi << 32) | (lo >> 32); // Q32.32 floor, < 2^57
    let q32 = q32 + (lo & 0xFFFF_FFFF != 0) as u64;
    Some(udiv_ceil(q32, dt_secs.max(1) as u64) as i64)
}

/// Annualised variance sample r²·Y/Δt (Q32.32), capped at `cap`, rounded up. `dt_secs` ≥ 1.
pub fn variance_sample(r: i64, dt_secs: i64, cap: i64) -> RiskResult<i64> {
    let a = r.unsigned_abs();
    Ok(annualised_product(a, a, dt_secs)
        .unwrap_or(i64::MAX)
        .min(cap.max(0)))
}

/// Annualised covariance sample r_a·r_b·Y/Δt, capped at ±`cap`, rounded toward +∞ in
/// magnitude-then-sign (a larger |covariance| never understates co-movement).
pub fn covariance_sample(ra: i64, rb: i64, dt_secs: i64, cap: i64) -> RiskResult<i64> {
    let m = annualised_product(ra.unsigned_abs(), rb.unsigned_abs(), dt_secs)
        .unwrap_or(i64::MAX)
        .min(cap.max(0));
    Ok(if (ra < 0) != (rb < 0) { -m } else { m })
}

/// Weight of an observation Δt after the previous one: 1 − e^(−Δt/τ) (Q32.32, in [0, 1]).
/// For display; updates use [`decay`], which is exact to the Q32 grid for any Δt.
pub fn weight(dt_secs: i64, tau_secs: i64) -> RiskResult<i64> {
    match div_shift(dt_secs.max(0), tau_secs.max(1), 32, Round::Floor) {
        Some(x) => one_minus_exp_neg(x),
        None => Ok(ONE),
    }
}

/// Δ·(1 − e^(−k·Δt/T)) for Q32.32 Δ and rate k, integer Δt and period T > 0, rounded toward +∞
/// (variance feeds margin: a rise is never understated, a fall never overstated).
///
/// Computed as (Δ·k)·Δt/T × g(x) with g = `decay_ratio`: the leading product is exact integer
/// arithmetic, so short intervals lose nothing to the quantization of x = k·Δt/T.
pub fn decay(delta: i64, k: i64, dt_secs: i64, period_secs: i64) -> RiskResult<i64> {
    let (dt, period) = (dt_secs.max(0), period_secs.max(1));
    // x = k·Δt/T in Q32.32 (unsigned: SBF has no signed division), saturating.
    let x = (umul_sat(k.max(0) as u64, dt as u64) / period as u64).min(i64::MAX as u64) as i64;
    if x >= ONE / 16 {
        // Large weights: the quantization of x costs < 4e-9 relative.
        return mul_ceil(delta, one_minus_exp_neg(x)?);
    }
    let dk = mul_ceil(delta, k)?;
    let dx = div_shift(imul(dk, dt)?, period, 0, Round::Ceil).ok_or(RiskError::Overflow)?;
    mul_ceil(dx, decay_ratio(x)?)
}

/// v + Δ·(1 − e^(−Δt/τ)) with Δ = s − v: the EWMA step, rounded toward +∞.
pub fn update(v: i64, sample: i64, dt_secs: i64, tau_secs: i64) -> RiskResult<i64> {
    add(v, decay(sub(sample, v)?, ONE, dt_secs, tau_secs)?)
}
