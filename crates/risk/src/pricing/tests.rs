use super::*;

#[test]
fn time_roots() {
    assert_eq!(sqrt_secs(0).unwrap(), 0);
    assert_eq!(sqrt_secs(-5).unwrap(), 0);
    let one_year = per_sqrt_year(sqrt_secs(SECONDS_PER_YEAR).unwrap()).unwrap();
    assert!((one_year - crate::fx::ONE).abs() <= 8, "{one_year}");
    let minute = sqrt_secs(60).unwrap() as f64 / 4294967296.0;
    assert!((minute / 60f64.sqrt() - 1.0).abs() < 1e-9);
}

#[test]
fn kinds_round_trip() {
    for k in [SeriesKind::Call, SeriesKind::Put, SeriesKind::Future] {
        assert_eq!(SeriesKind::from_u8(k as u8), Some(k));
    }
    assert_eq!(SeriesKind::from_u8(3), None);
}

mod fast_path {
    use super::super::black76::value_at_general;
    use super::super::{value_delta_at, SeriesKind, TotalVol};
    use crate::fx::{MUL_SMALL_A, MUL_SMALL_B, ONE};
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = SeriesKind> {
        prop_oneof![
            Just(SeriesKind::Call),
            Just(SeriesKind::Put),
            Just(SeriesKind::Future)
        ]
    }

    /// Values near the edges of the fast domain and of `i64`, and anything in between.
    fn edgy(bound: u64) -> impl Strategy<Value = i64> {
        let b = bound as i64;
        prop_oneof![
            any::<i64>(),
            (-b..b),
            (b - 4..b + 4),
            (-b - 4..-b + 4),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0i64),
            (-8i64..8),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(50_000))]

        /// The fast path changes no bit: on every input — inside its domain, at its edges and
        /// outside it — `value_at` equals the general evaluation (including its errors).
        #[test]
        fn fast_path_is_bit_identical(
            k in kind(),
            fwd in edgy(1 << 62), strike in edgy(1 << 62),
            lm in edgy(MUL_SMALL_A), inv_w in edgy(MUL_SMALL_B), w in edgy(1 << 62),
        ) {
            let tv = TotalVol { w, inv_w };
            prop_assert_eq!(value_delta_at(k, fwd, strike, lm, tv), value_at_general(k, fwd, strike, lm, tv));
        }

        /// The same on realistic grids: money up to 2^50, log-moneyness ±6, w from 1e-6 to 50,
        /// with w and 1/w consistent as `TotalVol` builds them.
        #[test]
        fn fast_path_is_bit_identical_on_realistic_inputs(
            k in kind(), fwd in 1i64..(1 << 50), strike in 1i64..(1 << 50),
            lm in -(6 * ONE)..(6 * ONE), w in 4_295i64..(50 * ONE),
        ) {
            let tv = TotalVol::from_w(w).unwrap();
            prop_assert_eq!(value_delta_at(k, fwd, strike, lm, tv), value_at_general(k, fwd, strike, lm, tv));
        }
    }
}
