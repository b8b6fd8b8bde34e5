//! keel-risk: Keel's deterministic fixed-point risk engine.
//!
//! The same code prices options, estimates volatility, computes portfolio margin and sizes
//! liquidations on-chain (inside Solana's compute budget), in the keeper, the CLI, the backtester
//! and the auditor's `keel verify`, so every figure is the same bit-for-bit everywhere.
//!
//! - `no_std`, no floating point, no `i128`: a Q32.32 core on 64-bit integers ([`fx`]).
//! - Every public function is total: bad input or overflow is a [`RiskError`], never a panic.
//! - Rounding favours the exchange at account level: margins round up, and a valuation allowance
//!   per contract makes an account's equity never exceed, and its margins never fall below, the
//!   exact values (docs/risk-model.md §1.2).
//!
//! The modules follow docs/risk-model.md section by section: [`math`] (§1), [`pricing`] (§2),
//! [`vol`] (§3), [`scenario`], [`array`], [`addons`], [`aggregate`], [`margin`], [`breakdown`] (§4),
//! [`params`] (§5), [`liquidation`] (§6).
#![no_std]
#![deny(missing_docs)]

pub mod addons;
pub mod aggregate;
pub mod array;
pub mod breakdown;
pub mod error;
pub mod fx;
pub mod liquidation;
pub mod margin;
pub mod math;
pub mod params;
pub mod pricing;
pub mod scenario;
pub mod stable_price;
pub mod vol;

pub use aggregate::{Correlations, MAX_MARKETS};
pub use array::{Anchor, SeriesArray};
pub use breakdown::{MarginBreakdown, MarketRisk, PositionRisk, MAX_POSITIONS};
pub use error::{RiskError, RiskResult};
pub use fx::Fx;
pub use liquidation::LiquidationPlan;
pub use margin::{
    compute, compute_with_arrays, compute_with_arrays_memo, MarketInput, Portfolio, PositionInput,
    WindowMemo,
};
pub use params::{LiquidationParams, NamedShock, RiskParams};
pub use pricing::SeriesKind;
pub use vol::{ImpliedVol, VolState};
