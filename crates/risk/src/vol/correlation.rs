//! EWMA covariance and correlation of two underlyings from synchronised observations
//! (docs/risk-model.md §3.4), and the effective correlation used for offsets (§4.5).

use super::ewma;
use crate::error::{RiskError, RiskResult};
use crate::fx::{div, mul, Fx, ONE};
use crate::math::sqrt;
use bytemuck::{Pod, Zeroable};

/// Covariance state of one pair of markets (stored in the program's Correlation account).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CorrelationState {
    /// Last accepted price of the first market.
    pub last_price_a: i64,
    /// Last accepted price of the second market.
    pub last_price_b: i64,
    /// Time of the last accepted pair.
    pub last_ts: i64,
    /// EWMA annualised variance of the first market's returns.
    pub var_a: Fx,
    /// EWMA annualised variance of the second market's returns.
    pub var_b: Fx,
    /// EWMA annualised covariance.
    pub cov: Fx,
    /// Accepted observations.
    pub n_obs: u64,
    /// Room to grow.
    pub reserved: [u64; 4],
}

impl CorrelationState {
    /// Folds in one synchronised pair of prices observed at `ts`. Errors change nothing.
    pub fn observe(
        &mut self,
        pa: i64,
        pb: i64,
        ts: i64,
        tau_secs: i64,
        min_interval: i64,
        cap: Fx,
    ) -> RiskResult<()> {
        if pa <= 0 || pb <= 0 {
            return Err(RiskError::NonPositivePrice);
        }
        if self.n_obs == 0 {
            *self = CorrelationState {
                last_price_a: pa,
                last_price_b: pb,
                last_ts: ts,
                n_obs: 1,
                ..Default::default()
            };
            return Ok(());
        }
        if ts <= self.last_ts {
            return Err(RiskError::OutOfOrderObservation);
        }
        let dt = ts - self.last_ts;
        if dt < min_interval {
            return Err(RiskError::ObservationTooSoon);
        }
        let ra = ewma::log_return(self.last_price_a, pa)?;
        let rb = ewma::log_return(self.last_price_b, pb)?;
        let cap = cap.to_bits();
        // The first return seeds the moments at full weight (a zero-length EWMA).
        let (dt_w, tau) = if self.n_obs == 1 {
            (i64::MAX >> 1, 1)
        } else {
            (dt, tau_secs)
        };
        let step =
            |v: Fx, sample: i64| ewma::update(v.to_bits(), sample, dt_w, tau).map(Fx::from_bits);
        let next = CorrelationState {
            last_price_a: pa,
            last_price_b: pb,
            last_ts: ts,
            var_a: step(self.var_a, ewma::variance_sample(ra, dt, cap)?)?,
            var_b: step(self.var_b, ewma::variance_sample(rb, dt, cap)?)?,
            cov: step(self.cov, ewma::covariance_sample(ra, rb, dt, cap)?)?,
            n_obs: self.n_obs.saturating_add(1),
            reserved: self.reserved,
        };
        *self = next;
        Ok(())
    }

    /// ρ = cov/√(var_a·var_b) in [−1, 1]; 1 (no offset) until both variances are positive.
    pub fn rho(&self) -> RiskResult<Fx> {
        let (va, vb) = (self.var_a.to_bits(), self.var_b.to_bits());
        if va <= 0 || vb <= 0 || self.n_obs < 2 {
            return Ok(Fx::ONE);
        }
        let denom = mul(sqrt(va)?, sqrt(vb)?)?;
        if denom <= 0 {
            return Ok(Fx::ONE);
        }
        Ok(Fx::from_bits(
            div(self.cov.to_bits(), denom)?.clamp(-ONE, ONE),
        ))
    }
}

/// The correlation used for a margin offset: max(ρ, floor) clipped to [0, 1]. Never negative,
/// which keeps the combined loss monotone in every per-underlying loss (so IM ≥ MM survives).
pub fn effective(rho: Fx, floor: Fx) -> Fx {
    rho.max(floor).clamp(Fx::ZERO, Fx::ONE)
}
