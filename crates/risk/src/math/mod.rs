//! Elementary functions in Q32.32 on 64-bit integers: range reduction to a fixed interval, then a
//! short piecewise polynomial (`poly`, tables in `tables`). Accuracy against f64 is documented
//! per function and checked in `tests` over the whole domain the engine uses
//! (docs/risk-model.md §1).

pub mod exp;
pub mod ln;
pub mod normal;
pub mod poly;
pub mod sqrt;
pub mod tables;

pub use exp::{decay_ratio, exp, one_minus_exp_neg};
pub use ln::{ln, ln_scaled};
pub use normal::{cdf, pdf};
pub use sqrt::{sqrt, sqrt_scaled};

/// log2(e) in Q2.61.
pub(crate) const LOG2E_Q61: i64 = 3_326_628_274_461_080_623;
/// ln(2) in Q8.56.
pub(crate) const LN2_Q56: i64 = 49_946_518_145_322_874;
/// 1/√(2π) in Q1.62.
pub(crate) const INV_SQRT_2PI_Q62: i64 = 1_839_796_536_686_825_613;

#[cfg(test)]
mod tests;
