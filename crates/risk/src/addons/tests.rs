use super::*;
use crate::params::RiskParams;
use crate::Fx;
use proptest::prelude::*;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

proptest! {
    /// `impact_with` through one `HorizonRoot` shared by a sequence of markets (horizons
    /// repeating, changing and coming back; some markets without impact) gives what `impact`
    /// gives each market afresh, errors included; and the remembered root is `sqrt_secs`'.
    #[test]
    fn shared_horizon_root_is_bit_identical(
        markets in proptest::collection::vec(
            (
                prop_oneof![Just(HOUR), Just(DAY), Just(7 * DAY), HOUR..=30 * DAY, -DAY..=0i64],
                prop_oneof![Just(0i64), 1i64..=(1 << 40), any::<i64>()],
                prop_oneof![0i64..=(4i64 << 32), any::<i64>()],
                prop_oneof![Just(0i64), 0i64..=(10i64 << 32)],
                prop_oneof![1i64..=(1 << 50), any::<i64>()],
            ),
            1..8,
        ),
    ) {
        let mut root = HorizonRoot::default();
        for (horizon, notional, sigma, coef, depth) in markets {
            let mut p = RiskParams::DEFAULT;
            p.im_horizon_secs = horizon;
            p.impact_coef = Fx::from_bits(coef);
            p.liquidity_notional = depth;
            prop_assert_eq!(
                impact_with(notional, sigma, &p, &mut root),
                impact(notional, sigma, &p)
            );
            let mut probe = root;
            prop_assert_eq!(probe.get(horizon), sqrt_secs(horizon));
        }
    }
}
