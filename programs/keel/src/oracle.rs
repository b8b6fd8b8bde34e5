//! Oracle adapters, selectable per market: the Pyth pull oracle (`PriceUpdateV2`, deserialised
//! with pyth-solana-receiver-sdk) and the legacy Pyth push price account (keel-state's bytemuck
//! parser). Both produce a `keel_state::OracleReading`; identity is checked here, freshness and
//! confidence by `keel_state::Market::check_reading` (the same code the keeper runs).

use crate::error::{KeelError, OrKeel};
use anchor_lang::prelude::*;
use keel_state::market::{ORACLE_PYTH_LEGACY, ORACLE_PYTH_PULL};
use keel_state::{oracle::parse_pyth_legacy, OracleReading};
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

/// Reads `info` as the oracle of `market`, checking owner, pinned address, layout, feed id and
/// verification level. Does not check age or confidence (see [`read_fresh`]).
pub fn read_identity(market: &keel_state::Market, info: &AccountInfo) -> Result<OracleReading> {
    let cfg = &market.oracle;
    require_keys_eq!(
        *info.owner,
        Pubkey::new_from_array(cfg.program),
        KeelError::OracleWrongOwner
    );
    let pinned = cfg.account != [0; 32];
    if pinned {
        require_keys_eq!(
            info.key(),
            Pubkey::new_from_array(cfg.account),
            KeelError::OracleWrongAccount
        );
    }
    let data = info.try_borrow_data()?;
    match cfg.kind {
        ORACLE_PYTH_PULL => {
            let update = PriceUpdateV2::try_deserialize(&mut &data[..])
                .map_err(|_| error!(KeelError::OracleInvalidAccount))?;
            let msg = &update.price_message;
            require!(msg.feed_id == cfg.feed_id, KeelError::OracleWrongFeed);
            let required = if cfg.min_signatures == 0 {
                VerificationLevel::Full
            } else {
                VerificationLevel::Partial {
                    num_signatures: cfg.min_signatures,
                }
            };
            require!(
                update.verification_level.gte(required),
                KeelError::OracleUnverified
            );
            Ok(OracleReading {
                price: msg.price,
                conf: msg.conf,
                expo: msg.exponent,
                publish_time: msg.publish_time,
                prev_publish_time: msg.prev_publish_time,
            })
        }
        ORACLE_PYTH_LEGACY => {
            // A legacy market always pins its price account (checked at creation).
            require!(pinned, KeelError::OracleWrongAccount);
            parse_pyth_legacy(&data).or_keel()
        }
        _ => err!(KeelError::OracleKindInvalid),
    }
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
