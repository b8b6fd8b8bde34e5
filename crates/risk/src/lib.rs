//! keel-risk: Keel's deterministic fixed-point risk engine.
#![no_std]

pub mod error;
pub mod fx;
pub mod math;
pub mod pricing;

pub use error::{RiskError, RiskResult};
pub use fx::Fx;
