//! The scenario loop's unchecked path against its checked one.

use super::*;
use crate::breakdown::MarketRisk;
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

fn market(spot: i64, sigma: f64, params: &RiskParams) -> MarketInput<'_> {
    MarketInput {
        spot,
        stable_spot: spot,
        conf: spot / 10_000,
        sigma: Fx::from_num(sigma),
        mark_sigma: Fx::from_num(sigma),
        params,
    }
}

/// The scenario P&L and slopes of one position (with its strike as a strike point when in
/// range), both ways, from the same grid and per-series inputs.
fn both_paths(
    kind: SeriesKind,
    spot: i64,
    strike: i64,
    t: i64,
    qty: i64,
    sigma: f64,
) -> (RiskResult<MarketRisk>, RiskResult<MarketRisk>) {
    let params = RiskParams::DEFAULT;
    let mk = market(spot, sigma, &params);
    let mut mr = MarketRisk::default();
    build_market(&mk, &mut mr).unwrap();
    let lm = if kind.is_option() {
        ln_scaled(spot, 0).unwrap() - ln_scaled(strike, 0).unwrap()
    } else {
        0
    };
    let mut strikes = StrikeSelector::new(mr.range.to_bits());
    if kind.is_option() {
        strikes.offer(StrikeCandidate {
            w_end: 0,
            x: -lm,
            strike,
        });
    }
    mr.n_strike_points = strikes.write(spot, &mut mr.strike_ln_move, &mut mr.strike_forward) as u8;
    let strike = if kind.is_option() { strike } else { 0 };
    let tv = TotalVol::new(mk.sigma.to_bits(), sqrt_secs(t).unwrap()).unwrap();
    let mark = value_at(kind, spot, strike, lm, tv).unwrap();
    let (up, down) = scenario::vol_multipliers(t, &params).unwrap();
    let tvs = [
        tv.scaled(up).unwrap(),
        tv.scaled(down).unwrap(),
        tv.scaled(params.named_shocks[0].vol_mult.to_bits())
            .unwrap(),
        tv.scaled(params.named_shocks[1].vol_mult.to_bits())
            .unwrap(),
    ];
    let mut exact = mr;
    let mut checked = mr;
    let a = scenario_pnl::<true>(kind, strike, lm, qty, mark, &tvs, &mut exact).map(|()| exact);
    let b =
        scenario_pnl::<false>(kind, strike, lm, qty, mark, &tvs, &mut checked).map(|()| checked);
    (a, b)
}

fn kind() -> impl Strategy<Value = SeriesKind> {
    prop_oneof![
        Just(SeriesKind::Call),
        Just(SeriesKind::Put),
        Just(SeriesKind::Future)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// Wherever `pnl_is_exact` admits a position, the unchecked loop gives the checked loop's bits.
    #[test]
    fn unchecked_scenario_loop_is_exact_where_admitted(
        k in kind(), spot_log2 in 10.0f64..44.0, moneyness in 0.05f64..20.0,
        t in 1i64..(3 * 365 * 86_400), qty_log2 in 0.0f64..40.0, short in any::<bool>(),
        sigma in 0.01f64..5.0,
    ) {
        // Log-uniform sizes, so that books near the 2^62 bound are common.
        let spot = spot_log2.exp2() as i64;
        let qty = (qty_log2.exp2() as i64) * if short { -1 } else { 1 };
        let strike = ((spot as f64 * moneyness) as i64).max(1);
        let params = RiskParams::DEFAULT;
        let mk = [market(spot, sigma, &params)];
        let pos = [PositionInput { market: 0, kind: k, strike, expiry: NOW + t, qty, cash: 0 }];
        let mut markets = [MarketRisk::default(), MarketRisk::default(), MarketRisk::default(), MarketRisk::default()];
        build_market(&mk[0], &mut markets[0]).unwrap();
        let max_fwd = [markets[0].forward.iter().copied().fold(spot, i64::max)];
        let p = Portfolio { collateral: 0, positions: &pos, markets: &mk, correlations: &Correlations::NONE, now: NOW };
        prop_assume!(pnl_is_exact(&p, &markets, &max_fwd));
        let (a, b) = both_paths(k, spot, strike, t, qty, sigma);
        prop_assert_eq!(a, b);
    }
}

#[test]
fn exactness_test_rejects_what_could_overflow() {
    let params = RiskParams::DEFAULT;
    let spot = 1i64 << 40;
    let mk = [market(spot, 0.8, &params)];
    let mut markets = [
        MarketRisk::default(),
        MarketRisk::default(),
        MarketRisk::default(),
        MarketRisk::default(),
    ];
    build_market(&mk[0], &mut markets[0]).unwrap();
    let max_fwd = [markets[0].forward.iter().copied().fold(spot, i64::max)];
    let pos = |qty: i64, strike: i64| PositionInput {
        market: 0,
        kind: SeriesKind::Call,
        strike,
        expiry: NOW + 86_400,
        qty,
        cash: 0,
    };
    let admits = |positions: &[PositionInput]| {
        let p = Portfolio {
            collateral: 0,
            positions,
            markets: &mk,
            correlations: &Correlations::NONE,
            now: NOW,
        };
        pnl_is_exact(&p, &markets, &max_fwd)
    };
    assert!(admits(&[pos(1_000, spot)]));
    // max forward > 2^40, so 2^22 contracts exceed 2^62 in total.
    assert!(!admits(&[pos(1 << 22, spot)]));
    assert!(!admits(&[pos(1 << 21, spot), pos(-(1 << 21), spot)]));
    assert!(!admits(&[pos(1, -1)]));
    assert!(!admits(&[pos(i64::MIN, spot)]));
    assert!(!admits(&[PositionInput {
        market: 3,
        ..pos(1, spot)
    }]));
    // A scenario move at or beyond 2^39 (out-of-bounds parameters) takes the checked path.
    let mut wide = markets;
    wide[0].ln_move[0] = Fx::from_bits(-(1i64 << 39));
    let p = Portfolio {
        collateral: 0,
        positions: &[pos(1, spot)],
        markets: &mk,
        correlations: &Correlations::NONE,
        now: NOW,
    };
    assert!(!pnl_is_exact(&p, &wide, &max_fwd));
}

fn point(x: f64, pnl: i64, right: i64, left: i64) -> PricePoint {
    PricePoint {
        x: (x * ONE as f64) as i64,
        pnl,
        right,
        left,
        id: 0,
    }
}

/// One kink between two points (an option expiring inside the horizon): P&L = −1e6·x up to
/// x = 0.1, then rising at 2e6 per unit log move; the bound is the kink, −100,000.
#[test]
fn tangent_bound_is_exact_for_one_kink() {
    let a = point(0.0, 0, -1_000_000, -1_000_000);
    let b = point(0.2, 100_000, 2_000_000, 2_000_000);
    let v = between(&a, &b).unwrap().unwrap();
    assert!((v + 100_000).abs() <= 2, "{v}");
}

/// A convex P&L between the points: the bound is below its minimum (a loss at least the true
/// one); no bound where the P&L does not fall into the interval and rise out of it.
#[test]
fn tangent_bound_is_below_a_convex_minimum_and_absent_otherwise() {
    // P(x) = 1e6·(x − 0.07)² − 5,000 on [0, 0.2]: P' = 2e6·(x − 0.07).
    let p = |x: f64| (1e6 * (x - 0.07) * (x - 0.07) - 5_000.0) as i64;
    let g = |x: f64| (2e6 * (x - 0.07)) as i64;
    let a = point(0.0, p(0.0), g(0.0), g(0.0));
    let b = point(0.2, p(0.2), g(0.2), g(0.2));
    // The tangents at 0 and 0.2 meet at x = 0.1, P = −14,100: below the true minimum −5,000.
    let v = between(&a, &b).unwrap().unwrap();
    assert!((v + 14_100).abs() <= 2, "{v}");
    // Rising at a, or falling at b, or zero width: no bound.
    assert_eq!(between(&point(0.0, 0, 5, 5), &b).unwrap(), None);
    assert_eq!(between(&a, &point(0.2, 0, -5, -5)).unwrap(), None);
    assert_eq!(between(&a, &point(0.0, 0, 5, 5)).unwrap(), None);
    // Slopes of one unit against a large P&L gap: the quotient leaves Q32 and clamps to an end.
    let v = between(&point(0.0, 0, -1, -1), &point(0.1, i64::MAX / 4, 1, 1))
        .unwrap()
        .unwrap();
    assert!(v <= 0, "{v}");
}
