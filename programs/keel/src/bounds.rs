//! Hard bounds, written in the code, of every parameter the admin sets that is not a keel-risk
//! parameter (those are bounded by `RiskParams::violation`). The admin can move parameters only
//! inside these; each violation is reported by name in the program log.

use crate::error::KeelError;
use anchor_lang::prelude::*;

/// `[min, max]` of each oracle/timing guard.
pub const MAX_STALENESS_SECS: (i64, i64) = (1, 3_600);
/// Confidence/price, basis points.
pub const MAX_CONF_BPS: (u64, u64) = (1, 1_000);
/// Wormhole guardian signatures for a partial verification (0 = full verification required).
pub const MIN_SIGNATURES: (u8, u8) = (0, 19);
/// Volatility state age accepted by margin checks.
pub const MAX_VOL_AGE_SECS: (i64, i64) = (60, 7 * 86_400);
/// Permissionless settlement window after expiry.
pub const SETTLE_WINDOW_SECS: (i64, i64) = (10, 86_400);
/// Contract size mantissa.
pub const CONTRACT_SIZE_MANTISSA: (i64, i64) = (1, 1_000_000_000_000);
/// Contract size exponent.
pub const CONTRACT_SIZE_EXPO: (i32, i32) = (-12, 12);
/// Implied vol, basis points (0.01% … 1 000%).
pub const IMPLIED_VOL_BPS: (u32, u32) = (1, 100_000);
/// Correlation EWMA time constant.
pub const CORR_TAU_SECS: (i64, i64) = (3_600, 365 * 86_400);
/// Correlation minimum observation interval.
pub const CORR_MIN_INTERVAL_SECS: (i64, i64) = (1, 86_400);
/// Largest gap between the two publish times of a correlation observation.
pub const CORR_MAX_SYNC_SECS: (i64, i64) = (0, 600);
/// A series may be listed at most this far ahead.
pub const MAX_LISTING_HORIZON_SECS: i64 = 5 * 365 * 86_400;
/// Largest |quantity| of one trade (contracts).
pub const MAX_TRADE_CONTRACTS: i64 = 1_000_000_000_000;

/// Fails with `GuardOutOfBounds`, naming `name`, unless `lo ≤ v ≤ hi`.
pub fn within<T: PartialOrd + Copy + core::fmt::Display>(
    name: &str,
    v: T,
    b: (T, T),
) -> Result<()> {
    if v < b.0 || v > b.1 {
        crate::log!("{} = {} outside [{}, {}]", name, v, b.0, b.1);
        return err!(KeelError::GuardOutOfBounds);
    }
    Ok(())
}

/// The oracle and timing guards of a market.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketGuards {
    /// An oracle price older than this (seconds) is stale.
    pub max_staleness_secs: i64,
    /// Largest confidence/price, basis points.
    pub max_conf_bps: u64,
    /// Pull oracle: 0 requires full Wormhole verification, n > 0 accepts ≥ n signatures.
    pub min_signatures: u8,
    /// Margin checks refuse a volatility state older than this.
    pub max_vol_age_secs: i64,
    /// Permissionless settlement window after expiry.
    pub settle_window_secs: i64,
    /// Trade price band (`keel_state::TradeBand`, bounds there): options' vol fraction,
    /// Q32.32 bits …
    pub band_vol_frac_q32: i64,
    /// … options' spot floor, basis points …
    pub band_option_spot_bps: u32,
    /// … futures' band, basis points of spot.
    pub band_future_bps: u32,
}

impl MarketGuards {
    /// The trade band these guards set.
    pub fn trade_band(&self) -> keel_state::TradeBand {
        keel_state::TradeBand {
            vol_frac: keel_risk::Fx::from_bits(self.band_vol_frac_q32),
            option_spot_bps: self.band_option_spot_bps,
            future_bps: self.band_future_bps,
        }
    }

    /// Checks every guard against its bounds.
    pub fn validate(&self) -> Result<()> {
        within(
            "max_staleness_secs",
            self.max_staleness_secs,
            MAX_STALENESS_SECS,
        )?;
        within("max_conf_bps", self.max_conf_bps, MAX_CONF_BPS)?;
        within("min_signatures", self.min_signatures, MIN_SIGNATURES)?;
        within("max_vol_age_secs", self.max_vol_age_secs, MAX_VOL_AGE_SECS)?;
        within(
            "settle_window_secs",
            self.settle_window_secs,
            SETTLE_WINDOW_SECS,
        )?;
        if !self.trade_band().is_valid() {
            crate::log!(
                "trade band ({}, {}, {}) outside its bounds",
                self.band_vol_frac_q32,
                self.band_option_spot_bps,
                self.band_future_bps
            );
            return err!(KeelError::InvalidTradeBand);
        }
        Ok(())
    }

    /// Stores the guards in a market.
    pub fn apply(&self, m: &mut keel_state::Market) {
        m.oracle.max_staleness_secs = self.max_staleness_secs;
        m.oracle.max_conf_bps = self.max_conf_bps;
        m.oracle.min_signatures = self.min_signatures;
        m.max_vol_age_secs = self.max_vol_age_secs;
        m.settle_window_secs = self.settle_window_secs;
        m.trade_band = self.trade_band();
    }
}

/// Decodes and bounds-checks a `keel_risk::RiskParams` passed as raw bytes (empty: defaults).
pub fn risk_params(bytes: &[u8]) -> Result<keel_risk::RiskParams> {
    if bytes.is_empty() {
        return Ok(keel_risk::RiskParams::DEFAULT);
    }
    require!(
        bytes.len() == core::mem::size_of::<keel_risk::RiskParams>(),
        KeelError::ParamsLength
    );
    let p: keel_risk::RiskParams = bytemuck::pod_read_unaligned(bytes);
    if let Some(name) = p.violation() {
        crate::log!("risk parameter out of bounds: {}", name);
        return err!(KeelError::ParamOutOfBounds);
    }
    Ok(p)
}
