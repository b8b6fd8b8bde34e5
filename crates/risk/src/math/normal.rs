//! Standard normal distribution. The cdf is read from the upper tail Q(|x|) = 1 − N(|x|), a
//! piecewise polynomial on [0, 8.5) (`NORM_TAIL`, 34 segments of width 0.25, degree 5): one table
//! lookup and five multiply-shift-adds, no `exp` and no division — the hot path of every option
//! valuation. Beyond 8.5, Q < 1e-17 and is taken as 0.

use super::poly::horner;
use super::tables::NORM_TAIL;
use super::{exp, INV_SQRT_2PI_Q62};
use crate::fx::{mul_shift, Round, ONE};

const TAIL_END: u64 = 34 << 30; // 8.5 in Q32.32

/// Q(|x|) in Q32, clamped to [0, 1/2].
#[inline(always)]
fn upper_tail(a: u64) -> i64 {
    if a >= TAIL_END {
        return 0;
    }
    let q = horner::<6, 30>(&NORM_TAIL[(a >> 30) as usize], (a & ((1 << 30) - 1)) as i64);
    q.clamp(0, ONE / 2)
}

/// N(x) for Q32.32 `x`, as a Q32.32 probability in [0, 1].
///
/// Accuracy: absolute error ≤ 1.5e-9 everywhere (total: every `i64` is a valid input).
#[inline(always)]
pub fn cdf(x: i64) -> i64 {
    let q = upper_tail(x.unsigned_abs());
    if x >= 0 {
        // q ∈ [0, 1/2]: exact (wrapping only spares it a dead overflow test).
        ONE.wrapping_sub(q)
    } else {
        q
    }
}

/// φ(x) = e^(−x²/2)/√(2π) for Q32.32 `x`, Q32.32 result. Absolute error ≤ 2e-9; total.
pub fn pdf(x: i64) -> i64 {
    let a = x.unsigned_abs();
    if a >= 40 << 32 {
        return 0; // φ(40) ≈ 1e-348
    }
    let a = a as i64;
    // x²/2 < 800·2^32: cannot overflow.
    let half_sq = mul_shift(a, a, 33, Round::Floor).unwrap_or(i64::MAX);
    let e = exp(-half_sq).unwrap_or(0);
    mul_shift(e, INV_SQRT_2PI_Q62, 62, Round::Floor).unwrap_or(0)
}
