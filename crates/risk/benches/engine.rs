//! Native timings of keel-risk's hot paths (criterion). Compute units are measured in the SBF VM
//! (docs/performance.md); these figures track regressions between commits.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::pricing::{black76, greeks, sqrt_secs, value_at, TotalVol};
use keel_risk::{
    compute, liquidation, Correlations, Fx, LiquidationParams, MarketInput, Portfolio,
    PositionInput, RiskParams, SeriesKind, VolState,
};

const SPOT: i64 = 1_000_000_000; // 1,000 USD per contract
const NOW: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

/// A book of `n` distinct series: calls and puts over strikes 0.7–1.3 and expiries 1–90 days,
/// alternating long and short.
fn book(n: usize, markets: usize) -> Vec<PositionInput> {
    (0..n)
        .map(|i| PositionInput {
            market: (i % markets) as u8,
            kind: if i % 2 == 0 {
                SeriesKind::Call
            } else {
                SeriesKind::Put
            },
            strike: SPOT * (70 + (i as i64 * 7) % 61) / 100,
            expiry: NOW + (1 + (i as i64 * 11) % 90) * DAY,
            qty: if i % 3 == 0 { 25 } else { -10 },
            cash: 0,
        })
        .collect()
}

fn pricing(c: &mut Criterion) {
    let tv = TotalVol::new(Fx::lit("0.8").to_bits(), sqrt_secs(30 * DAY).unwrap()).unwrap();
    let lm = Fx::lit("0.05").to_bits();
    c.bench_function("valuation (scenario hot path: value_at)", |b| {
        b.iter(|| {
            value_at(
                SeriesKind::Call,
                black_box(SPOT),
                black_box(SPOT * 105 / 100),
                black_box(lm),
                black_box(tv),
            )
        })
    });
    c.bench_function("black76 from scratch (ln, sqrt, 1/w, value)", |b| {
        b.iter(|| {
            black76(
                SeriesKind::Put,
                black_box(SPOT),
                black_box(SPOT * 95 / 100),
                black_box(Fx::lit("0.8")),
                black_box(30 * DAY),
            )
        })
    });
    c.bench_function("greeks", |b| {
        b.iter(|| {
            greeks(
                SeriesKind::Call,
                black_box(SPOT),
                black_box(SPOT * 105 / 100),
                black_box(Fx::lit("0.8")),
                black_box(30 * DAY),
            )
        })
    });
}

fn margin(c: &mut Criterion) {
    let params = RiskParams::DEFAULT;
    let mut group = c.benchmark_group("margin");
    for &(n, m) in &[(1usize, 1usize), (8, 1), (16, 1), (32, 1), (32, 4)] {
        let positions = book(n, m);
        let markets: Vec<MarketInput> = (0..m)
            .map(|_| MarketInput {
                spot: SPOT,
                stable_spot: SPOT,
                conf: SPOT / 2_000,
                sigma: Fx::lit("0.8"),
                range_sigma: Fx::lit("0.8"),
                mark_sigma: Fx::lit("0.8"),
                realised_sigma: Fx::ZERO,
                params: &params,
            })
            .collect();
        let p = Portfolio {
            collateral: 1_000_000_000_000,
            positions: &positions,
            markets: &markets,
            correlations: &Correlations::NONE,
            now: NOW,
        };
        let mut out = Box::new(MarginBreakdown::default());
        group.bench_with_input(BenchmarkId::new(format!("{m} market(s)"), n), &p, |b, p| {
            b.iter(|| compute(black_box(p), &mut out))
        });
    }
    group.finish();
}

fn crank_and_liquidation(c: &mut Criterion) {
    let params = RiskParams::DEFAULT;
    let state = VolState::new(SPOT, NOW, &params).unwrap();
    c.bench_function("vol crank (VolState::observe)", |b| {
        b.iter(|| {
            let mut s = state;
            s.observe(black_box(SPOT * 101 / 100), NOW + 3_600, None, &params, 60)
        })
    });
    let b0 = MarginBreakdown {
        equity_mm: 900,
        mm: 1_000,
        im: 1_400,
        ..MarginBreakdown::default()
    };
    let lp = LiquidationParams::DEFAULT;
    c.bench_function("liquidation plan", |b| {
        b.iter(|| liquidation::plan(black_box(&b0), Fx::lit("0.8"), 120, &lp))
    });
}

criterion_group!(benches, pricing, margin, crank_and_liquidation);
criterion_main!(benches);
