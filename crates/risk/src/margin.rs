//! Portfolio margin of one account (docs/risk-model.md §4).
//!
//! One pass over markets builds each scenario grid; one pass over positions values every
//! series once at the mark, once at the stable price and once per scenario, with everything that
//! does not change across scenarios (ln K, √T, 1/w per vol level) computed once per series.
//! Then per market: worst losses, add-ons; across markets: the correlation-aware combination.
//!
//! IM = max(scan_IM + add-ons, Σ short minimum IM) + 2·rounding
//! MM = max(scan_MM + add-ons, Σ short minimum MM) + 2·rounding, and IM ≥ MM.
//! equity_MM = collateral + Σ (qty·mark + cash) − rounding
//! equity_IM = collateral + Σ haircut(min(value at oracle, value at stable price)) − rounding

use crate::addons;
use crate::aggregate::{combine, Correlations, MAX_MARKETS};
use crate::breakdown::{MarginBreakdown, MarketRisk, PositionRisk, MAX_POSITIONS};
use crate::error::{RiskError, RiskResult};
use crate::fx::{add, imul, mul, mul_ceil, sub, Fx};
use crate::math::ln_scaled;
use crate::params::RiskParams;
use crate::pricing::black76::value_at_inline;
use crate::pricing::greeks::greeks_at;
use crate::pricing::{sqrt_secs, value_at, SeriesKind, TotalVol, SECONDS_PER_YEAR};
use crate::scenario::{self, SCENARIOS, VOL_LEVELS};

/// What the margin needs from one market, read from its oracle and state at valuation time.
#[derive(Clone, Copy, Debug)]
pub struct MarketInput<'a> {
    /// Oracle price per contract (quote native units).
    pub spot: i64,
    /// Stable price per contract (`VolState::stable_price_at`).
    pub stable_spot: i64,
    /// Oracle confidence per contract.
    pub conf: i64,
    /// Vol in force (`VolState::margin_vol`).
    pub sigma: Fx,
    /// The market's risk parameters.
    pub params: &'a RiskParams,
}

/// One position: a quantity of one series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PositionInput {
    /// Index into `Portfolio::markets`.
    pub market: u8,
    /// Call, put or future.
    pub kind: SeriesKind,
    /// Strike per contract (quote native units; ignored for futures).
    pub strike: i64,
    /// Expiry (unix seconds).
    pub expiry: i64,
    /// Contracts: > 0 long, < 0 short.
    pub qty: i64,
    /// Quote amount that belongs to the position (a future's −entry cost; 0 for options,
    /// whose premium moved through collateral at the trade).
    pub cash: i64,
}

/// An account as the engine sees it.
#[derive(Clone, Copy, Debug)]
pub struct Portfolio<'a> {
    /// Collateral in quote native units.
    pub collateral: i64,
    /// At most `MAX_POSITIONS`, one per series.
    pub positions: &'a [PositionInput],
    /// At most `MAX_MARKETS`.
    pub markets: &'a [MarketInput<'a>],
    /// Cross-market correlations (`Correlations::NONE` for no offset).
    pub correlations: &'a Correlations,
    /// Valuation time (unix seconds).
    pub now: i64,
}

/// Valuations are within 2^-26·(forward + strike) of exact Black-76 (tests/pricing.rs measures
/// ≤ 4e-9·(F + K), 4× inside this); every position is charged that much per contract, so rounding
/// and approximation both favour the exchange.
const VALUATION_ERROR_Q32: i64 = 1 << (32 - 26);

/// Time to expiry is capped at 10 years (a documented saturation, far beyond any listed series).
const MAX_T_SECS: i64 = 10 * SECONDS_PER_YEAR;

/// Computes the margin of `p` into `out` (overwritten). On error `out` is unspecified.
///
/// `out` is passed in rather than returned because it is ~6 KiB: on-chain it lives on the heap.
pub fn compute(p: &Portfolio, out: &mut MarginBreakdown) -> RiskResult<()> {
    if p.positions.len() > MAX_POSITIONS {
        return Err(RiskError::TooManyPositions);
    }
    if p.markets.len() > MAX_MARKETS {
        return Err(RiskError::BadMarketIndex);
    }
    out.now = p.now;
    out.collateral = p.collateral;
    out.n_markets = p.markets.len() as u8;
    out.n_positions = p.positions.len() as u8;

    let mut ln_spot = [0i64; MAX_MARKETS];
    let mut ln_stable_move = [0i64; MAX_MARKETS];
    let mut max_fwd = [0i64; MAX_MARKETS];
    for (m, mk) in p.markets.iter().enumerate() {
        build_market(mk, &mut out.markets[m])?;
        ln_spot[m] = ln_scaled(mk.spot, 0)?;
        ln_stable_move[m] = sub(ln_scaled(mk.stable_spot, 0)?, ln_spot[m])?;
        max_fwd[m] = out.markets[m]
            .forward
            .iter()
            .copied()
            .fold(mk.spot, i64::max);
    }
    for m in p.markets.len()..MAX_MARKETS {
        out.markets[m] = MarketRisk::default();
    }

    let mut value_mm = 0i64;
    let mut value_im = 0i64;
    let mut rounding = 0i64;
    for (i, pos) in p.positions.iter().enumerate() {
        let m = pos.market as usize;
        if m >= p.markets.len() {
            return Err(RiskError::BadMarketIndex);
        }
        let mk = &p.markets[m];
        let pr = value_position(
            pos,
            mk,
            ln_spot[m],
            ln_stable_move[m],
            max_fwd[m],
            p.now,
            &mut out.markets[m],
        )?;
        value_mm = add(value_mm, pr.value)?;
        value_im = add(value_im, pr.value_im)?;
        rounding = add(rounding, pr.rounding)?;
        out.positions[i] = pr;
    }
    for slot in out.positions.iter_mut().skip(p.positions.len()) {
        *slot = PositionRisk::default();
    }

    let mut worst_im = [0i64; MAX_MARKETS];
    let mut worst_mm = [0i64; MAX_MARKETS];
    let (mut addons, mut short_im, mut short_mm) = (0i64, 0i64, 0i64);
    for (m, mk) in p.markets.iter().enumerate() {
        let mr = &mut out.markets[m];
        worst_losses(mr, mk.params)?;
        let nd = mr.net_delta.to_bits().unsigned_abs().min(i64::MAX as u64) as i64;
        mr.conf_addon = addons::confidence(nd, mk.conf, mk.params)?;
        mr.impact_addon = addons::impact(mul(nd, mk.spot)?, mk.sigma.to_bits(), mk.params)?;
        worst_im[m] = mr.worst_im;
        worst_mm[m] = mr.worst_mm;
        addons = add(addons, add(mr.conf_addon, mr.impact_addon)?)?;
        short_im = add(short_im, mr.short_min_im)?;
        short_mm = add(short_mm, mr.short_min_mm)?;
    }
    let n = p.markets.len();
    let (scan_im, offset_im) = combine(&worst_im[..n], p.correlations)?;
    let (scan_mm, offset_mm) = combine(&worst_mm[..n], p.correlations)?;
    let charge = add(rounding, rounding)?;
    let mm = add(add(scan_mm, addons)?.max(short_mm), charge)?;
    // IM ≥ MM holds by construction (nested scenarios, same add-ons); the max only guards the
    // last ulp of the square root in `combine`.
    let im = add(add(scan_im, addons)?.max(short_im), charge)?.max(mm);

    out.scan_im = scan_im;
    out.scan_mm = scan_mm;
    out.offset_im = offset_im;
    out.offset_mm = offset_mm;
    out.addons = addons;
    out.short_min_im = short_im;
    out.short_min_mm = short_mm;
    out.rounding = rounding;
    out.mm = mm;
    out.im = im;
    out.equity_mm = sub(add(p.collateral, value_mm)?, rounding)?;
    out.equity_im = sub(add(p.collateral, value_im)?, rounding)?;
    Ok(())
}

/// Grid of one market: range, log moves and forwards; clears its accumulators.
fn build_market(mk: &MarketInput, mr: &mut MarketRisk) -> RiskResult<()> {
    scenario::check_prices(mk.spot, mk.stable_spot, mk.conf)?;
    let range = scenario::im_range(mk.sigma, mk.params)?;
    let x = scenario::ln_moves(range, mk.params)?;
    mr.forward = scenario::forwards(mk.spot, &x)?;
    for (slot, &xs) in mr.ln_move.iter_mut().zip(x.iter()) {
        *slot = Fx::from_bits(xs);
    }
    mr.spot = mk.spot;
    mr.stable_spot = mk.stable_spot;
    mr.conf = mk.conf;
    mr.sigma = mk.sigma;
    mr.range = Fx::from_bits(range);
    mr.pnl = [0; SCENARIOS];
    mr.worst_im = 0;
    mr.worst_im_scenario = 0;
    mr.worst_mm = 0;
    mr.worst_mm_scenario = 0;
    mr.net_delta = Fx::ZERO;
    mr.short_min_im = 0;
    mr.short_min_mm = 0;
    mr.conf_addon = 0;
    mr.impact_addon = 0;
    Ok(())
}

/// Values one position at the mark, the stable price and every scenario of its market, adding its
/// scenario P&L, delta and short minimum into `mr`.
fn value_position(
    pos: &PositionInput,
    mk: &MarketInput,
    ln_spot: i64,
    ln_stable_move: i64,
    max_fwd: i64,
    now: i64,
    mr: &mut MarketRisk,
) -> RiskResult<PositionRisk> {
    let params = mk.params;
    let kind = pos.kind;
    let sigma = mk.sigma.to_bits().max(0);
    let t = pos.expiry.saturating_sub(now).min(MAX_T_SECS);
    let root = sqrt_secs(t)?;
    let (lm, strike) = if kind.is_option() {
        if pos.strike <= 0 {
            return Err(RiskError::NonPositivePrice);
        }
        (sub(ln_spot, ln_scaled(pos.strike, 0)?)?, pos.strike)
    } else {
        (0, 0)
    };
    let tv = TotalVol::new(sigma, root)?;
    let mark = value_at(kind, mk.spot, strike, lm, tv)?;
    let mark_stable = value_at(kind, mk.stable_spot, strike, add(lm, ln_stable_move)?, tv)?;
    let greeks = greeks_at(kind, mk.spot, lm, tv, sigma, root)?;

    let qty = pos.qty;
    if qty != 0 {
        let mut tvs = [tv; VOL_LEVELS];
        if kind.is_option() && tv.inv_w != 0 {
            let (up, down) = scenario::vol_multipliers(t, params)?;
            tvs = [
                tv.scaled(up)?,
                tv.scaled(down)?,
                tv.scaled(params.named_shocks[0].vol_mult.to_bits())?,
                tv.scaled(params.named_shocks[1].vol_mult.to_bits())?,
            ];
        }
        // The grid in runs of one vol level (`scenario::vol_level`), so the inner loop has a
        // fixed `TotalVol` and no per-scenario level lookup.
        let mut s = 0;
        for (level, end) in scenario::VOL_RUNS {
            let tv_s = tvs[level as usize];
            while s < end {
                let lm_s = add(lm, mr.ln_move[s].to_bits())?;
                let v = value_at_inline(kind, mr.forward[s], strike, lm_s, tv_s)?;
                mr.pnl[s] = add(mr.pnl[s], imul(qty, sub(v, mark)?)?)?;
                s += 1;
            }
        }
        mr.net_delta = Fx::from_bits(add(
            mr.net_delta.to_bits(),
            imul(qty, greeks.delta.to_bits())?,
        )?);
        if kind.is_option() && qty < 0 {
            let n = qty.unsigned_abs();
            mr.short_min_im = add(
                mr.short_min_im,
                addons::short_minimum(n, mk.spot, params.short_min_im.to_bits())?,
            )?;
            mr.short_min_mm = add(
                mr.short_min_mm,
                addons::short_minimum(n, mk.spot, params.short_min_mm.to_bits())?,
            )?;
        }
    }

    let per_contract = add(mul_ceil(add(max_fwd, strike)?, VALUATION_ERROR_Q32)?, 1)?;
    let rounding = imul(qty.unsigned_abs().min(i64::MAX as u64) as i64, per_contract)?;
    let at_oracle = imul(qty, mark)?;
    let at_stable = imul(qty, mark_stable)?;
    let value = add(at_oracle, pos.cash)?;
    let value_im = addons::haircut(add(at_oracle.min(at_stable), pos.cash)?, params)?;
    Ok(PositionRisk {
        mark,
        mark_stable,
        value,
        value_im,
        rounding,
        greeks,
    })
}

/// Worst weighted loss over IM scenarios and worst loss over MM scenarios of one market.
fn worst_losses(mr: &mut MarketRisk, params: &RiskParams) -> RiskResult<()> {
    for s in 0..SCENARIOS {
        let loss = mr.pnl[s].checked_neg().ok_or(RiskError::Overflow)?;
        if loss <= 0 {
            continue;
        }
        let weighted = mul_ceil(loss, scenario::weight(s, params))?;
        if weighted > mr.worst_im {
            mr.worst_im = weighted;
            mr.worst_im_scenario = s as u8;
        }
        if scenario::in_mm(s, params.mm_steps) && loss > mr.worst_mm {
            mr.worst_mm = loss;
            mr.worst_mm_scenario = s as u8;
        }
    }
    Ok(())
}
