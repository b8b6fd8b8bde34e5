//! Portfolio margin of one account (docs/risk-model.md §4).
//!
//! One pass over markets builds each scenario grid; a pass over positions computes ln(S/K) and
//! the time left at the end of the horizon and picks each market's strike points; one pass over
//! positions values every series once at the mark, once at the stable price and once per
//! scenario at the end of the horizon (value and slope), with everything that does not change
//! across scenarios (ln K, √T, 1/w per vol level) computed once per series. Then per market:
//! worst losses (scenarios, strike points, tangent bounds between points), add-ons; across
//! markets: the correlation-aware combination.
//!
//! IM = max(scan_IM + add-ons, Σ short minimum IM) + 2·rounding
//! MM = max(scan_MM + add-ons, Σ short minimum MM) + 2·rounding, and IM ≥ MM;
//! for a long-only account both at most max(0, Σ value_im − rounding).
//! equity_MM = collateral + Σ (qty·mark + cash) − rounding
//! equity_IM = collateral + Σ haircut(min(value at oracle, value at stable price)) − rounding

use crate::addons;
use crate::aggregate::{combine, Correlations, MAX_MARKETS};
use crate::breakdown::{MarginBreakdown, MarketRisk, PositionRisk, MAX_POSITIONS};
use crate::error::{RiskError, RiskResult};
use crate::fx::{add, div_shift, imul, mul, mul_ceil, mul_wide, sub, Fx, Round, ONE};
use crate::math::ln_scaled;
use crate::params::RiskParams;
use crate::pricing::black76::value_slope_at_inline;
use crate::pricing::greeks::greeks_at;
use crate::pricing::{per_sqrt_year, sqrt_secs, value_at, SeriesKind, TotalVol, SECONDS_PER_YEAR};
use crate::scenario::{
    self, StrikeCandidate, StrikeSelector, VolLevel, SCENARIOS, STRIKE, STRIKE_POINTS, VOL_LEVELS,
};

/// What the margin needs from one market, read from its oracle and state at valuation time.
#[derive(Clone, Copy, Debug)]
pub struct MarketInput<'a> {
    /// Oracle price per contract (quote native units).
    pub spot: i64,
    /// Stable price per contract (`VolState::stable_price_at`).
    pub stable_spot: i64,
    /// Oracle confidence per contract.
    pub conf: i64,
    /// Vol in force for margin (`VolState::margin_vol`: after anti-procyclicality): drives the
    /// scenario grid's range and vol levels.
    pub sigma: Fx,
    /// Vol the positions are marked at (`VolState::raw_vol`: the market's best estimate,
    /// before anti-procyclicality): marks, equity, greeks and the prices liquidations move
    /// positions at. A buffered or floored margin vol raises margin — scenario values against
    /// these marks — but never the value of what an account holds.
    pub mark_sigma: Fx,
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

/// Valuations are within 4e-9·F + 1 native unit of exact Black-76 (tests/pricing.rs); every
/// position is charged ⌈2^-26·(max forward + strike)⌉ + 1 per contract (2^-26 = 1.49e-8), so
/// rounding and approximation both favour the exchange at account level.
const VALUATION_ERROR_Q32: i64 = 1 << (32 - 26);

/// Time to expiry is capped at 10 years (a documented saturation, far beyond any listed series).
const MAX_T_SECS: i64 = 10 * SECONDS_PER_YEAR;

/// Computes the margin of `p` into `out` (overwritten). On error `out` is unspecified.
///
/// `out` is passed in rather than returned because it is ~8.5 KiB: on-chain it lives on the heap.
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

    let mut grid = [GridFacts::default(); MAX_MARKETS];
    for (m, mk) in p.markets.iter().enumerate() {
        build_market(mk, &mut out.markets[m])?;
        let ln_spot = ln_scaled(mk.spot, 0)?;
        grid[m] = GridFacts {
            ln_spot,
            ln_stable_move: sub(ln_scaled(mk.stable_spot, 0)?, ln_spot)?,
            max_fwd: 0,
            exact: false,
        };
    }
    for m in p.markets.len()..MAX_MARKETS {
        out.markets[m] = MarketRisk::default();
    }
    // Per series, once: ln(S/K) and the root of the time left at the end of the horizon.
    let mut series = [SeriesFacts::default(); MAX_POSITIONS];
    for (i, pos) in p.positions.iter().enumerate() {
        let m = pos.market as usize;
        let (Some(mk), Some(g)) = (p.markets.get(m), grid.get(m)) else {
            return Err(RiskError::BadMarketIndex);
        };
        series[i] = series_facts(pos, mk, g.ln_spot, p.now)?;
    }
    // Each market's strike points: the strikes its options have inside the range.
    let mut max_fwd = [0i64; MAX_MARKETS];
    for (m, mk) in p.markets.iter().enumerate() {
        let mr = &mut out.markets[m];
        let mut strikes = StrikeSelector::new(mr.range.to_bits());
        for (pos, sf) in p.positions.iter().zip(series.iter()) {
            if pos.market as usize == m && pos.kind.is_option() && pos.qty != 0 {
                strikes.offer(StrikeCandidate {
                    w_end: per_sqrt_year(mul(mk.sigma.to_bits().max(0), sf.root_end)?)?,
                    x: sf.lm.checked_neg().ok_or(RiskError::Overflow)?,
                    strike: pos.strike,
                });
            }
        }
        mr.n_strike_points =
            strikes.write(mk.spot, &mut mr.strike_ln_move, &mut mr.strike_forward) as u8;
        max_fwd[m] = mr
            .forward
            .iter()
            .chain(mr.strike_forward.iter())
            .copied()
            .fold(mk.spot, i64::max);
        grid[m].max_fwd = max_fwd[m];
    }
    let exact = pnl_is_exact(p, &out.markets, &max_fwd);
    for g in grid.iter_mut() {
        g.exact = exact;
    }

    let mut value_mm = 0i64;
    let mut value_im = 0i64;
    let mut rounding = 0i64;
    for (i, pos) in p.positions.iter().enumerate() {
        let m = pos.market as usize;
        let mk = &p.markets[m];
        let pr = value_position(pos, mk, &grid[m], &series[i], p.now, &mut out.markets[m])?;
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
    let mut mm = add(add(scan_mm, addons)?.max(short_mm), charge)?;
    // IM ≥ MM holds by construction (nested scenarios, same add-ons); the max only guards the
    // last ulp of the square root in `combine`.
    let mut im = add(add(scan_im, addons)?.max(short_im), charge)?.max(mm);
    // A long option can lose at most its value, and equity already counts that value: margin
    // above it would make buying an option instantly liquidatable. One cap for both keeps
    // IM ≥ MM (value_im ≤ value: worse price, gains haircut).
    let long_only = is_long_only(p.positions);
    let long_value_cap = if long_only {
        sub(value_im, rounding)?.max(0)
    } else {
        0
    };
    if long_only {
        mm = mm.min(long_value_cap);
        im = im.min(long_value_cap);
    }

    out.scan_im = scan_im;
    out.scan_mm = scan_mm;
    out.offset_im = offset_im;
    out.offset_mm = offset_mm;
    out.addons = addons;
    out.short_min_im = short_im;
    out.short_min_mm = short_mm;
    out.rounding = rounding;
    out.long_only = long_only;
    out.long_value_cap = long_value_cap;
    out.mm = mm;
    out.im = im;
    // A long option's exact value is never negative, so a long-only account's holdings count
    // at least 0 after the allowance: its equity is never below its collateral.
    let (held_mm, held_im) = if long_only {
        (sub(value_mm, rounding)?.max(0), long_value_cap)
    } else {
        (sub(value_mm, rounding)?, sub(value_im, rounding)?)
    };
    out.equity_mm = add(p.collateral, held_mm)?;
    out.equity_im = add(p.collateral, held_im)?;
    Ok(())
}

/// Whether every position is a long option or empty (no short, no future, no negative cash):
/// such an account can lose at most the value of what it holds.
fn is_long_only(positions: &[PositionInput]) -> bool {
    positions
        .iter()
        .all(|pos| pos.cash >= 0 && (pos.qty == 0 || (pos.qty > 0 && pos.kind.is_option())))
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
    mr.mark_sigma = mk.mark_sigma;
    mr.range = Fx::from_bits(range);
    mr.pnl = [0; SCENARIOS];
    mr.n_strike_points = 0;
    mr.strike_ln_move = [Fx::ZERO; STRIKE_POINTS];
    mr.strike_forward = [mk.spot; STRIKE_POINTS];
    mr.strike_pnl = [0; 2 * STRIKE_POINTS];
    mr.slope_right = [0; SCENARIOS];
    mr.slope_left = [0; SCENARIOS];
    mr.strike_slope_right = [0; 2 * STRIKE_POINTS];
    mr.strike_slope_left = [0; 2 * STRIKE_POINTS];
    mr.worst_im_between = false;
    mr.worst_mm_between = false;
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

/// What every position of one market shares, computed once per market by [`compute`].
#[derive(Clone, Copy, Debug, Default)]
struct GridFacts {
    /// ln(spot).
    ln_spot: i64,
    /// ln(stable price) − ln(spot).
    ln_stable_move: i64,
    /// The largest forward of the grid (and the spot).
    max_fwd: i64,
    /// Whether the scenario P&L may run unchecked ([`pnl_is_exact`]).
    exact: bool,
}

/// What one series needs in every scenario, computed once by [`series_facts`].
#[derive(Clone, Copy, Debug, Default)]
struct SeriesFacts {
    /// ln(spot / K) (0 for futures).
    lm: i64,
    /// √ of the seconds left at the end of the margin horizon (0 if it expires inside it).
    root_end: i64,
}

/// ln(S/K) and the horizon-end root of one position. Scenarios are valued at the end of the
/// margin horizon: an option expiring inside it at its payoff, every other one with the time it
/// will have left.
fn series_facts(
    pos: &PositionInput,
    mk: &MarketInput,
    ln_spot: i64,
    now: i64,
) -> RiskResult<SeriesFacts> {
    let lm = if pos.kind.is_option() {
        if pos.strike <= 0 {
            return Err(RiskError::NonPositivePrice);
        }
        sub(ln_spot, ln_scaled(pos.strike, 0)?)?
    } else {
        0
    };
    let t = pos.expiry.saturating_sub(now).min(MAX_T_SECS);
    let t_end = t.saturating_sub(mk.params.im_horizon_secs.max(0));
    Ok(SeriesFacts {
        lm,
        root_end: sqrt_secs(t_end)?,
    })
}

/// Values one position at the mark, the stable price and every scenario of its market, adding its
/// scenario P&L, delta and short minimum into `mr`.
fn value_position(
    pos: &PositionInput,
    mk: &MarketInput,
    grid: &GridFacts,
    sf: &SeriesFacts,
    now: i64,
    mr: &mut MarketRisk,
) -> RiskResult<PositionRisk> {
    let GridFacts {
        ln_spot: _,
        ln_stable_move,
        max_fwd,
        exact,
    } = *grid;
    let params = mk.params;
    let kind = pos.kind;
    let sigma = mk.sigma.to_bits().max(0);
    let mark_sigma = mk.mark_sigma.to_bits().max(0);
    let t = pos.expiry.saturating_sub(now).min(MAX_T_SECS);
    let root = sqrt_secs(t)?;
    let SeriesFacts { lm, root_end } = *sf;
    let strike = if kind.is_option() { pos.strike } else { 0 };
    // Marks now at the mark vol; the scenario grid at the margin vol, one horizon later.
    let tv_mark = TotalVol::new(mark_sigma, root)?;
    let tv = TotalVol::new(sigma, root_end)?;
    let mark = value_at(kind, mk.spot, strike, lm, tv_mark)?;
    let mark_stable = value_at(
        kind,
        mk.stable_spot,
        strike,
        add(lm, ln_stable_move)?,
        tv_mark,
    )?;
    let greeks = greeks_at(kind, mk.spot, lm, tv_mark, mark_sigma, root)?;

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
        if exact && lm.unsigned_abs() < EXACT_LN_BOUND {
            scenario_pnl::<true>(kind, strike, lm, qty, mark, &tvs, mr)?;
        } else {
            scenario_pnl::<false>(kind, strike, lm, qty, mark, &tvs, mr)?;
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

/// |ln| bound under which `lm + x` cannot overflow (2^39: 128 in Q32.32; every `ln_scaled` of
/// an `i64` is below 44, and in-bounds parameters keep every scenario move below 8).
const EXACT_LN_BOUND: u64 = 1 << 39;
/// Bound on Σ |qty|·max(max forward, strike) under which no scenario P&L sum can overflow.
const EXACT_PNL_BOUND: u64 = 1 << 62;

/// Whether every scenario P&L of `p` is exact in plain 64-bit arithmetic, so the scenario loop
/// may skip its overflow checks (`scenario_pnl::<true>`). That holds when every scenario log move
/// is below 2^39 (then `lm + x` cannot overflow, see [`EXACT_LN_BOUND`]) and
/// Σ_j |qty_j|·max(max forward_j, K_j) < 2^62: a valuation is clamped to [0, max(F, K)] when F,
/// K ≥ 0 (`value_at`), so every |qty·(V − mark)| is at most one term of that sum and every
/// partial P&L sum at most the sum. Anything that fails the test (or that the main loop will
/// reject anyway) takes the checked path, so the results are the same bits either way.
fn pnl_is_exact(p: &Portfolio, markets: &[MarketRisk; MAX_MARKETS], max_fwd: &[i64]) -> bool {
    for mr in &markets[..p.markets.len()] {
        if mr
            .ln_move
            .iter()
            .chain(mr.strike_ln_move.iter())
            .any(|x| x.to_bits().unsigned_abs() >= EXACT_LN_BOUND)
        {
            return false;
        }
    }
    let mut total = 0u64;
    for pos in p.positions {
        let Some(&f) = max_fwd.get(pos.market as usize) else {
            return false;
        };
        if f < 0 || pos.strike < 0 {
            return false;
        }
        let (hi, lo) = mul_wide(pos.qty.unsigned_abs(), f.max(pos.strike) as u64);
        total = match (hi, total.checked_add(lo)) {
            (0, Some(t)) if t < EXACT_PNL_BOUND => t,
            _ => return false,
        };
    }
    true
}

/// Adds one position's scenario P&L, qty·(V_s − mark), into `mr.pnl`, walking the grid in runs of
/// one vol level (`scenario::VOL_RUNS`) so the inner loop has a fixed `TotalVol`.
///
/// `EXACT` (the caller checked [`pnl_is_exact`] and |lm| < [`EXACT_LN_BOUND`]): plain wrapping
/// arithmetic, which is then exact; otherwise every step is checked. Same results.
#[inline(always)]
fn scenario_pnl<const EXACT: bool>(
    kind: SeriesKind,
    strike: i64,
    lm: i64,
    qty: i64,
    mark: i64,
    tvs: &[TotalVol; VOL_LEVELS],
    mr: &mut MarketRisk,
) -> RiskResult<()> {
    let mut s = 0;
    for (level, end) in scenario::VOL_RUNS {
        let tv_s = tvs[level as usize];
        while s < end {
            let (x, f) = (mr.ln_move[s].to_bits(), mr.forward[s]);
            let acc = (mr.pnl[s], mr.slope_right[s], mr.slope_left[s]);
            let acc = step::<EXACT>(kind, f, strike, lm, x, qty, mark, tv_s, acc)?;
            (mr.pnl[s], mr.slope_right[s], mr.slope_left[s]) = acc;
            s += 1;
        }
    }
    let n = (mr.n_strike_points as usize).min(STRIKE_POINTS);
    for (offset, level) in [(0, VolLevel::Up), (STRIKE_POINTS, VolLevel::Down)] {
        for j in 0..n {
            let (x, f) = (mr.strike_ln_move[j].to_bits(), mr.strike_forward[j]);
            let k = offset + j;
            let acc = (
                mr.strike_pnl[k],
                mr.strike_slope_right[k],
                mr.strike_slope_left[k],
            );
            let acc = step::<EXACT>(kind, f, strike, lm, x, qty, mark, tvs[level as usize], acc)?;
            (
                mr.strike_pnl[k],
                mr.strike_slope_right[k],
                mr.strike_slope_left[k],
            ) = acc;
        }
    }
    Ok(())
}

/// One scenario of [`scenario_pnl`]: adds qty·(V − mark) to the P&L and qty·∂V/∂ln F to its
/// right and left slopes, for the value at forward `f` and log move `x`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step<const EXACT: bool>(
    kind: SeriesKind,
    f: i64,
    strike: i64,
    lm: i64,
    x: i64,
    qty: i64,
    mark: i64,
    tv_s: TotalVol,
    (pnl, right, left): (i64, i64, i64),
) -> RiskResult<(i64, i64, i64)> {
    if EXACT {
        // |qty·slope| ≤ |qty|·F: bounded like the P&L (`pnl_is_exact`).
        let v = value_slope_at_inline(kind, f, strike, lm.wrapping_add(x), tv_s)?;
        Ok((
            pnl.wrapping_add(qty.wrapping_mul(v.value.wrapping_sub(mark))),
            right.wrapping_add(qty.wrapping_mul(v.slope_right)),
            left.wrapping_add(qty.wrapping_mul(v.slope_left)),
        ))
    } else {
        let v = value_slope_at_inline(kind, f, strike, add(lm, x)?, tv_s)?;
        Ok((
            add(pnl, imul(qty, sub(v.value, mark)?)?)?,
            add(right, imul(qty, v.slope_right)?)?,
            add(left, imul(qty, v.slope_left)?)?,
        ))
    }
}

/// Worst weighted loss over IM scenarios and worst loss over MM scenarios of one market: the
/// fixed grid, the strike points in use (weight 1; MM when inside the MM range), and between
/// adjacent price points of each vol level the tangent bound ([`between`]).
#[inline(never)] // its price-point buffer stays out of `compute`'s stack frame (SBF: 4 KiB each)
fn worst_losses(mr: &mut MarketRisk, params: &RiskParams) -> RiskResult<()> {
    for s in 0..SCENARIOS {
        let w = scenario::weight(s, params);
        take_loss(
            mr,
            s,
            mr.pnl[s],
            w,
            scenario::in_mm(s, params.mm_steps),
            false,
        )?;
    }
    let edge = scenario::mm_edge(&mr.ln_move, params.mm_steps).unsigned_abs();
    let n = (mr.n_strike_points as usize).min(STRIKE_POINTS);
    for j in 0..n {
        let in_mm = mr.strike_ln_move[j].to_bits().unsigned_abs() <= edge;
        for offset in [0, STRIKE_POINTS] {
            let pnl = mr.strike_pnl[offset + j];
            take_loss(mr, STRIKE + offset + j, pnl, ONE, in_mm, false)?;
        }
    }
    for (first, offset) in [(0, 0), (scenario::LADDER, STRIKE_POINTS)] {
        let pts = price_points(mr, first, offset, n);
        for pair in pts.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if let Some(pnl) = between(a, b)? {
                let in_mm = a.x.unsigned_abs() <= edge && b.x.unsigned_abs() <= edge;
                take_loss(mr, a.id, pnl, ONE, in_mm, true)?;
            }
        }
    }
    Ok(())
}

/// One price point of a vol level: its log move, P&L, slopes and scenario number.
#[derive(Clone, Copy, Debug, Default)]
struct PricePoint {
    x: i64,
    pnl: i64,
    right: i64,
    left: i64,
    id: usize,
}

/// The ladder points of one vol level (scenarios `first..first + LADDER`) and its `n` strike
/// points (`offset` into the strike arrays), in ascending log move.
fn price_points(
    mr: &MarketRisk,
    first: usize,
    offset: usize,
    n: usize,
) -> [PricePoint; scenario::LADDER + STRIKE_POINTS] {
    let mut pts = [PricePoint::default(); scenario::LADDER + STRIKE_POINTS];
    for (i, p) in pts.iter_mut().take(scenario::LADDER).enumerate() {
        let s = first + i;
        *p = PricePoint {
            x: mr.ln_move[s].to_bits(),
            pnl: mr.pnl[s],
            right: mr.slope_right[s],
            left: mr.slope_left[s],
            id: s,
        };
    }
    let mut len = scenario::LADDER;
    for j in 0..n {
        let k = offset + j;
        let p = PricePoint {
            x: mr.strike_ln_move[j].to_bits(),
            pnl: mr.strike_pnl[k],
            right: mr.strike_slope_right[k],
            left: mr.strike_slope_left[k],
            id: STRIKE + k,
        };
        let mut i = len;
        while i > 0 && pts[i - 1].x > p.x {
            pts[i] = pts[i - 1];
            i -= 1;
        }
        pts[i] = p;
        len += 1;
    }
    // Unused strike slots repeat the top point: zero-width intervals, which `between` skips.
    for i in len..pts.len() {
        pts[i] = pts[len - 1];
    }
    pts
}

/// The P&L bound between adjacent price points a < b where the P&L falls into the interval and
/// rises out of it (right slope at a < 0 < left slope at b), so its minimum lies inside: the
/// value where the tangents at a and b meet (clamped to the interval), rounded down. Exact when
/// the P&L is piecewise linear with one kink inside (an option expiring within the horizon); a
/// lower bound — so a loss at least the true one — wherever it is convex (long gamma: the only
/// way a minimum can lie between points). `None` otherwise.
fn between(a: &PricePoint, b: &PricePoint) -> RiskResult<Option<i64>> {
    let width = sub(b.x, a.x)?;
    if width <= 0 || a.right >= 0 || b.left <= 0 {
        return Ok(None);
    }
    // a.pnl + a.right·u = b.pnl + b.left·(u − width)  ⇔  u = (b.pnl − a.pnl − b.left·width)/(a.right − b.left)
    let num = sub(sub(b.pnl, a.pnl)?, mul(b.left, width)?)?;
    let den = sub(a.right, b.left)?;
    // A quotient beyond the Q32 range is beyond the interval: clamp it like any other.
    let u = match div_shift(num, den, 32, Round::Floor) {
        Some(q) => q.clamp(0, width),
        None if (num < 0) == (den < 0) => width,
        None => 0,
    };
    // u is rounded down, where b's tangent is below the meeting point: the lower of the two.
    let on_a = add(a.pnl, mul(a.right, u)?)?;
    let on_b = add(b.pnl, mul(b.left, sub(u, width)?)?)?;
    Ok(Some(on_a.min(on_b)))
}

/// Records scenario `s`'s loss (−`pnl`) in the worst IM (weighted by `w`) and, if `in_mm`, MM;
/// `between`: the loss is the bound on the interval above `s`.
fn take_loss(
    mr: &mut MarketRisk,
    s: usize,
    pnl: i64,
    w: i64,
    in_mm: bool,
    between: bool,
) -> RiskResult<()> {
    let loss = pnl.checked_neg().ok_or(RiskError::Overflow)?;
    if loss <= 0 {
        return Ok(());
    }
    let weighted = mul_ceil(loss, w)?;
    if weighted > mr.worst_im {
        mr.worst_im = weighted;
        mr.worst_im_scenario = s as u8;
        mr.worst_im_between = between;
    }
    if in_mm && loss > mr.worst_mm {
        mr.worst_mm = loss;
        mr.worst_mm_scenario = s as u8;
        mr.worst_mm_between = between;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
