//! `√x = √m·2^k` with `x = m·4^k`, `m ∈ [1, 4)`, and `√m` from the `SQRT_MANT` table
//! (24 segments, degree 5).

use super::poly::horner;
use super::tables::SQRT_MANT;
use crate::error::{RiskError, RiskResult};

/// √(x / 2^frac_bits) in Q32.32 for `frac_bits` ∈ {0, 32} (an integer, or a Q32.32 value).
///
/// Accuracy: relative error ≤ 1e-9. `x < 0` is `Err(Domain)`; a result ≥ 2^31 is `Err(Overflow)`.
pub fn sqrt_scaled(x: i64, frac_bits: u32) -> RiskResult<i64> {
    if x < 0 || frac_bits % 2 == 1 {
        return Err(RiskError::Domain);
    }
    if x == 0 {
        return Ok(0);
    }
    let z = (x as u64).leading_zeros() & !1; // even shift keeps the exponent integral
    let m = (x as u64) << z; // m/2^62 ∈ [1, 4)
    let seg = ((m >> 59) - 8) as usize;
    let t = ((m >> 30) & ((1 << 29) - 1)) as i64;
    let r = horner::<6, 29>(&SQRT_MANT[seg], t); // √(m/2^62) in Q32, [1, 2)
    let k = (62 - z as i64 - frac_bits as i64) / 2;
    if k >= 0 {
        if k > 30 {
            return Err(RiskError::Overflow);
        }
        Ok(r << k)
    } else {
        Ok(r >> (-k).min(63))
    }
}

/// √x for Q32.32 `x` ≥ 0.
pub fn sqrt(x: i64) -> RiskResult<i64> {
    sqrt_scaled(x, 32)
}
