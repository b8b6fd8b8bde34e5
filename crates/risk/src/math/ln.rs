//! `ln(x) = e·ln 2 + ln(m)` with `x = m·2^e`, `m ∈ [1, 2)` found by a leading-zero count and
//! `ln(m)` from the `LN_MANT` table (16 segments, degree 5).

use super::poly::horner;
use super::tables::LN_MANT;
use super::LN2_Q56;
use crate::error::{RiskError, RiskResult};

/// ln(x / 2^frac_bits) in Q32.32, for a positive raw integer `x` with `frac_bits` ≤ 63
/// fractional bits (0 for an integer such as a price in native units, 32 for Q32.32).
///
/// Accuracy: absolute error ≤ 2e-9 over the whole positive `i64` range. `x ≤ 0` is `Err(Domain)`.
pub fn ln_scaled(x: i64, frac_bits: u32) -> RiskResult<i64> {
    if x <= 0 {
        return Err(RiskError::Domain);
    }
    let lz = (x as u64).leading_zeros();
    let m = (x as u64) << lz; // leading one at bit 63: m/2^63 ∈ [1, 2)
    let e = 63 - lz as i64 - frac_bits as i64;
    let seg = ((m >> 59) & 0xF) as usize;
    let t = ((m >> 29) & ((1 << 30) - 1)) as i64;
    let ln_m = horner::<6, 30>(&LN_MANT[seg], t);
    // |e| ≤ 126, so e·ln2·2^56 < 2^63: exact; the shift rounds toward −∞.
    Ok(((e * LN2_Q56) >> 24) + ln_m)
}

/// ln(x) for Q32.32 `x` > 0.
pub fn ln(x: i64) -> RiskResult<i64> {
    ln_scaled(x, 32)
}
