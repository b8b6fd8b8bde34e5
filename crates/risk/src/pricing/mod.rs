//! Pricing: Black-76 European cash-settled options on the oracle price (rate 0), their greeks,
//! and linear futures (docs/risk-model.md §2).
//!
//! Money is `i64` native quote units per contract; volatility is `Fx` (annualised, 0.8 = 80%);
//! time is integer seconds. Years have 365 days, like Deribit's.

pub mod black76;
pub mod greeks;

pub use black76::{black76, intrinsic, value_at, value_delta_at, TotalVol, Valued};
pub use greeks::{greeks, Greeks};

use crate::error::{RiskError, RiskResult};
use crate::fx::{mul_shift, Round};
use crate::math::sqrt_scaled;

/// Seconds in the 365-day year used to annualise variance and time.
pub const SECONDS_PER_YEAR: i64 = 31_536_000;
/// Seconds per day.
pub const SECONDS_PER_DAY: i64 = 86_400;
/// 1/√(SECONDS_PER_YEAR) in Q2.62.
const INV_SQRT_YEAR_Q62: i64 = 821_214_157_163_268;

/// What a series pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u8)]
pub enum SeriesKind {
    /// European call, cash-settled at expiry: max(S − K, 0) per contract.
    Call = 0,
    /// European put, cash-settled at expiry: max(K − S, 0) per contract.
    Put = 1,
    /// Linear future: pays S at expiry per contract against its entry cost.
    Future = 2,
}

impl SeriesKind {
    /// Decodes the byte stored in accounts.
    pub const fn from_u8(v: u8) -> Option<SeriesKind> {
        match v {
            0 => Some(SeriesKind::Call),
            1 => Some(SeriesKind::Put),
            2 => Some(SeriesKind::Future),
            _ => None,
        }
    }

    /// Calls and puts; futures are linear.
    pub const fn is_option(self) -> bool {
        !matches!(self, SeriesKind::Future)
    }
}

/// √t in Q32.32 for `t_secs` seconds (`t ≤ 0` gives 0). Time enters every formula through this
/// root of the *integer* seconds, which keeps full relative precision for a one-minute expiry;
/// the year is folded in afterwards with a Q62 constant (`per_sqrt_year`).
pub fn sqrt_secs(t_secs: i64) -> RiskResult<i64> {
    if t_secs <= 0 {
        return Ok(0);
    }
    sqrt_scaled(t_secs, 0)
}

/// `x / √year` for a Q32.32 (or money) `x`, rounded toward −∞.
pub(crate) fn per_sqrt_year(x: i64) -> RiskResult<i64> {
    mul_shift(x, INV_SQRT_YEAR_Q62, 62, Round::Floor).ok_or(RiskError::Overflow)
}

#[cfg(test)]
mod tests;
