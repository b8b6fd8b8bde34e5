//! Q32.32 fixed point on raw `i64`, using only 64-bit integer operations.
//!
//! Why not `I32F32`'s own operators: they multiply and divide through `i128`, which is slow in SBF
//! and does not run at all in the SBF build available to us (docs/performance.md). Here a wide
//! product is four 32×32→64 partial products and a wide quotient is Hacker's Delight `divlu`
//! with 32-bit digits. `Fx` (= `I32F32`) is bit-identical to the raw `i64` and is the public
//! parameter type; the hot path works on `.to_bits()`.
//!
//! The same functions serve money: a money amount is an integer `i64` (native quote units), and
//! `mul(money, q)` with `q` a Q32.32 factor gives money (the 2^32 scale cancels once).
//!
//! Rounding is explicit in every name: `floor`, `ceil` or toward zero (`trunc`). Callers choose
//! the direction that favours the exchange (docs/risk-model.md §1).
//!
//! No overflow-checked `*` on 64-bit operands either (`checked_mul`, `saturating_mul`, or a
//! plain `*` under `overflow-checks = true`, which the program's release profile enables):
//! LLVM's BPF backend detects 64-bit multiply overflow with a 128-bit multiply, i.e. a
//! `__multi3` libcall (docs/performance.md: it costs CU in Solana's toolchain and faults in the
//! VM with the upstream one). Checked products are [`imul`]/[`umul_sat`]/[`imul_sat`] below;
//! elsewhere a product whose bound is proven uses `wrapping_mul`, with the proof beside it.

use crate::error::{RiskError, RiskResult};

/// The engine's public fixed-point type, Q32.32. `Fx::from_bits(raw)` ⇄ `raw`.
pub type Fx = fixed::types::I32F32;

/// Fractional bits of the Q32.32 format.
pub const FRAC_BITS: u32 = 32;
/// 1.0 in Q32.32.
pub const ONE: i64 = 1 << FRAC_BITS;
/// 0.5 in Q32.32.
pub const HALF: i64 = 1 << (FRAC_BITS - 1);
const LO32: u64 = 0xFFFF_FFFF;

/// Full 64×64→128-bit unsigned product as `(hi, lo)`, from four 32×32→64 partial products.
#[inline(always)]
pub const fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    let (a1, a0) = (a >> 32, a & LO32);
    let (b1, b0) = (b >> 32, b & LO32);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // < 3·2^32: cannot overflow.
    let mid = (p00 >> 32) + (p01 & LO32) + (p10 & LO32);
    let lo = (mid << 32) | (p00 & LO32);
    let hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    (hi, lo)
}

/// `(hi:lo) / d` for `hi < d` (so the quotient fits in 64 bits): `(quotient, remainder)`.
/// Hacker's Delight `divlu` (Knuth D with two 32-bit digits); each correction loop runs ≤ 2 times.
/// A dividend that fits in 64 bits (`hi = 0`) takes the native division: the same quotient and
/// remainder in one instruction each in the SBF VM, against ≈ 130 for the long division (the
/// oracle's price and confidence conversions and `conf_bps` divide such dividends).
#[inline]
pub const fn div_wide(hi: u64, lo: u64, d: u64) -> (u64, u64) {
    if hi == 0 {
        return (lo / d, lo % d);
    }
    const B: u64 = 1 << 32;
    let s = d.leading_zeros();
    let v = d << s;
    let (vn1, vn0) = (v >> 32, v & LO32);
    let un32 = if s == 0 {
        hi
    } else {
        (hi << s) | (lo >> (64 - s))
    };
    let un10 = lo << s;
    let (un1, un0) = (un10 >> 32, un10 & LO32);

    // Bounds (vn1 ≥ 2^31 after normalisation, so every digit quotient is < 2^33): q·vn1 ≤ the
    // dividend it came from; q·vn0 is only formed once q < B, so < 2^64; rhat < B inside the
    // loop, so B·rhat + un < 2^64. The products are exact: `wrapping_mul` only spares them an
    // overflow check (a `__multi3` call on SBF, see the module comment).
    let mut q1 = un32 / vn1;
    let mut rhat = un32 - q1.wrapping_mul(vn1);
    while q1 >= B || q1.wrapping_mul(vn0) > (rhat << 32) + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let un21 = un32
        .wrapping_mul(B)
        .wrapping_add(un1)
        .wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    rhat = un21 - q0.wrapping_mul(vn1);
    while q0 >= B || q0.wrapping_mul(vn0) > (rhat << 32) + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let r = un21
        .wrapping_mul(B)
        .wrapping_add(un0)
        .wrapping_sub(q0.wrapping_mul(v))
        >> s;
    // q1, q0 < B here (the quotient fits in 64 bits because hi < d).
    ((q1 << 32) + q0, r)
}

/// Rounding direction of a fixed-point operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Toward −∞.
    Floor,
    /// Toward +∞.
    Ceil,
}

/// Gives a signed result from a magnitude, its sign and whether bits were dropped.
#[inline(always)]
const fn signed_round(mag: u64, negative: bool, inexact: bool, round: Round) -> Option<i64> {
    // Floor of a negative value and ceil of a positive one step away from zero.
    let bump = inexact
        && match round {
            Round::Floor => negative,
            Round::Ceil => !negative,
        };
    let mag = if bump {
        match mag.checked_add(1) {
            Some(m) => m,
            None => return None,
        }
    } else {
        mag
    };
    if negative {
        if mag > 1 << 63 {
            None
        } else {
            Some((mag as i64).wrapping_neg())
        }
    } else if mag > i64::MAX as u64 {
        None
    } else {
        Some(mag as i64)
    }
}

/// `a·b / 2^shift` rounded as asked, `None` if it does not fit in `i64`. `shift` ≤ 63.
#[inline(always)]
pub const fn mul_shift(a: i64, b: i64, shift: u32, round: Round) -> Option<i64> {
    let negative = (a < 0) != (b < 0);
    let (hi, lo) = mul_wide(a.unsigned_abs(), b.unsigned_abs());
    if shift == 0 {
        if hi != 0 {
            return None;
        }
        return signed_round(lo, negative, false, round);
    }
    if hi >> shift != 0 {
        return None;
    }
    let mag = (hi << (64 - shift)) | (lo >> shift);
    let inexact = lo & ((1u64 << shift) - 1) != 0;
    signed_round(mag, negative, inexact, round)
}

/// Q32.32 (or money × Q32.32) product, rounded toward −∞.
#[inline(always)]
pub const fn mul(a: i64, b: i64) -> RiskResult<i64> {
    match mul_shift(a, b, FRAC_BITS, Round::Floor) {
        Some(v) => Ok(v),
        None => Err(RiskError::Overflow),
    }
}

/// Q32.32 (or money × Q32.32) product, rounded toward +∞.
#[inline(always)]
pub const fn mul_ceil(a: i64, b: i64) -> RiskResult<i64> {
    match mul_shift(a, b, FRAC_BITS, Round::Ceil) {
        Some(v) => Ok(v),
        None => Err(RiskError::Overflow),
    }
}

/// `⌊a·u / 2^32⌋` (`CEIL`: `⌈a·u / 2^32⌉`) for a fraction `0 ≤ u ≤ 1` (Q32.32) and any `a`:
/// bit-identical to [`mul`] / [`mul_ceil`] there, which never fail on it (the result lies between
/// 0 and `a`), in two multiplies instead of [`mul_wide`]'s four plus the sign handling. With
/// `a = ah·2^32 + al` (`ah = a >> 32` signed, `0 ≤ al < 2^32`): `a·u/2^32 = ah·u + al·u/2^32`;
/// `|ah·u| ≤ 2^31·2^32 = 2^63` (exactly −2^63 only for `ah = −2^31`, `u = 1`, which `i64`
/// holds), `al·u ≤ (2^32 − 1)·2^32` and `+ (2^32 − 1)` still fits in `u64`; the rounding only
/// concerns the non-negative `al·u` term, and the true result fits in `i64`, so the wrapping sum
/// is exact. `None` when `u` is outside [0, 1] (the caller then takes the general path).
#[inline(always)]
pub const fn mul_unit<const CEIL: bool>(a: i64, u: i64) -> Option<i64> {
    if (u as u64) > ONE as u64 {
        return None;
    }
    let (ah, al) = (a >> 32, (a as u64) & LO32);
    // ≤ (2^32 − 1)·2^32, and + (2^32 − 1) < 2^64: exact (wrapping ops: a checked 64-bit
    // multiply would lower to a 128-bit libcall in the SBF build).
    let low = al.wrapping_mul(u as u64);
    let low = if CEIL {
        low.wrapping_add(LO32) >> 32
    } else {
        low >> 32
    };
    Some(ah.wrapping_mul(u).wrapping_add(low as i64))
}

/// [`mul`] for a fraction `u`: [`mul_unit`] when `0 ≤ u ≤ 1`, the general product otherwise.
#[inline(always)]
pub const fn mul_frac(a: i64, u: i64) -> RiskResult<i64> {
    match mul_unit::<false>(a, u) {
        Some(v) => Ok(v),
        None => mul(a, u),
    }
}

/// [`mul`] of a price by a factor: [`mul_unit`] when `0 ≤ m ≤ 1`, [`mul_factor`] for a
/// non-negative `a` and a factor below 16, the general product otherwise.
#[inline(always)]
pub const fn mul_scale(a: i64, m: i64) -> RiskResult<i64> {
    match mul_unit::<false>(a, m) {
        Some(v) => Ok(v),
        None => match mul_factor(a, m) {
            Some(v) => Ok(v),
            None => mul(a, m),
        },
    }
}

/// `⌊a·m / 2^32⌋` for `0 ≤ a < 2^59` and a factor `0 ≤ m < 16` (Q32.32, `m < 2^36`):
/// bit-identical to [`mul`] there, which never fails on it, in three multiplies. With
/// `m = mh·2^32 + ml` (`mh < 16`, `ml < 2^32`): `a·m/2^32 = a·mh + a·ml/2^32`, the first term an
/// integer (so the floor only concerns the second, [`mul_unit`]'s), `a·mh < 15·2^59 < 2^63` and
/// the sum below `16·a ≤ 2^63`. `None` outside that domain (the caller takes the general path).
/// The window's range edges (the oracle price times e^R) are such products ([`mul_scale`]).
#[inline(always)]
pub const fn mul_factor(a: i64, m: i64) -> Option<i64> {
    if (a as u64) >= 1 << 59 || (m as u64) >= 1 << 36 {
        return None;
    }
    let (mh, ml) = (m >> 32, m & LO32 as i64);
    match mul_unit::<false>(a, ml) {
        Some(low) => Some(a.wrapping_mul(mh).wrapping_add(low)),
        None => None,
    }
}

/// [`mul_ceil`] for a fraction `u`: [`mul_unit`] when `0 ≤ u ≤ 1`, the general product otherwise.
#[inline(always)]
pub const fn mul_frac_ceil(a: i64, u: i64) -> RiskResult<i64> {
    match mul_unit::<true>(a, u) {
        Some(v) => Ok(v),
        None => mul_ceil(a, u),
    }
}

/// Q32.32 product that saturates at `i64::MIN`/`i64::MAX` instead of failing. Used where the
/// magnitude only feeds a bounded function (the normal cdf), so saturation is exact there.
#[inline(always)]
pub const fn mul_sat(a: i64, b: i64) -> i64 {
    match mul_shift(a, b, FRAC_BITS, Round::Floor) {
        Some(v) => v,
        None => {
            if (a < 0) != (b < 0) {
                i64::MIN
            } else {
                i64::MAX
            }
        }
    }
}

/// `a·2^shift / b` rounded as asked; `None` on division by zero or overflow. `shift` ≤ 63.
#[inline]
pub const fn div_shift(a: i64, b: i64, shift: u32, round: Round) -> Option<i64> {
    if b == 0 {
        return None;
    }
    let negative = (a < 0) != (b < 0);
    let ua = a.unsigned_abs();
    let ub = b.unsigned_abs();
    let (hi, lo) = if shift == 0 {
        (0, ua)
    } else {
        (ua >> (64 - shift), ua << shift)
    };
    if hi >= ub {
        return None;
    }
    // A dividend that fits in 64 bits takes the native division (one instruction in the SBF
    // VM, against ≈ 130 for the 128/64 long division): the same quotient and remainder.
    let (q, r) = if hi == 0 {
        (lo / ub, lo % ub)
    } else {
        div_wide(hi, lo, ub)
    };
    signed_round(q, negative, r != 0, round)
}

/// Bound on `|a|` for [`mul_small`]: 2^40 (256.0 in Q32.32).
pub const MUL_SMALL_A: u64 = 1 << 40;
/// Bound on `b` for [`mul_small`]: 2^54.
pub const MUL_SMALL_B: u64 = 1 << 54;

/// Whether `(a, b)` is in [`mul_small`]'s domain: `|a| < 2^40` and `0 ≤ b < 2^54`.
#[inline(always)]
pub const fn mul_small_domain(a: i64, b: i64) -> bool {
    (a.wrapping_add(MUL_SMALL_A as i64) as u64) < 2 * MUL_SMALL_A && (b as u64) < MUL_SMALL_B
}

/// Q32.32 product `⌊a·b / 2^32⌋` for `|a| < 2^40` and `0 ≤ b < 2^54` ([`mul_small_domain`]):
/// bit-identical to [`mul`] / [`mul_sat`] there, at a fraction of the cost (no sign handling, no
/// overflow check: the result is below 2^62 in magnitude).
///
/// With `a = ah·2^32 + al` (`ah` signed, `0 ≤ al < 2^32`) and likewise `b`,
/// `a·b/2^32 = ah·bh·2^32 + ah·bl + al·bh + al·bl/2^32`: the first three terms are integers, so
/// the floor only truncates the last (non-negative) one. Each partial product is exact
/// (|ah| ≤ 2^8, bh < 2^22), and the true result is below 2^62, so the wrapping sum is exact.
/// Outside the domain the result is unspecified (but never a panic).
#[inline(always)]
pub const fn mul_small(a: i64, b: i64) -> i64 {
    let (ah, al) = (a >> 32, (a as u64) & LO32);
    let (bh, bl) = (((b as u64) >> 32) as i64, (b as u64) & LO32);
    (ah.wrapping_mul(bh) << 32)
        .wrapping_add(ah.wrapping_mul(bl as i64))
        .wrapping_add((al.wrapping_mul(bh as u64)) as i64)
        .wrapping_add((al.wrapping_mul(bl) >> 32) as i64)
}

/// `⌊m·p / 2^32⌋` for money `m ≥ 0` and a probability `0 ≤ p ≤ 1` (Q32.32): bit-identical to
/// [`mul`] there, in two partial products and without an overflow check (the result is at most
/// `m`). `m·p/2^32 = mh·p + ml·p/2^32` with `m = mh·2^32 + ml`; `mh·p < 2^63` and
/// `ml·p < 2^64`. Outside that domain the result is unspecified (but never a panic).
#[inline(always)]
pub const fn mul_prob(m: i64, p: i64) -> i64 {
    let (mh, ml, p) = ((m as u64) >> 32, (m as u64) & LO32, p as u64);
    mh.wrapping_mul(p).wrapping_add(ml.wrapping_mul(p) >> 32) as i64
}

/// Q32.32 quotient `a / b`, rounded toward −∞.
#[inline]
pub const fn div(a: i64, b: i64) -> RiskResult<i64> {
    if b == 0 {
        return Err(RiskError::DivisionByZero);
    }
    match div_shift(a, b, FRAC_BITS, Round::Floor) {
        Some(v) => Ok(v),
        None => Err(RiskError::Overflow),
    }
}

/// Q32.32 reciprocal `1 / b`, rounded toward −∞: exactly [`div`]`(ONE, b)`, with one native
/// 64-bit division for `b > 0` instead of a wide one. `2^64 = (2^64 − 1) + 1`, so with
/// `q = ⌊(2^64 − 1)/b⌋` and remainder `r`, `⌊2^64/b⌋` is `q + 1` when `r + 1 = b` and `q`
/// otherwise (`src/fx/tests.rs::recip_matches_div`).
#[inline]
pub const fn recip(b: i64) -> RiskResult<i64> {
    if b <= 0 {
        return div(ONE, b);
    }
    if b <= 2 {
        return Err(RiskError::Overflow); // 2^64/b ≥ 2^63
    }
    let b = b as u64;
    let q = u64::MAX / b;
    // q·b ≤ 2^64 − 1: exact; r < b, so r + 1 cannot overflow, and q < 2^63 (b ≥ 3).
    let r = u64::MAX - q.wrapping_mul(b);
    let q = if r + 1 == b { q + 1 } else { q };
    if q > i64::MAX as u64 {
        Err(RiskError::Overflow)
    } else {
        Ok(q as i64)
    }
}

/// Q32.32 quotient `a / b`, rounded toward +∞.
#[inline]
pub const fn div_ceil(a: i64, b: i64) -> RiskResult<i64> {
    if b == 0 {
        return Err(RiskError::DivisionByZero);
    }
    match div_shift(a, b, FRAC_BITS, Round::Ceil) {
        Some(v) => Ok(v),
        None => Err(RiskError::Overflow),
    }
}

/// Checked integer sum, naming the failure.
///
/// Written as the sign test "both operands differ in sign from the wrapped sum" rather than
/// `checked_add`: BPF has no overflow flag, and LLVM's expansion of `checked_add` there costs
/// about twice the instructions. Same results (`src/fx/tests.rs::add_sub_match_checked`).
#[inline(always)]
pub const fn add(a: i64, b: i64) -> RiskResult<i64> {
    let s = a.wrapping_add(b);
    if (a ^ s) & (b ^ s) < 0 {
        Err(RiskError::Overflow)
    } else {
        Ok(s)
    }
}

/// Checked integer difference (the same sign test as [`add`]: overflow iff the operands differ
/// in sign and the result's sign differs from `a`'s).
#[inline(always)]
pub const fn sub(a: i64, b: i64) -> RiskResult<i64> {
    let d = a.wrapping_sub(b);
    if (a ^ b) & (a ^ d) < 0 {
        Err(RiskError::Overflow)
    } else {
        Ok(d)
    }
}

/// Checked integer product (contracts × money per contract), without a 128-bit multiply: two
/// magnitudes below 2^31 multiply exactly in 64 bits (the usual case: one branch and one
/// multiply); otherwise the high word of [`mul_wide`] must be zero.
#[inline(always)]
pub const fn imul(a: i64, b: i64) -> RiskResult<i64> {
    let (ua, ub) = (a.unsigned_abs(), b.unsigned_abs());
    let mag = if (ua | ub) >> 31 == 0 {
        ua.wrapping_mul(ub) // < 2^62: exact
    } else {
        let (hi, lo) = mul_wide(ua, ub);
        if hi != 0 {
            return Err(RiskError::Overflow);
        }
        lo
    };
    match signed_round(mag, (a < 0) != (b < 0), false, Round::Floor) {
        Some(v) => Ok(v),
        None => Err(RiskError::Overflow),
    }
}

/// `a·b` saturating at `u64::MAX`, without a 128-bit multiply.
#[inline(always)]
pub const fn umul_sat(a: u64, b: u64) -> u64 {
    if (a | b) >> 32 == 0 {
        return a.wrapping_mul(b); // < 2^64: exact
    }
    let (hi, lo) = mul_wide(a, b);
    if hi != 0 {
        u64::MAX
    } else {
        lo
    }
}

/// `a·b` saturating at `i64::MIN`/`i64::MAX` (like `i64::saturating_mul`), without a 128-bit
/// multiply.
#[inline(always)]
pub const fn imul_sat(a: i64, b: i64) -> i64 {
    match imul(a, b) {
        Ok(v) => v,
        Err(_) => {
            if (a < 0) != (b < 0) {
                i64::MIN
            } else {
                i64::MAX
            }
        }
    }
}

/// Unsigned integer division rounded up (`b` > 0). Signed division is avoided on purpose: the
/// SBF backend does not support it.
#[inline(always)]
pub const fn udiv_ceil(a: u64, b: u64) -> u64 {
    let q = a / b;
    // q·b ≤ a: exact.
    if q.wrapping_mul(b) == a {
        q
    } else {
        q + 1
    }
}

/// Converts raw bits to the public type.
#[inline(always)]
pub const fn fx(raw: i64) -> Fx {
    Fx::from_bits(raw)
}

#[cfg(test)]
mod tests;
