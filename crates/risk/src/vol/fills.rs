//! An implied vol discovered from the market's own option fills, for markets without an
//! implied-vol oracle (issue 16 §2; docs/risk-model.md §3.6).
//!
//! Each fill at a price implies a vol ([`implied_vol`]: Black-76 inverted by bisection, only for
//! fills that carry information — near the money, not about to expire, inside the no-arbitrage
//! bounds). [`FillVol`] folds them into one level that the margin blend reads as its implied vol
//! ([`FillVol::implied`]), under two limits that hold whatever the fills are — so two accounts
//! trading with each other at any price, size and frequency move it no further:
//!
//! - **rate**: from the first fill on, an update `Δt` seconds after the previous one moves the
//!   level by at most a factor `1 + rate·Δt/rate_secs` either way (fills in the same second move
//!   nothing), so between any two times the level moves by at most `exp(rate·elapsed/rate_secs)`
//!   either way;
//! - **band**: the level stays within `[band_low, band_high]` × the market's historical vol,
//!   whatever the time: the most a sustained attack does to the margin vol is the blend weight
//!   times that band.
//!
//! A fill's pull is its notional over `full_notional` (at most 1): dust moves nothing.

use crate::error::{RiskError, RiskResult};
use crate::fx::{add, div, div_ceil, mul, mul_ceil, sub, Fx, ONE};
use crate::math::ln_scaled;
use crate::pricing::{sqrt_secs, value_at, SeriesKind, TotalVol};
use crate::vol::ImpliedVol;
use bytemuck::{Pod, Zeroable};

/// Limits of the fill-implied vol (chosen on BTC only: docs/validation.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FillVolParams {
    /// Largest relative move per `rate_secs` (0.01 = 1%).
    pub rate: Fx,
    /// The rate's time unit (seconds).
    pub rate_secs: i64,
    /// Lowest level, as a multiple of the historical vol.
    pub band_low: Fx,
    /// Highest level, as a multiple of the historical vol.
    pub band_high: Fx,
    /// Notional (native quote units) of a fill that pulls the level all the way (within the rate).
    pub full_notional: i64,
    /// Fills of options with less time to expiry are ignored (seconds).
    pub min_secs_to_expiry: i64,
    /// Fills with |ln(F/K)| above this are ignored (little vega: little information).
    pub max_log_moneyness: Fx,
}

impl FillVolParams {
    /// 3% an hour (a day's allowance, ln 1.72 = 0.54, is above BTC's largest daily DVOL move,
    /// 0.435; the smallest of 1, 2, 3, 5, 10 and 100% an hour that meets the bar on BTC daily:
    /// docs/validation.md), a band of 0.5–3 × historical vol (BTC's DVOL / 30-day realised vol:
    /// 0.62–2.94), a full pull at 10,000 USDT (6 decimals), options of at least a day and within
    /// ±20% of the money.
    pub const DEFAULT: FillVolParams = FillVolParams {
        rate: Fx::lit("0.03"),
        rate_secs: 3_600,
        band_low: Fx::lit("0.5"),
        band_high: Fx::lit("3"),
        full_notional: 10_000_000_000,
        min_secs_to_expiry: 86_400,
        max_log_moneyness: Fx::lit("0.2"),
    };

    /// Quote units of a full-size fill (`DEFAULT.full_notional` is this many whole units of a
    /// 6-decimal quote token).
    pub const FULL_NOTIONAL_UNITS: i64 = 10_000;

    /// [`FillVolParams::DEFAULT`] for a quote token with `decimals` decimals: the full pull at
    /// 10,000 whole quote units, whatever the mint's decimals (a notional is in native units),
    /// saturating at `i64::MAX` (a mint of more than 14 decimals: no fill is full-size).
    pub const fn for_quote_decimals(decimals: u8) -> FillVolParams {
        let mut full = FillVolParams::FULL_NOTIONAL_UNITS;
        let mut d = 0;
        while d < decimals {
            full = full.saturating_mul(10);
            d += 1;
        }
        FillVolParams {
            full_notional: full,
            ..FillVolParams::DEFAULT
        }
    }
}

/// Vols the solver searches (annualised): 1% to 1,000%.
const VOL_MIN: i64 = ONE / 100;
const VOL_MAX: i64 = 10 * ONE;
/// The solver stops when the bracket is this narrow (2^-20 ≈ 1e-6 of vol).
const VOL_TOL: i64 = 1 << 12;

/// The Black-76 vol at which an option of `kind` on forward `fwd`, `strike`, `t_secs` to expiry
/// is worth `price` (all native quote units per contract), rounded down to the solver's
/// tolerance; `None` when the fill carries no usable information: a future, an option outside
/// `p`'s moneyness or expiry limits, or a price at or outside the values at 1% and 1,000% vol.
pub fn implied_vol(
    kind: SeriesKind,
    fwd: i64,
    strike: i64,
    t_secs: i64,
    price: i64,
    p: &FillVolParams,
) -> RiskResult<Option<Fx>> {
    if !kind.is_option() || t_secs < p.min_secs_to_expiry.max(1) {
        return Ok(None);
    }
    if fwd <= 0 || strike <= 0 {
        return Err(RiskError::NonPositivePrice);
    }
    let lm = sub(ln_scaled(fwd, 0)?, ln_scaled(strike, 0)?)?;
    if lm.unsigned_abs() > p.max_log_moneyness.to_bits().unsigned_abs() {
        return Ok(None);
    }
    let root = sqrt_secs(t_secs)?;
    let value = |sigma: i64| -> RiskResult<i64> {
        value_at(kind, fwd, strike, lm, TotalVol::new(sigma, root)?)
    };
    let (mut lo, mut hi) = (VOL_MIN, VOL_MAX);
    if price <= value(lo)? || price >= value(hi)? {
        return Ok(None);
    }
    // Invariant: value(lo) < price < value(hi); the value is non-decreasing in the vol.
    while hi - lo > VOL_TOL {
        let mid = lo + (hi - lo) / 2;
        if value(mid)? < price {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Some(Fx::from_bits(lo)))
}

/// The fill-implied vol of one market (32 bytes, zero-copy).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FillVol {
    /// The level (annualised; 0 before the first fill).
    pub level: Fx,
    /// Time of the last fill folded in.
    pub ts: i64,
    /// Fills folded in.
    pub fills: u64,
    /// Room to grow.
    pub reserved: u64,
}

impl FillVol {
    /// Folds in a fill implying `sigma` on `notional` native quote units at `now`, with the
    /// market's historical vol `hist` (bits of an `Fx`). The first fill pulls from `hist`, within
    /// the band only; every later one within the rate too. Refuses time going backwards
    /// (`OutOfOrderObservation`); a negative notional counts as its size.
    pub fn observe(
        &mut self,
        sigma: Fx,
        notional: i64,
        now: i64,
        hist: i64,
        p: &FillVolParams,
    ) -> RiskResult<()> {
        let hist = hist.max(VOL_MIN);
        let (low, high) = (
            mul_ceil(hist, p.band_low.to_bits())?,
            mul(hist, p.band_high.to_bits())?.max(VOL_MIN),
        );
        let (level, dt) = if self.level <= Fx::ZERO {
            // No fill yet: the first fill's pull starts from the historical vol and the band
            // alone limits it (a rate from a level nobody traded at would only slow the start).
            (hist, 1 << 30)
        } else {
            if now < self.ts {
                return Err(RiskError::OutOfOrderObservation);
            }
            (self.level.to_bits(), now - self.ts)
        };
        let pull = if p.full_notional <= 0 {
            ONE
        } else {
            div(
                notional.unsigned_abs().min(i64::MAX as u64) as i64,
                p.full_notional,
            )?
            .min(ONE)
        };
        let target = add(level, mul(sub(sigma.to_bits().max(0), level)?, pull)?)?;
        // The rate: a factor of at most 1 + rate·Δt/rate_secs either way (saturating: a long
        // quiet spell leaves only the band).
        let g = add(
            ONE,
            mul(
                p.rate.to_bits().max(0),
                div(dt.clamp(0, 1 << 30), p.rate_secs.max(1))?,
            )
            .unwrap_or(i64::MAX - ONE),
        )
        .unwrap_or(i64::MAX);
        let up = mul(level, g).unwrap_or(i64::MAX);
        let down = div_ceil(level, g)?;
        let moved = target.clamp(down, up.max(down));
        self.level = Fx::from_bits(moved.clamp(low.min(high), high.max(low)));
        self.ts = now;
        self.fills = self.fills.saturating_add(1);
        Ok(())
    }

    /// The level as the margin blend's implied vol (stamped with the last fill's time, so the
    /// blend's staleness rule fades it out when the market stops trading); none before a fill.
    pub fn implied(&self) -> Option<ImpliedVol> {
        (self.level > Fx::ZERO).then_some(ImpliedVol {
            vol: self.level,
            ts: self.ts,
        })
    }
}

#[cfg(test)]
mod tests;
