//! The 64-bit-only primitives checked against `i128` arithmetic (allowed in tests: they run natively).

use super::*;
use proptest::prelude::*;

fn floor_div_i128(n: i128, d: i128) -> i128 {
    let q = n / d;
    if (n % d != 0) && ((n < 0) != (d < 0)) {
        q - 1
    } else {
        q
    }
}

fn ceil_div_i128(n: i128, d: i128) -> i128 {
    -floor_div_i128(-n, d)
}

fn fits(v: i128) -> Option<i64> {
    i64::try_from(v).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn mul_wide_matches_u128(a in any::<u64>(), b in any::<u64>()) {
        let p = (a as u128) * (b as u128);
        prop_assert_eq!(mul_wide(a, b), ((p >> 64) as u64, p as u64));
    }

    #[test]
    fn div_wide_matches_u128(hi in any::<u64>(), lo in any::<u64>(), d in 1u64..) {
        let hi = hi % d;
        let n = ((hi as u128) << 64) | lo as u128;
        let (q, r) = div_wide(hi, lo, d);
        prop_assert_eq!(q as u128, n / d as u128);
        prop_assert_eq!(r as u128, n % d as u128);
    }

    /// The 64-bit dividend (`hi = 0`, the native division) against `u128`.
    #[test]
    fn div_wide_of_a_64_bit_dividend_matches_u128(lo in any::<u64>(), d in 1u64..) {
        let (q, r) = div_wide(0, lo, d);
        prop_assert_eq!(q, lo / d);
        prop_assert_eq!(r as u128, lo as u128 % d as u128);
        // Small divisors too (the quotient then needs all 64 bits).
        let d = d % 1_000 + 1;
        let (q, r) = div_wide(0, lo, d);
        prop_assert_eq!(q as u128, lo as u128 / d as u128);
        prop_assert_eq!(r as u128, lo as u128 % d as u128);
    }

    #[test]
    fn mul_shift_rounds_exactly(a in any::<i64>(), b in any::<i64>(), shift in 0u32..64) {
        let p = a as i128 * b as i128;
        let d = 1i128 << shift;
        prop_assert_eq!(mul_shift(a, b, shift, Round::Floor), fits(floor_div_i128(p, d)));
        prop_assert_eq!(mul_shift(a, b, shift, Round::Ceil), fits(ceil_div_i128(p, d)));
    }

    #[test]
    fn div_shift_rounds_exactly(a in any::<i64>(), b in any::<i64>(), shift in 0u32..64) {
        prop_assume!(b != 0);
        let n = (a as i128) << shift;
        // |a·2^shift| can exceed i128 only for shift ≥ 64; here shift ≤ 63.
        prop_assert_eq!(div_shift(a, b, shift, Round::Floor), fits(floor_div_i128(n, b as i128)));
        prop_assert_eq!(div_shift(a, b, shift, Round::Ceil), fits(ceil_div_i128(n, b as i128)));
    }

    #[test]
    fn small_operands_use_the_same_rules(a in -(1i64 << 40)..(1i64 << 40), b in -(1i64 << 40)..(1i64 << 40)) {
        let p = a as i128 * b as i128;
        prop_assert_eq!(mul(a, b).ok(), fits(floor_div_i128(p, 1 << 32)));
        prop_assert_eq!(mul_ceil(a, b).ok(), fits(ceil_div_i128(p, 1 << 32)));
        if b != 0 {
            prop_assert_eq!(div(a, b).ok(), fits(floor_div_i128((a as i128) << 32, b as i128)));
        }
    }
}

#[test]
fn edge_cases() {
    assert_eq!(mul(i64::MIN, ONE), Ok(i64::MIN));
    assert_eq!(mul(i64::MIN, -ONE), Err(RiskError::Overflow));
    assert_eq!(mul_sat(i64::MAX, i64::MAX), i64::MAX);
    assert_eq!(mul_sat(i64::MIN, i64::MAX), i64::MIN);
    assert_eq!(div(1, 0), Err(RiskError::DivisionByZero));
    assert_eq!(div(ONE, 1), Err(RiskError::Overflow));
    assert_eq!(div(-ONE, 2 * ONE), Ok(-HALF));
    assert_eq!(div_ceil(ONE, 3 * ONE), Ok(1431655766));
    assert_eq!(div(ONE, 3 * ONE), Ok(1431655765));
    assert_eq!(udiv_ceil(10, 3), 4);
    assert_eq!(udiv_ceil(9, 3), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `mul_small` is `mul`'s floor on its whole domain, including both ends.
    #[test]
    fn mul_small_matches_i128(
        a in prop_oneof![-(MUL_SMALL_A as i64)..(MUL_SMALL_A as i64), Just(-(MUL_SMALL_A as i64)), Just(MUL_SMALL_A as i64 - 1)],
        b in prop_oneof![0..(MUL_SMALL_B as i64), Just(0i64), Just(MUL_SMALL_B as i64 - 1)],
    ) {
        prop_assert!(mul_small_domain(a, b));
        let want = floor_div_i128(a as i128 * b as i128, 1 << 32);
        prop_assert_eq!(mul_small(a, b) as i128, want);
        prop_assert_eq!(mul(a, b), Ok(want as i64));
    }

    /// `mul_prob` is `mul`'s floor for any non-negative money and probability in [0, 1].
    #[test]
    fn mul_prob_matches_i128(
        m in prop_oneof![0..i64::MAX, Just(i64::MAX), Just(0i64)],
        p in prop_oneof![0..=ONE, Just(ONE), Just(0i64)],
    ) {
        let want = floor_div_i128(m as i128 * p as i128, 1 << 32);
        prop_assert_eq!(mul_prob(m, p) as i128, want);
        prop_assert_eq!(mul(m, p), Ok(want as i64));
    }
}

#[test]
fn mul_small_domain_edges() {
    let (a, b) = (MUL_SMALL_A as i64, MUL_SMALL_B as i64);
    assert!(mul_small_domain(-a, 0) && mul_small_domain(a - 1, b - 1));
    assert!(!mul_small_domain(a, 0) && !mul_small_domain(-a - 1, 0));
    assert!(!mul_small_domain(0, b) && !mul_small_domain(0, -1));
    assert!(!mul_small_domain(i64::MIN, 0) && !mul_small_domain(i64::MAX, 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// The sign-test `add`/`sub` agree with `checked_add`/`checked_sub` everywhere.
    #[test]
    fn add_sub_match_checked(
        a in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -2i64..2],
        b in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -2i64..2],
    ) {
        prop_assert_eq!(add(a, b).ok(), a.checked_add(b));
        prop_assert_eq!(sub(a, b).ok(), a.checked_sub(b));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `recip` is `div(ONE, ·)` for every input, errors included.
    #[test]
    fn recip_matches_div(
        b in prop_oneof![any::<i64>(), 1i64..(1 << 34), -4i64..4, Just(i64::MAX), Just(i64::MIN)],
    ) {
        prop_assert_eq!(recip(b), div(ONE, b));
    }
}

#[test]
fn recip_edges() {
    // Powers of two, their neighbours, and 2^64/b exact vs inexact.
    for k in 0..63 {
        for b in [(1i64 << k) - 1, 1i64 << k, (1i64 << k) + 1] {
            assert_eq!(recip(b), div(ONE, b), "b = {b}");
        }
    }
    assert_eq!(recip(1), Err(RiskError::Overflow));
    assert_eq!(recip(2), Err(RiskError::Overflow)); // 2^63
    assert_eq!(recip(3), Ok(6148914691236517205));
    assert_eq!(recip(0), Err(RiskError::DivisionByZero));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `mul_unit` is `mul`'s floor and `mul_ceil`'s ceiling for any `a` and any fraction in
    /// [0, 1], both ends and `i64`'s extremes included; `mul_frac`/`mul_frac_ceil` equal them
    /// everywhere (outside [0, 1] through the general path).
    #[test]
    fn mul_unit_matches_i128(
        a in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(-(1i64 << 32)), Just(-1i64)],
        u in prop_oneof![0..=ONE, Just(ONE), Just(0i64), Just(ONE - 1), Just(1i64)],
        v in any::<i64>(),
    ) {
        let p = a as i128 * u as i128;
        prop_assert_eq!(mul_unit::<false>(a, u).map(i128::from), Some(floor_div_i128(p, 1 << 32)));
        prop_assert_eq!(mul_unit::<true>(a, u).map(i128::from), Some(ceil_div_i128(p, 1 << 32)));
        prop_assert_eq!(mul_frac(a, u), mul(a, u));
        prop_assert_eq!(mul_frac_ceil(a, u), mul_ceil(a, u));
        prop_assert_eq!(mul_frac(a, v), mul(a, v));
        prop_assert_eq!(mul_frac_ceil(a, v), mul_ceil(a, v));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `mul_factor` is `mul`'s floor for `0 ≤ a < 2^59` and factors below 16, at and next to
    /// both bounds; outside them it refuses, and `mul_frac`, `mul_scale` equal `mul` everywhere.
    #[test]
    fn mul_factor_matches_i128(
        a in prop_oneof![0..(1i64 << 59), Just((1i64 << 59) - 1), Just(1i64 << 59), Just(0i64), any::<i64>()],
        m in prop_oneof![ONE..(1i64 << 36), Just((1i64 << 36) - 1), Just(1i64 << 36), Just(ONE + 1), 0..=ONE, any::<i64>()],
    ) {
        let inside = (0..1i64 << 59).contains(&a) && (0..1i64 << 36).contains(&m);
        let want = floor_div_i128(a as i128 * m as i128, 1 << 32);
        match mul_factor(a, m) {
            Some(v) => {
                prop_assert!(inside);
                prop_assert_eq!(v as i128, want);
            }
            None => prop_assert!(!inside),
        }
        prop_assert_eq!(mul_frac(a, m), mul(a, m));
        prop_assert_eq!(mul_scale(a, m), mul(a, m));
    }
}

#[test]
fn mul_unit_refuses_outside_the_unit_interval() {
    // The bound is 1 inclusive: one ulp above (or any negative) takes the general path.
    assert_eq!(mul_unit::<false>(i64::MIN, ONE), Some(i64::MIN));
    assert_eq!(mul_unit::<true>(i64::MAX, ONE), Some(i64::MAX));
    assert_eq!(mul_unit::<false>(5, ONE + 1), None);
    assert_eq!(mul_unit::<true>(5, -1), None);
    assert_eq!(
        mul_frac(i64::MAX, ONE + 1),
        Err(crate::error::RiskError::Overflow)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `div_shift` by 2^32 around its native-division bound (|a| < 2^32: the shifted dividend
    /// fits in 64 bits) against `i128`, both signs and roundings.
    #[test]
    fn div_shift_native_bound(
        a in prop_oneof![-(1i64 << 33)..(1i64 << 33), Just((1i64 << 32) - 1), Just(1i64 << 32), Just(-(1i64 << 32))],
        b in prop_oneof![1i64..(1 << 40), -(1i64 << 40)..0, Just(i64::MAX), Just(i64::MIN)],
    ) {
        let n = (a as i128) << 32;
        prop_assert_eq!(div_shift(a, b, 32, Round::Floor), fits(floor_div_i128(n, b as i128)));
        prop_assert_eq!(div_shift(a, b, 32, Round::Ceil), fits(ceil_div_i128(n, b as i128)));
    }
}
