//! The scenario grid of one underlying (docs/risk-model.md §4.1).
//!
//! Price moves are log moves x on a ladder of `2·PRICE_STEPS + 1` points spanning ± the IM range
//! R = clamp(k·σ·√h, floor, cap), each with vol up and vol down; then two extreme moves ±E·R
//! (vol up, counted at `extreme_weight`) and the named historical shocks. MM uses the inner
//! `mm_steps` points of the same ladder, so **MM's scenarios are a subset of IM's and IM ≥ MM
//! by construction**, and both come from one pass of valuations.
//!
//! Then up to `STRIKE_POINTS` **strike points**, each at vol up and vol down: the strikes the
//! account holds inside the IM range, where a book's loss has its kinks and can peak between
//! ladder points ([`StrikeSelector`]). They are IM scenarios, and MM scenarios when inside the MM
//! range; in the numbering of `worst_*_scenario` they follow the fixed grid ([`STRIKE`]).

mod name;
pub use name::ScenarioName;

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
/// Scenarios of the fixed grid per underlying: ladder × {vol up, vol down}, 2 extremes, named
/// shocks (the strike points come on top: [`STRIKE`]).
pub const SCENARIOS: usize = 2 * LADDER + 2 + NAMED_SHOCKS;
/// Index of the first extreme scenario (down; the next is up).
pub const EXTREME: usize = 2 * LADDER;
/// Index of the first named shock.
pub const NAMED: usize = EXTREME + 2;
/// Strike points per vol level and market (a bounded number: each costs one valuation per
/// series and vol level).
pub const STRIKE_POINTS: usize = 2;
/// Number of the first strike point as a scenario (vol up; the `STRIKE_POINTS` vol-down ones
/// follow): strike point j at vol up is `STRIKE + j`, at vol down `STRIKE + STRIKE_POINTS + j`.
pub const STRIKE: usize = SCENARIOS;

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
    } else if s < STRIKE {
        VolLevel::Named1
    } else if s < STRIKE + STRIKE_POINTS {
        VolLevel::Up
    } else {
        VolLevel::Down
    }
}

/// Strike point index (0..STRIKE_POINTS) of scenario number `s`, at either vol level.
#[inline(always)]
pub const fn strike_slot(s: usize) -> Option<usize> {
    if s < STRIKE || s >= STRIKE + 2 * STRIKE_POINTS {
        None
    } else {
        Some((s - STRIKE) % STRIKE_POINTS)
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

/// The MM range's edge as a log move: the ladder point `mm_steps` steps up (`x` the grid's log
/// moves); a strike point with |x| ≤ it is an MM scenario.
pub fn mm_edge(x: &[Fx; SCENARIOS], mm_steps: u32) -> i64 {
    x[PRICE_STEPS + (mm_steps as usize).min(PRICE_STEPS)].to_bits()
}

/// Loss weight of scenario `s` (Q32.32): 1 on the ladder and at the strike points,
/// `extreme_weight`, or the shock's weight.
#[inline(always)]
pub fn weight(s: usize, params: &RiskParams) -> i64 {
    if !(EXTREME..STRIKE).contains(&s) {
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

/// An option strike an account holds in one market: a candidate strike point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StrikeCandidate {
    /// Total vol the option has left at the end of the horizon, at the margin vol (0 if it
    /// expires inside it): the smaller, the sharper its kink in the scenario P&L.
    pub w_end: i64,
    /// ln(K / spot) (Q32.32).
    pub x: i64,
    /// K per contract.
    pub strike: i64,
}

impl StrikeCandidate {
    /// Priority order: sharpest kink first, then nearest to spot, then lowest strike.
    fn key(&self) -> (i64, u64, i64) {
        (self.w_end, self.x.unsigned_abs(), self.strike)
    }
}

/// Chooses the strike points of one market: up to [`STRIKE_POINTS`] distinct strikes strictly
/// inside the IM range (|x| < r), in priority order — the sharpest kink (smallest total vol
/// left at the end of the horizon) first, then nearest to spot, then lowest strike; a strike held
/// in several series counts with its sharpest. Candidates are offered one at a time and kept in a
/// sorted list of at most `STRIKE_POINTS` (no buffer of all positions on the stack).
#[derive(Clone, Copy, Debug)]
pub struct StrikeSelector {
    r: u64,
    best: [StrikeCandidate; STRIKE_POINTS + 1],
    n: usize,
}

impl StrikeSelector {
    /// For IM range `r` (a log move).
    pub fn new(r: i64) -> StrikeSelector {
        StrikeSelector {
            r: r.unsigned_abs(),
            best: [StrikeCandidate::default(); STRIKE_POINTS + 1],
            n: 0,
        }
    }

    /// Considers one held strike.
    pub fn offer(&mut self, c: StrikeCandidate) {
        if c.x.unsigned_abs() >= self.r {
            return;
        }
        let n = self.n;
        // Already chosen: keep the sharper of the two, then restore the order.
        let mut i = match self.best[..n].iter().position(|b| b.strike == c.strike) {
            Some(i) if c.key() < self.best[i].key() => i,
            Some(_) => return,
            None => {
                self.n += 1;
                n
            }
        };
        self.best[i] = c;
        while i > 0 && self.best[i].key() < self.best[i - 1].key() {
            self.best.swap(i, i - 1);
            i -= 1;
        }
        self.n = self.n.min(STRIKE_POINTS);
    }

    /// Writes the chosen points' log moves and forwards (the strike itself:
    /// S·e^(ln K − ln S) = K), in priority order; returns how many there are (the rest of the
    /// slots: log move 0, forward `spot`).
    pub fn write(
        &self,
        spot: i64,
        x: &mut [Fx; STRIKE_POINTS],
        fwd: &mut [i64; STRIKE_POINTS],
    ) -> usize {
        *x = [Fx::ZERO; STRIKE_POINTS];
        *fwd = [spot; STRIKE_POINTS];
        for (j, b) in self.best[..self.n].iter().enumerate() {
            x[j] = Fx::from_bits(b.x);
            fwd[j] = b.strike;
        }
        self.n
    }
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
