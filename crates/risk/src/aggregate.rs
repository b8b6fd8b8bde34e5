//! Combining per-underlying worst losses into one account loss (docs/risk-model.md §4.5).
//!
//! L = √(Σ_u Σ_v ρ_uv·L_u·L_v) with ρ the effective correlations (≥ 0, floored), never below
//! (1 − max_offset)·Σ L_u. With max_offset = 0 (the default) L = Σ L_u: no diversification credit.

use crate::error::RiskResult;
use crate::fx::{add, div, mul, mul_ceil, sub, Fx, ONE};
use crate::math::sqrt;

/// Most underlyings one margin account may hold positions in.
pub const MAX_MARKETS: usize = 4;

/// Effective correlations between an account's markets and the cap on the offset they allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Correlations {
    /// ρ_uv in [0, 1] (see `vol::correlation::effective`); the diagonal is ignored (1).
    pub rho: [[Fx; MAX_MARKETS]; MAX_MARKETS],
    /// Largest offset as a fraction of Σ L_u, in [0, 0.9].
    pub max_offset: Fx,
}

impl Correlations {
    /// No offset: losses simply add up.
    pub const NONE: Correlations = Correlations {
        rho: [[Fx::ONE; MAX_MARKETS]; MAX_MARKETS],
        max_offset: Fx::ZERO,
    };
}

impl Default for Correlations {
    fn default() -> Self {
        Self::NONE
    }
}

/// The combined loss of per-market losses `l` (each ≥ 0), rounded up; and the offset granted.
pub fn combine(l: &[i64], c: &Correlations) -> RiskResult<(i64, i64)> {
    let mut total = 0i64;
    for &x in l {
        total = add(total, x.max(0))?;
    }
    let max_offset = c.max_offset.to_bits().clamp(0, ONE);
    if total == 0 || max_offset == 0 || l.len() < 2 {
        return Ok((total, 0));
    }
    // q = Σ ρ_uv f_u f_v with f_u = L_u / Σ L (so q ≤ 1 and nothing overflows).
    let mut f = [0i64; MAX_MARKETS];
    for (slot, &x) in f.iter_mut().zip(l) {
        *slot = div(x.max(0), total)?;
    }
    let mut q = 0i64;
    for u in 0..l.len().min(MAX_MARKETS) {
        for v in 0..l.len().min(MAX_MARKETS) {
            let rho = if u == v {
                ONE
            } else {
                c.rho[u][v].to_bits().clamp(0, ONE)
            };
            q = add(q, mul_ceil(mul_ceil(f[u], f[v])?, rho)?)?;
        }
    }
    let combined = mul_ceil(total, (sqrt(q.min(ONE))? + 1).min(ONE))?;
    let floor = sub(total, mul(total, max_offset)?)?;
    let combined = combined.max(floor).min(total);
    Ok((combined, total - combined))
}
