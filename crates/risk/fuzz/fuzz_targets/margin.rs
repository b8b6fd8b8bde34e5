//! Fuzzes `keel_risk::compute` with arbitrary accounts, market states and in-bounds parameters.
//!
//! - Any input: no panic (overflow-checks are on, so a silent wrap would abort the run) —
//!   including parameters outside their bounds (raw bytes), which the program never stores but
//!   the engine must still survive.
//! - A result must satisfy IM ≥ MM ≥ 0.
//! - Inputs in the plausible domain are also valued by the f64 reference model
//!   (crates/risk/tests/reference): the engine's margin must not be below it and its equity not
//!   above it, so an overflow cannot escape as a wrong number.
#![no_main]

#[path = "../../tests/reference/mod.rs"]
mod reference;

use arbitrary::Arbitrary;
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::{compute, Correlations, Fx, MarketInput, Portfolio, PositionInput, RiskParams, SeriesKind};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Market {
    spot: i64,
    stable: i64,
    conf: i64,
    sigma: i64,
}

#[derive(Arbitrary, Debug)]
struct Position {
    market: u8,
    kind: u8,
    strike: i64,
    expiry: i64,
    qty: i64,
    cash: i64,
}

#[derive(Arbitrary, Debug)]
struct Input {
    plausible: bool,
    collateral: i64,
    now: i64,
    markets: Vec<Market>,
    positions: Vec<Position>,
    param_knobs: Vec<(u8, u32)>,
    raw_params: Option<[u8; 496]>,
    rho: u32,
    max_offset: u32,
}

/// Maps a raw value into [lo, hi] (for `plausible` inputs).
fn within(raw: i64, lo: i64, hi: i64) -> i64 {
    lo + (raw.unsigned_abs() % (hi - lo + 1) as u64) as i64
}

fn params(knobs: &[(u8, u32)]) -> RiskParams {
    let mut p = RiskParams::DEFAULT;
    for &(i, v) in knobs.iter().take(8) {
        let i = i as usize % RiskParams::FX_BOUNDS.len();
        let (_, lo, hi) = RiskParams::FX_BOUNDS[i];
        let span = (hi - lo).to_bits() as u64;
        *p.fx_fields_mut()[i] = lo + Fx::from_bits(((v as u128 * span as u128) >> 32) as i64);
    }
    if p.violation().is_some() {
        return RiskParams::DEFAULT; // a cross-field rule broke: the program would refuse these
    }
    p
}

fuzz_target!(|input: Input| {
    let p = match input.raw_params {
        Some(raw) if !input.plausible => bytemuck::pod_read_unaligned::<RiskParams>(&raw),
        _ => params(&input.param_knobs),
    };
    let n_markets = input.markets.len().clamp(1, 4);
    let now = if input.plausible { 1_700_000_000 } else { input.now };
    let markets: Vec<(i64, i64, i64, Fx)> = (0..n_markets)
        .map(|i| match input.markets.get(i) {
            Some(m) if input.plausible => {
                let spot = within(m.spot, 1_000_000, 1_000_000_000_000);
                (spot, within(m.stable, spot * 8 / 10, spot * 12 / 10), within(m.conf, 0, spot / 50), Fx::from_bits(within(m.sigma, 1 << 28, 5 << 32)))
            }
            Some(m) => (m.spot, m.stable, m.conf, Fx::from_bits(m.sigma)),
            None => (1_000_000_000, 1_000_000_000, 0, Fx::ONE),
        })
        .collect();
    let positions: Vec<PositionInput> = input
        .positions
        .iter()
        .take(if input.plausible { 32 } else { 40 })
        .map(|q| {
            let kind = SeriesKind::from_u8(q.kind % 3).unwrap();
            let market = q.market % if input.plausible { n_markets as u8 } else { 5 };
            if input.plausible {
                let spot = markets[market as usize].0;
                let qty = within(q.qty, -100_000, 100_000);
                PositionInput {
                    market,
                    kind,
                    strike: within(q.strike, spot / 5, spot * 5),
                    expiry: now + within(q.expiry, -86_400, 2 * 31_536_000),
                    qty,
                    cash: if kind == SeriesKind::Future { -qty * within(q.cash, spot / 2, spot * 2) } else { 0 },
                }
            } else {
                PositionInput { market, kind, strike: q.strike, expiry: q.expiry, qty: q.qty, cash: q.cash }
            }
        })
        .collect();
    let mut corr = Correlations::NONE;
    corr.max_offset = Fx::from_bits(((input.max_offset as u128 * Fx::lit("0.9").to_bits() as u128) >> 32) as i64);
    let rho = Fx::from_bits(input.rho as i64).min(Fx::ONE);
    for u in 0..4 {
        for v in 0..4 {
            if u != v {
                corr.rho[u][v] = rho;
            }
        }
    }
    let inputs: Vec<MarketInput> =
        markets.iter().map(|&(spot, stable_spot, conf, sigma)| MarketInput { spot, stable_spot, conf, sigma, mark_sigma: Fx::from_bits(sigma.to_bits() / 4 * 3), realised_sigma: Fx::ZERO, params: &p }).collect();
    let collateral = if input.plausible { within(input.collateral, 0, 1_000_000_000_000_000) } else { input.collateral };
    let portfolio = Portfolio { collateral, positions: &positions, markets: &inputs, correlations: &corr, now };
    let mut b = Box::new(MarginBreakdown::default());
    let Ok(()) = compute(&portfolio, &mut b) else { return };
    assert!(b.mm >= 0 && b.im >= b.mm, "IM {} MM {}", b.im, b.mm);
    if !input.plausible {
        return;
    }
    let rm: Vec<reference::Market> = markets
        .iter()
        .map(|&(spot, stable, conf, sigma)| reference::Market { spot: spot as f64, stable: stable as f64, conf: conf as f64, sigma: sigma.to_num(), mark_sigma: Fx::from_bits(sigma.to_bits() / 4 * 3).to_num(), p: &p })
        .collect();
    let rp: Vec<reference::Position> = positions
        .iter()
        .map(|q| reference::Position { market: q.market as usize, kind: q.kind as u8, strike: q.strike as f64, expiry: q.expiry as f64, qty: q.qty as f64, cash: q.cash as f64 })
        .collect();
    let r = reference::margin(collateral as f64, &rp, &rm, &[[rho.to_num(); 4]; 4], corr.max_offset.to_num(), now as f64);
    // f64 itself rounds at ~1e-16 relative of the largest term: allow that much.
    let eps = |x: f64| 1e-12 * x.abs().max(1.0);
    // A long-only account's margin is capped at its value less the allowance (≤ the exact value).
    let cap = if b.long_only { b.long_value_cap as f64 } else { f64::INFINITY };
    assert!(cap <= r.long_value.unwrap_or(f64::INFINITY) + eps(cap), "cap {cap} above the exact value");
    assert!(b.im as f64 >= r.im.min(cap) - eps(r.im), "IM {} below the exact model {}", b.im, r.im);
    assert!(b.mm as f64 >= r.mm.min(cap) - eps(r.mm), "MM {} below the exact model {}", b.mm, r.mm);
    assert!(b.equity_mm as f64 <= r.equity_mm + eps(r.equity_mm), "equity {} above the exact model {}", b.equity_mm, r.equity_mm);
});
