//! Oracle adapters, selectable per market: the Pyth pull oracle (`PriceUpdateV2`) and the legacy
//! Pyth push price account, both decoded by keel-state (its `PriceUpdateV2` decoder is checked
//! against pyth-solana-receiver-sdk's in `state.rs`'s tests). Both produce a
//! `keel_state::OracleReading`; identity (`keel_state::oracle::read_identity`), freshness and
//! confidence (`keel_state::Market::check_reading`) are the same code the keeper and CLI run.

use crate::error::OrKeel;
use anchor_lang::prelude::*;
use keel_state::OracleReading;

/// Reads `info` as the oracle of `market`, checking owner, pinned address, layout, feed id and
/// verification level (`keel_state::oracle::read_identity`, shared with the keeper and CLI).
/// Does not check age or confidence (see [`read_fresh`]).
pub fn read_identity(market: &keel_state::Market, info: &AccountInfo) -> Result<OracleReading> {
    let data = info.try_borrow_data()?;
    keel_state::oracle::read_identity(
        &market.oracle,
        info.key.as_array(),
        info.owner.as_array(),
        &data,
    )
    .or_keel()
}

/// [`read_identity`] plus the guard rails: positive, not stale at `now`, confidence within bounds.
pub fn read_fresh(
    market: &keel_state::Market,
    info: &AccountInfo,
    now: i64,
) -> Result<OracleReading> {
    let r = read_identity(market, info)?;
    market.check_reading(&r, now).or_keel()?;
    Ok(r)
}

/// [`read_identity`] plus positivity and confidence, without an age limit (settlement judges
/// the publish time against the expiry instead).
pub fn read_for_settlement(
    market: &keel_state::Market,
    info: &AccountInfo,
) -> Result<OracleReading> {
    let r = read_identity(market, info)?;
    // `check_reading` at the reading's own publish time: age 0, so only price and confidence.
    market.check_reading(&r, r.publish_time).or_keel()?;
    Ok(r)
}
