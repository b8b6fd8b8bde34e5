//! The vol in force before anti-procyclicality: historical (EWMA and GARCH) blended with an
//! implied vol when one is fresh enough (docs/risk-model.md §3.3).

use crate::error::RiskResult;
use crate::fx::{add, div, mul, mul_ceil, sub, Fx, ONE};
use crate::math::sqrt;
use crate::params::RiskParams;

/// An implied volatility published to the market's vol feed, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImpliedVol {
    /// Annualised implied vol (0.55 = 55%).
    pub vol: Fx,
    /// Unix time it was published.
    pub ts: i64,
}

/// Historical vol √((1 − w)·EWMA + w·GARCH forecast), rounded up.
pub fn historical(ewma_var: i64, garch_forecast: i64, p: &RiskParams) -> RiskResult<i64> {
    let w = p.garch_weight.to_bits();
    let var = add(
        mul_ceil(ewma_var.max(0), sub(ONE, w)?)?,
        mul_ceil(garch_forecast.max(0), w)?,
    )?;
    Ok(sqrt(var)? + 1)
}

/// Weight of an implied vol of age `age_secs`: `iv_weight` while fresh, falling linearly to 0
/// at `iv_max_age_secs`, 0 beyond (a stale feed cannot hold margin down or up).
pub fn implied_weight(age_secs: i64, p: &RiskParams) -> RiskResult<i64> {
    let age = age_secs.max(0);
    let full = p.iv_weight.to_bits();
    if age <= p.iv_fresh_secs {
        return Ok(full);
    }
    if age >= p.iv_max_age_secs {
        return Ok(0);
    }
    let left = div(
        sub(p.iv_max_age_secs, age)?,
        sub(p.iv_max_age_secs, p.iv_fresh_secs)?,
    )?;
    mul(full, left)
}

/// σ_h + w·(σ_iv − σ_h) at time `now`, where σ_h = σ_hist·(1 + π·m): w the implied vol's
/// weight at its age, m = (iv_weight − w)/iv_weight the share of the implied weight no fresh
/// implied vol supplies (1 when iv_weight is 0) and π = `hist_vol_premium`. With π = 0 this is
/// the plain blend; with a fresh feed (w = iv_weight) the premium does not apply.
pub fn with_implied(
    hist: i64,
    iv: Option<ImpliedVol>,
    now: i64,
    p: &RiskParams,
) -> RiskResult<i64> {
    let iv = iv.filter(|iv| iv.vol > Fx::ZERO);
    let w = match iv {
        Some(iv) => implied_weight(now.saturating_sub(iv.ts), p)?,
        None => 0,
    };
    let full = p.iv_weight.to_bits();
    let premium = p.hist_vol_premium.to_bits().max(0);
    let h = if premium == 0 || (full > 0 && w >= full) {
        hist
    } else {
        let missing = if full > 0 {
            div(sub(full, w)?, full)?
        } else {
            ONE
        };
        add(hist, mul_ceil(mul_ceil(hist, premium)?, missing)?)?
    };
    let Some(iv) = iv else { return Ok(h) };
    add(h, mul_ceil(sub(iv.vol.to_bits(), h)?, w)?)
}
