//! The local push oracle (`localnet/oracle`): on a local chain nobody posts Pyth updates, so a
//! market there reads a legacy Pyth v2 price account owned by this small program, which lets the
//! holder of the price account's keypair write its bytes. Keel accepts it because a legacy
//! market names the program that must own its price account (`OracleConfig::program`) — exactly
//! as it would accept the Pyth oracle program's accounts on mainnet — and judges every update
//! itself (layout, status, staleness, confidence, forward-only publish times).

use crate::oracle::{legacy_price_account, Quote};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};

/// The program's address (`localnet/oracle/program-id`; scripts/local-validator.sh loads it
/// there).
pub const PROGRAM: Pubkey = anchor_lang::pubkey!("KeeLLocaLoracLe1111111111111111111111111111");

/// Size of a price account (a full legacy Pyth v2 price account).
pub const ACCOUNT_SIZE: usize = keel_state::oracle::LEGACY_ACCOUNT_SIZE;

/// The legacy header's size: what each update rewrites (the rest of the account stays zero).
pub const HEADER_SIZE: usize = 240;

/// `write`: copies `bytes` to `offset` of `account`'s data; `account` signs.
pub fn write(account: &Pubkey, offset: u32, bytes: &[u8]) -> Instruction {
    let mut data = Vec::with_capacity(5 + bytes.len());
    data.push(0);
    data.extend_from_slice(&offset.to_le_bytes());
    data.extend_from_slice(bytes);
    Instruction {
        program_id: PROGRAM,
        accounts: vec![AccountMeta::new(*account, true)],
        data,
    }
}

/// Creates `account` (which signs) as a price account of this program, paid by `payer`.
pub fn create(payer: &Pubkey, account: &Pubkey, lamports: u64) -> Instruction {
    anchor_lang::solana_program::system_instruction::create_account(
        payer,
        account,
        lamports,
        ACCOUNT_SIZE as u64,
        &PROGRAM,
    )
}

/// Publishes `q` (status trading) to the price account `account` in the legacy Pyth v2 layout:
/// `q.prev_publish_time` should be the previous update's publish time (Pyth's meaning).
pub fn publish(account: &Pubkey, q: Quote) -> Instruction {
    let data = legacy_price_account(q, keel_state::oracle::LEGACY_STATUS_TRADING);
    write(account, 0, &data[..HEADER_SIZE])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_one_the_script_loads() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../localnet/oracle/program-id"
        );
        let id = std::fs::read_to_string(file).unwrap();
        assert_eq!(id.trim(), PROGRAM.to_string());
    }

    #[test]
    fn an_update_reads_back_as_the_quote() {
        let q = Quote::usd(48_000, 5, 1_800_000_000);
        let ix = publish(&Pubkey::new_unique(), q);
        let mut account = vec![0u8; ACCOUNT_SIZE];
        let offset = u32::from_le_bytes(ix.data[1..5].try_into().unwrap()) as usize;
        let bytes = &ix.data[5..];
        account[offset..offset + bytes.len()].copy_from_slice(bytes);
        let r = keel_state::oracle::parse_pyth_legacy(&account).unwrap();
        assert_eq!((r.price, r.conf, r.expo), (q.price, q.conf, q.expo));
        assert_eq!(
            (r.publish_time, r.prev_publish_time),
            (q.publish_time, q.prev_publish_time)
        );
        assert!(ix.data.len() < 300, "an update fits a transaction easily");
    }
}
