//! SPAN-style risk arrays (docs/risk-model.md §4.8): every series' value at every scenario point
//! of its market, priced once per market **anchor** (by a permissionless crank on-chain) so that
//! an account's margin check only sums quantity × array and prices nothing.
//!
//! An [`Anchor`] freezes a market's valuation state — time, oracle price, stable price, margin
//! and mark vols — and from it the scenario points: six ladders of log moves of the anchor
//! price, each valued at its own vol level. The anchor stays usable while the market stays near
//! it ([`Anchor::window`]): at most `array_max_age_secs` old, oracle and stable price within
//! `MOVE_STEPS` ladder steps, vols within `array_vol_tol`. Over that whole window a
//! [`SeriesArray`] bounds every value a margin check needs from both sides:
//!
//! - **lo**: time to expiry at the window's end, vols at their lowest; **hi**: time at the anchor,
//!   vols at their highest. Black-76 (rate 0) rises with time and vol, so the value at any
//!   moment and vol of the window lies in [lo, hi]. Longs are valued at lo, shorts at hi.
//! - Between two points an option's value, convex in the forward, lies below its chord and above
//!   the chord minus the **gap** (F_b − F_a)·(Δ_b − Δ_a)/4 (the most a convex function with those
//!   end slopes falls below its chord). A short's P&L is concave and needs no gap; a long's gap
//!   is stored with its lo values.
//!
//! So for any price inside an interval, Σ qty·V ≥ min(P_a, P_b) − Σ_long qty·gap: the margin
//! bounds the worst loss over a continuous price range, not only at its points.

use crate::error::{RiskError, RiskResult};
use crate::fx::{
    add, div_shift, mul, mul_ceil, mul_frac_ceil, mul_scale, mul_wide, sub, Fx, Round, ONE,
};
use crate::math::{exp, ln_scaled};
use crate::params::RiskParams;
use crate::pricing::black76::value_delta_at_inline;
use crate::pricing::greeks::greeks_at;
use crate::pricing::{sqrt_secs, SeriesKind, TotalVol};
use crate::scenario::{self, PRICE_STEPS};
use bytemuck::{Pod, Zeroable};

/// Ladder steps per IM range R: the main ladders' step is h = R / `RANGE_STEPS`.
pub const RANGE_STEPS: usize = 6;
/// The oracle price may move this many steps from the anchor's before the arrays are stale
/// (δ ≤ `MOVE_STEPS`·h): the main ladders extend this far beyond ±R.
pub const MOVE_STEPS: usize = 2;
/// Steps on each side of the main ladders.
pub const HALF_WIDTH: usize = RANGE_STEPS + MOVE_STEPS;
/// Fixed points of a main ladder (vol up, vol down): −HALF_WIDTH·h … +HALF_WIDTH·h.
pub const STEPS: usize = 2 * HALF_WIDTH + 1;
/// Strike points per main ladder: listed strikes inside the ladder, where a book's value has its
/// kinks (an option expiring within the horizon is worth its payoff there), merged into the
/// ladder in order of log move ([`Anchor::new`] chooses them).
pub const STRIKE_POINTS: usize = 8;
/// Points of a main ladder: the fixed steps and the strike points, ascending.
pub const MAIN: usize = STEPS + STRIKE_POINTS;
/// Points of a mini ladder around one extreme or named move: the move ± `MOVE_STEPS`·h.
pub const MINI: usize = 2 * MOVE_STEPS + 1;
/// Mark-ladder steps on each side of the anchor price (the mark step is δ / `MARK_STEPS`).
pub const MARK_STEPS: usize = 4;
/// Points of a mark ladder (oracle price, stable price).
pub const MARK: usize = 2 * MARK_STEPS + 1;
/// Scenario points per series: two main ladders and four mini ladders.
pub const POINTS: usize = 2 * MAIN + 4 * MINI;

/// A listed option series of the market: a candidate strike point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StrikeCandidate {
    /// Strike per contract.
    pub strike: i64,
    /// Expiry (unix seconds).
    pub expiry: i64,
}

/// One ladder of scenario points. Its points are consecutive in every per-point array, in
/// this order; interval `p` is [point p, point p + 1] (the last point of a ladder starts none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Ladder {
    /// The price range at vol up (weight 1; MM in its inner part).
    Up = 0,
    /// The price range at vol down.
    Down = 1,
    /// −E·R at vol up (IM, `extreme_weight`).
    ExtremeDown = 2,
    /// +E·R at vol up.
    ExtremeUp = 3,
    /// The first named shock at its vol (IM, its weight).
    Named0 = 4,
    /// The second named shock.
    Named1 = 5,
}

/// Every ladder, in layout order.
pub const LADDERS: [Ladder; 6] = [
    Ladder::Up,
    Ladder::Down,
    Ladder::ExtremeDown,
    Ladder::ExtremeUp,
    Ladder::Named0,
    Ladder::Named1,
];

impl Ladder {
    /// Index of its first point.
    pub const fn start(self) -> usize {
        match self {
            Ladder::Up => 0,
            Ladder::Down => MAIN,
            Ladder::ExtremeDown => 2 * MAIN,
            Ladder::ExtremeUp => 2 * MAIN + MINI,
            Ladder::Named0 => 2 * MAIN + 2 * MINI,
            Ladder::Named1 => 2 * MAIN + 3 * MINI,
        }
    }

    /// Its number of points (never zero).
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> usize {
        match self {
            Ladder::Up | Ladder::Down => MAIN,
            _ => MINI,
        }
    }

    /// Short name for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Ladder::Up => "vol up",
            Ladder::Down => "vol down",
            Ladder::ExtremeDown => "extreme down",
            Ladder::ExtremeUp => "extreme up",
            Ladder::Named0 => "named shock 1",
            Ladder::Named1 => "named shock 2",
        }
    }

    /// The ladder point `p` belongs to, and its index in that ladder.
    pub fn of_point(p: usize) -> Option<(Ladder, usize)> {
        let l = *LADDERS
            .iter()
            .find(|l| p >= l.start() && p < l.start() + l.len())?;
        Some((l, p - l.start()))
    }
}

/// A market's valuation state for one generation of risk arrays, and the scenario points it
/// defines. Stored zero-copy in the market account (`repr(C)`, no padding).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Anchor {
    /// When (unix seconds): the arrays hold from here to `ts + array_max_age_secs`.
    pub ts: i64,
    /// Oracle price per contract.
    pub spot: i64,
    /// Stable price per contract.
    pub stable_spot: i64,
    /// Margin vol (scenario vol levels and the range).
    pub sigma: Fx,
    /// Mark vol (marks and equity).
    pub mark_sigma: Fx,
    /// IM price range R as a log move: `RANGE_STEPS`·h.
    pub range: Fx,
    /// The main ladders' step h (log move).
    pub step: Fx,
    /// The mark ladders' step: δ / `MARK_STEPS` with δ ≤ `MOVE_STEPS`·h.
    pub mark_step: Fx,
    /// ln(spot) (Q32.32).
    pub ln_spot: i64,
    /// ln(stable price).
    pub ln_stable: i64,
    /// The largest forward of any point (for the rounding allowance).
    pub max_fwd: i64,
    /// The strike points, ascending (unused slots 0).
    pub strikes: [i64; STRIKE_POINTS],
    /// e^x (Q32.32) of the moves a check looks for from the oracle price: −R, +R, −R_MM, +R_MM
    /// (the range edges), then the centres of the four mini ladders.
    pub mults: [i64; 8],
    /// Log move of each scenario point from the anchor price.
    pub ln_move: [i64; POINTS],
    /// Forward per contract at each scenario point: spot·e^x, rounded down.
    pub fwd: [i64; POINTS],
    /// Forwards of the oracle mark ladder: spot·e^(k·mark_step), k = −MARK_STEPS…MARK_STEPS.
    pub mark_fwd: [i64; MARK],
    /// Forwards of the stable mark ladder around the stable price.
    pub stable_fwd: [i64; MARK],
}

/// A range of prices on a main ladder: the intervals `first..end`, the range starting at
/// position `start` of interval `first` and stopping at position `stop` of interval `end − 1`
/// (positions Q32.32 in [0, 1], linear in the forward).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// First interval.
    pub first: u8,
    /// One past the last interval.
    pub end: u8,
    /// Where the range starts in interval `first`.
    pub start: i64,
    /// Where it stops in interval `end − 1`.
    pub stop: i64,
}

/// A market's position relative to its anchor at one check ([`Anchor::window`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Seconds since the anchor.
    pub age: i64,
    /// The IM range around the oracle price on the main ladders.
    pub im: Span,
    /// The MM range (inside `im`).
    pub mm: Span,
    /// For each mini ladder (extreme down, extreme up, named 0, named 1): the interval holding
    /// its move from the oracle price and the position in it.
    pub mini: [(u8, i64); 4],
    /// The oracle price's mark-ladder interval and position in it.
    pub mark: (u8, i64),
    /// The stable price's.
    pub stable: (u8, i64),
}

/// One bound's values of a series.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Bound {
    /// Value per contract at each scenario point (end of the margin horizon).
    pub value: [i64; POINTS],
    /// Value per contract on the oracle mark ladder (now).
    pub mark: [i64; MARK],
    /// Value per contract on the stable mark ladder (now).
    pub stable: [i64; MARK],
}

/// A series' risk array: its values at every point of its market's anchor, both bounds, the
/// gaps of the lo bound and its greeks at the anchor. Stored zero-copy (`repr(C)`, no padding).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SeriesArray {
    /// Lower bound of every value over the anchor's window (longs).
    pub lo: Bound,
    /// Upper bound (shorts).
    pub hi: Bound,
    /// Per interval of the scenario points (indexed by its first point; 0 after a ladder's last
    /// point): how far the lo value may fall below its chord.
    pub gap: [i64; POINTS],
    /// The same for the oracle mark ladder.
    pub mark_gap: [i64; MARK],
    /// The same for the stable mark ladder.
    pub stable_gap: [i64; MARK],
    /// Delta (Q32.32), gamma (Q32.32), vega and theta (money) per contract at the anchor (mark
    /// vol): for display.
    pub greeks: [i64; 4],
}

/// Bytes of one series array (a compile-time check of the layout's size).
pub const SERIES_ARRAY_BYTES: usize = (3 * POINTS + 6 * MARK + 4) * 8;
const _: () = assert!(core::mem::size_of::<SeriesArray>() == SERIES_ARRAY_BYTES);
/// Bytes of an anchor.
pub const ANCHOR_BYTES: usize = (19 + STRIKE_POINTS + 2 * POINTS + 2 * MARK) * 8;
const _: () = assert!(core::mem::size_of::<Anchor>() == ANCHOR_BYTES);

/// `a·i` for a step count `i` (|i| ≤ 64), checked.
fn steps(h: i64, i: i64) -> RiskResult<i64> {
    let (hi, lo) = mul_wide(h.unsigned_abs(), i.unsigned_abs());
    if hi != 0 || lo > i64::MAX as u64 {
        return Err(RiskError::Overflow);
    }
    Ok(if (h < 0) != (i < 0) {
        -(lo as i64)
    } else {
        lo as i64
    })
}

/// Centre of a ladder's log moves: 0 for the main ladders, ∓E·R for the extremes, the shock's
/// move for a named ladder.
fn centre(l: Ladder, range: i64, params: &RiskParams) -> RiskResult<i64> {
    Ok(match l {
        Ladder::Up | Ladder::Down => 0,
        Ladder::ExtremeDown => -mul(range, params.extreme_multiple.to_bits())?,
        Ladder::ExtremeUp => mul(range, params.extreme_multiple.to_bits())?,
        Ladder::Named0 => params.named_shocks[0].ln_move.to_bits(),
        Ladder::Named1 => params.named_shocks[1].ln_move.to_bits(),
    })
}

impl Anchor {
    /// The anchor of a market at `ts` with oracle price `spot`, stable price `stable_spot` (both
    /// per contract), margin vol `sigma` (its range too) and mark vol `mark_sigma`; `listed` are
    /// the market's listed option series, from which the strike points are chosen
    /// ([`StrikeSelector`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ts: i64,
        spot: i64,
        stable_spot: i64,
        sigma: Fx,
        mark_sigma: Fx,
        params: &RiskParams,
        listed: impl IntoIterator<Item = StrikeCandidate>,
    ) -> RiskResult<Anchor> {
        Anchor::new_ranged(
            ts,
            spot,
            stable_spot,
            sigma,
            sigma,
            mark_sigma,
            params,
            listed,
        )
    }

    /// [`Anchor::new`] with the price range set from its own vol `range_sigma`
    /// (`VolState::range_sigma`, the margin vol with a speed limit on rises).
    #[allow(clippy::too_many_arguments)]
    pub fn new_ranged(
        ts: i64,
        spot: i64,
        stable_spot: i64,
        sigma: Fx,
        range_sigma: Fx,
        mark_sigma: Fx,
        params: &RiskParams,
        listed: impl IntoIterator<Item = StrikeCandidate>,
    ) -> RiskResult<Anchor> {
        let mut a = Anchor::zeroed();
        a.build(
            ts,
            spot,
            stable_spot,
            sigma,
            range_sigma,
            mark_sigma,
            params,
            listed,
        )?;
        Ok(a)
    }

    /// The main ladders' step h for a range vol: R / `RANGE_STEPS`, R = `scenario::im_range`.
    fn step_for(range_sigma: Fx, params: &RiskParams) -> RiskResult<i64> {
        let r = scenario::im_range(range_sigma, params)?;
        if r <= 0 {
            return Err(RiskError::Domain);
        }
        Ok((r as u64 / RANGE_STEPS as u64) as i64)
    }

    /// Whether this anchor's price range is still the one `range_sigma` sets, within the arrays'
    /// vol tolerance (`array_vol_tol`, relative, as for the margin and mark vols): the range
    /// vol moves only when the vol crank steps it, so the crank asks this and forgets the
    /// anchors when it is not (an anchor never built, `ts` 0, has no range to keep).
    pub fn range_holds(&self, range_sigma: Fx, params: &RiskParams) -> RiskResult<bool> {
        if self.ts == 0 {
            return Ok(true);
        }
        let range = steps(Anchor::step_for(range_sigma, params)?, RANGE_STEPS as i64)?;
        let built = self.range.to_bits();
        let tol = mul_frac_ceil(built.max(0), params.array_vol_tol.to_bits())?;
        Ok(sub(range, built)?.unsigned_abs() <= tol as u64)
    }

    /// [`Anchor::new_ranged`] in place (the program builds an anchor straight into its market
    /// account: a 1.5 KB value would crowd the 4 KiB SBF stack frame). On error `self` is
    /// unspecified.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    pub fn build(
        &mut self,
        ts: i64,
        spot: i64,
        stable_spot: i64,
        sigma: Fx,
        range_sigma: Fx,
        mark_sigma: Fx,
        params: &RiskParams,
        listed: impl IntoIterator<Item = StrikeCandidate>,
    ) -> RiskResult<()> {
        scenario::check_prices(spot, stable_spot, 0)?;
        let step = Anchor::step_for(range_sigma, params)?;
        let range = steps(step, RANGE_STEPS as i64)?;
        let mark_step = (steps(step, MOVE_STEPS as i64)? as u64 / MARK_STEPS as u64) as i64;
        let ln_spot = ln_scaled(spot, 0)?;
        let a = self;
        a.ts = ts;
        a.spot = spot;
        a.stable_spot = stable_spot;
        a.sigma = sigma;
        a.mark_sigma = mark_sigma;
        a.range = Fx::from_bits(range);
        a.step = Fx::from_bits(step);
        a.mark_step = Fx::from_bits(mark_step);
        a.ln_spot = ln_spot;
        a.ln_stable = ln_scaled(stable_spot, 0)?;
        a.max_fwd = spot.max(stable_spot);
        a.strikes = [0; STRIKE_POINTS];
        a.mults = [0; 8];
        // Strike points: the listed strikes strictly inside the main ladders.
        let edge = steps(step, HALF_WIDTH as i64)?;
        let kinked_by = ts
            .saturating_add(params.array_max_age_secs.max(0))
            .saturating_add(params.im_horizon_secs.max(0));
        let mut sel = StrikeSelector::new(edge, kinked_by);
        for c in listed.into_iter() {
            if c.strike > 0 {
                sel.offer(c.strike, sub(ln_scaled(c.strike, 0)?, ln_spot)?, c.expiry);
            }
        }
        let chosen = sel.ascending(&mut a.strikes);
        for l in LADDERS {
            let c = centre(l, range, params)?;
            let half = (l.len() / 2) as i64;
            if matches!(l, Ladder::Up | Ladder::Down) {
                main_points(a, l.start(), step, &chosen)?;
                continue;
            }
            for i in 0..l.len() {
                let x = add(c, steps(step, i as i64 - half)?)?;
                let p = l.start() + i;
                a.ln_move[p] = x;
                a.fwd[p] = mul(spot, exp(x)?)?;
            }
        }
        for k in 0..MARK {
            let x = steps(mark_step, k as i64 - MARK_STEPS as i64)?;
            let e = exp(x)?;
            a.mark_fwd[k] = mul(spot, e)?;
            a.stable_fwd[k] = mul(stable_spot, e)?;
        }
        // MM range = mm_steps/PRICE_STEPS of the IM range: mm_steps steps (RANGE_STEPS = 6).
        let mm = steps(step, params.mm_steps.min(PRICE_STEPS as u32) as i64)?;
        a.mults[..4].copy_from_slice(&[exp(-range)?, exp(range)?, exp(-mm)?, exp(mm)?]);
        for (slot, l) in a.mults[4..].iter_mut().zip(&LADDERS[2..]) {
            *slot = exp(centre(*l, range, params)?)?;
        }
        a.max_fwd = a
            .fwd
            .iter()
            .chain(a.mark_fwd.iter())
            .chain(a.stable_fwd.iter())
            .copied()
            .fold(a.max_fwd, i64::max);
        Ok(())
    }

    /// Whether a crank should replace this anchor at `now`: it is unusable, or half way through
    /// any of its tolerances (age, price move, vol drift), so that the previous anchor still
    /// covers the market while the pages are re-priced. A never-set (zero) anchor is due.
    pub fn is_due(
        &self,
        now: i64,
        spot: i64,
        stable_spot: i64,
        sigma: Fx,
        mark_sigma: Fx,
        params: &RiskParams,
    ) -> bool {
        let mut half = *params;
        half.array_max_age_secs /= 2;
        half.array_vol_tol = Fx::from_bits(params.array_vol_tol.to_bits() / 2);
        let inner = |fwd: &[i64; MARK], f: i64| {
            f >= fwd[MARK_STEPS / 2] && f <= fwd[MARK - 1 - MARK_STEPS / 2]
        };
        self.ts == 0
            || self
                .window(now, spot, stable_spot, sigma, mark_sigma, &half)
                .is_err()
            || !inner(&self.mark_fwd, spot)
            || !inner(&self.stable_fwd, stable_spot)
    }

    /// δ: the largest log move of the oracle (or stable) price from the anchor's that the
    /// arrays cover.
    pub fn max_move(&self) -> i64 {
        // mark_step ≤ range / MARK_STEPS: the product cannot overflow.
        self.mark_step.to_bits().wrapping_mul(MARK_STEPS as i64)
    }

    /// Where a check at `now` with these prices and vols falls relative to the anchor, or why
    /// the arrays cannot serve it: `ArraysExpired` (before the anchor or more than
    /// `array_max_age_secs` after it), `ArraysMoved` (oracle or stable price more than δ from
    /// the anchor's), `ArraysVolChanged` (a vol outside the anchor's ± `array_vol_tol`).
    pub fn window(
        &self,
        now: i64,
        spot: i64,
        stable_spot: i64,
        sigma: Fx,
        mark_sigma: Fx,
        params: &RiskParams,
    ) -> RiskResult<Window> {
        scenario::check_prices(spot, stable_spot, 0)?;
        let age = now.checked_sub(self.ts).ok_or(RiskError::Overflow)?;
        if age < 0 || age > params.array_max_age_secs {
            return Err(RiskError::ArraysExpired);
        }
        for (now_vol, anchor_vol) in [(sigma, self.sigma), (mark_sigma, self.mark_sigma)] {
            let tol = mul_frac_ceil(anchor_vol.to_bits().max(0), params.array_vol_tol.to_bits())?;
            if sub(now_vol.to_bits(), anchor_vol.to_bits())?.unsigned_abs() > tol as u64 {
                return Err(RiskError::ArraysVolChanged);
            }
        }
        // The mark ladders span exactly ±δ around the anchor's prices.
        let covers = |fwd: &[i64; MARK], f: i64| f >= fwd[0] && f <= fwd[MARK - 1];
        if !covers(&self.mark_fwd, spot) || !covers(&self.stable_fwd, stable_spot) {
            return Err(RiskError::ArraysMoved);
        }
        let main = &self.fwd[..MAIN];
        let span = |lo_mult: i64, hi_mult: i64| -> RiskResult<Span> {
            let (lo, hi) = (mul_scale(spot, lo_mult)?, mul_scale(spot, hi_mult)?);
            let (first, start) = locate(main, lo)?;
            let end = span_end(main, first as usize, hi);
            let stop = position(main, end - 1, hi)?;
            Ok(Span {
                first,
                end: end as u8,
                start,
                stop,
            })
        };
        let im = span(self.mults[0], self.mults[1])?;
        let mm = span(self.mults[2], self.mults[3])?;
        let mut mini = [(0u8, 0i64); 4];
        for ((slot, l), m) in mini.iter_mut().zip(&LADDERS[2..]).zip(&self.mults[4..]) {
            let f = &self.fwd[l.start()..l.start() + l.len()];
            *slot = locate(f, mul_scale(spot, *m)?)?;
        }
        Ok(Window {
            age,
            im,
            mm,
            mini,
            mark: locate(&self.mark_fwd, spot)?,
            stable: locate(&self.stable_fwd, stable_spot)?,
        })
    }
}

/// Chooses the strike points of an anchor: up to [`STRIKE_POINTS`] distinct listed strikes
/// strictly inside the main ladders (|ln K/S| below `HALF_WIDTH` steps), in priority order —
/// strikes of series that expire by the end of the arrays' last horizon first (their value is a
/// payoff with a kink at the strike), then nearest to the price, then lowest. Candidates are
/// offered one at a time into a sorted list of at most `STRIKE_POINTS`.
#[derive(Clone, Copy, Debug)]
pub struct StrikeSelector {
    edge: u64,
    kinked_by: i64,
    /// (priority key, ln(K/S), K), best first.
    best: [((bool, u64, i64), i64, i64); STRIKE_POINTS + 1],
    n: usize,
}

impl StrikeSelector {
    /// Strikes within `edge` (a log move) of the price; a series expiring by `kinked_by` is
    /// kinked.
    pub fn new(edge: i64, kinked_by: i64) -> StrikeSelector {
        StrikeSelector {
            edge: edge.unsigned_abs(),
            kinked_by,
            best: [((false, 0, 0), 0, 0); STRIKE_POINTS + 1],
            n: 0,
        }
    }

    /// Considers one listed series: its strike, ln(K/S) and expiry.
    pub fn offer(&mut self, strike: i64, x: i64, expiry: i64) {
        if x.unsigned_abs() >= self.edge {
            return;
        }
        let key = (expiry > self.kinked_by, x.unsigned_abs(), strike);
        let n = self.n;
        let mut i = match self.best[..n].iter().position(|b| b.2 == strike) {
            Some(i) if key < self.best[i].0 => i,
            Some(_) => return,
            None => {
                self.n += 1;
                n
            }
        };
        self.best[i] = (key, x, strike);
        while i > 0 && self.best[i].0 < self.best[i - 1].0 {
            self.best.swap(i, i - 1);
            i -= 1;
        }
        self.n = self.n.min(STRIKE_POINTS);
    }

    /// The chosen points as (ln(K/S), K) in ascending order (the rest `None`); their strikes
    /// into `strikes` (unused slots 0).
    pub fn ascending(
        &self,
        strikes: &mut [i64; STRIKE_POINTS],
    ) -> [Option<(i64, i64)>; STRIKE_POINTS] {
        let mut out = [None; STRIKE_POINTS];
        for (slot, b) in out.iter_mut().zip(&self.best[..self.n]) {
            *slot = Some((b.1, b.2));
        }
        out[..self.n].sort_unstable_by_key(|c| c.map(|(x, _)| x));
        *strikes = [0; STRIKE_POINTS];
        for (k, c) in strikes.iter_mut().zip(out.iter()) {
            *k = c.map_or(0, |(_, strike)| strike);
        }
        out
    }
}

/// Lays out a main ladder at `start`: the fixed steps (i − HALF_WIDTH)·h and the strike points
/// merged by log move (a fixed point first on a tie), forwards S·e^x at the steps and exactly K
/// at a strike point; unused strike slots repeat the last point (zero-width intervals).
fn main_points(
    a: &mut Anchor,
    start: usize,
    step: i64,
    chosen: &[Option<(i64, i64)>; STRIKE_POINTS],
) -> RiskResult<()> {
    let (mut i, mut j, mut p) = (0usize, 0usize, start);
    while i < STEPS || j < STRIKE_POINTS {
        let fixed = if i < STEPS {
            Some(steps(step, i as i64 - HALF_WIDTH as i64)?)
        } else {
            None
        };
        let strike = chosen.get(j).copied().flatten();
        let (x, f) = match (fixed, strike) {
            (Some(x), Some((xs, _))) if x <= xs => {
                i += 1;
                (x, mul(a.spot, exp(x)?)?)
            }
            (_, Some((xs, k))) => {
                j += 1;
                (xs, k)
            }
            (Some(x), None) => {
                i += 1;
                (x, mul(a.spot, exp(x)?)?)
            }
            (None, None) => {
                // Unused strike slots: repeat the last point.
                j += 1;
                (a.ln_move[p - 1], a.fwd[p - 1])
            }
        };
        a.ln_move[p] = x;
        a.fwd[p] = f;
        p += 1;
    }
    Ok(())
}

/// One past the last interval of a range from interval `first` (≤ `fwd.len()` − 2) of `fwd` up
/// to `hi`: one past the first interval from `first` whose right end reaches `hi`, or the last
/// one. As `let mut end = first + 1; while end + 1 < fwd.len() && fwd[end] < hi { end += 1 }`,
/// counted over the slice without an index and its bounds check (≈ 9 SBF instructions a step
/// against ≈ 5).
#[inline(always)]
fn span_end(fwd: &[i64], first: usize, hi: i64) -> usize {
    first
        + 1
        + fwd[first + 1..fwd.len() - 1]
            .iter()
            .take_while(|&&f| f < hi)
            .count()
}

/// The interval of an ascending ladder `fwd` holding `f` (the first whose right end is above
/// it, the last one past the top) and where in it `f` lies.
#[inline(always)]
fn locate(fwd: &[i64], f: i64) -> RiskResult<(u8, i64)> {
    let mut k = 0;
    while k + 2 < fwd.len() && fwd[k + 1] <= f {
        k += 1;
    }
    Ok((k as u8, position(fwd, k, f)?))
}

/// Where `f` lies in interval `k` of `fwd`: (f − F_k)/(F_k+1 − F_k), Q32.32 clamped to [0, 1]
/// (0 for a zero-width interval).
#[inline(always)]
fn position(fwd: &[i64], k: usize, f: i64) -> RiskResult<i64> {
    let width = sub(fwd[k + 1], fwd[k])?;
    if width <= 0 {
        return Ok(0);
    }
    let into = sub(f, fwd[k])?.clamp(0, width);
    Ok(fraction(into, width)?.min(ONE))
}

/// `⌊into·2^32 / width⌋` for `0 ≤ into ≤ width`, `width > 0`: `div_shift`'s result. Below 2^32
/// the width takes one native 64-bit division (`into·2^32 ≤ width·2^32 < 2^64`, so the quotient
/// is exact) instead of the 128/64 long division (each call placing a market's ranges ran ≈ 160
/// instructions in the SBF VM).
#[inline(always)]
fn fraction(into: i64, width: i64) -> RiskResult<i64> {
    if (width as u64) < 1 << 32 && (into as u64) <= width as u64 {
        return Ok((((into as u64) << 32) / width as u64) as i64);
    }
    div_shift(into, width, 32, Round::Floor).ok_or(RiskError::Overflow)
}

/// The most a convex value with deltas `da` (right of a) and `db` (left of b) can fall below its
/// chord over [fa, fb]: (fb − fa)·(db − da)/4, rounded up (0 if the computed deltas are not
/// increasing, which the exact ones always are).
fn gap(fa: i64, fb: i64, da: i64, db: i64) -> RiskResult<i64> {
    let dd = sub(db, da)?.max(0);
    let g = mul_ceil(sub(fb, fa)?.max(0), dd)?;
    Ok((g >> 2) + ((g & 3) != 0) as i64)
}

/// Seconds to expiry are capped at 10 years (a documented saturation).
const MAX_T_SECS: i64 = 10 * crate::pricing::SECONDS_PER_YEAR;

/// One bound's pricing inputs: time to expiry now, at the end of the horizon, and the vols.
struct BoundInputs {
    root_now: i64,
    root_end: i64,
    sigma: i64,
    mark_sigma: i64,
    up: i64,
    down: i64,
}

/// Prices `kind`/`strike`/`expiry` at every point of `anchor` into `out` (both bounds, gaps,
/// greeks). The arrays of a series are a pure function of the anchor, the market's parameters
/// and the series: anyone can recompute them bit for bit (`keel verify`).
#[inline(never)]
pub fn price_series(
    anchor: &Anchor,
    params: &RiskParams,
    kind: SeriesKind,
    strike: i64,
    expiry: i64,
    out: &mut SeriesArray,
) -> RiskResult<()> {
    if kind.is_option() && strike <= 0 {
        return Err(RiskError::NonPositivePrice);
    }
    let lm0 = if kind.is_option() {
        sub(anchor.ln_spot, ln_scaled(strike, 0)?)?
    } else {
        0
    };
    let lm0_stable = if kind.is_option() {
        sub(anchor.ln_stable, ln_scaled(strike, 0)?)?
    } else {
        0
    };
    let t_hi = expiry.saturating_sub(anchor.ts).clamp(0, MAX_T_SECS);
    let t_lo = t_hi.saturating_sub(params.array_max_age_secs.max(0)).max(0);
    let h = params.im_horizon_secs.max(0);
    let tol = params.array_vol_tol.to_bits().max(0);
    let (sig, msig) = (
        anchor.sigma.to_bits().max(0),
        anchor.mark_sigma.to_bits().max(0),
    );
    // Vol-shock multipliers: up falls and down rises with time to expiry.
    let (up_at_hi, down_at_hi) = scenario::vol_multipliers(t_hi, params)?;
    let (up_at_lo, down_at_lo) = scenario::vol_multipliers(t_lo, params)?;
    let lo = BoundInputs {
        root_now: sqrt_secs(t_lo)?,
        root_end: sqrt_secs(t_lo.saturating_sub(h))?,
        sigma: mul(sig, sub(ONE, tol)?)?,
        mark_sigma: mul(msig, sub(ONE, tol)?)?,
        up: up_at_hi,
        down: down_at_lo,
    };
    let hi = BoundInputs {
        root_now: sqrt_secs(t_hi)?,
        root_end: sqrt_secs(t_hi.saturating_sub(h))?,
        sigma: mul_ceil(sig, add(ONE, tol)?)?,
        mark_sigma: mul_ceil(msig, add(ONE, tol)?)?,
        up: up_at_lo,
        down: down_at_hi,
    };
    out.gap = [0; POINTS];
    out.mark_gap = [0; MARK];
    out.stable_gap = [0; MARK];
    for (is_lo, b) in [(true, &lo), (false, &hi)] {
        let bound = if is_lo { &mut out.lo } else { &mut out.hi };
        for l in LADDERS {
            let mult = match l {
                Ladder::Up | Ladder::ExtremeDown | Ladder::ExtremeUp => b.up,
                Ladder::Down => b.down,
                Ladder::Named0 => params.named_shocks[0].vol_mult.to_bits(),
                Ladder::Named1 => params.named_shocks[1].vol_mult.to_bits(),
            };
            let tv = TotalVol::new(mul(b.sigma, mult)?, b.root_end)?;
            // The lo bound's gap of interval [p − 1, p] from the right delta at p − 1 and the
            // left delta at p (no per-ladder buffer: the SBF stack frame is 4 KiB).
            let mut prev_delta = 0;
            for p in l.start()..l.start() + l.len() {
                let lm = add(lm0, anchor.ln_move[p])?;
                let v = value_delta_at_inline(kind, anchor.fwd[p], strike, lm, tv)?;
                bound.value[p] = v.value;
                if is_lo && p > l.start() {
                    out.gap[p - 1] =
                        gap(anchor.fwd[p - 1], anchor.fwd[p], prev_delta, v.delta_left)?;
                }
                prev_delta = v.delta_right;
            }
        }
        let tv_mark = TotalVol::new(b.mark_sigma, b.root_now)?;
        let (mut prev_mark, mut prev_stable) = (0, 0);
        for k in 0..MARK {
            let x = steps(anchor.mark_step.to_bits(), k as i64 - MARK_STEPS as i64)?;
            let m = value_delta_at_inline(kind, anchor.mark_fwd[k], strike, add(lm0, x)?, tv_mark)?;
            let st = value_delta_at_inline(
                kind,
                anchor.stable_fwd[k],
                strike,
                add(lm0_stable, x)?,
                tv_mark,
            )?;
            bound.mark[k] = m.value;
            bound.stable[k] = st.value;
            if is_lo && k > 0 {
                let f = &anchor.mark_fwd;
                out.mark_gap[k - 1] = gap(f[k - 1], f[k], prev_mark, m.delta_left)?;
                let f = &anchor.stable_fwd;
                out.stable_gap[k - 1] = gap(f[k - 1], f[k], prev_stable, st.delta_left)?;
            }
            (prev_mark, prev_stable) = (m.delta_right, st.delta_right);
        }
    }
    let root = sqrt_secs(t_hi)?;
    let g = greeks_at(
        kind,
        anchor.spot,
        lm0,
        TotalVol::new(msig, root)?,
        msig,
        root,
    )?;
    out.greeks = [g.delta.to_bits(), g.gamma.to_bits(), g.vega, g.theta];
    Ok(())
}

#[cfg(test)]
mod tests;
