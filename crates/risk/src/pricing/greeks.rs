//! Black-76 greeks per contract at the mark (docs/risk-model.md §2.2), for display, the
//! oracle-confidence add-on and the impact add-on (both use delta).

use super::black76::TotalVol;
use super::{per_sqrt_year, sqrt_secs, SeriesKind};
use crate::error::{RiskError, RiskResult};
use crate::fx::{div_shift, fx, mul, mul_sat, udiv_ceil, Fx, Round, ONE};
use crate::math::{cdf, ln_scaled, pdf};

/// Sensitivities of one contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Greeks {
    /// ∂V/∂F: N(d1) for a call, N(d1) − 1 for a put, 1 for a future (contracts of underlying).
    pub delta: Fx,
    /// ∂delta/∂ln F = φ(d1)/w: the change of delta for a 100% log move (0 at expiry).
    pub gamma: Fx,
    /// ∂V/∂σ per vol point (σ + 0.01), money per contract: F·φ(d1)·√T / 100.
    pub vega: i64,
    /// ∂V/∂t per day, money per contract: −F·φ(d1)·σ / (2√T) / 365.
    pub theta: i64,
}

/// √(seconds per year) in Q32.32.
const SQRT_YEAR_Q32: i64 = 24_119_214_769_733;

/// Greeks from the precomputed per-series pieces (the margin engine calls this at the mark);
/// `root_secs` is `sqrt_secs(t)`.
pub fn greeks_at(
    kind: SeriesKind,
    fwd: i64,
    lm: i64,
    tv: TotalVol,
    sigma: i64,
    root_secs: i64,
) -> RiskResult<Greeks> {
    if !kind.is_option() {
        return Ok(Greeks {
            delta: fx(ONE),
            ..Greeks::default()
        });
    }
    if tv.inv_w == 0 {
        // At expiry (or zero vol) delta is the step function; gamma, vega and theta vanish.
        let itm = match kind {
            SeriesKind::Call => lm > 0,
            _ => lm < 0,
        };
        let delta = match (kind, itm) {
            (SeriesKind::Call, true) => ONE,
            (SeriesKind::Put, true) => -ONE,
            _ => 0,
        };
        return Ok(Greeks {
            delta: fx(delta),
            ..Greeks::default()
        });
    }
    let d1 = mul_sat(lm, tv.inv_w).saturating_add(tv.w >> 1);
    let n1 = cdf(d1);
    let delta = if kind == SeriesKind::Call {
        n1
    } else {
        n1 - ONE
    };
    let phi = pdf(d1);
    let gamma = mul(phi, tv.inv_w)?;
    // vega = F·φ·√t/√year/100; theta = −F·φ·σ·√year/(2·365·√t). Both from √seconds, which keeps
    // full precision for short expiries (tv.inv_w ≠ 0 implies root_secs > 0). Display values.
    let f_phi = mul(fwd, phi)?;
    let vega = per_sqrt_year(mul(f_phi, root_secs)?)?.max(0) as u64 / 100;
    let per_root = div_shift(
        mul(mul(f_phi, sigma)?, SQRT_YEAR_Q32)?,
        root_secs,
        32,
        Round::Ceil,
    )
    .ok_or(RiskError::Overflow)?;
    let theta = -(udiv_ceil(per_root.max(0) as u64, 730) as i64);
    Ok(Greeks {
        delta: fx(delta),
        gamma: fx(gamma),
        vega: vega as i64,
        theta,
    })
}

/// Greeks of one contract: same inputs as [`super::black76`].
pub fn greeks(
    kind: SeriesKind,
    fwd: i64,
    strike: i64,
    sigma: Fx,
    t_secs: i64,
) -> RiskResult<Greeks> {
    if fwd <= 0 || (kind.is_option() && strike <= 0) {
        return Err(RiskError::NonPositivePrice);
    }
    let lm = if kind.is_option() {
        ln_scaled(fwd, 0)? - ln_scaled(strike, 0)?
    } else {
        0
    };
    let root_secs = sqrt_secs(t_secs)?;
    let tv = TotalVol::new(sigma.to_bits(), root_secs)?;
    greeks_at(kind, fwd, lm, tv, sigma.to_bits(), root_secs)
}
