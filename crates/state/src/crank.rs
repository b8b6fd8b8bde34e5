//! The risk-array crank's state transitions (docs/risk-model.md §4.8), shared by the program's
//! `crank_arrays` and the off-chain tools that predict or verify it.

use crate::array_page::ArraySlot;
use crate::market::{Market, MAX_LISTED};
use crate::{OracleReading, StateError};
use keel_risk::array::{price_series, StrikeCandidate};
use keel_risk::{Fx, SeriesKind};

/// What a market's risk arrays are anchored at: its prices per contract and vols at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Valuation {
    /// Oracle price per contract.
    pub spot: i64,
    /// Stable price per contract at `now`.
    pub stable_spot: i64,
    /// Margin vol in force.
    pub sigma: Fx,
    /// The vol the price range is set from (`VolState::range_sigma`).
    pub range_sigma: Fx,
    /// Mark vol.
    pub mark_sigma: Fx,
}

impl Market {
    /// The market's valuation at `now` from an oracle reading, with the margin checks' guard
    /// rails (the reading's freshness and confidence, the vol state's age).
    pub fn valuation(&self, r: &OracleReading, now: i64) -> Result<Valuation, StateError> {
        self.check_reading(r, now)?;
        self.check_vol_age(now)?;
        let spec = self.contract_spec();
        Ok(Valuation {
            spot: spec.price_native(r)?,
            stable_spot: self.stable_price_at(now)?,
            sigma: self.vol_state.margin_vol,
            range_sigma: self.vol_state.range_sigma(),
            mark_sigma: self.vol_state.mark_vol(),
        })
    }

    /// Replaces the anchor when it is due ([`keel_risk::Anchor::is_due`]): the current one becomes the
    /// previous, the generation moves on. Returns whether it did.
    #[inline(never)]
    pub fn reanchor_if_due(&mut self, v: &Valuation, now: i64) -> Result<bool, StateError> {
        let p = &self.risk_params;
        if !self
            .anchor
            .is_due(now, v.spot, v.stable_spot, v.sigma, v.mark_sigma, p)
        {
            return Ok(false);
        }
        self.prev_anchor = self.anchor;
        // Disjoint borrows of the market's fields: the new anchor is built in place (1.5 KB does
        // not belong on the 4 KiB SBF stack frame); on an error the instruction fails and
        // nothing is written.
        let Market {
            anchor,
            risk_params,
            listed,
            listed_count,
            ..
        } = self;
        let n = (*listed_count as usize).min(MAX_LISTED);
        anchor.build(
            now,
            v.spot,
            v.stable_spot,
            v.sigma,
            v.range_sigma,
            v.mark_sigma,
            risk_params,
            listed[..n].iter().map(|l| StrikeCandidate {
                strike: l.strike_native,
                expiry: l.expiry_ts,
            }),
        )?;
        self.anchor_epoch = self
            .anchor_epoch
            .checked_add(1)
            .ok_or(StateError::PriceOverflow)?;
        Ok(true)
    }

    /// Prices `slot` at the current anchor unless it is free or already priced there. Returns
    /// whether it priced.
    #[inline(never)]
    pub fn price_slot(&self, slot: &mut ArraySlot) -> Result<bool, StateError> {
        if slot.is_free() || slot.epoch == self.anchor_epoch || self.anchor_epoch == 0 {
            return Ok(false);
        }
        let kind = SeriesKind::from_u8(slot.kind).ok_or(StateError::CorruptPosition)?;
        price_series(
            &self.anchor,
            &self.risk_params,
            kind,
            slot.strike_native,
            slot.expiry_ts,
            &mut slot.array,
        )?;
        slot.epoch = self.anchor_epoch;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
