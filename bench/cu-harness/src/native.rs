//! The expected result of a run, computed natively from the same account bytes.
//!
//! Deliberately a separate code path from the program's: the bytes are decoded with
//! `keel_state::read_account` (a copy, where the program borrows zero-copy) and keel-risk is
//! called directly where keel-state's transition only wraps it (the crank's pricing, the
//! anchor). Only the flattening into words (`keel_cu_bench::Words`) is shared.
//!
//! The margin cases are also checked against the engine's own reference: at an anchor taken at
//! the valuation time with the account's strikes listed, the arrays path must give exactly what
//! `keel_risk::compute` gives (the same model at zero staleness).

use crate::fixture::Fixture;
use keel_cu_bench::{
    cdf_arg, crank_observation, error_code, exp_arg, secs_to_expiry, spot,
    valuation_args, Case, Request, Words,
};
use keel_risk::array::price_series;
use keel_risk::pricing::{black76, greeks, value_at};
use keel_risk::{liquidation, math, Anchor, Fx, MarginBreakdown, SeriesArray, SeriesKind};
use keel_state::oracle::parse_price_update_v2;
use keel_state::{
    compute_margin, discriminator, read_account, ArrayPage, Exchange, MarginAccount, MarginInputs,
    Market, MarketReading, StateError,
};

/// Why no expected result exists.
pub enum NoResult {
    /// The case fails natively: the error code the program must report.
    Code(i64),
    /// The margin from the arrays differs from `keel_risk::compute` at the same anchor.
    ReferenceMismatch,
}

struct ReferenceMismatch;

enum Failure {
    State(StateError),
    Reference,
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::State(e)
    }
}

impl From<keel_risk::RiskError> for Failure {
    fn from(e: keel_risk::RiskError) -> Self {
        Failure::State(StateError::Risk(e))
    }
}

impl From<ReferenceMismatch> for Failure {
    fn from(_: ReferenceMismatch) -> Self {
        Failure::Reference
    }
}

/// The result words and how many engine errors they contain, or why there are none.
pub fn expected(fx: &Fixture, req: &Request) -> Result<(Vec<i64>, usize), NoResult> {
    let mut buf = vec![0i64; keel_cu_bench::out::MAX_WORDS];
    let mut w = Words::new(&mut buf);
    compute(fx, req, &mut w).map_err(|e| match e {
        Failure::State(e) => NoResult::Code(error_code(&e)),
        Failure::Reference => NoResult::ReferenceMismatch,
    })?;
    let errors = w.errors();
    let n = w.finish().expect("expected result fits the output account");
    buf.truncate(n);
    Ok((buf, errors))
}

fn compute(fx: &Fixture, req: &Request, w: &mut Words) -> Result<(), Failure> {
    let ex: Exchange = read_account(&fx.accounts[0].1.data, &discriminator::EXCHANGE)?;
    let acc: MarginAccount = read_account(&fx.accounts[1].1.data, &discriminator::MARGIN_ACCOUNT)?;
    let mut markets: Vec<([u8; 32], Market, keel_state::OracleReading)> = Vec::new();
    for pair in fx.accounts[2..2 + 2 * fx.n_markets].chunks(2) {
        let m: Market = read_account(&pair[0].1.data, &discriminator::MARKET)?;
        let r = parse_price_update_v2(&pair[1].1.data)?.reading;
        markets.push((pair[0].0.to_bytes(), m, r));
    }
    let mut pages: Vec<Box<ArrayPage>> = Vec::new();
    for (_, a, _) in &fx.accounts[2 + 2 * fx.n_markets..] {
        pages.push(Box::new(read_account(&a.data, &discriminator::ARRAY_PAGE)?));
    }
    let m0 = &markets[0].1;
    let (now, n) = (req.now, req.n);
    let positions = &acc.positions[..n];
    let kind_of = |k: u8| SeriesKind::from_u8(k).unwrap_or(SeriesKind::Future);
    match req.case {
        Case::Noop => {}
        Case::Exp => positions.iter().for_each(|p| w.result(&math::exp(exp_arg(p)))),
        Case::Ln => positions.iter().for_each(|p| w.result(&math::ln_scaled(p.strike_native, 0))),
        Case::Sqrt => positions.iter().for_each(|p| w.result(&math::sqrt_scaled(secs_to_expiry(p, now), 0))),
        Case::Cdf => positions.iter().for_each(|p| w.result(&Ok(math::cdf(cdf_arg(p))))),
        Case::Valuation => {
            for p in positions {
                let (kind, fwd, strike, lm, tv) = valuation_args(p, m0, now)?;
                w.result(&value_at(kind, fwd, strike, lm, tv));
            }
        }
        Case::Black76 => {
            for p in positions {
                let v = black76(kind_of(p.kind), spot(m0), p.strike_native, m0.vol_state.margin_vol, secs_to_expiry(p, now));
                w.result(&v);
            }
        }
        Case::Greeks => {
            for p in positions {
                match greeks(kind_of(p.kind), spot(m0), p.strike_native, m0.vol_state.margin_vol, secs_to_expiry(p, now)) {
                    Ok(g) => {
                        w.push(0);
                        w.greeks(&g);
                    }
                    Err(e) => w.error(e),
                }
            }
        }
        Case::Margin | Case::MarginMulti | Case::MarginPath | Case::Liquidation => {
            let readings: Vec<MarketReading> = markets
                .iter()
                .map(|(key, m, r)| MarketReading { key: *key, market: m, oracle: *r })
                .collect();
            let refs: Vec<&ArrayPage> = pages.iter().map(|p| &**p).collect();
            let mut inputs = Box::new(MarginInputs::new());
            let mut b = Box::new(MarginBreakdown::default());
            compute_margin(&acc, None, &readings, &refs, &[], now, &mut inputs, &mut b)?;
            let mut reference = Box::new(MarginBreakdown::default());
            keel_risk::compute(&inputs.portfolio(), &mut reference)?;
            if *reference != *b {
                return Err(ReferenceMismatch.into());
            }
            if req.case == Case::Liquidation {
                let sigma = markets.iter().map(|(_, m, _)| m.vol_state.margin_vol).fold(Fx::ZERO, Fx::max);
                let plan = liquidation::plan(&b, sigma, req.aux, &ex.liquidation_params);
                let fraction = plan.map(|p| p.fraction).unwrap_or(Fx::ZERO);
                match plan {
                    Ok(p) => {
                        w.push(0);
                        w.plan(&p);
                    }
                    Err(e) => w.error(e),
                }
                for p in &inputs.positions[..inputs.n_positions] {
                    w.result(&liquidation::slice(p.qty, fraction));
                }
            } else {
                w.breakdown(&b);
                if req.case == Case::MarginPath {
                    // The snapshot the program stores (`controller::margin::snapshot`).
                    for v in [b.now, b.equity_mm, b.equity_im, b.mm, b.im] {
                        w.push(v);
                    }
                }
            }
        }
        Case::Crank => {
            let m = m0;
            let slots = pages.iter().flat_map(|p| p.slots.iter()).filter(|s| !s.is_free());
            for s in slots.take(n) {
                let kind = SeriesKind::from_u8(s.kind).ok_or(StateError::CorruptPosition)?;
                let mut arr = Box::new(<SeriesArray as bytemuck::Zeroable>::zeroed());
                match price_series(&m.anchor, &m.risk_params, kind, s.strike_native, s.expiry_ts, &mut arr) {
                    Ok(()) => {
                        w.push(0);
                        w.push(1); // priced
                        w.push(m.anchor_epoch as i64);
                        w.series_array(&arr);
                    }
                    Err(e) => w.error(e),
                }
            }
        }
        Case::Anchor => {
            let (m, r) = (m0, &markets[0].2);
            let v = m.valuation(r, now)?;
            let p = &m.risk_params;
            w.push(0);
            if m.anchor.is_due(now, v.spot, v.stable_spot, v.sigma, v.mark_sigma, p) {
                let a = Anchor::new(now, v.spot, v.stable_spot, v.sigma, v.mark_sigma, p, m.strike_candidates())?;
                w.push(1);
                w.push(m.anchor_epoch as i64 + 1);
                w.anchor(&a);
                w.anchor(&m.anchor);
            } else {
                w.push(0);
                w.push(m.anchor_epoch as i64);
                w.anchor(&m.anchor);
                w.anchor(&m.prev_anchor);
            }
        }
        Case::VolCrank => {
            let params = &m0.risk_params;
            let mut state = m0.vol_state;
            for k in 0..n {
                let (price, ts) = crank_observation(&m0.vol_state, params, k);
                match state.observe(price, ts, m0.implied(), params, m0.oracle.max_staleness_secs) {
                    Ok(s) => {
                        w.push(0);
                        w.vol_step(&s);
                    }
                    Err(e) => w.error(e),
                }
            }
            w.vol_state(&state);
        }
    }
    Ok(())
}
