//! Black-76 with rate 0: `C = F·N(d1) − K·N(d2)`, `P = K·N(−d2) − F·N(−d1)`,
//! `d1 = ln(F/K)/w + w/2`, `d2 = d1 − w`, `w = σ√T` (docs/risk-model.md §2.1).
//!
//! The scenario grid calls `value_at` with everything that does not change across scenarios
//! precomputed once per series (`TotalVol`: w and 1/w), so one valuation is one multiply for d1,
//! two table cdfs and two money products.

use super::{per_sqrt_year, sqrt_secs, SeriesKind};
use crate::error::{RiskError, RiskResult};
use crate::fx::{mul, mul_prob, mul_sat, mul_small, mul_small_domain, recip, sub, Fx, ONE};
use crate::math::{cdf, ln_scaled};

/// Total volatility `w = σ√T` and its reciprocal, in Q32.32, fixed per series and vol level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TotalVol {
    /// σ√T.
    pub w: i64,
    /// 1/w; 0 marks "no time value" (w below the Q32.32 grid, expiry passed, or zero vol).
    pub inv_w: i64,
}

impl TotalVol {
    /// From σ (Q32.32) and √t (`sqrt_secs`, Q32.32 of the root of seconds): w = σ·√t/√year.
    pub fn new(sigma: i64, root_secs: i64) -> RiskResult<TotalVol> {
        TotalVol::from_w(per_sqrt_year(mul(sigma.max(0), root_secs)?)?)
    }

    /// From w directly. A `w` of at most 2 ulp (1/w does not fit in Q32.32) has no time value
    /// worth a unit: intrinsic.
    pub fn from_w(w: i64) -> RiskResult<TotalVol> {
        if w <= 2 {
            return Ok(TotalVol { w: 0, inv_w: 0 });
        }
        Ok(TotalVol {
            w,
            inv_w: recip(w)?,
        })
    }

    /// The same option at `mult`×σ (a vol-shock scenario).
    pub fn scaled(self, mult: i64) -> RiskResult<TotalVol> {
        if self.inv_w == 0 {
            return Ok(self);
        }
        TotalVol::from_w(mul(self.w, mult)?)
    }
}

/// Intrinsic value per contract at forward `fwd`: what the option pays if it expired now.
#[inline]
pub fn intrinsic(kind: SeriesKind, fwd: i64, strike: i64) -> i64 {
    match kind {
        SeriesKind::Call => fwd.saturating_sub(strike).max(0),
        SeriesKind::Put => strike.saturating_sub(fwd).max(0),
        SeriesKind::Future => fwd,
    }
}

/// Value of one contract at forward `fwd` (money), `strike` (money), log-moneyness
/// `lm = ln(fwd/strike)` (Q32.32) and total vol `tv`.
///
/// The result is clamped to the no-arbitrage bounds [intrinsic, F] (call) / [intrinsic, K] (put),
/// which the exact price satisfies: it only removes approximation error at the extremes.
/// Accuracy on the documented domain: within 4e-9·F + 1 native unit of exact Black-76
/// (`tests/pricing.rs::{matches_f64_black76, worst_cases_are_within_the_bound}`).
///
/// This is the risk arrays' inner loop (about 160 calls per series per crank), so it has a
/// fast path for the domain every margin valuation is in — non-negative prices, |ln(F/K)| < 256,
/// 1/w < 2^22, w < 2^30 — where no saturation or overflow can occur, so the products need no
/// sign handling or overflow test ([`crate::fx::mul_small`]) and F·N(d) takes two partial
/// multiplies instead of four ([`crate::fx::mul_prob`]). Both paths give the same bits
/// (`src/pricing/tests.rs::fast_path_is_bit_identical`); the general path keeps every other
/// input total.
#[inline]
pub fn value_at(kind: SeriesKind, fwd: i64, strike: i64, lm: i64, tv: TotalVol) -> RiskResult<i64> {
    Ok(value_delta_at_inline(kind, fwd, strike, lm, tv)?.value)
}

/// A value and its delta ∂V/∂F (Q32.32, contracts of underlying): N(d1) for a call, −N(−d1)
/// for a put, 1 for a future — the probabilities Black-76 already computes, so the delta costs
/// nothing. At expiry the delta is a step; exactly at the strike the right and left deltas
/// differ (a call: 1 on the right, 0 on the left); elsewhere they are equal. The risk arrays
/// use them to bound a long option's value between two price points (`array`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Valued {
    /// Value per contract.
    pub value: i64,
    /// ∂V/∂F from the right (Q32.32).
    pub delta_right: i64,
    /// ∂V/∂F from the left (Q32.32).
    pub delta_left: i64,
}

/// [`value_at`] with its deltas ([`Valued`]).
#[inline]
pub fn value_delta_at(
    kind: SeriesKind,
    fwd: i64,
    strike: i64,
    lm: i64,
    tv: TotalVol,
) -> RiskResult<Valued> {
    value_delta_at_inline(kind, fwd, strike, lm, tv)
}

/// [`value_delta_at`], always inlined: for the risk arrays' loops, where a call (five arguments, a
/// `TotalVol` on the stack, a `Result` through memory) would cost a tenth of it.
#[inline(always)]
pub(crate) fn value_delta_at_inline(
    kind: SeriesKind,
    fwd: i64,
    strike: i64,
    lm: i64,
    tv: TotalVol,
) -> RiskResult<Valued> {
    if !kind.is_option() {
        return Ok(Valued {
            value: fwd,
            delta_right: ONE,
            delta_left: ONE,
        });
    }
    if in_fast_domain(fwd, strike, lm, tv) {
        return Ok(value_fast(kind, fwd, strike, lm, tv));
    }
    value_general(kind, fwd, strike, lm, tv)
}

/// `value_at`'s fast-path domain (see there).
#[inline(always)]
fn in_fast_domain(fwd: i64, strike: i64, lm: i64, tv: TotalVol) -> bool {
    (fwd | strike) >= 0 && tv.inv_w > 0 && mul_small_domain(lm, tv.inv_w) && (tv.w as u64) < FAST_W
}

/// w bound of the fast path: 2^62 (so d1 and d2 below cannot overflow).
const FAST_W: u64 = 1 << 62;

/// `value_at` on its fast domain. |lm·(1/w)| < 2^62 (`mul_small`), so with 0 ≤ w < 2^62,
/// d1 = lm/w + w/2 ∈ (−2^62, 2^62 + 2^61) and d2 = d1 − w ∈ (−2^63, 2^62 + 2^61): none of
/// the general path's saturations can trigger, and ±d1, ±d2 are exact. The cdf is in [0, 1], so
/// each money product lies in [0, F] or [0, K] and their difference cannot overflow.
///
/// The arithmetic is `wrapping_*` because these bounds make it exact: with the program's
/// `overflow-checks = true` a plain `+` would carry a (here dead) overflow test.
#[inline(always)]
fn value_fast(kind: SeriesKind, fwd: i64, strike: i64, lm: i64, tv: TotalVol) -> Valued {
    let d1 = mul_small(lm, tv.inv_w).wrapping_add(tv.w >> 1);
    let d2 = d1.wrapping_sub(tv.w);
    let (v, delta, floor, cap) = match kind {
        SeriesKind::Call => {
            let n1 = cdf(d1);
            (
                mul_prob(fwd, n1).wrapping_sub(mul_prob(strike, cdf(d2))),
                n1,
                fwd.wrapping_sub(strike).max(0),
                fwd,
            )
        }
        _ => {
            let n1 = cdf(d1.wrapping_neg());
            (
                mul_prob(strike, cdf(d2.wrapping_neg())).wrapping_sub(mul_prob(fwd, n1)),
                n1.wrapping_neg(),
                strike.wrapping_sub(fwd).max(0),
                strike,
            )
        }
    };
    Valued {
        value: v.clamp(floor, cap.max(floor)),
        delta_right: delta,
        delta_left: delta,
    }
}

/// `value_at` for any input (total).
#[inline(never)]
fn value_general(
    kind: SeriesKind,
    fwd: i64,
    strike: i64,
    lm: i64,
    tv: TotalVol,
) -> RiskResult<Valued> {
    let floor = intrinsic(kind, fwd, strike);
    if tv.inv_w == 0 {
        // The payoff's delta: a call's is 1 above the strike, a put's −1 below it.
        let (right, left) = match kind {
            SeriesKind::Call => (fwd >= strike, fwd > strike),
            _ => (fwd < strike, fwd <= strike),
        };
        let delta = |on: bool| match (on, kind) {
            (false, _) => 0,
            (true, SeriesKind::Call) => ONE,
            (true, _) => -ONE,
        };
        return Ok(Valued {
            value: floor,
            delta_right: delta(right),
            delta_left: delta(left),
        });
    }
    // Saturation is exact here: |d| beyond 8.5 already gives N = 0 or 1.
    let d1 = mul_sat(lm, tv.inv_w).saturating_add(tv.w >> 1);
    let d2 = d1.saturating_sub(tv.w);
    let (v, delta, cap) = match kind {
        SeriesKind::Call => {
            let n1 = cdf(d1);
            (sub(mul(fwd, n1)?, mul(strike, cdf(d2))?)?, n1, fwd)
        }
        // d1, d2 may have saturated at i64::MIN: negate saturating (cdf(i64::MAX) = 1 exactly).
        _ => {
            let n1 = cdf(d1.saturating_neg());
            (
                sub(mul(strike, cdf(d2.saturating_neg()))?, mul(fwd, n1)?)?,
                -n1,
                strike,
            )
        }
    };
    Ok(Valued {
        value: v.clamp(floor, cap.max(floor)),
        delta_right: delta,
        delta_left: delta,
    })
}

/// The general path, for tests of the fast one.
#[cfg(test)]
pub(crate) fn value_at_general(
    kind: SeriesKind,
    fwd: i64,
    strike: i64,
    lm: i64,
    tv: TotalVol,
) -> RiskResult<Valued> {
    if !kind.is_option() {
        return value_delta_at(kind, fwd, strike, lm, tv);
    }
    value_general(kind, fwd, strike, lm, tv)
}

/// Black-76 value per contract for a spot/forward `fwd` and `strike` in native quote units,
/// annualised `sigma`, and `t_secs` to expiry. Expired (`t_secs ≤ 0`) or zero-vol options are worth
/// their intrinsic value; futures are worth `fwd`.
pub fn black76(kind: SeriesKind, fwd: i64, strike: i64, sigma: Fx, t_secs: i64) -> RiskResult<i64> {
    if fwd <= 0 || (kind.is_option() && strike <= 0) {
        return Err(RiskError::NonPositivePrice);
    }
    if !kind.is_option() {
        return Ok(fwd);
    }
    let lm = ln_scaled(fwd, 0)? - ln_scaled(strike, 0)?;
    let tv = TotalVol::new(sigma.to_bits(), sqrt_secs(t_secs)?)?;
    value_at(kind, fwd, strike, lm, tv)
}
