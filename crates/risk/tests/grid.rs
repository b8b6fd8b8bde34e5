//! The scenario grid against a dense scan: on random books — expiries from 10 minutes, vols to
//! 300%, strikes anywhere in and around the range — the grid's worst loss is at least 97% of the
//! worst loss over a dense scan of the same price range and vol levels (docs/risk-model.md §4.1),
//! the dense scan computed in f64 from the reference model's formulas.

mod reference;

use keel_risk::breakdown::MarginBreakdown;
use keel_risk::{
    compute, Correlations, Fx, MarketInput, Portfolio, PositionInput, RiskParams, SeriesKind,
};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;
const SPOT: i64 = 10_000_000_000;
/// Points of the dense scan over the range, per vol level.
const DENSE: usize = 2_001;

fn margin(positions: &[PositionInput], sigma: f64, params: &RiskParams) -> MarginBreakdown {
    let markets = [MarketInput {
        spot: SPOT,
        stable_spot: SPOT,
        conf: 0,
        sigma: Fx::from_num(sigma),
        range_sigma: Fx::from_num(sigma),
        mark_sigma: Fx::from_num(sigma),
        realised_sigma: Fx::ZERO,
        params,
    }];
    let p = Portfolio {
        collateral: 0,
        positions,
        markets: &markets,
        correlations: &Correlations::NONE,
        now: NOW,
    };
    let mut b = MarginBreakdown::default();
    compute(&p, &mut b).unwrap();
    b
}

/// The worst loss over log moves in [−edge, edge] at vol up and vol down, at the end of the
/// horizon, in f64.
fn dense_worst(positions: &[PositionInput], sigma: f64, edge: f64, p: &RiskParams) -> f64 {
    let sig = Fx::from_num(sigma).to_num::<f64>();
    let h = p.im_horizon_secs as f64;
    let mut worst: f64 = 0.0;
    for level in 0..2 {
        for i in 0..DENSE {
            let x = -edge + 2.0 * edge * i as f64 / (DENSE - 1) as f64;
            let f = SPOT as f64 * x.exp();
            let pnl: f64 = positions
                .iter()
                .map(|q| {
                    let t = (q.expiry - NOW) as f64;
                    let mult = reference::vol_mults(t, p)[level];
                    let k = q.strike as f64;
                    let mark = reference::black76(q.kind as u8, SPOT as f64, k, sig, t);
                    let v = reference::black76(q.kind as u8, f, k, sig * mult, (t - h).max(0.0));
                    q.qty as f64 * (v - mark)
                })
                .sum();
            worst = worst.max(-pnl);
        }
    }
    worst
}

/// Σ qty·(exact mark − the engine's mark): how much of the book's value the engine's marks
/// already leave out (≥ 0 in sum for what matters: a long is marked low, a short high).
fn mark_bias(positions: &[PositionInput], sigma: f64, b: &MarginBreakdown) -> f64 {
    let sig = Fx::from_num(sigma).to_num::<f64>();
    positions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let t = (q.expiry - NOW) as f64;
            let exact = reference::black76(q.kind as u8, SPOT as f64, q.strike as f64, sig, t);
            q.qty as f64 * (exact - b.positions[i].mark as f64)
        })
        .sum()
}

fn leg() -> impl Strategy<Value = (SeriesKind, f64, f64, i64)> {
    (
        prop_oneof![Just(SeriesKind::Call), Just(SeriesKind::Put)],
        // strike: ln(K/S) as a fraction of the IM range, a little beyond it on both sides
        -1.2f64..1.2,
        // expiry: log-uniform from 10 minutes to 30 days
        (600f64).ln()..(30.0 * 86_400.0f64).ln(),
        prop_oneof![-100i64..=-1, 1i64..=100],
    )
}

/// The IM price range R (ln move) at vol `sigma`.
fn range(sigma: f64, params: &RiskParams) -> f64 {
    keel_risk::scenario::im_range(Fx::from_num(sigma), params).unwrap() as f64 / 4294967296.0
}

/// Positions of market 0 from (kind, strike as a fraction of the IM range, expiry in seconds,
/// qty).
fn book(legs: &[(SeriesKind, f64, f64, i64)], r: f64) -> Vec<PositionInput> {
    legs.iter()
        .map(|&(kind, u, t, qty)| PositionInput {
            market: 0,
            kind,
            strike: (SPOT as f64 * (u * r).exp()) as i64,
            expiry: NOW + t as i64,
            qty,
            cash: 0,
        })
        .collect()
}

/// What the grid found against the dense scan for one book: (grid MM, dense MM, grid IM over
/// the IM range alone, dense IM, the slack within which a difference is valuation noise).
/// Losses are measured from the marks, and a position is marked at its array's bound (a long's
/// lower, a short's upper): what the book is worth after the worst move is Σ qty·mark − loss,
/// so the grid's losses are compared from the exact marks, as the dense scan's are.
fn grid_and_dense(positions: &[PositionInput], sigma: f64) -> (f64, f64, f64, f64, f64) {
    let params = RiskParams::DEFAULT;
    let r = range(sigma, &params);
    let b = margin(positions, sigma, &params);
    let mr = &b.markets[0];
    let bias = mark_bias(positions, sigma, &b);
    let edge_mm = mr.step.to_num::<f64>() * params.mm_steps as f64;
    let dense_mm = dense_worst(positions, sigma, edge_mm, &params);
    let dense_im = dense_worst(positions, sigma, r, &params);
    // The grid's worst within the IM range alone: the same book with the extremes and named
    // shocks weighted 0.
    let mut ladder_only = params;
    ladder_only.extreme_weight = Fx::ZERO;
    for n in ladder_only.named_shocks.iter_mut() {
        n.weight = Fx::ZERO;
    }
    let ladder_b = margin(positions, sigma, &ladder_only);
    let ladder_im = ladder_b.markets[0].worst_im as f64 + mark_bias(positions, sigma, &ladder_b);
    // The engine's valuations are within the allowance of f64 (§4.6): a loss smaller than
    // that is noise, not a miss.
    let slack = 4.0 * positions.len() as f64 + b.rounding as f64;
    (
        mr.worst_mm as f64 + bias,
        dense_mm,
        ladder_im,
        dense_im,
        slack,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// MM's and IM's grid (ladders, strike points, interval bounds) against the dense scan of
    /// their ranges, for books of one to `STRIKE_POINTS` + 4 options (more strikes than strike
    /// points).
    #[test]
    fn grid_worst_loss_is_at_least_97pct_of_a_dense_scan(
        sigma in 0.2f64..3.0,
        legs in prop::collection::vec(leg(), 1..=keel_risk::array::STRIKE_POINTS + 4),
    ) {
        let legs: Vec<_> = legs.iter().map(|&(kind, u, lt, qty)| (kind, u, lt.exp(), qty)).collect();
        let (mm, dense_mm, im, dense_im, slack) = grid_and_dense(&book(&legs, range(sigma, &RiskParams::DEFAULT)), sigma);
        prop_assert!(mm + slack >= 0.97 * dense_mm, "MM grid {mm} dense {dense_mm} ({:.3})", mm / dense_mm);
        prop_assert!(im + slack >= 0.97 * dense_im, "IM grid {im} dense {dense_im} ({:.3})", im / dense_im);
    }
}

/// A random book as large as an account holds: σ 20–300%, 5 to `MAX_POSITIONS` calls and puts,
/// long and short (1–100 contracts), strikes within ±1.2 R, on one to four expiries drawn by
/// `expiry`.
fn full_book(
    expiry: impl Strategy<Value = f64>,
) -> impl Strategy<Value = (f64, Vec<(SeriesKind, f64, f64, i64)>)> {
    (
        0.2f64..3.0,
        prop::collection::vec(expiry, 1..=4),
        prop::collection::vec(
            (
                prop_oneof![Just(SeriesKind::Call), Just(SeriesKind::Put)],
                -1.2f64..1.2,
                any::<prop::sample::Index>(),
                prop_oneof![-100i64..=-1, 1i64..=100],
            ),
            5..=keel_risk::MAX_POSITIONS,
        ),
    )
        .prop_map(|(sigma, expiries, legs)| {
            let legs = legs
                .iter()
                .map(|&(kind, u, i, qty)| (kind, u, *i.get(&expiries), qty))
                .collect();
            (sigma, legs)
        })
}

/// Runs `cases` random full books (a fixed seed, so the figures are the same under any
/// `PROPTEST_RNG_SEED`) and returns, for MM and IM, the smallest ratio grid/dense (a loss within
/// the valuation slack counted as found) and how many books were below 97%.
fn full_book_ratios(
    expiry: impl Strategy<Value = f64>,
    cases: u32,
    rng_seed: u64,
) -> ((f64, u32), (f64, u32)) {
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(rng_seed),
        ..Config::default()
    };
    let seen = std::cell::Cell::new(((f64::INFINITY, 0u32), (f64::INFINITY, 0u32)));
    TestRunner::new(config)
        .run(&full_book(expiry), |(sigma, legs)| {
            let (mm, dense_mm, im, dense_im, slack) =
                grid_and_dense(&book(&legs, range(sigma, &RiskParams::DEFAULT)), sigma);
            let ratio = |g: f64, d: f64| if d > slack { (g + slack) / d } else { 1.0 };
            let note = |(w, n): (f64, u32), r: f64| (w.min(r), n + u32::from(r < 0.97));
            let (m, i) = seen.get();
            seen.set((note(m, ratio(mm, dense_mm)), note(i, ratio(im, dense_im))));
            Ok(())
        })
        .unwrap();
    seen.get()
}

/// Full books whose options all expire after the horizon (10 minutes after it to 90 days): the
/// arrays' worst MM and IM loss is at least 97% of the dense scan's on every one.
#[test]
fn grid_worst_loss_on_full_books_expiring_after_the_horizon_is_at_least_97pct_of_a_dense_scan() {
    let h = RiskParams::DEFAULT.im_horizon_secs as f64;
    let expiry = ((h + 600.0).ln()..(90.0 * 86_400.0f64).ln()).prop_map(f64::exp);
    let ((mm, mm_below), (im, im_below)) = full_book_ratios(expiry, 200, 20261125);
    println!("after the horizon: smallest grid/dense MM {mm:.8}, IM {im:.8}");
    assert!(
        mm_below == 0 && im_below == 0,
        "MM {mm:.4} ({mm_below} books below 97%), IM {im:.4} ({im_below})"
    );
    // On these 200 books the arrays reach the dense scan's worst (within the valuation slack).
    assert!(mm >= 1.0 && im >= 1.0, "MM {mm:.8} IM {im:.8}");
}

/// Full books with options expiring within the horizon (one of a book's expiries is 10 minutes
/// half the time, the others log-uniform from 10 minutes to 90 days): such an option is valued at
/// its payoff, whose kinks fall between points. The pointwise grid fell below 97% on 2 of these
/// 300 books (smallest ratio 0.962); the arrays bound every interval from below by its chord
/// less the convexity gap, so on every one of them the worst loss reaches the dense scan's
/// (within the valuation slack; docs/risk-model.md §4.8).
#[test]
fn grid_worst_loss_on_full_books_expiring_within_the_horizon_reaches_the_dense_scan() {
    let expiry = prop_oneof![
        Just(600.0f64),
        ((600f64).ln()..(90.0 * 86_400.0f64).ln()).prop_map(f64::exp),
    ];
    let ((mm, mm_below), (im, im_below)) = full_book_ratios(expiry, 300, 20261125);
    println!("within the horizon: smallest grid/dense MM {mm:.8} ({mm_below} below 97%), IM {im:.8} ({im_below})");
    assert_eq!((mm_below, im_below), (0, 0));
    assert!(mm >= 1.0 && im >= 1.0, "MM {mm:.8} IM {im:.8}");
}

/// The books that showed the hole (spot 100,000, σ 250%, 10 minutes to expiry): a long straddle
/// at 109,417.43 with a short call at 130,996.45 and a short put at 91,393.12 (the ladder found
/// 6.54% of spot against a true 8.94%), and a fly at 106,502.68 / 109,417.43 / 112,411.94 either
/// way round (0.41% against 2.44%).
#[test]
fn the_books_that_showed_the_hole_are_caught() {
    use SeriesKind::{Call, Put};
    let params = RiskParams::DEFAULT;
    let k = |usd: f64| (usd / 100_000.0 * SPOT as f64) as i64;
    let leg = |kind, usd, qty| PositionInput {
        market: 0,
        kind,
        strike: k(usd),
        expiry: NOW + 600,
        qty,
        cash: 0,
    };
    let books = [
        vec![
            leg(Call, 109_417.43, 1),
            leg(Put, 109_417.43, 1),
            leg(Call, 130_996.45, -1),
            leg(Put, 91_393.12, -1),
        ],
        vec![
            leg(Call, 106_502.68, -1),
            leg(Call, 109_417.43, 2),
            leg(Call, 112_411.94, -1),
        ],
        vec![
            leg(Call, 106_502.68, 1),
            leg(Call, 109_417.43, -2),
            leg(Call, 112_411.94, 1),
        ],
    ];
    for book in &books {
        let b = margin(book, 2.5, &params);
        let mr = &b.markets[0];
        let edge = mr.step.to_num::<f64>() * params.mm_steps as f64;
        let dense = dense_worst(book, 2.5, edge, &params);
        let grid = mr.worst_mm as f64 + mark_bias(book, 2.5, &b);
        assert!(dense > 0.0);
        assert!(grid >= 0.97 * dense, "grid {grid} dense {dense}");
        println!(
            "worst MM loss {:.4}% of spot, dense scan {:.4}%",
            grid / SPOT as f64 * 100.0,
            dense / SPOT as f64 * 100.0
        );
    }
}
