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
//! and f = min(f*, cap), where the per-call cap depends on how near the account is to
//! bankruptcy, measured in units of its own one-period risk d = E / MM:
//!
//! - at the trigger (d just below 1) the cap is the vol-scaled step
//!   cap(σ) = clamp(fraction_ref · ref_vol / σ, fraction_min, 1) — small, hedgeable slices;
//! - it grows linearly to 1 as d falls to the danger level δ = `danger_mm_fraction`:
//!   cap = cap(σ) + (1 − cap(σ))·(1 − d)/(1 − δ);
//! - at or below δ (and at or below zero equity) the whole account goes at once.
//!
//! While a market's realised vol (an EWMA of the crank's own returns over about half a day,
//! `VolState::realised_vol`) is above its margin vol, the margin is behind the market: MM and
//! IM are read as k·MM and k·IM, k = min(realised/margin vol, `realised_stress_cap`) ≥ 1
//! (`realised_stress`), for the trigger, the target and the danger level — an account is
//! liquidated earlier, to more, and whole sooner; the bonus stays a rate of the real MM.
//!
//! A vol-scaled cap alone shrinks the steps exactly when a crash needs speed; the distance to
//! bankruptcy is what says how much time is left. The bonus rate is
//! clamp(base + c·σ√h, min, max) + ramp × seconds since the account became liquidatable (a Dutch
//! auction: it rises until some liquidator finds it worth taking), capped, and never above
//! max(d, bonus_min): a slice never pays more than the equity it carries (so a partial step
//! cannot push the account's E/MM down, which with the ramp at its cap used to drive accounts
//! below d = bonus_cap into bankruptcy by bonuses alone), except for the floor `bonus_min` that
//! a liquidator is always paid for taking over an (almost) bankrupt book.

use crate::breakdown::MarginBreakdown;
use crate::error::{RiskError, RiskResult};
use crate::fx::{add, div, div_ceil, imul, imul_sat, mul, mul_ceil, sub, udiv_ceil, Fx, ONE};
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
    /// The per-call cap at the current vol and distance to bankruptcy (1: whole account).
    pub fraction_cap: Fx,
    /// Bonus rate (fraction of the MM taken over), limited to the equity the slice carries.
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

/// The bonus rate limited to the account's equity: min(rate, max(E/MM, bonus_min)), E/MM
/// rounded down. At this rate a slice f pays at most f·E (up to rounding), so E/MM does not fall.
pub fn equity_limited_rate(rate: Fx, equity: i64, mm: i64, p: &LiquidationParams) -> Fx {
    if mm <= 0 {
        return rate;
    }
    let d = if equity <= 0 {
        0
    } else {
        div(equity, mm).unwrap_or(i64::MAX)
    };
    Fx::from_bits(rate.to_bits().min(d.max(p.bonus_min.to_bits())))
}

/// The per-call cap of an account with MM equity `equity` and maintenance margin `mm` at vol
/// `sigma`: 1 at or below the danger level δ·MM, else the vol-scaled cap grown linearly toward 1
/// as equity falls from MM to δ·MM.
pub fn urgency_cap(sigma: Fx, equity: i64, mm: i64, p: &LiquidationParams) -> RiskResult<Fx> {
    let vol_cap = fraction_cap(sigma, p)?.to_bits();
    let delta = p.danger_mm_fraction.to_bits().clamp(0, ONE);
    if mm <= 0 || equity <= mul(mm, delta)? {
        return Ok(Fx::ONE);
    }
    if equity >= mm {
        return Ok(Fx::from_bits(vol_cap));
    }
    // δ·MM < E < MM, so 0 < MM − E < (1 − δ)·MM: the urgency is in (0, 1).
    let span = mul(mm, ONE - delta)?.max(1);
    let urgency = div_ceil(sub(mm, equity)?, span)?.clamp(0, ONE);
    let cap = add(vol_cap, mul_ceil(ONE - vol_cap, urgency)?)?;
    Ok(Fx::from_bits(cap.clamp(vol_cap, ONE)))
}

/// The realised-vol stress k of the account in `b`: over its markets, the largest
/// realised/margin vol, rounded up, at least 1 and at most `realised_stress_cap` (1 when the
/// cap is ≤ 1, or no market keeps a realised vol).
pub fn realised_stress(b: &MarginBreakdown, p: &LiquidationParams) -> Fx {
    let cap = p.realised_stress_cap.to_bits();
    if cap <= ONE {
        return Fx::ONE;
    }
    let n = (b.n_markets as usize).min(b.markets.len());
    let k = b.markets[..n]
        .iter()
        .filter(|m| m.realised_sigma > m.sigma)
        .map(|m| div_ceil(m.realised_sigma.to_bits(), m.sigma.to_bits().max(1)).unwrap_or(cap))
        .max()
        .unwrap_or(ONE);
    Fx::from_bits(k.clamp(ONE, cap))
}

/// MM and IM of `b` as the liquidation reads them: ⌈k·MM⌉ and ⌈k·max(IM, MM)⌉, k the
/// realised-vol stress (saturating: a larger requirement only liquidates more).
pub fn stressed_margins(b: &MarginBreakdown, p: &LiquidationParams) -> (i64, i64) {
    stressed_at(b, realised_stress(b, p))
}

/// `stressed_margins` at stress `k`.
fn stressed_at(b: &MarginBreakdown, k: Fx) -> (i64, i64) {
    let (mm, im) = (b.mm.max(0), b.im.max(b.mm).max(0));
    let k = k.to_bits();
    if k <= ONE {
        return (mm, im);
    }
    let up = |x: i64| mul_ceil(x, k).unwrap_or(i64::MAX);
    (up(mm), up(im))
}

/// The equity below which the account in `b` is liquidatable at vol `sigma`: MM, raised when
/// vol is above the reference vol by the vol-scaled buffer, never above IM:
/// min(MM·(1 + b·max(σ − ref_vol, 0)/ref_vol), max(IM, MM)), with MM and IM stressed by the
/// realised vol (`stressed_margins`).
pub fn trigger_level(b: &MarginBreakdown, sigma: Fx, p: &LiquidationParams) -> RiskResult<i64> {
    Ok(trigger(b, sigma, p)?.0)
}

/// `trigger_level` and the realised-vol stress k it read MM and IM at, computed once.
pub fn trigger(b: &MarginBreakdown, sigma: Fx, p: &LiquidationParams) -> RiskResult<(i64, Fx)> {
    let k = realised_stress(b, p);
    let (mm, im) = stressed_at(b, k);
    Ok((level_of(mm, im, sigma, p)?, k))
}

/// Whether the account in `b` is below trigger level `level` (or below MM): what `liquidate`
/// needs (`is_liquidatable` with the level already computed).
pub fn below(b: &MarginBreakdown, level: i64) -> bool {
    b.is_liquidatable() || b.equity_mm < level
}

/// The trigger level over (stressed) margins `mm` ≤ `im` at vol `sigma` (`trigger_level`).
fn level_of(mm: i64, im: i64, sigma: Fx, p: &LiquidationParams) -> RiskResult<i64> {
    let excess = sigma.to_bits().saturating_sub(p.fraction_ref_vol.to_bits());
    if excess <= 0 || p.trigger_vol_buffer.to_bits() <= 0 {
        return Ok(mm);
    }
    // (σ − ref)/ref, capped at 1000 so the product stays small; the level is capped at IM anyway.
    let rel = div_ceil(excess, p.fraction_ref_vol.to_bits().max(1))
        .unwrap_or(i64::MAX)
        .min(1000 * ONE);
    let buffer = mul_ceil(p.trigger_vol_buffer.to_bits(), rel)?;
    Ok(add(mm, mul_ceil(mm, buffer).unwrap_or(i64::MAX))
        .unwrap_or(i64::MAX)
        .min(im))
}

/// Collateral that may leave the account in `b` without taking it below IM or below its
/// liquidation trigger level (which the realised-vol stress may put above IM; `withdraw` refuses
/// both): min(`MarginBreakdown::withdrawable`, E_mm − trigger), never negative. Without stress
/// the trigger is at most IM and this is `withdrawable` whenever E_mm ≥ E_im.
pub fn withdrawable(b: &MarginBreakdown, p: &LiquidationParams) -> RiskResult<i64> {
    Ok(withdrawable_above(b, trigger_level(b, max_sigma(b), p)?))
}

/// `withdrawable` with the trigger level already computed.
fn withdrawable_above(b: &MarginBreakdown, level: i64) -> i64 {
    b.withdrawable()
        .min(b.equity_mm.saturating_sub(level))
        .max(0)
}

/// What an account's margin report states about its liquidation, from one trigger-level
/// computation (`margin_report`, keel-client and the WebAssembly engine all build it here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationStatus {
    /// The equity (MM) below which it is liquidatable: `trigger_level` at its highest vol.
    pub level: i64,
    /// `is_liquidatable` at its highest vol.
    pub liquidatable: bool,
    /// `withdrawable`: what `withdraw` accepts.
    pub withdrawable: i64,
    /// The realised-vol stress k the level reads MM and IM at (`realised_stress`).
    pub stress: Fx,
}

/// The [`LiquidationStatus`] of the account in `b`.
pub fn status(b: &MarginBreakdown, p: &LiquidationParams) -> RiskResult<LiquidationStatus> {
    let (level, stress) = trigger(b, max_sigma(b), p)?;
    Ok(LiquidationStatus {
        level,
        liquidatable: below(b, level),
        withdrawable: withdrawable_above(b, level),
        stress,
    })
}

/// The highest vol in force among the account's markets in `b`: the vol every liquidation
/// function is evaluated at (steps are sized by the riskiest market).
pub fn max_sigma(b: &MarginBreakdown) -> Fx {
    b.markets[..(b.n_markets as usize).min(b.markets.len())]
        .iter()
        .map(|m| m.sigma)
        .max()
        .unwrap_or(Fx::ZERO)
}

/// Whether the account in `b` is liquidatable at vol `sigma`: below MM, or below the raised
/// trigger level while vol is above the reference (`trigger_level`).
pub fn is_liquidatable(b: &MarginBreakdown, sigma: Fx, p: &LiquidationParams) -> RiskResult<bool> {
    Ok(below(b, trigger_level(b, sigma, p)?))
}

/// Sizes one liquidation call of the account in `b` (which must be below its trigger level,
/// `is_liquidatable`) at vol `sigma` (the highest vol among the account's markets),
/// `elapsed_secs` after it became liquidatable.
pub fn plan(
    b: &MarginBreakdown,
    sigma: Fx,
    elapsed_secs: i64,
    p: &LiquidationParams,
) -> RiskResult<LiquidationPlan> {
    let (e, mm) = (b.equity_mm, b.mm.max(0));
    // The trigger, the target and the danger level read the stressed MM and IM; the bonus is
    // a rate of the real MM.
    let (mm_s, im) = stressed_margins(b, p);
    let level = level_of(mm_s, im, sigma, p)?;
    if !below(b, level) {
        return Err(RiskError::NotLiquidatable);
    }
    // The target lies the same way above the trigger level: L + τ·(IM − L), L = MM when vol is
    // at or below the reference.
    let target = add(
        level,
        mul_ceil(sub(im, level)?, p.target_im_fraction.to_bits())?,
    )?;
    let rate = equity_limited_rate(bonus_rate(sigma, elapsed_secs, p)?, e, mm, p);
    let cap = urgency_cap(sigma, e, mm_s, p)?;
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
    // At or below the danger level the cap is 1 and the whole account goes.
    let denom = sub(target, mul_ceil(mm, rate.to_bits())?)?.max(1);
    let needed = div_ceil(sub(target, e)?, denom).unwrap_or(i64::MAX);
    // At or below the danger level the whole account goes, whatever would restore the target.
    let whole = e <= mul(mm_s, p.danger_mm_fraction.to_bits().clamp(0, ONE))?;
    let fraction = if whole {
        ONE
    } else {
        needed.min(cap.to_bits()).clamp(1, ONE)
    };
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
