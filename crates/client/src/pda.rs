//! Program-derived addresses of Keel's accounts (the same derivations a keeper or CLI uses).

use anchor_lang::prelude::Pubkey;
use keel_state::seeds;

/// `["exchange"]`.
pub fn exchange() -> Pubkey {
    Pubkey::find_program_address(&[seeds::EXCHANGE], &keel::ID).0
}

/// The program's ProgramData account (BPF upgradeable loader, `[program id]`): `init_exchange`
/// reads its upgrade authority.
pub fn program_data() -> Pubkey {
    Pubkey::find_program_address(
        &[keel::ID.as_ref()],
        &anchor_lang::solana_program::bpf_loader_upgradeable::ID,
    )
    .0
}

/// `["vault", exchange]`.
pub fn vault(exchange: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::VAULT, exchange.as_ref()], &keel::ID).0
}

/// `["ledger", exchange, index]`: ledger shard `index` (`keel_state::ledger`).
pub fn ledger(exchange: &Pubkey, index: u8) -> Pubkey {
    Pubkey::find_program_address(&[seeds::LEDGER, exchange.as_ref(), &[index]], &keel::ID).0
}

/// Every ledger shard of `exchange`, index 0 first.
pub fn ledgers(exchange: &Pubkey) -> [Pubkey; keel_state::LEDGER_SHARDS as usize] {
    core::array::from_fn(|i| ledger(exchange, i as u8))
}

/// `["market", exchange, index u16 LE]`.
pub fn market(exchange: &Pubkey, index: u16) -> Pubkey {
    Pubkey::find_program_address(
        &[seeds::MARKET, exchange.as_ref(), &index.to_le_bytes()],
        &keel::ID,
    )
    .0
}

/// `["series", market, index u32 LE]`.
pub fn series(market: &Pubkey, index: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[seeds::SERIES, market.as_ref(), &index.to_le_bytes()],
        &keel::ID,
    )
    .0
}

/// `["margin", exchange, owner, account_id u32 LE]`.
pub fn margin_account(exchange: &Pubkey, owner: &Pubkey, account_id: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[
            seeds::MARGIN_ACCOUNT,
            exchange.as_ref(),
            owner.as_ref(),
            &account_id.to_le_bytes(),
        ],
        &keel::ID,
    )
    .0
}

/// `["correlation", market_a, market_b]`.
pub fn correlation(market_a: &Pubkey, market_b: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[seeds::CORRELATION, market_a.as_ref(), market_b.as_ref()],
        &keel::ID,
    )
    .0
}
