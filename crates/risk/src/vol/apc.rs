//! Anti-procyclicality of the margin vol (docs/risk-model.md §3.5, after EMIR RTS 153/2013
//! art. 28): a stressed-variance weight, a floor, a release buffer and a cap on how fast margin
//! vol may fall.
//!
//! With σ_f the floored (and stress-weighted) vol, the margin vol σ_m is kept in the band
//! [σ_f, (1 + b)·σ_f]: in calm markets it sits at the top (the buffer is held); when vol rises, the
//! buffer is consumed first, so margin does not move until vol has risen by more than b; when vol
//! falls, σ_m falls toward (1 + b)·σ_f no faster than `apc_max_fall_per_day`.
//!
//! The price range has its own speed limit (`range_step`): the range vol σ_r follows σ_m down at
//! once and up no faster than `apc_max_rise_per_day`. A delta book's margin is its range, so
//! this is its anti-procyclicality; an option's scenario vols stay at σ_m (a short-vega book's
//! liability rises with the implied vol at once, and so must its margin).

use crate::error::RiskResult;
use crate::fx::{add, div_shift, mul, mul_ceil, sub, Round, ONE};
use crate::math::{exp, ln, sqrt};
use crate::params::RiskParams;
use crate::pricing::SECONDS_PER_DAY;

/// σ_f = max(√((1 − w)·σ² + w·σ_stress²), floor), rounded up.
pub fn floored(sigma: i64, p: &RiskParams) -> RiskResult<i64> {
    let w = p.apc_stressed_weight.to_bits();
    let s = if w == 0 {
        sigma
    } else {
        let stress = p.apc_stressed_vol.to_bits();
        let var = add(
            mul_ceil(mul_ceil(sigma, sigma)?, sub(ONE, w)?)?,
            mul_ceil(mul_ceil(stress, stress)?, w)?,
        )?;
        sqrt(var)? + 1
    };
    Ok(s.max(p.apc_floor_vol.to_bits()))
}

/// Next margin vol from the previous one (`prev`, 0 when there is none), the raw vol in force
/// and the seconds since the previous step.
pub fn step(prev: i64, raw: i64, dt_secs: i64, p: &RiskParams) -> RiskResult<i64> {
    let lo = floored(raw, p)?;
    let hi = add(lo, mul_ceil(lo, p.apc_buffer.to_bits())?)?;
    if prev <= 0 {
        return Ok(hi);
    }
    if prev < lo {
        return Ok(lo); // risk first: a rise beyond the buffer is taken at once
    }
    if prev <= hi {
        return Ok(prev); // inside the band: the buffer absorbs the move
    }
    // Above the band: fall toward it at most by the daily rate, compounded over dt.
    let days = div_shift(dt_secs.max(0), SECONDS_PER_DAY, 32, Round::Floor).unwrap_or(i64::MAX);
    let keep = sub(ONE, p.apc_max_fall_per_day.to_bits())?;
    if keep <= 0 {
        return Ok(hi); // a 100%/day fall (the bound's top) releases the excess at once
    }
    let factor = match crate::fx::mul_shift(days, ln(keep)?, 32, Round::Ceil) {
        Some(e) => exp(e)?,
        None => 0,
    };
    Ok(mul(prev, factor)?.max(hi))
}

/// Next range vol from the previous one (`prev`, 0 when there is none), the margin vol just
/// stepped and the seconds since the previous step: σ_m when it is not above `prev` or there is
/// no speed limit, else min(σ_m, prev·(1 + `apc_max_rise_per_day`)^(dt/day)), the factor rounded
/// down (a bound: σ_r(t₂) ≤ σ_r(t₁)·(1 + rise)^((t₂ − t₁)/day) across any number of steps).
pub fn range_step(prev: i64, margin: i64, dt_secs: i64, p: &RiskParams) -> RiskResult<i64> {
    let rise = p.apc_max_rise_per_day.to_bits();
    if rise == 0 || prev <= 0 || margin <= prev {
        return Ok(margin);
    }
    let days = div_shift(dt_secs.max(0), SECONDS_PER_DAY, 32, Round::Floor).unwrap_or(i64::MAX);
    // A bound, so every error is taken downwards: ln is within 2e-9 (9 units of 2^-32) and is
    // lowered by that, the product with days rounds down, and e^x (relative error ≤ 2e-9) is
    // shaded down by 2^-24; the factor never exceeds the true (1 + rise)^days, and is never
    // below 1 (the range vol does not fall here).
    let ln_rise = (ln(add(ONE, rise)?)? - 9).max(0);
    let factor = match crate::fx::mul_shift(days, ln_rise, 32, Round::Floor) {
        Some(e) => match exp(e) {
            Ok(f) => (f - (f >> 24) - 1).max(ONE),
            Err(_) => return Ok(margin), // (1 + rise)^days ≥ 2^31: no limit left to apply
        },
        None => return Ok(margin),
    };
    Ok(match mul(prev, factor) {
        Ok(v) => v.min(margin),
        Err(_) => margin,
    })
}
