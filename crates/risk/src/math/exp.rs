//! `exp(x) = 2^(x·log2 e)`: the integer part of the exponent is a shift, the fraction goes through
//! the `EXP2_FRAC` table (8 segments, degree 5).

use super::poly::horner;
use super::tables::EXP2_FRAC;
use super::LOG2E_Q61;
use crate::error::{RiskError, RiskResult};
use crate::fx::{mul_shift, Round};

/// e^x for Q32.32 `x`, Q32.32 result.
///
/// Accuracy: relative error ≤ 2e-9 for results ≥ 1, absolute ≤ 2e-9 below (the Q32 grid).
/// Total: results below 2^-32 round to 0; `x` ≥ 21.49 (result ≥ 2^31) is `Err(Overflow)`.
pub fn exp(x: i64) -> RiskResult<i64> {
    let y = match mul_shift(x, LOG2E_Q61, 61, Round::Floor) {
        Some(y) => y,
        None if x < 0 => return Ok(0),
        None => return Err(RiskError::Overflow),
    };
    let n = y >> 32;
    let f = y & 0xFFFF_FFFF;
    // Integer exponents (e^0 = 1 above all: the unmoved scenario) are exact.
    let p = if f == 0 {
        1 << 32
    } else {
        horner::<6, 29>(&EXP2_FRAC[(f >> 29) as usize], f & ((1 << 29) - 1))
    };
    if n >= 0 {
        if n > 30 {
            return Err(RiskError::Overflow);
        }
        Ok(p << n)
    } else if n < -62 {
        Ok(0)
    } else {
        Ok(p >> -n)
    }
}

/// g(x) = (1 − e^(−x))/x for Q32.32 `x` ≥ 0, in (0, 1]; g(0) = 1.
///
/// For x < 1/16 it uses the series 1 − x/2·(1 − x/3·(1 − x/4·(1 − x/5))) (truncation < 1e-10):
/// multiplying an exactly computed Δ·x by g keeps full precision where `1 − exp(−x)` would cancel
/// (a one-minute EWMA weight is x ≈ 4e-5). Absolute error ≤ 2e-9.
pub fn decay_ratio(x: i64) -> RiskResult<i64> {
    const ONE: i64 = 1 << 32;
    if x <= 0 {
        return Ok(ONE);
    }
    if x >= ONE / 16 {
        return crate::fx::div(ONE - exp(-x)?, x);
    }
    // All terms are positive and below 1: unsigned division by the small constants floors exactly.
    let step =
        |a: i64, k: u64| -> RiskResult<i64> { Ok(ONE - (crate::fx::mul(x, a)? as u64 / k) as i64) };
    let a = ONE - (x as u64 / 5) as i64;
    let a = step(a, 4)?;
    let a = step(a, 3)?;
    step(a, 2)
}

/// 1 − e^(−x) for Q32.32 `x` ≥ 0: x·g(x) below 1/16 (relative error ≤ 2e-9 plus the Q32 grid),
/// 1 − e^(−x) above (`exp`'s absolute 2e-9).
pub fn one_minus_exp_neg(x: i64) -> RiskResult<i64> {
    if x <= 0 {
        return Ok(0);
    }
    if x >= (1 << 32) / 16 {
        return Ok((1 << 32) - exp(-x)?);
    }
    crate::fx::mul(x, decay_ratio(x)?)
}
