//! Volatility: the state a market keeps, and the crank step that folds an oracle observation
//! into it (docs/risk-model.md §3). The margin reads only `VolState::margin_vol`.

pub mod apc;
pub mod blend;
pub mod correlation;
pub mod ewma;
pub mod fills;
pub mod garch;

pub use blend::ImpliedVol;
pub use correlation::CorrelationState;

use crate::error::{RiskError, RiskResult};
use crate::fx::Fx;
use crate::params::RiskParams;
use crate::stable_price;
use bytemuck::{Pod, Zeroable};

/// A market's volatility and stable-price state (stored zero-copy in the Market account).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VolState {
    /// Last accepted oracle price (the unit cancels in returns).
    pub last_price: i64,
    /// Time of the last accepted observation.
    pub last_ts: i64,
    /// EWMA annualised variance.
    pub ewma_var: Fx,
    /// GARCH(1,1) annualised conditional variance.
    pub garch_var: Fx,
    /// √ of the EWMA/GARCH-forecast blend.
    pub hist_vol: Fx,
    /// After the implied-vol blend, before APC.
    pub raw_vol: Fx,
    /// The vol in force for margin (after APC).
    pub margin_vol: Fx,
    /// Manipulation-resistant price for initial margin, same unit as `last_price`.
    pub stable_price: i64,
    /// Accepted observations.
    pub n_obs: u64,
    /// The vol the price range is set from: `margin_vol` with a speed limit on rises
    /// (`apc::range_step`; 0 in a state stepped before it existed: read it through
    /// [`VolState::range_sigma`]).
    pub range_vol: Fx,
    /// EWMA annualised variance of the crank's returns with the short τ `realised_tau_secs`
    /// (0 while it is 0, and in a state stepped before it existed).
    pub realised_var: Fx,
    /// √`realised_var`, rounded up (0 when none): what the liquidation trigger compares with
    /// the margin vol (`liquidation::realised_stress`).
    pub realised_vol: Fx,
    /// Room to grow.
    pub reserved: [u64; 4],
}

/// What one observation did (for the crank's event).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VolStep {
    /// Log return since the last observation.
    pub log_return: Fx,
    /// Annualised variance sample.
    pub sample_var: Fx,
    /// EWMA weight given to it.
    pub ewma_weight: Fx,
    /// Seconds since the last observation.
    pub dt_secs: i64,
}

impl VolState {
    /// The vol positions are marked at: the blended estimate before anti-procyclicality
    /// (`raw_vol`), or the margin vol before the first observation has set it.
    pub fn mark_vol(&self) -> Fx {
        if self.raw_vol > Fx::ZERO {
            self.raw_vol
        } else {
            self.margin_vol
        }
    }

    /// The vol the scenario grid's price range is set from: `range_vol`, or the margin vol in a
    /// state that has none yet.
    pub fn range_sigma(&self) -> Fx {
        if self.range_vol > Fx::ZERO {
            self.range_vol
        } else {
            self.margin_vol
        }
    }

    /// A new market's state: variances seeded at the GARCH long-run variance.
    pub fn new(price: i64, ts: i64, p: &RiskParams) -> RiskResult<VolState> {
        if price <= 0 {
            return Err(RiskError::NonPositivePrice);
        }
        let mut s = VolState {
            last_price: price,
            last_ts: ts,
            ewma_var: p.garch_long_run_var,
            garch_var: p.garch_long_run_var,
            stable_price: price,
            n_obs: 1,
            ..VolState::default()
        };
        s.refresh(None, 0, p)?;
        Ok(s)
    }

    /// Folds in an oracle observation (`price` at `ts`) and an optional implied vol. Rejects
    /// out-of-order, too-frequent and non-positive observations; an error changes nothing.
    /// `pull_secs`: how long after its publish time an observation may pull the stable price
    /// (the market's oracle staleness window; see [`VolState::stable_price_at`]).
    pub fn observe(
        &mut self,
        price: i64,
        ts: i64,
        iv: Option<ImpliedVol>,
        p: &RiskParams,
        pull_secs: i64,
    ) -> RiskResult<VolStep> {
        if price <= 0 {
            return Err(RiskError::NonPositivePrice);
        }
        if ts <= self.last_ts {
            return Err(RiskError::OutOfOrderObservation);
        }
        let dt = ts - self.last_ts;
        if dt < p.min_obs_interval_secs {
            return Err(RiskError::ObservationTooSoon);
        }
        let r = ewma::log_return(self.last_price, price)?;
        let sample = ewma::variance_sample(r, dt, p.max_sample_var.to_bits())?;
        let mut next = *self;
        next.ewma_var = Fx::from_bits(ewma::update(
            self.ewma_var.to_bits(),
            sample,
            dt,
            p.ewma_tau_secs,
        )?);
        next.garch_var = Fx::from_bits(garch::update(self.garch_var.to_bits(), sample, dt, p)?);
        if p.realised_tau_secs > 0 {
            let v = ewma::update(self.realised_var.to_bits(), sample, dt, p.realised_tau_secs)?;
            next.realised_var = Fx::from_bits(v);
            next.realised_vol = Fx::from_bits(if v > 0 { crate::math::sqrt(v)? + 1 } else { 0 });
        } else {
            (next.realised_var, next.realised_vol) = (Fx::ZERO, Fx::ZERO);
        }
        // Over the interval just ended only the previous observation was known: the stable
        // price moves toward it, never toward a price first seen now, and only for as long as
        // that observation would itself be fresh (docs/risk-model.md §4.4).
        next.stable_price = stable_price::step(
            self.stable_price,
            self.last_price,
            dt.min(pull_secs.max(0)),
            p.stable_growth_per_sec,
        )?;
        next.last_price = price;
        next.last_ts = ts;
        next.n_obs = self.n_obs.saturating_add(1);
        next.refresh(iv, dt, p)?;
        *self = next;
        Ok(VolStep {
            log_return: Fx::from_bits(r),
            sample_var: Fx::from_bits(sample),
            ewma_weight: Fx::from_bits(ewma::weight(dt, p.ewma_tau_secs)?),
            dt_secs: dt,
        })
    }

    /// Recomputes the derived vols from the variances (after an observation or a param change).
    pub fn refresh(
        &mut self,
        iv: Option<ImpliedVol>,
        dt_secs: i64,
        p: &RiskParams,
    ) -> RiskResult<()> {
        let fc = garch::forecast(self.garch_var.to_bits(), p.im_horizon_secs, p)?;
        let hist = blend::historical(self.ewma_var.to_bits(), fc, p)?;
        let raw = blend::with_implied(hist, iv, self.last_ts, p)?;
        let margin = apc::step(self.margin_vol.to_bits(), raw, dt_secs, p)?;
        let range = apc::range_step(self.range_vol.to_bits(), margin, dt_secs, p)?;
        self.hist_vol = Fx::from_bits(hist);
        self.raw_vol = Fx::from_bits(raw);
        self.margin_vol = Fx::from_bits(margin);
        self.range_vol = Fx::from_bits(range);
        Ok(())
    }

    /// The stable price as of `now`: the stored one moved at the capped rate toward the last
    /// observed price (`last_price`) for the time since that observation, but for at most
    /// `pull_secs` (the market's oracle staleness window: an observation older than that would
    /// be refused as stale, so it stops pulling). An oracle price the crank has not observed
    /// does not move it at all, and an observed one pulls only from its publish time and for at
    /// most `pull_secs` after the move ends: a move held Δt seconds moves the stable price at
    /// most e^(g·(Δt + pull_secs)) − 1, whatever the crank cadence.
    pub fn stable_price_at(&self, now: i64, p: &RiskParams, pull_secs: i64) -> RiskResult<i64> {
        stable_price::step(
            self.stable_price,
            self.last_price,
            now.saturating_sub(self.last_ts).min(pull_secs.max(0)),
            p.stable_growth_per_sec,
        )
    }
}

#[cfg(test)]
mod tests;
