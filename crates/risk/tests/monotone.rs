//! Margin and volatility for fixed positions (docs/risk-model.md §4.6): the collateral a short
//! option book must post rises with vol; IM itself need not, because it is counted net of the
//! book's marks, which rise with vol too.

use keel_risk::breakdown::MarginBreakdown;
use keel_risk::{
    compute, Correlations, Fx, MarketInput, Portfolio, PositionInput, RiskParams, SeriesKind,
};

const NOW: i64 = 1_700_000_000;
const SPOT: i64 = 10_000_000_000;
const DAY: f64 = 86_400.0;

fn leg(kind: SeriesKind, k: f64, days: f64, qty: i64) -> PositionInput {
    PositionInput {
        market: 0,
        kind,
        strike: (SPOT as f64 * k) as i64,
        expiry: NOW + (days * DAY) as i64,
        qty,
        cash: if kind == SeriesKind::Future {
            -qty * SPOT
        } else {
            0
        },
    }
}

fn margin(positions: &[PositionInput], sigma: f64) -> MarginBreakdown {
    let params = RiskParams::DEFAULT;
    let markets = [MarketInput {
        spot: SPOT,
        stable_spot: SPOT,
        conf: SPOT / 10_000,
        sigma: Fx::from_num(sigma),
        range_sigma: Fx::from_num(sigma),
        mark_sigma: Fx::from_num(sigma),
        realised_sigma: Fx::ZERO,
        params: &params,
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

/// The collateral at which health_IM is 0: IM − (equity_IM − collateral).
fn collateral_required(b: &MarginBreakdown) -> i64 {
    b.im - (b.equity_im - b.collateral)
}

/// Short calls, puts, straddles, strangles and a covered call, 1 to 180 days: the collateral
/// they require never falls (by more than the valuation allowance) as vol (margin vol = mark
/// vol) rises from 10% to 300% in 1% steps.
#[test]
fn collateral_required_rises_with_vol_for_short_option_books() {
    use SeriesKind::{Call, Future, Put};
    for &d in &[1.0, 7.0, 30.0, 180.0] {
        let books: [(&str, Vec<PositionInput>); 5] = [
            ("short call", vec![leg(Call, 1.05, d, -10)]),
            ("short put", vec![leg(Put, 0.95, d, -10)]),
            (
                "short straddle",
                vec![leg(Call, 1.0, d, -10), leg(Put, 1.0, d, -10)],
            ),
            (
                "short strangle",
                vec![leg(Call, 1.1, d, -10), leg(Put, 0.9, d, -10)],
            ),
            (
                "covered call",
                vec![leg(Call, 1.05, d, -10), leg(Future, 0.0, d, 10)],
            ),
        ];
        for (name, book) in &books {
            let mut prev = 0;
            for pct in 10..=300 {
                let b = margin(book, pct as f64 / 100.0);
                let c = collateral_required(&b);
                // Up to the valuation allowance: values are monotone to within their error.
                assert!(
                    c >= prev - b.rounding,
                    "{name} {d}d: {c} < {prev} at σ {pct}%"
                );
                prev = prev.max(c);
            }
            assert!(
                prev > collateral_required(&margin(book, 0.1)),
                "{name} {d}d"
            );
        }
    }
}

/// IM alone can fall as vol rises: for the 30-day short straddle a fixed-size named shock sets
/// it at low vol, and the marks (already counted in equity) rise faster than that scenario's
/// value; the collateral required still rises. (From 8.03% of spot at σ 30% to 6.90% at 72%,
/// while the collateral required goes from 14.9% to 23.4%.)
#[test]
fn im_net_of_marks_can_fall_while_collateral_rises() {
    use SeriesKind::{Call, Put};
    let straddle = [leg(Call, 1.0, 30.0, -1), leg(Put, 1.0, 30.0, -1)];
    let (calm, hot) = (margin(&straddle, 0.30), margin(&straddle, 0.72));
    assert!(hot.im < calm.im, "{} vs {}", hot.im, calm.im);
    // The worst IM interval is on the second named shock's mini ladder.
    let (ladder, _) =
        keel_risk::array::Ladder::of_point(calm.markets[0].worst_im_interval as usize).unwrap();
    assert_eq!(ladder, keel_risk::array::Ladder::Named1);
    assert!(collateral_required(&hot) > collateral_required(&calm));
    let pct = |x: i64| x as f64 / SPOT as f64 * 100.0;
    assert!((pct(calm.im) - 8.03).abs() < 0.01 && (pct(hot.im) - 6.90).abs() < 0.01);
    assert!((pct(collateral_required(&calm)) - 14.9).abs() < 0.05);
    assert!((pct(collateral_required(&hot)) - 23.4).abs() < 0.05);
}

/// Defined-risk books are not claimed monotone: a short call spread's and a long-body fly's loss
/// is bounded by their strikes, and at a fixed scenario price their value can fall as vol rises,
/// so their collateral can fall too (here: the 30-day call spread 1.0/1.1, somewhere between σ
/// 10% and 300%).
#[test]
fn defined_risk_books_can_need_less_collateral_at_higher_vol() {
    use SeriesKind::Call;
    let spread = [leg(Call, 1.0, 30.0, -10), leg(Call, 1.1, 30.0, 10)];
    let falls = (10..300).any(|pct| {
        let lo = collateral_required(&margin(&spread, pct as f64 / 100.0));
        let hi = collateral_required(&margin(&spread, (pct + 1) as f64 / 100.0));
        hi < lo
    });
    assert!(falls);
}
