//! Portfolio margin of one account from its series' risk arrays (docs/risk-model.md §4).
//!
//! Each market has an [`Anchor`] (its scenario points) and each option position a
//! [`SeriesArray`] (its values there, both bounds). A margin check prices nothing: per market it
//! sums qty × array at every point and qty × the interval gaps of its longs, subtracts the
//! marks (chords of the mark ladders), takes the worst interval loss over the IM and MM ranges
//! around the oracle price, adds the add-ons; across markets, the correlation-aware combination.
//!
//! IM = max(scan_IM + add-ons, Σ short minimum IM) + 2·rounding
//! MM = max(scan_MM + add-ons, Σ short minimum MM) + 2·rounding, and IM ≥ MM;
//! for a long-only account both at most max(0, Σ value_im − rounding).
//! equity_MM = collateral + Σ (qty·mark + cash) − rounding
//! equity_IM = collateral + Σ haircut(min(value at oracle, value at stable price)) − rounding
//!
//! [`compute`] is the same model at zero staleness (each market anchored at the valuation
//! time, each series priced on the way): what the backtest, the keeper and the tests run.

use crate::addons;
use crate::aggregate::{combine, Correlations, MAX_MARKETS};
use crate::array::{
    price_series, Anchor, Ladder, SeriesArray, Span, StrikeCandidate, Window, LADDERS, POINTS,
    STRIKE_POINTS,
};
use crate::breakdown::{MarginBreakdown, MarketRisk, PositionRisk, MAX_POSITIONS};
use crate::error::{RiskError, RiskResult};
#[cfg(test)]
use crate::fx::mul_ceil;
use crate::fx::{
    add, div_shift, imul, mul, mul_frac, mul_frac_ceil, mul_unit, mul_wide, sub, Fx, Round, ONE,
};
use crate::params::RiskParams;
use crate::pricing::{Greeks, SeriesKind};
use bytemuck::Zeroable;

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
    /// Vol the price range R is set from (`VolState::range_sigma`: the margin vol with a speed
    /// limit on rises, ≤ `sigma`; equal to it where no limit is set).
    pub range_sigma: Fx,
    /// Vol the positions are marked at (`VolState::raw_vol`: the market's best estimate,
    /// before anti-procyclicality): marks, equity, greeks and the prices liquidations move
    /// positions at. A buffered or floored margin vol raises margin — scenario values against
    /// these marks — but never the value of what an account holds.
    pub mark_sigma: Fx,
    /// The market's realised vol (`VolState::realised_vol`; 0 = none kept): not used by the
    /// margin, carried to the breakdown for the liquidation trigger
    /// (`liquidation::realised_stress`).
    pub realised_sigma: Fx,
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

/// Margin of `p` at zero staleness: every market anchored at `p.now` at its own prices and
/// vols with the account's own strikes as strike points, every option priced into one scratch
/// array and summed ([`compute_with_arrays`]'s model when the arrays are fresh and the market's
/// strike points include the account's strikes). `out` is overwritten; on error it is unspecified.
pub fn compute(p: &Portfolio, out: &mut MarginBreakdown) -> RiskResult<()> {
    if p.markets.len() > MAX_MARKETS {
        return Err(RiskError::BadMarketIndex);
    }
    let mut anchors = [Anchor::zeroed(); MAX_MARKETS];
    for (m, a) in anchors.iter_mut().enumerate().take(p.markets.len()) {
        *a = fresh_anchor(p, m)?;
    }
    let refs = anchors.each_ref();
    let exact = begin(p, &refs[..p.markets.len()], None, out)?;
    let mut scratch = SeriesArray::zeroed();
    for (i, pos) in p.positions.iter().enumerate() {
        let m = pos.market as usize;
        let (Some(a), Some(mk)) = (refs[..p.markets.len()].get(m), p.markets.get(m)) else {
            return Err(RiskError::BadMarketIndex);
        };
        let arr = if pos.kind.is_option() && pos.qty != 0 {
            price_series(a, mk.params, pos.kind, pos.strike, pos.expiry, &mut scratch)?;
            Some(&scratch)
        } else {
            None
        };
        add_position(p, a, i, arr, exact, None, out)?;
    }
    finish(p, &refs[..p.markets.len()], exact, out)
}

/// The anchor [`compute`] gives market `m` of `p`: at `p.now`, its prices and vols, the
/// account's own option strikes in it as the strike points.
pub fn fresh_anchor(p: &Portfolio, m: usize) -> RiskResult<Anchor> {
    let mk = p.markets.get(m).ok_or(RiskError::BadMarketIndex)?;
    let mut held = [StrikeCandidate::default(); MAX_POSITIONS];
    let mut n = 0;
    for pos in p.positions.iter().take(MAX_POSITIONS) {
        if pos.market as usize == m && pos.kind.is_option() && pos.qty != 0 {
            held[n] = StrikeCandidate {
                strike: pos.strike,
                expiry: pos.expiry,
            };
            n += 1;
        }
    }
    Anchor::new_ranged(
        p.now,
        mk.spot,
        mk.stable_spot,
        mk.sigma,
        mk.range_sigma,
        mk.mark_sigma,
        mk.params,
        held[..n].iter().copied(),
    )
}

/// Margin of `p` from stored risk arrays: `anchors[m]` is market m's anchor, `arrays[i]` the
/// array of position i (`None` allowed for futures and empty positions). Refuses arrays the
/// check falls outside of (`ArraysExpired`, `ArraysMoved`, `ArraysVolChanged`,
/// [`Anchor::window`]); the caller checks that each array belongs to its series and anchor.
pub fn compute_with_arrays(
    p: &Portfolio,
    anchors: &[&Anchor],
    arrays: &[Option<&SeriesArray>],
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    with_arrays(p, anchors, arrays, None, out)
}

/// [`compute_with_arrays`], placing each market's window through `memo`: a check that follows
/// another at the same anchor, time, prices, vols and tolerances (the next account of the same
/// instruction) reuses its windows instead of placing them again. Same results, bit for bit.
pub fn compute_with_arrays_memo<'a>(
    p: &Portfolio,
    anchors: &[&'a Anchor],
    arrays: &[Option<&SeriesArray>],
    memo: &mut WindowMemo<'a>,
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    with_arrays(p, anchors, arrays, Some(memo), out)
}

/// Windows a check has placed, for the checks that follow it ([`compute_with_arrays_memo`]).
///
/// [`Anchor::window`] is a function of the anchor, the valuation time, the oracle and stable
/// prices, the two vols and two parameters (`array_max_age_secs`, `array_vol_tol`) only
/// (`tests::window_reads_only_the_memo_key`). An entry keeps all of them, the anchor as a
/// reference: while the memo lives (`'a`) the anchor is borrowed and cannot change, so an entry
/// whose key matches holds exactly the window `Anchor::window` would return.
#[derive(Clone, Copy, Debug, Default)]
pub struct WindowMemo<'a> {
    entries: [Option<(WindowKey<'a>, Window)>; MAX_MARKETS],
    next: usize,
}

#[derive(Clone, Copy, Debug)]
struct WindowKey<'a> {
    anchor: &'a Anchor,
    /// now, spot, stable price, sigma, mark sigma, array_max_age_secs, array_vol_tol.
    inputs: [i64; 7],
}

impl<'a> WindowMemo<'a> {
    /// `anchor.window(now, mk's prices and vols, mk.params)` into `out`, from the memo when it
    /// has it (written in place: a `Window` returned by value through `Result` was copied four
    /// times, ≈ 300 instructions a market in the SBF VM).
    fn window_into(
        &mut self,
        anchor: &'a Anchor,
        now: i64,
        mk: &MarketInput,
        out: &mut Window,
    ) -> RiskResult<()> {
        let key = WindowKey {
            anchor,
            inputs: [
                now,
                mk.spot,
                mk.stable_spot,
                mk.sigma.to_bits(),
                mk.mark_sigma.to_bits(),
                mk.params.array_max_age_secs,
                mk.params.array_vol_tol.to_bits(),
            ],
        };
        for (k, w) in self.entries.iter().flatten() {
            if core::ptr::eq(k.anchor, key.anchor) && k.inputs == key.inputs {
                *out = *w;
                return Ok(());
            }
        }
        *out = place(anchor, now, mk)?;
        self.entries[self.next % MAX_MARKETS] = Some((key, *out));
        self.next = self.next.wrapping_add(1);
        Ok(())
    }
}

/// Market `mk`'s window on `anchor` at `now`.
fn place(anchor: &Anchor, now: i64, mk: &MarketInput) -> RiskResult<Window> {
    anchor.window(
        now,
        mk.spot,
        mk.stable_spot,
        mk.sigma,
        mk.mark_sigma,
        mk.params,
    )
}

fn with_arrays<'a>(
    p: &Portfolio,
    anchors: &[&'a Anchor],
    arrays: &[Option<&SeriesArray>],
    memo: Option<&mut WindowMemo<'a>>,
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    if anchors.len() != p.markets.len() || arrays.len() != p.positions.len() {
        return Err(RiskError::BadMarketIndex);
    }
    let exact = begin_with(p, anchors, memo, true, out)?;
    let shared = Shared::all(p, anchors, out);
    let mut pending = Pending::default();
    for (i, pos) in p.positions.iter().enumerate() {
        let m = pos.market as usize;
        let a = anchors.get(m).ok_or(RiskError::BadMarketIndex)?;
        add_position_with(
            p,
            a,
            i,
            arrays[i],
            exact,
            Some(&mut pending),
            &shared[m],
            out,
        )?;
    }
    let totals = pending.totals;
    if exact {
        pending.flush_less_marks(out, p.markets.len());
    }
    finish_with(p, anchors, exact, !exact, Some(totals), out)
}

/// Validates sizes, places every market relative to its anchor and clears the accumulators;
/// returns whether the sums may run unchecked ([`sums_are_exact`]).
fn begin<'a>(
    p: &Portfolio,
    anchors: &[&'a Anchor],
    memo: Option<&mut WindowMemo<'a>>,
    out: &mut MarginBreakdown,
) -> RiskResult<bool> {
    begin_with(p, anchors, memo, false, out)
}

/// [`begin`]; with `pending` (the sums go through [`Pending`] on the exact path, which writes
/// every point of the P&L and gaps of the markets in use) those are not cleared first.
fn begin_with<'a>(
    p: &Portfolio,
    anchors: &[&'a Anchor],
    mut memo: Option<&mut WindowMemo<'a>>,
    pending: bool,
    out: &mut MarginBreakdown,
) -> RiskResult<bool> {
    if p.positions.len() > MAX_POSITIONS {
        return Err(RiskError::TooManyPositions);
    }
    if p.markets.len() > MAX_MARKETS || anchors.len() != p.markets.len() {
        return Err(RiskError::BadMarketIndex);
    }
    out.now = p.now;
    out.collateral = p.collateral;
    out.n_markets = p.markets.len() as u8;
    out.n_positions = p.positions.len() as u8;
    let exact = sums_are_exact(p, anchors);
    for (m, mr) in out.markets.iter_mut().enumerate() {
        let (Some(mk), Some(a)) = (p.markets.get(m), anchors.get(m)) else {
            *mr = MarketRisk::default();
            continue;
        };
        if pending && exact {
            clear_all_but_sums(mr);
        } else {
            *mr = MarketRisk::default();
        }
        crate::scenario::check_prices(mk.spot, mk.stable_spot, mk.conf)?;
        let window = match memo.as_deref_mut() {
            Some(memo) => {
                memo.window_into(a, p.now, mk, &mut mr.window)?;
                None
            }
            None => Some(place(a, p.now, mk)?),
        };
        mr.spot = mk.spot;
        mr.stable_spot = mk.stable_spot;
        mr.conf = mk.conf;
        mr.sigma = mk.sigma;
        mr.mark_sigma = mk.mark_sigma;
        mr.realised_sigma = mk.realised_sigma;
        mr.anchor_ts = a.ts;
        mr.anchor_spot = a.spot;
        mr.range = a.range;
        mr.step = a.step;
        mr.strikes = a.strikes;
        if let Some(w) = window {
            mr.window = w;
        }
    }
    for slot in out.positions.iter_mut().skip(p.positions.len()) {
        *slot = PositionRisk::default();
    }
    Ok(exact)
}

/// Every field of `mr` but the P&L and gap sums set to its default (what `begin` would write
/// and the sums do not overwrite). The pattern lists every field: a new one fails to compile
/// until it is cleared here.
fn clear_all_but_sums(mr: &mut MarketRisk) {
    let MarketRisk {
        spot,
        stable_spot,
        conf,
        sigma,
        mark_sigma,
        realised_sigma,
        anchor_ts,
        anchor_spot,
        range,
        step,
        strikes,
        window,
        pnl: _,
        gap: _,
        mark_total,
        mark_edges,
        worst_im,
        worst_im_interval,
        worst_mm,
        worst_mm_interval,
        net_delta,
        short_min_im,
        short_min_mm,
        conf_addon,
        impact_addon,
    } = mr;
    (*spot, *stable_spot, *conf, *anchor_ts, *anchor_spot) = (0, 0, 0, 0, 0);
    (
        *sigma,
        *mark_sigma,
        *realised_sigma,
        *range,
        *step,
        *net_delta,
    ) = (Fx::ZERO, Fx::ZERO, Fx::ZERO, Fx::ZERO, Fx::ZERO, Fx::ZERO);
    *strikes = [0; STRIKE_POINTS];
    *window = Window::default();
    (*mark_total, *mark_edges) = (0, [0; 2]);
    (*worst_im, *worst_im_interval, *worst_mm, *worst_mm_interval) = (0, 0, 0, 0);
    (*short_min_im, *short_min_mm, *conf_addon, *impact_addon) = (0, 0, 0, 0);
}

/// Bound on Σ |qty|·max(max forward, K) under which no sum, and no whole interval's loss, can
/// overflow (2^61: the loss gap − P&L is at most 2.5 times the bound, [`whole`]).
const EXACT_BOUND: u64 = 1 << 61;

/// Whether every per-market sum of `p` is exact in plain 64-bit arithmetic, so the sums may skip
/// their overflow checks. Every value in an array is clamped to [0, max(F, K)] (`value_at`),
/// every gap is at most F/2 and every mark a chord of values, so each |qty·x| is at most one
/// term of Σ_j |qty_j|·max(F_max,j, K_j), and every partial sum (P&L, gaps, marks, their
/// differences) at most twice the sum: below 2^63 when the sum is below 2^62, and a whole
/// interval's loss (a gap sum minus a P&L) at most 2.5 times it: below 2^63 when the sum is
/// below [`EXACT_BOUND`] = 2^61. Anything that fails the test takes the checked path, so the
/// results are the same bits either way.
fn sums_are_exact(p: &Portfolio, anchors: &[&Anchor]) -> bool {
    // Per market, the largest forward of any of its values, marks and gaps.
    let n = anchors.len().min(p.markets.len()).min(MAX_MARKETS);
    let mut fwd = [0i64; MAX_MARKETS];
    for (f, (a, mk)) in fwd.iter_mut().zip(anchors.iter().zip(p.markets)) {
        *f = a.max_fwd.max(mk.spot).max(mk.stable_spot);
    }
    let mut total = 0u64;
    for pos in p.positions {
        let m = pos.market as usize;
        if m >= n {
            return false;
        }
        let f = fwd[m];
        if f < 0 || pos.strike < 0 {
            return false;
        }
        let (q, x) = (pos.qty.unsigned_abs(), f.max(pos.strike) as u64);
        // Both below 2^32: one native product (< 2^64, exact); else the wide one.
        let term = if (q | x) >> 32 == 0 {
            q.wrapping_mul(x)
        } else {
            match mul_wide(q, x) {
                (0, lo) => lo,
                _ => return false,
            }
        };
        // total < 2^61 before, so total + term < 2^62 + 2^61 cannot wrap once term < 2^61.
        if term >= EXACT_BOUND {
            return false;
        }
        total += term;
        if total >= EXACT_BOUND {
            return false;
        }
    }
    true
}

/// qty·x added to `acc`: plain wrapping arithmetic when `EXACT` (then exact), checked otherwise.
#[inline(always)]
fn mac<const EXACT: bool>(acc: i64, qty: i64, x: i64) -> RiskResult<i64> {
    if EXACT {
        Ok(acc.wrapping_add(qty.wrapping_mul(x)))
    } else {
        add(acc, imul(qty, x)?)
    }
}

/// Points summed per step of the exact loops: `POINTS` is a multiple of both, so the loops have
/// no tail and their overhead (pointers, compare, branch) is paid once per run. Measured in the
/// SBF VM (32 series on one market, whole check): pairs of positions ([`mac_pair`]) in runs of 5,
/// 7, 10 and 14 points cost 51,071, 50,293, 49,366 and 48,931 CU, in runs of 35 or 70 (not
/// unrolled) over 60,000; one position ([`mac_all_exact`]) in runs of 14 or 10 ≈ 1,250 CU more
/// than in runs of 5. Triples ([`mac_triple`], the usual pass since) in runs of 14, 10, 7 and 35:
/// 37,162, 37,408, 37,260 and 45,659 CU (32 series on one market); passes of four positions ran
/// out of registers (38,525).
const RUN: usize = 14;
const RUN3: usize = 14;
const RUN_ONE: usize = 5;
const _: () = assert!(
    POINTS.is_multiple_of(RUN) && POINTS.is_multiple_of(RUN3) && POINTS.is_multiple_of(RUN_ONE)
);

/// acc[p] += qty·x[p] for every point. The exact path is the margin check's innermost loop
/// (docs/performance.md, "Where a check's compute goes"): fixed-size runs of `RUN_ONE` points
/// ([`mac_all_exact`]), which the compiler unrolls without bounds checks; bit for bit the
/// checked path's sums where `sums_are_exact` holds.
#[inline(always)]
fn mac_all<const EXACT: bool>(
    acc: &mut [i64; POINTS],
    qty: i64,
    x: &[i64; POINTS],
) -> RiskResult<()> {
    if EXACT {
        mac_all_exact(acc, qty, x);
        return Ok(());
    }
    for (a, &v) in acc.iter_mut().zip(x.iter()) {
        *a = mac::<EXACT>(*a, qty, v)?;
    }
    Ok(())
}

/// Value at position `lambda` (Q32.32) of interval `k` of a ladder of `values`: the chord,
/// rounded up for an upper bound (`gap` = None), or the chord rounded down minus
/// 4λ(1 − λ)·gap[k] for a lower bound — the most a convex function can fall below its chord at
/// λ given the end deltas (0 at the points themselves). `gap` comes with `shape(lambda)`,
/// computed once per market ([`Shared`]).
#[inline(always)]
fn chord(
    values: &[i64],
    (k, lambda): (u8, i64),
    gap: Option<(&[i64], RiskResult<i64>)>,
) -> RiskResult<i64> {
    let k = k as usize;
    let (a, b) = (values[k], values[k + 1]);
    let rise = sub(b, a)?;
    match gap {
        None => add(a, mul_frac_ceil(rise, lambda)?),
        Some((g, shape)) => sub(
            add(a, mul_frac(rise, lambda)?)?,
            mul_frac_ceil(g[k], shape?)?,
        ),
    }
}

/// [`chord`] on the exact path: the same value without the overflow checks, or `None` when
/// `lambda` or the shape is outside [0, 1] (the caller then takes [`chord`]). An array's values
/// lie in [0, max(F, K)] and its gaps in [0, F] (`price_series`), so the rise, the chord (between
/// the two values) and the chord less a gap's share all fit; the products are `mul_unit`'s,
/// which `mul_frac`/`mul_frac_ceil` take on [0, 1].
#[inline(always)]
fn chord_exact(values: &[i64], (k, lambda): (u8, i64), gap: Option<(&[i64], i64)>) -> Option<i64> {
    let k = k as usize;
    let (a, b) = (values[k], values[k + 1]);
    let rise = b.wrapping_sub(a);
    match gap {
        None => Some(a.wrapping_add(mul_unit::<true>(rise, lambda)?)),
        Some((g, shape)) => Some(
            a.wrapping_add(mul_unit::<false>(rise, lambda)?)
                .wrapping_sub(mul_unit::<true>(g[k], shape)?),
        ),
    }
}

/// What every position of one market shares in [`add_position`], computed once per market
/// (each as the expression the position would evaluate, errors included: a position takes
/// them with `?` where it used to compute them, so the results and errors are the same).
#[derive(Clone, Copy, Debug)]
struct Shared {
    /// The largest forward of the market (for the rounding allowance).
    max_fwd: i64,
    /// `shape` at the oracle's and at the stable price's mark-ladder positions (longs' marks).
    shape_mark: RiskResult<i64>,
    shape_stable: RiskResult<i64>,
    /// ⌈spot·short_min_im⌉ and ⌈spot·short_min_mm⌉: the short minimum per contract.
    short_im: RiskResult<i64>,
    short_mm: RiskResult<i64>,
    /// Both in [0, max_fwd]: on the exact path a short's minimum is then at most its term of the
    /// bound, and their sums cannot overflow.
    short_exact: bool,
    /// 1 − long_haircut (`addons::haircut`'s factor).
    keep: RiskResult<i64>,
}

impl Shared {
    const NONE: Shared = Shared {
        max_fwd: 0,
        shape_mark: Err(RiskError::BadMarketIndex),
        shape_stable: Err(RiskError::BadMarketIndex),
        short_im: Err(RiskError::BadMarketIndex),
        short_mm: Err(RiskError::BadMarketIndex),
        short_exact: false,
        keep: Err(RiskError::BadMarketIndex),
    };

    /// Market `mk`'s, on `a` where `mr` (placed by `begin`) is its risk.
    fn of(a: &Anchor, mk: &MarketInput, mr: &MarketRisk) -> Shared {
        let max_fwd = a.max_fwd.max(mk.spot).max(mk.stable_spot);
        let short_im = mul_frac_ceil(mk.spot, mk.params.short_min_im.to_bits());
        let short_mm = mul_frac_ceil(mk.spot, mk.params.short_min_mm.to_bits());
        let within = |c: RiskResult<i64>| matches!(c, Ok(c) if (0..=max_fwd).contains(&c));
        Shared {
            max_fwd,
            shape_mark: shape(mr.window.mark.1),
            shape_stable: shape(mr.window.stable.1),
            short_im,
            short_mm,
            short_exact: within(short_im) && within(short_mm),
            keep: sub(ONE, mk.params.long_haircut.to_bits()),
        }
    }

    /// Every market's of `p` (unused slots `NONE`, never read).
    fn all(p: &Portfolio, anchors: &[&Anchor], out: &MarginBreakdown) -> [Shared; MAX_MARKETS] {
        let mut s = [Shared::NONE; MAX_MARKETS];
        for (((s, a), mk), mr) in s.iter_mut().zip(anchors).zip(p.markets).zip(&out.markets) {
            *s = Shared::of(a, mk, mr);
        }
        s
    }
}

/// Adds position `i` into its market's sums and writes its `PositionRisk`.
fn add_position<'a>(
    p: &Portfolio,
    a: &'a Anchor,
    i: usize,
    arr: Option<&'a SeriesArray>,
    exact: bool,
    pending: Option<&mut Pending<'a>>,
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    let m = p.positions[i].market as usize;
    let mk = p.markets.get(m).ok_or(RiskError::BadMarketIndex)?;
    let shared = Shared::of(a, mk, &out.markets[m]);
    add_position_with(p, a, i, arr, exact, pending, &shared, out)
}

/// [`add_position`] with its market's [`Shared`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn add_position_with<'a>(
    p: &Portfolio,
    a: &'a Anchor,
    i: usize,
    arr: Option<&'a SeriesArray>,
    exact: bool,
    mut pending: Option<&mut Pending<'a>>,
    shared: &Shared,
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    let pos = &p.positions[i];
    let m = pos.market as usize;
    let mk = p.markets.get(m).ok_or(RiskError::BadMarketIndex)?;
    let mr = &mut out.markets[m];
    // Only the two mark-ladder positions (copying the whole window cost ≈ 20 instructions a
    // position in the SBF VM).
    let (w_mark, w_stable) = (mr.window.mark, mr.window.stable);
    let qty = pos.qty;
    let option = pos.kind.is_option();
    if option && pos.strike <= 0 {
        return Err(RiskError::NonPositivePrice);
    }
    let strike = if option { pos.strike } else { 0 };
    let (mark, mark_stable, greeks) = match (option, arr) {
        (false, _) => {
            if qty != 0 {
                match (exact, pending.as_deref_mut()) {
                    // The forwards go through the pending sums with the options'.
                    (true, Some(pending)) => {
                        pending.add(mr, m, qty, &a.fwd, false);
                        add_future_marks(mr, a, qty, mk.spot)?;
                    }
                    _ => add_future(mr, a, qty, mk.spot, exact)?,
                }
            }
            let greeks = Greeks {
                delta: Fx::ONE,
                ..Greeks::default()
            };
            (mk.spot, mk.stable_spot, greeks)
        }
        (true, None) if qty != 0 => return Err(RiskError::MissingArray),
        (true, None) => (0, 0, Greeks::default()),
        (true, Some(arr)) => {
            let long = qty > 0;
            let exact_marks =
                match (exact, long, shared.shape_mark, shared.shape_stable) {
                    (false, _, _, _) => None,
                    (true, false, _, _) => chord_exact(&arr.hi.mark, w_mark, None)
                        .zip(chord_exact(&arr.hi.stable, w_stable, None)),
                    (true, true, Ok(sm), Ok(ss)) => {
                        chord_exact(&arr.lo.mark, w_mark, Some((&arr.mark_gap, sm))).zip(
                            chord_exact(&arr.lo.stable, w_stable, Some((&arr.stable_gap, ss))),
                        )
                    }
                    (true, true, _, _) => None,
                };
            let (mark, mark_stable) = match exact_marks {
                Some(marks) => marks,
                None if long => (
                    chord(
                        &arr.lo.mark,
                        w_mark,
                        Some((&arr.mark_gap, shared.shape_mark)),
                    )?,
                    chord(
                        &arr.lo.stable,
                        w_stable,
                        Some((&arr.stable_gap, shared.shape_stable)),
                    )?,
                ),
                None => (
                    chord(&arr.hi.mark, w_mark, None)?,
                    chord(&arr.hi.stable, w_stable, None)?,
                ),
            };
            if qty != 0 {
                if let (true, Some(pending)) = (exact, pending.as_deref_mut()) {
                    add_option_marks(mr, arr, qty, mark, w_mark.0);
                    pending.add(
                        mr,
                        m,
                        qty,
                        if long { &arr.lo.value } else { &arr.hi.value },
                        false,
                    );
                    if long {
                        pending.add(mr, m, qty, &arr.gap, true);
                    }
                } else if exact {
                    add_option::<true>(mr, arr, long, qty, mark, w_mark.0)?;
                } else {
                    add_option::<false>(mr, arr, long, qty, mark, w_mark.0)?;
                }
                if qty < 0 {
                    // `addons::short_minimum` with the per-contract charge from `shared`.
                    let n = qty.unsigned_abs().min(i64::MAX as u64) as i64;
                    match (
                        exact && shared.short_exact,
                        shared.short_im,
                        shared.short_mm,
                    ) {
                        // n·c ≤ |qty|·max_fwd, the position's term of the bound (< 2^61), and
                        // the sums of such terms are below the bound: exact.
                        (true, Ok(im), Ok(mm)) => {
                            mr.short_min_im = mr.short_min_im.wrapping_add(n.wrapping_mul(im));
                            mr.short_min_mm = mr.short_min_mm.wrapping_add(n.wrapping_mul(mm));
                        }
                        _ => {
                            mr.short_min_im = add(mr.short_min_im, imul(n, shared.short_im?)?)?;
                            mr.short_min_mm = add(mr.short_min_mm, imul(n, shared.short_mm?)?)?;
                        }
                    }
                }
            }
            let g = arr.greeks;
            let greeks = Greeks {
                delta: Fx::from_bits(g[0]),
                gamma: Fx::from_bits(g[1]),
                vega: g[2],
                theta: g[3],
            };
            (mark, mark_stable, greeks)
        }
    };
    let per_contract = if exact && qty != 0 {
        // max_fwd + K ≤ 2·max(F, K), at most twice the position's term of the bound: exact, and
        // `mul_frac_ceil` by 2^-26 ∈ [0, 1] is `mul_unit`'s.
        match mul_unit::<true>(shared.max_fwd.wrapping_add(strike), VALUATION_ERROR_Q32) {
            Some(c) => c.wrapping_add(1),
            None => return Err(RiskError::Overflow), // 2^-26 is in [0, 1]: never
        }
    } else {
        add(
            mul_frac_ceil(add(shared.max_fwd, strike)?, VALUATION_ERROR_Q32)?,
            1,
        )?
    };
    let n = qty.unsigned_abs().min(i64::MAX as u64) as i64;
    // On the exact path each product is at most a small multiple of the position's term of
    // `sums_are_exact`'s bound (a mark is a chord of values in [0, max(F, K)] less at most half
    // a gap; the allowance per contract is below 2·max(F, K)/2^26 + 2): below 2^63, so the
    // wrapping products are the checked ones' values.
    let (rounding, at_oracle, at_stable) = if exact {
        (
            n.wrapping_mul(per_contract),
            qty.wrapping_mul(mark),
            qty.wrapping_mul(mark_stable),
        )
    } else {
        (
            imul(n, per_contract)?,
            imul(qty, mark)?,
            imul(qty, mark_stable)?,
        )
    };
    let (value, held) = match pos.cash {
        0 => (at_oracle, at_oracle.min(at_stable)),
        cash => (add(at_oracle, cash)?, add(at_oracle.min(at_stable), cash)?),
    };
    // `addons::haircut` with its factor from `shared`.
    let value_im = if held <= 0 {
        held
    } else {
        mul_frac(held, shared.keep?)?
    };
    out.positions[i] = PositionRisk {
        mark,
        mark_stable,
        value,
        value_im,
        rounding,
        greeks,
    };
    if let Some(pending) = pending {
        pending.totals.add([value, value_im, rounding]);
    }
    Ok(())
}

/// [`add_option`]'s sums other than the per-point ones, on the exact path (wrapping: exact).
#[inline(always)]
fn add_option_marks(mr: &mut MarketRisk, arr: &SeriesArray, qty: i64, mark: i64, k: u8) {
    mr.mark_total = mr.mark_total.wrapping_add(qty.wrapping_mul(mark));
    let k = k as usize;
    mr.mark_edges[0] = mr.mark_edges[0].wrapping_add(qty.wrapping_mul(arr.hi.mark[k]));
    mr.mark_edges[1] = mr.mark_edges[1].wrapping_add(qty.wrapping_mul(arr.hi.mark[k + 1]));
}

/// qty and the per-point values it multiplies.
type Term<'a> = (i64, &'a [i64; POINTS]);

/// Per-point sums waiting for partners: on the exact path (`sums_are_exact`) the sums are plain
/// wrapping additions, exact in any order, so three positions' qty × values go into the
/// accumulators in one pass ([`mac_triple`]): one load and one store of each accumulator for
/// three products (the single-position loop was ≈ 6 instructions a point in the SBF VM, pairs
/// ≈ 8.6 for two); what is left at the end goes in as a pair or alone ([`Pending::flush`]).
#[derive(Default)]
struct Pending<'a> {
    /// Per market: up to three P&L terms and three gap terms waiting for a fourth.
    waiting: [[[Option<Term<'a>>; 3]; 2]; MAX_MARKETS],
    /// Per market: whether its P&L and gap sums have been written (`begin_with` leaves them
    /// as they were: the first pass stores instead of adding).
    started: [[bool; 2]; MAX_MARKETS],
    /// Σ value, Σ value_im and Σ rounding of the positions so far (`finish`'s sums).
    totals: Totals,
}

/// Σ value, Σ value_im, Σ rounding of the positions in order, as `finish` adds them: the
/// wrapping sums and whether any step overflowed (then `finish` fails with `Overflow`, as its
/// checked sums do at the first such step; otherwise the sums are theirs).
#[derive(Clone, Copy, Default)]
struct Totals {
    sums: [i64; 3],
    /// Negative once a step overflowed (`fx::add`'s sign test, accumulated).
    overflow: i64,
}

impl Totals {
    #[inline(always)]
    fn add(&mut self, terms: [i64; 3]) {
        for (a, b) in self.sums.iter_mut().zip(terms) {
            let s = a.wrapping_add(b);
            self.overflow |= (*a ^ s) & (b ^ s);
            *a = s;
        }
    }
}

impl<'a> Pending<'a> {
    /// Adds qty × `x` into market `m`'s P&L (`gap` false) or gap sums: with three terms waiting,
    /// sums them and waits itself; otherwise waits.
    #[inline(always)]
    fn add(&mut self, mr: &mut MarketRisk, m: usize, qty: i64, x: &'a [i64; POINTS], gap: bool) {
        let slots = &mut self.waiting[m][gap as usize];
        match *slots {
            [Some((q0, x0)), Some((q1, x1)), Some((q2, x2))] => {
                *slots = [Some((qty, x)), None, None];
                let acc = if gap { &mut mr.gap } else { &mut mr.pnl };
                let started = &mut self.started[m][gap as usize];
                if *started {
                    mac_triple::<false, false>(acc, 0, [q0, q1, q2], [x0, x1, x2]);
                } else {
                    mac_triple::<false, true>(acc, 0, [q0, q1, q2], [x0, x1, x2]);
                    *started = true;
                }
            }
            [Some(_), Some(_), None] => slots[2] = Some((qty, x)),
            [Some(_), None, _] => slots[1] = Some((qty, x)),
            _ => slots[0] = Some((qty, x)),
        }
    }

    /// Adds every term still waiting and subtracts each market's mark total from its P&L in
    /// the same pass (what `finish` does otherwise): one to three terms a market are always
    /// left when it has any (the fourth term of a group sums the first three).
    fn flush_less_marks(self, out: &mut MarginBreakdown, n_markets: usize) {
        let markets = out.markets.iter_mut().zip(self.waiting).zip(self.started);
        for ((mr, w), started) in markets.take(n_markets) {
            let total = mr.mark_total;
            if started[0] {
                flush_into::<true, false>(&mut mr.pnl, total, w[0]);
            } else {
                flush_into::<true, true>(&mut mr.pnl, total, w[0]);
            }
            if started[1] {
                flush_into::<false, false>(&mut mr.gap, 0, w[1]);
            } else {
                flush_into::<false, true>(&mut mr.gap, 0, w[1]);
            }
        }
    }
}

/// The last pass over `acc`: the terms in `w` added (stored when `STORE`), `total` subtracted
/// when `SUB`.
#[inline(always)]
fn flush_into<const SUB: bool, const STORE: bool>(
    acc: &mut [i64; POINTS],
    total: i64,
    w: [Option<Term>; 3],
) {
    match w {
        [Some((qa, xa)), Some((qb, xb)), Some((qc, xc))] => {
            mac_triple::<SUB, STORE>(acc, total, [qa, qb, qc], [xa, xb, xc])
        }
        [Some((qa, xa)), Some((qb, xb)), None] => {
            mac_pair::<SUB, STORE>(acc, total, qa, xa, qb, xb)
        }
        [Some((q, x)), None, _] => mac_one::<SUB, STORE>(acc, total, q, x),
        _ if STORE => acc.fill(if SUB { total.wrapping_neg() } else { 0 }),
        _ if SUB => less(acc, total),
        _ => {}
    }
}

/// acc[p] −= total at every point, wrapping (the exact path: each P&L sum and the mark total
/// are below 2^62 in magnitude, so their difference is below 2^63).
#[inline(always)]
fn less(acc: &mut [i64; POINTS], total: i64) {
    for run in acc.as_chunks_mut::<RUN>().0 {
        for v in run {
            *v = v.wrapping_sub(total);
        }
    }
}

/// acc[p] += q·x[p] (− `total` when `SUB`; `acc` not read when `STORE`), wrapping, in runs of
/// `RUN_ONE`.
#[inline(always)]
fn mac_one<const SUB: bool, const STORE: bool>(
    acc: &mut [i64; POINTS],
    total: i64,
    q: i64,
    x: &[i64; POINTS],
) {
    for (a, x) in acc
        .as_chunks_mut::<RUN_ONE>()
        .0
        .iter_mut()
        .zip(x.as_chunks::<RUN_ONE>().0)
    {
        for j in 0..RUN_ONE {
            let v = if STORE { 0 } else { a[j] }.wrapping_add(q.wrapping_mul(x[j]));
            a[j] = if SUB { v.wrapping_sub(total) } else { v };
        }
    }
}

/// acc[p] += Σ q[i]·x[i][p] (− `total` when `SUB`; `acc` not read when `STORE`), wrapping
/// (exact on the exact path), for three terms in runs of `RUN3`.
#[inline(always)]
fn mac_triple<const SUB: bool, const STORE: bool>(
    acc: &mut [i64; POINTS],
    total: i64,
    q: [i64; 3],
    x: [&[i64; POINTS]; 3],
) {
    let [qa, qb, qc] = q;
    let runs = acc.as_chunks_mut::<RUN3>().0.iter_mut();
    for (((a, x0), x1), x2) in runs
        .zip(x[0].as_chunks::<RUN3>().0)
        .zip(x[1].as_chunks::<RUN3>().0)
        .zip(x[2].as_chunks::<RUN3>().0)
    {
        for j in 0..RUN3 {
            let v = if STORE { 0 } else { a[j] }
                .wrapping_add(qa.wrapping_mul(x0[j]))
                .wrapping_add(qb.wrapping_mul(x1[j]))
                .wrapping_add(qc.wrapping_mul(x2[j]));
            a[j] = if SUB { v.wrapping_sub(total) } else { v };
        }
    }
}

/// acc[p] += qa·xa[p] + qb·xb[p] (− `total` when `SUB`; `acc` not read when `STORE`),
/// wrapping (exact on the exact path), in runs of `RUN`.
#[inline(always)]
fn mac_pair<const SUB: bool, const STORE: bool>(
    acc: &mut [i64; POINTS],
    total: i64,
    qa: i64,
    xa: &[i64; POINTS],
    qb: i64,
    xb: &[i64; POINTS],
) {
    // Fixed-size runs through three advancing pointers: no index arithmetic, no bounds checks.
    let runs = acc.as_chunks_mut::<RUN>().0.iter_mut();
    for ((a, x), y) in runs
        .zip(xa.as_chunks::<RUN>().0)
        .zip(xb.as_chunks::<RUN>().0)
    {
        for j in 0..RUN {
            let v = if STORE { 0 } else { a[j] }
                .wrapping_add(qa.wrapping_mul(x[j]))
                .wrapping_add(qb.wrapping_mul(y[j]));
            a[j] = if SUB { v.wrapping_sub(total) } else { v };
        }
    }
}

/// `mac_all::<true>` (never fails).
#[inline(always)]
fn mac_all_exact(acc: &mut [i64; POINTS], qty: i64, x: &[i64; POINTS]) {
    for (a, x) in acc
        .as_chunks_mut::<RUN_ONE>()
        .0
        .iter_mut()
        .zip(x.as_chunks::<RUN_ONE>().0)
    {
        for j in 0..RUN_ONE {
            a[j] = a[j].wrapping_add(qty.wrapping_mul(x[j]));
        }
    }
}

/// An option position's sums: qty × its side's values at every point, qty × the gaps for a
/// long, qty × its mark, and qty × the hi mark ladder at the oracle's interval (net delta).
#[inline(always)]
fn add_option<const EXACT: bool>(
    mr: &mut MarketRisk,
    arr: &SeriesArray,
    long: bool,
    qty: i64,
    mark: i64,
    k: u8,
) -> RiskResult<()> {
    let b = if long { &arr.lo } else { &arr.hi };
    mac_all::<EXACT>(&mut mr.pnl, qty, &b.value)?;
    if long {
        mac_all::<EXACT>(&mut mr.gap, qty, &arr.gap)?;
    }
    mr.mark_total = mac::<EXACT>(mr.mark_total, qty, mark)?;
    let k = k as usize;
    mr.mark_edges[0] = mac::<EXACT>(mr.mark_edges[0], qty, arr.hi.mark[k])?;
    mr.mark_edges[1] = mac::<EXACT>(mr.mark_edges[1], qty, arr.hi.mark[k + 1])?;
    Ok(())
}

/// A future's sums: qty × the forward at every point, qty × the oracle price (its mark) and at
/// the oracle's mark-ladder interval (a delta of 1). Linear: no gap.
fn add_future(mr: &mut MarketRisk, a: &Anchor, qty: i64, spot: i64, exact: bool) -> RiskResult<()> {
    if exact {
        mac_all::<true>(&mut mr.pnl, qty, &a.fwd)?;
    } else {
        mac_all::<false>(&mut mr.pnl, qty, &a.fwd)?;
    }
    add_future_marks(mr, a, qty, spot)
}

/// [`add_future`]'s sums other than the per-point ones.
fn add_future_marks(mr: &mut MarketRisk, a: &Anchor, qty: i64, spot: i64) -> RiskResult<()> {
    let k = mr.window.mark.0 as usize;
    mr.mark_total = add(mr.mark_total, imul(qty, spot)?)?;
    mr.mark_edges[0] = add(mr.mark_edges[0], imul(qty, a.mark_fwd[k])?)?;
    mr.mark_edges[1] = add(mr.mark_edges[1], imul(qty, a.mark_fwd[k + 1])?)?;
    Ok(())
}

/// Per market: P&L, worst losses, net delta and add-ons; then the combination, the short
/// minimums, the long-only cap and the equities.
fn finish(
    p: &Portfolio,
    anchors: &[&Anchor],
    exact: bool,
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    finish_with(p, anchors, exact, true, None, out)
}

/// [`finish`], subtracting the mark totals from the P&L only when `less_marks` (with_arrays'
/// exact path has done it in its last pass, `Pending::flush_less_marks`), with the positions'
/// totals when `with_arrays` has summed them on the way ([`Totals`]).
fn finish_with(
    p: &Portfolio,
    anchors: &[&Anchor],
    exact: bool,
    less_marks: bool,
    totals: Option<Totals>,
    out: &mut MarginBreakdown,
) -> RiskResult<()> {
    let mut worst_im = [0i64; MAX_MARKETS];
    let mut worst_mm = [0i64; MAX_MARKETS];
    let (mut addons, mut short_im, mut short_mm) = (0i64, 0i64, 0i64);
    let mut horizon_root = addons::HorizonRoot::default();
    for (m, (mk, a)) in p.markets.iter().zip(anchors).enumerate() {
        let mr = &mut out.markets[m];
        // Exact (`sums_are_exact`): each P&L sum and the mark total are below 2^62 in
        // magnitude, so their difference is below 2^63.
        match (less_marks, exact) {
            (false, _) => {}
            (true, true) => less(&mut mr.pnl, mr.mark_total),
            (true, false) => {
                for v in mr.pnl.iter_mut() {
                    *v = sub(*v, mr.mark_total)?;
                }
            }
        }
        worst_losses(mr, mk.params, exact)?;
        let k = mr.window.mark.0 as usize;
        let width = sub(a.mark_fwd[k + 1], a.mark_fwd[k])?;
        let rise = sub(mr.mark_edges[1], mr.mark_edges[0])?;
        mr.net_delta = Fx::from_bits(if width > 0 {
            div_shift(rise, width, 32, Round::Floor).ok_or(RiskError::Overflow)?
        } else {
            0
        });
        let nd = mr.net_delta.to_bits().unsigned_abs().min(i64::MAX as u64) as i64;
        mr.conf_addon = addons::confidence(nd, mk.conf, mk.params)?;
        mr.impact_addon = addons::impact_with(
            mul(nd, mk.spot)?,
            mk.sigma.to_bits(),
            mk.params,
            &mut horizon_root,
        )?;
        worst_im[m] = mr.worst_im;
        worst_mm[m] = mr.worst_mm;
        addons = add(addons, add(mr.conf_addon, mr.impact_addon)?)?;
        short_im = add(short_im, mr.short_min_im)?;
        short_mm = add(short_mm, mr.short_min_mm)?;
    }
    let (value_mm, value_im, rounding) = match totals {
        Some(Totals { overflow, .. }) if overflow < 0 => return Err(RiskError::Overflow),
        Some(Totals {
            sums: [v, vi, r], ..
        }) => (v, vi, r),
        None => {
            let (mut value_mm, mut value_im, mut rounding) = (0i64, 0i64, 0i64);
            for pr in &out.positions[..p.positions.len()] {
                value_mm = add(value_mm, pr.value)?;
                value_im = add(value_im, pr.value_im)?;
                rounding = add(rounding, pr.rounding)?;
            }
            (value_mm, value_im, rounding)
        }
    };
    let n = p.markets.len();
    let (scan_im, offset_im) = combine(&worst_im[..n], p.correlations)?;
    let (scan_mm, offset_mm) = combine(&worst_mm[..n], p.correlations)?;
    let charge = add(rounding, rounding)?;
    let mut mm = add(add(scan_mm, addons)?.max(short_mm), charge)?;
    // IM ≥ MM holds by construction (MM's intervals are a subset of IM's, same add-ons); the
    // max only guards the last ulp of the square root in `combine`.
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

/// 4λ(1 − λ) (Q32.32, rounded up, at most 1): how far below its chord a convex value can lie
/// at position λ of an interval, as a share of the interval's gap.
fn shape(lambda: i64) -> RiskResult<i64> {
    if (lambda as u64) <= ONE as u64 {
        // 0 ≤ λ ≤ 1: λ·(1 − λ) ≤ 2^62 as integers, so ⌈λ(1 − λ)/2^32⌉ (`mul_ceil`) is one
        // unsigned multiply and a rounded shift.
        // Wrapping ops, exact by that bound: a checked 64-bit multiply would lower to a
        // 128-bit libcall in the SBF build.
        let p = (lambda as u64).wrapping_mul((ONE - lambda) as u64);
        return Ok(((((p + (ONE as u64 - 1)) >> 32) as i64) << 2).min(ONE));
    }
    Ok((mul_frac_ceil(lambda, ONE - lambda)? << 2).min(ONE))
}

/// The most the account can lose between positions `start` ≤ `stop` (Q32.32) of interval `p`
/// (points p, p + 1): the gap's share there minus the lower of the chord's two ends (the P&L is
/// at least chord − shape·gap, the chord is linear, the shape peaks at ½).
pub fn interval_loss(mr: &MarketRisk, p: usize, start: i64, stop: i64) -> RiskResult<i64> {
    loss_between(mr, p, start, stop)
}

/// [`interval_loss`], inlined into the scan (a whole interval, the usual case, is a min and a
/// difference).
#[inline(always)]
fn loss_between(mr: &MarketRisk, p: usize, start: i64, stop: i64) -> RiskResult<i64> {
    let (a, b) = (mr.pnl[p], mr.pnl[p + 1]);
    if start == 0 && stop == ONE {
        return sub(mr.gap[p], a.min(b));
    }
    let rise = sub(b, a)?;
    let low = add(a, mul_frac(rise, start)?)?.min(add(a, mul_frac(rise, stop)?)?);
    let g = if start <= ONE / 2 && stop >= ONE / 2 {
        mr.gap[p]
    } else {
        mul_frac_ceil(mr.gap[p], shape(start)?.max(shape(stop)?))?
    };
    sub(g, low)
}

/// Interval `i` of `span` as (start, stop) positions: the span's own ends in its first and last
/// interval, whole intervals between.
#[inline(always)]
fn span_part(span: Span, i: usize) -> (i64, i64) {
    let start = if i == span.first as usize {
        span.start
    } else {
        0
    };
    let stop = if i + 1 == span.end as usize {
        span.stop
    } else {
        ONE
    };
    (start.min(stop), stop)
}

/// Worst weighted loss over the IM range and worst loss over the MM range of one market: the
/// intervals of both main ladders that the range around the oracle price covers (in part at its
/// ends), then the extremes and named shocks (IM only, weighted) at their move from the oracle
/// price. `exact`: the sums are exact ([`sums_are_exact`]), so a whole interval's loss cannot
/// overflow ([`whole`]).
fn worst_losses(mr: &mut MarketRisk, params: &RiskParams, exact: bool) -> RiskResult<()> {
    let w = mr.window;
    let mut im = (mr.worst_im, mr.worst_im_interval);
    let mut mm = (mr.worst_mm, mr.worst_mm_interval);
    for l in [Ladder::Up, Ladder::Down] {
        if exact {
            scan_span::<true>(mr, l, w.im, &mut im)?;
            scan_span::<true>(mr, l, w.mm, &mut mm)?;
        } else {
            scan_span::<false>(mr, l, w.im, &mut im)?;
            scan_span::<false>(mr, l, w.mm, &mut mm)?;
        }
    }
    (mr.worst_im, mr.worst_im_interval) = im;
    (mr.worst_mm, mr.worst_mm_interval) = mm;
    for (l, &(k, lambda)) in LADDERS[2..].iter().zip(&w.mini) {
        let weight = match l {
            Ladder::Named0 => params.named_shocks[0].weight,
            Ladder::Named1 => params.named_shocks[1].weight,
            _ => params.extreme_weight,
        };
        let p = l.start() + k as usize;
        let loss = loss_at(mr, p, lambda)?;
        take_loss(mr, p, loss, weight.to_bits(), true, false)?;
    }
    Ok(())
}

/// The worst of `worst` (a loss and its interval) and the losses over `span` on ladder `l`, in
/// ascending order (a tie keeps the earlier interval). The intervals strictly inside the span are
/// whole ([`span_part`]): there the loss is gap − min(ends), in a tight loop of their own
/// ([`whole`]); the two end intervals take [`loss_between`] with their positions.
#[inline(always)]
fn scan_span<const EXACT: bool>(
    mr: &MarketRisk,
    l: Ladder,
    span: Span,
    worst: &mut (i64, u8),
) -> RiskResult<()> {
    let (first, end) = (span.first as usize, span.end as usize);
    if first >= end {
        return Ok(());
    }
    let base = l.start();
    let part = span_part(span, first);
    let loss = loss_between(mr, base + first, part.0, part.1)?;
    if loss > worst.0 {
        *worst = (loss, (base + first) as u8);
    }
    whole::<EXACT>(mr, base + first + 1, base + end - 1, worst)?;
    if end - 1 > first {
        let part = span_part(span, end - 1);
        let loss = loss_between(mr, base + end - 1, part.0, part.1)?;
        if loss > worst.0 {
            *worst = (loss, (base + end - 1) as u8);
        }
    }
    Ok(())
}

/// The whole intervals `from..to` (by their first point), in ascending order: each loss
/// gap − min(ends) offered to `worst`, which a later interval replaces only when strictly
/// larger. `EXACT`: the loss is a plain difference, exact on the exact path (each P&L is at most
/// 2·S in magnitude and a gap sum at most S/2 for the bound S of [`sums_are_exact`], so the
/// difference is below 2.5·2^61 < 2^63).
#[inline(never)]
fn whole<const EXACT: bool>(
    mr: &MarketRisk,
    from: usize,
    to: usize,
    worst: &mut (i64, u8),
) -> RiskResult<()> {
    if from >= to {
        return Ok(());
    }
    // Interval k reads points k and k + 1 and the gap of k: slices of exactly those.
    let (gaps, ends) = (&mr.gap[from..to], &mr.pnl[from + 1..to + 1]);
    let loss = |g: i64, left: i64, right: i64| -> RiskResult<i64> {
        let low = if right < left { right } else { left };
        if EXACT {
            Ok(g.wrapping_sub(low))
        } else {
            sub(g, low)
        }
    };
    let (mut best, mut at) = *worst;
    let mut left = mr.pnl[from];
    let mut k = from as u8;
    // Runs of four intervals a pass (neighbours share their point: no register shuffling of
    // the carried left end, a quarter of the loop overhead), then the rest one at a time; a new
    // worst is rare, so its update is laid out off the straight path (`cold_path`: without it
    // LLVM turns the two updates into selects, which BPF has no instruction for: four branches
    // and moves an interval). Offered in ascending order, ties keep the earlier, as before.
    const R: usize = 4;
    let (runs, rest) = gaps.as_chunks::<R>();
    let (end_runs, end_rest) = ends.as_chunks::<R>();
    for (g, e) in runs.iter().zip(end_runs) {
        let mut l = left;
        for j in 0..R {
            let x = loss(g[j], l, e[j])?;
            l = e[j];
            if x > best {
                core::hint::cold_path();
                best = x;
                at = k.wrapping_add(j as u8);
            }
        }
        left = l;
        k = k.wrapping_add(R as u8);
    }
    for (&g, &right) in rest.iter().zip(end_rest) {
        let x = loss(g, left, right)?;
        left = right;
        if x > best {
            core::hint::cold_path();
            best = x;
            at = k;
        }
        k = k.wrapping_add(1);
    }
    *worst = (best, at);
    Ok(())
}

/// [`loss_between`] at one position `lambda` of interval `p` (the mini ladders): the same bits
/// with the chord and the shape evaluated once.
#[inline(always)]
fn loss_at(mr: &MarketRisk, p: usize, lambda: i64) -> RiskResult<i64> {
    let (a, b) = (mr.pnl[p], mr.pnl[p + 1]);
    let low = add(a, mul_frac(sub(b, a)?, lambda)?)?;
    let g = if lambda == ONE / 2 {
        mr.gap[p]
    } else {
        mul_frac_ceil(mr.gap[p], shape(lambda)?)?
    };
    sub(g, low)
}

/// Records interval `p`'s loss as a candidate for the worst IM (weighted by `w`) and/or MM.
fn take_loss(
    mr: &mut MarketRisk,
    p: usize,
    loss: i64,
    w: i64,
    im: bool,
    mm: bool,
) -> RiskResult<()> {
    if loss <= 0 {
        return Ok(());
    }
    if im {
        // ⌈loss·w⌉: `mul_frac_ceil` is `mul_ceil`'s bits for any w (two multiplies for a
        // weight in [0, 1], which every legal parameter is).
        let weighted = mul_frac_ceil(loss, w)?;
        if weighted > mr.worst_im {
            mr.worst_im = weighted;
            mr.worst_im_interval = p as u8;
        }
    }
    if mm && loss > mr.worst_mm {
        mr.worst_mm = loss;
        mr.worst_mm_interval = p as u8;
    }
    Ok(())
}

/// A scenario point's description for reports: its ladder's name and its index in it.
pub fn point_name(p: usize) -> Option<(&'static str, usize)> {
    Ladder::of_point(p).map(|(l, i)| (l.name(), i))
}

#[cfg(test)]
mod tests;
