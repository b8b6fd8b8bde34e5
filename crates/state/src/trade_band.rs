//! The price band of `trade` (docs/security.md, "Off-market fills"): every fill must be priced
//! near the series' mark, so a trade cannot move more than a bounded amount of value between
//! two accounts whatever the two signers agree.
//!
//! Options: the band spans the series' Black-76 values at the mark vol scaled by `1 − vol_frac`
//! and `1 + vol_frac` (so it is as wide as an honest disagreement about vol, scaled by vega),
//! widened by `option_spot_bps` of spot on either side (room for far out-of-the-money series
//! whose vega is ~0). Futures: spot ± `future_bps` (room for a basis). The program, the CLI and
//! the keeper compute it with this function, so a client can show the band before sending.

use crate::{Market, OracleReading, StateError};
use keel_risk::fx::{mul, Fx};
use keel_risk::pricing::black76;
use keel_risk::SeriesKind;

/// Where a trade of one series may be priced at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// Lowest accepted price per contract (quote native units, ≥ 0).
    pub lo: i64,
    /// Highest accepted price per contract.
    pub hi: i64,
    /// The series' mark per contract: Black-76 at the oracle price and the market's mark vol
    /// (`VolState::mark_vol`), as the margin engine marks it; spot for a future.
    pub mark: i64,
    /// The oracle price per contract the band was computed at.
    pub spot: i64,
}

impl Band {
    /// Whether `price` lies inside the band (both ends included).
    pub fn contains(&self, price: i64) -> bool {
        self.lo <= price && price <= self.hi
    }
}

/// `bps` basis points of `x ≥ 0`, rounded up.
fn bps_of(x: i64, bps: u32) -> Result<i64, StateError> {
    crate::oracle::scale_mul_pow10(x.max(0) as u64, bps as u64, -4, true)
}

/// The band of a series (`kind`, `strike`, `expiry`) of `market` at `now`, given the market's
/// validated oracle `reading`. The series must not have expired.
pub fn band(
    market: &Market,
    reading: &OracleReading,
    kind: SeriesKind,
    strike: i64,
    expiry: i64,
    now: i64,
) -> Result<Band, StateError> {
    let cfg = market.trade_band.effective();
    let spot = market.contract_spec().price_native(reading)?;
    if !kind.is_option() {
        let w = bps_of(spot, cfg.future_bps)?;
        return Ok(Band {
            lo: spot.saturating_sub(w).max(1),
            hi: spot.saturating_add(w),
            mark: spot,
            spot,
        });
    }
    let t = expiry.saturating_sub(now).max(0);
    let sigma = market.vol_state.mark_vol().max(Fx::ZERO);
    let frac = cfg.vol_frac;
    let width = Fx::from_bits(mul(sigma.to_bits(), frac.to_bits())?);
    let (lo_sigma, hi_sigma) = (sigma - width, sigma.saturating_add(width));
    let mark = black76(kind, spot, strike, sigma, t)?;
    // Black-76 is increasing in vol: v_lo ≤ mark ≤ v_hi.
    let v_lo = black76(kind, spot, strike, lo_sigma.max(Fx::ZERO), t)?;
    let v_hi = black76(kind, spot, strike, hi_sigma, t)?;
    let floor = bps_of(spot, cfg.option_spot_bps)?;
    Ok(Band {
        lo: v_lo.min(mark).saturating_sub(floor).max(0),
        hi: v_hi.max(mark).saturating_add(floor),
        mark,
        spot,
    })
}

#[cfg(test)]
mod tests;
