//! EWMA variance from irregularly spaced observations (docs/risk-model.md §3.1).
//!
//! Each observation contributes the annualised sample s = r²·Y/Δt (r the log return since the
//! last observation) with weight α = 1 − e^(−Δt/τ). Summed over a day, many small intraday
//! weights give the same expected update as one daily observation — α·s ≈ (Δt/τ)·r²·Y/Δt = r²·Y/τ
//! — so an intraday crank and a daily crank estimate the same variance.

use crate::error::RiskResult;
use crate::fx::{add, div_shift, mul_ceil, mul_sat, sub, Round, ONE};
use crate::math::{exp, ln_scaled};
use crate::pricing::SECONDS_PER_YEAR;

/// Log return ln(price/prev) in Q32.32 of two positive prices in the same unit.
pub fn log_return(prev: i64, price: i64) -> RiskResult<i64> {
    sub(ln_scaled(price, 0)?, ln_scaled(prev, 0)?)
}

/// Annualised variance sample r²·Y/Δt (Q32.32), capped at `cap`. `dt_secs` ≥ 1.
pub fn variance_sample(r: i64, dt_secs: i64, cap: i64) -> RiskResult<i64> {
    let per_year =
        div_shift(SECONDS_PER_YEAR, dt_secs.max(1), 32, Round::Floor).unwrap_or(i64::MAX);
    Ok(mul_sat(mul_sat(r, r), per_year).min(cap))
}

/// Annualised covariance sample r_a·r_b·Y/Δt, capped at ±`cap`.
pub fn covariance_sample(ra: i64, rb: i64, dt_secs: i64, cap: i64) -> RiskResult<i64> {
    let per_year =
        div_shift(SECONDS_PER_YEAR, dt_secs.max(1), 32, Round::Floor).unwrap_or(i64::MAX);
    Ok(mul_sat(mul_sat(ra, rb), per_year).clamp(-cap, cap))
}

/// Weight of an observation Δt after the previous one: 1 − e^(−Δt/τ) (Q32.32, in [0, 1]).
pub fn weight(dt_secs: i64, tau_secs: i64) -> RiskResult<i64> {
    match div_shift(dt_secs.max(0), tau_secs.max(1), 32, Round::Floor) {
        Some(x) => Ok(ONE - exp(-x)?),
        None => Ok(ONE),
    }
}

/// v + α·(s − v), rounded toward +∞ (variance feeds margin: a rise is never understated and a
/// fall never overstated).
pub fn update(v: i64, sample: i64, alpha: i64) -> RiskResult<i64> {
    add(v, mul_ceil(sub(sample, v)?, alpha)?)
}
