//! Adaptive volatility-scaled liquidation (AVSL) sizing (docs/risk-model.md §6, docs/liquidation.md).
//!
//! A liquidator takes over the same fraction f of every position of an account below MM (a
//! pro-rata slice keeps hedges intact), at mark value, and is paid a bonus of rate × f × MM by the
//! liquidatee. Scenario losses are homogeneous of degree 1 in the positions and the impact add-on
//! of degree 1.5, so after the slice MM' ≤ (1 − f)·MM and IM' ≤ (1 − f)·IM, while equity only
//! loses the bonus. Reaching the target T = MM + τ·(IM − MM) therefore needs
//!
//!   E − rate·f·MM ≥ (1 − f)·T   ⇔   f ≥ f* = (T − E) / (T − rate·MM)
//!
//! and f = min(f*, cap(σ)), where the per-call cap shrinks as vol rises:
//! cap = clamp(fraction_ref · ref_vol / σ, fraction_min, 1). The bonus rate is
//! clamp(base + c·σ√h, min, max) + ramp × seconds since the account became liquidatable (a Dutch
//! auction: it rises until some liquidator finds it worth taking), capped.

use crate::breakdown::MarginBreakdown;
use crate::error::{RiskError, RiskResult};
use crate::fx::{add, div_ceil, imul, imul_sat, mul, mul_ceil, sub, udiv_ceil, Fx, ONE};
use crate::params::LiquidationParams;
use crate::pricing::{sqrt_secs, TotalVol};

/// What one liquidation call should do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LiquidationPlan {
    /// Fraction of every position to transfer now, in (0, 1], rounded up.
    pub fraction: Fx,
    /// Fraction that would restore the target in one call (> 1: cannot be restored by slicing).
    pub fraction_needed: Fx,
    /// The per-call cap at the current vol.
    pub fraction_cap: Fx,
    /// Bonus rate (fraction of the MM taken over).
    pub bonus_rate: Fx,
    /// The target equity level MM + τ·(IM − MM).
    pub target: i64,
    /// Equity below zero that no slicing can restore (what insurance must cover once flat).
    pub shortfall: i64,
    /// Whether `fraction` reaches the target (false: capped, or bankrupt).
    pub restores_target: bool,
}

/// Bonus paid by the liquidatee for transferring `fraction` of an account with maintenance
/// margin `mm`: ⌈rate × fraction × MM⌉; and the insurance fund's share of it, ⌈share × bonus⌉.
pub fn bonus(rate: Fx, fraction: Fx, mm: i64, p: &LiquidationParams) -> RiskResult<(i64, i64)> {
    let b = mul_ceil(mul_ceil(mm.max(0), fraction.to_bits())?, rate.to_bits())?;
    let fee = mul_ceil(b, p.insurance_share.to_bits())?.min(b);
    Ok((b, fee))
}

/// The bonus rate for vol `sigma` after `elapsed_secs` in liquidation.
pub fn bonus_rate(sigma: Fx, elapsed_secs: i64, p: &LiquidationParams) -> RiskResult<Fx> {
    let sigma_sqrt_h = TotalVol::new(sigma.to_bits().max(0), sqrt_secs(p.bonus_horizon_secs)?)?.w;
    let base = add(
        p.bonus_base.to_bits(),
        mul_ceil(p.bonus_vol_coef.to_bits(), sigma_sqrt_h)?,
    )?
    .max(p.bonus_min.to_bits())
    .min(p.bonus_max.to_bits()); // not clamp: total even if min > max
    let ramp = imul_sat(p.bonus_ramp_per_sec.to_bits(), elapsed_secs.max(0));
    Ok(Fx::from_bits(
        base.saturating_add(ramp).min(p.bonus_cap.to_bits()),
    ))
}

/// The per-call fraction cap at vol `sigma`: clamp(ref·ref_vol/σ, min, 1).
pub fn fraction_cap(sigma: Fx, p: &LiquidationParams) -> RiskResult<Fx> {
    let s = sigma.to_bits();
    let cap = if s <= 0 {
        ONE
    } else {
        div_ceil(
            mul(p.fraction_ref.to_bits(), p.fraction_ref_vol.to_bits())?,
            s,
        )
        .unwrap_or(ONE)
    };
    Ok(Fx::from_bits(
        cap.clamp(p.fraction_min.to_bits().min(ONE), ONE),
    ))
}

/// Sizes one liquidation call of the account in `b` (which must be below MM) at vol `sigma`
/// (the highest vol among the account's markets), `elapsed_secs` after it became liquidatable.
pub fn plan(
    b: &MarginBreakdown,
    sigma: Fx,
    elapsed_secs: i64,
    p: &LiquidationParams,
) -> RiskResult<LiquidationPlan> {
    if !b.is_liquidatable() {
        return Err(RiskError::NotLiquidatable);
    }
    let (e, mm, im) = (b.equity_mm, b.mm.max(0), b.im.max(b.mm).max(0));
    let target = add(mm, mul_ceil(sub(im, mm)?, p.target_im_fraction.to_bits())?)?;
    let rate = bonus_rate(sigma, elapsed_secs, p)?;
    let cap = fraction_cap(sigma, p)?;
    let shortfall = e.min(0).saturating_neg();
    if mm == 0 {
        // No risk left to transfer: only the shortfall remains.
        return Ok(LiquidationPlan {
            fraction_cap: cap,
            bonus_rate: rate,
            target,
            shortfall,
            ..Default::default()
        });
    }
    // T − rate·MM ≥ (1 − bonus_cap)·MM > 0 because the rate is capped below 1 by the bounds.
    let denom = sub(target, mul_ceil(mm, rate.to_bits())?)?.max(1);
    let needed = div_ceil(sub(target, e)?, denom).unwrap_or(i64::MAX);
    let fraction = needed.min(cap.to_bits()).clamp(1, ONE);
    Ok(LiquidationPlan {
        fraction: Fx::from_bits(fraction),
        fraction_needed: Fx::from_bits(needed),
        fraction_cap: cap,
        bonus_rate: rate,
        target,
        shortfall,
        restores_target: needed <= cap.to_bits() && needed <= ONE,
    })
}

/// Contracts of a position of `qty` to transfer for `fraction`: ⌈|qty|·f⌉ with qty's sign,
/// never more than the position (rounding up liquidates a little more, never less).
pub fn slice(qty: i64, fraction: Fx) -> RiskResult<i64> {
    let f = fraction.to_bits().clamp(0, ONE) as u64;
    if f == ONE as u64 {
        return Ok(qty);
    }
    let n = qty.unsigned_abs();
    // ⌈n·f / 2^32⌉ on 64 bits: n·f may not fit, so split n.
    let (hi, lo) = (n >> 32, n & 0xFFFF_FFFF);
    let part = add(
        imul(hi as i64, f as i64)?,
        // lo < 2^32 and f ≤ 2^32: the product is < 2^64, exact.
        udiv_ceil(lo.wrapping_mul(f), 1 << 32) as i64,
    )?;
    let part = (part as u64).min(n) as i64;
    Ok(if qty < 0 { -part } else { part })
}

#[cfg(test)]
mod tests;
