//! The scenario grid of one underlying (docs/risk-model.md §4.1).
//!
//! Price moves are log moves x on a ladder of `2·PRICE_STEPS + 1` points spanning ± the IM range
//! R = clamp(k·σ·√h, floor, cap), each with vol up and vol down; then two extreme moves ±E·R
//! (vol up, counted at `extreme_weight`) and the named historical shocks. MM uses the inner
//! `mm_steps` points of the same ladder, so **MM's scenarios are a subset of IM's and IM ≥ MM
//! by construction**, and both come from one pass of valuations.

use crate::error::{RiskError, RiskResult};
use crate::fx::{add, mul, mul_wide, sub, Fx, ONE};
use crate::math::{exp, ln_scaled};
use crate::params::RiskParams;
use crate::pricing::{sqrt_secs, TotalVol};

/// Steps on each side of the price ladder.
pub const PRICE_STEPS: usize = 6;
/// Points of the price ladder (−6/6·R … +6/6·R).
pub const LADDER: usize = 2 * PRICE_STEPS + 1;
/// Named historical shocks per market.
pub const NAMED_SHOCKS: usize = 2;
/// Scenarios per underlying: ladder × {vol up, vol down}, 2 extremes, named shocks.
pub const SCENARIOS: usize = 2 * LADDER + 2 + NAMED_SHOCKS;
/// Index of the first extreme scenario (down; the next is up).
pub const EXTREME: usize = 2 * LADDER;
/// Index of the first named shock.
pub const NAMED: usize = EXTREME + 2;

/// Which volatility a scenario values options at (index into a series' `TotalVol` set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum VolLevel {
    /// σ times the series' vol-up multiplier.
    Up = 0,
    /// σ times the series' vol-down multiplier.
    Down = 1,
    /// σ times the first named shock's multiplier.
    Named0 = 2,
    /// σ times the second named shock's multiplier.
    Named1 = 3,
}

/// Number of vol levels a series is valued at across the grid.
pub const VOL_LEVELS: usize = 4;

/// Vol level of scenario `s` (fixed by the layout above).
#[inline(always)]
pub const fn vol_level(s: usize) -> VolLevel {
    if s < LADDER {
        VolLevel::Up
    } else if s < EXTREME {
        VolLevel::Down
    } else if s < NAMED {
        VolLevel::Up
    } else if s == NAMED {
        VolLevel::Named0
    } else {
        VolLevel::Named1
    }
}

/// The grid as runs of consecutive scenarios sharing a vol level: `(level, end)` with each run
/// starting where the previous one ended (the first at 0). Agrees with [`vol_level`]
/// (`src/scenario/tests.rs::vol_runs_match_vol_level`).
pub const VOL_RUNS: [(VolLevel, usize); 5] = [
    (VolLevel::Up, LADDER),
    (VolLevel::Down, EXTREME),
    (VolLevel::Up, NAMED),
    (VolLevel::Named0, NAMED + 1),
    (VolLevel::Named1, SCENARIOS),
];

/// Ladder step of scenario `s` in −6..=6 (extremes and named shocks have none).
#[inline(always)]
pub const fn ladder_step(s: usize) -> Option<i64> {
    if s < EXTREME {
        Some((s % LADDER) as i64 - PRICE_STEPS as i64)
    } else {
        None
    }
}

/// Whether scenario `s` belongs to the MM set for `mm_steps`.
#[inline(always)]
pub const fn in_mm(s: usize, mm_steps: u32) -> bool {
    match ladder_step(s) {
        Some(i) => i.unsigned_abs() <= mm_steps as u64,
        None => false,
    }
}

/// Loss weight of scenario `s` (Q32.32): 1 on the ladder, `extreme_weight`, or the shock's weight.
#[inline(always)]
pub fn weight(s: usize, params: &RiskParams) -> i64 {
    if s < EXTREME {
        ONE
    } else if s < NAMED {
        params.extreme_weight.to_bits()
    } else {
        params.named_shocks[s - NAMED].weight.to_bits()
    }
}

/// IM price range R = clamp(k·σ·√h, floor, cap) as a log move (Q32.32).
pub fn im_range(sigma: Fx, params: &RiskParams) -> RiskResult<i64> {
    let sigma_sqrt_h = TotalVol::new(sigma.to_bits(), sqrt_secs(params.im_horizon_secs)?)?.w;
    let r = mul(sigma_sqrt_h, params.im_range_sigmas.to_bits())?;
    // max-then-min rather than clamp: total even for out-of-bounds parameters (cap wins).
    Ok(r.max(params.range_floor.to_bits())
        .min(params.range_cap.to_bits()))
}

/// Log moves of all scenarios for range `r`.
pub fn ln_moves(r: i64, params: &RiskParams) -> RiskResult<[i64; SCENARIOS]> {
    let mut x = [0i64; SCENARIOS];
    for (s, slot) in x.iter_mut().enumerate() {
        *slot = match ladder_step(s) {
            // r·i/6 on magnitudes (unsigned division: SBF has no signed division).
            Some(i) => {
                // The product through `mul_wide`: `checked_mul` would be a 128-bit multiply
                // on SBF (see `fx`).
                let (hi, lo) = mul_wide(r.unsigned_abs(), i.unsigned_abs());
                let v = lo / PRICE_STEPS as u64;
                if hi != 0 || v > i64::MAX as u64 {
                    return Err(RiskError::Overflow);
                }
                let m = v as i64;
                if i < 0 {
                    -m
                } else {
                    m
                }
            }
            None if s == EXTREME => mul(r, params.extreme_multiple.to_bits())?
                .checked_neg()
                .ok_or(RiskError::Overflow)?,
            None if s == EXTREME + 1 => mul(r, params.extreme_multiple.to_bits())?,
            None => params.named_shocks[s - NAMED].ln_move.to_bits(),
        };
    }
    Ok(x)
}

/// Forward per contract in each scenario: spot·e^x, rounded toward −∞.
pub fn forwards(spot: i64, x: &[i64; SCENARIOS]) -> RiskResult<[i64; SCENARIOS]> {
    let mut f = [0i64; SCENARIOS];
    for (slot, &xs) in f.iter_mut().zip(x.iter()) {
        *slot = mul(spot, exp(xs)?)?;
    }
    Ok(f)
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
