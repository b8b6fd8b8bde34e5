//! The scenario grid's ingredients (docs/risk-model.md §4.1): the IM price range R from the
//! margin vol, the vol-shock multipliers of the term structure, and the price checks. The
//! scenario points themselves — ladders of log moves around a market's anchor price — are laid
//! out by [`crate::array`].
//!
//! MM uses the inner `mm_steps`/[`PRICE_STEPS`] of the IM range, so **MM's scenarios are a
//! subset of IM's and IM ≥ MM by construction**.

mod name;
pub use name::ScenarioName;

use crate::error::{RiskError, RiskResult};
use crate::fx::{add, mul, sub, Fx, ONE};
use crate::math::{exp, ln_scaled};
use crate::params::RiskParams;
use crate::pricing::{sqrt_secs, TotalVol};

/// The MM range is `mm_steps`/`PRICE_STEPS` of the IM range (`RiskParams::mm_steps`).
pub const PRICE_STEPS: usize = 6;

/// IM price range R = clamp(k·σ·√h, floor, cap) as a log move (Q32.32).
pub fn im_range(sigma: Fx, params: &RiskParams) -> RiskResult<i64> {
    let sigma_sqrt_h = TotalVol::new(sigma.to_bits(), sqrt_secs(params.im_horizon_secs)?)?.w;
    let r = mul(sigma_sqrt_h, params.im_range_sigmas.to_bits())?;
    // max-then-min rather than clamp: total even for out-of-bounds parameters (cap wins).
    Ok(r.max(params.range_floor.to_bits())
        .min(params.range_cap.to_bits()))
}

/// The vol-shock multipliers (up, down) of a series with `t_secs` to expiry, Q32.32:
/// up = 1 + u·(T_ref/T)^p, down = max(1 − d·(T_ref/T)^p, floor), T floored at `vol_ts_min_secs`,
/// p = `vol_ts_power_short` below T_ref and `vol_ts_power_long` above (Deribit/Derive shape).
pub fn vol_multipliers(t_secs: i64, params: &RiskParams) -> RiskResult<(i64, i64)> {
    let t = t_secs.max(params.vol_ts_min_secs).max(1);
    let p = if t < params.vol_ts_ref_secs {
        params.vol_ts_power_short
    } else {
        params.vol_ts_power_long
    };
    let ln_ratio = ln_scaled(params.vol_ts_ref_secs, 0)? - ln_scaled(t, 0)?;
    let factor = exp(mul(p.to_bits(), ln_ratio)?)?;
    let up = add(ONE, mul(params.vol_up.to_bits(), factor)?)?;
    let down =
        sub(ONE, mul(params.vol_down.to_bits(), factor)?)?.max(params.vol_down_floor.to_bits());
    Ok((up, down))
}

/// Validates the oracle inputs the grid is built from.
pub fn check_prices(spot: i64, stable: i64, conf: i64) -> RiskResult<()> {
    if spot <= 0 || stable <= 0 {
        return Err(RiskError::NonPositivePrice);
    }
    if conf < 0 {
        return Err(RiskError::NonPositivePrice);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
