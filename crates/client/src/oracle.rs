//! Oracle account data as the real programs write it: a `PriceUpdateV2` serialised with the
//! receiver SDK's own Anchor serialisation (discriminator + borsh, padded to its `LEN`), and a
//! legacy Pyth v2 price account written field by field at pyth-sdk-solana's offsets.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

/// The mainnet legacy Pyth oracle program (owner of legacy price accounts).
pub const PYTH_LEGACY_PROGRAM: Pubkey =
    anchor_lang::pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH");

/// One oracle price: `price·10^expo ± conf·10^expo` published at `publish_time`.
#[derive(Clone, Copy, Debug)]
pub struct Quote {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
    pub prev_publish_time: i64,
}

impl Quote {
    /// A quote of `usd` dollars with 8 decimals and a confidence of `conf_bps` of the price.
    pub fn usd(usd: i64, conf_bps: u64, publish_time: i64) -> Quote {
        let price = usd * 100_000_000;
        Quote {
            price,
            conf: price as u64 * conf_bps / 10_000,
            expo: -8,
            publish_time,
            prev_publish_time: publish_time - 1,
        }
    }
}

/// `PriceUpdateV2` account data.
pub fn price_update_v2(feed_id: [u8; 32], q: Quote, verification: VerificationLevel) -> Vec<u8> {
    let update = PriceUpdateV2 {
        write_authority: Pubkey::new_from_array([7; 32]),
        verification_level: verification,
        price_message: PriceFeedMessage {
            feed_id,
            price: q.price,
            conf: q.conf,
            exponent: q.expo,
            publish_time: q.publish_time,
            prev_publish_time: q.prev_publish_time,
            ema_price: q.price,
            ema_conf: q.conf,
        },
        posted_slot: 1,
    };
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    update
        .try_serialize(&mut data)
        .expect("serialise PriceUpdateV2");
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

/// Legacy Pyth v2 price account data (3 312 bytes) with aggregate status `status` (1 trading).
pub fn legacy_price_account(q: Quote, status: u32) -> Vec<u8> {
    let mut d = vec![0u8; keel_state::oracle::LEGACY_ACCOUNT_SIZE];
    d[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic
    d[4..8].copy_from_slice(&2u32.to_le_bytes()); // version
    d[8..12].copy_from_slice(&3u32.to_le_bytes()); // account type: price
    let size = d.len() as u32;
    d[12..16].copy_from_slice(&size.to_le_bytes()); // size
    d[16..20].copy_from_slice(&1u32.to_le_bytes()); // price type
    d[20..24].copy_from_slice(&q.expo.to_le_bytes());
    d[96..104].copy_from_slice(&q.publish_time.to_le_bytes()); // timestamp
    d[184..192].copy_from_slice(&q.price.to_le_bytes()); // prev_price
    d[192..200].copy_from_slice(&q.conf.to_le_bytes()); // prev_conf
    d[200..208].copy_from_slice(&q.prev_publish_time.to_le_bytes()); // prev_timestamp
    d[208..216].copy_from_slice(&q.price.to_le_bytes()); // agg.price
    d[216..224].copy_from_slice(&q.conf.to_le_bytes()); // agg.conf
    d[224..228].copy_from_slice(&status.to_le_bytes()); // agg.status
    d
}
