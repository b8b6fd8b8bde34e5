//! The ledger shards an instruction reads or writes (`keel_state::ledger`).
//!
//! A shard is valid for an exchange when this program owns it, it carries the `Ledger`
//! discriminator and layout version, and it names the exchange. Only `init_exchange` creates
//! ledgers, each at its PDA `["ledger", exchange, index]`, and the exchange itself is the single
//! PDA `["exchange"]`: so each index has exactly one valid account and checking the index is
//! checking the address (no PDA derivation at 1,500 CU a shard).

use crate::controller::margin::load_ref;
use crate::error::KeelError;
use crate::state::Ledger;
use anchor_lang::prelude::*;
use keel_state::{Totals, LEDGER_SHARDS};

/// Checks that `ledger` is a shard of `exchange` (the writable shard of `trade`, `liquidate` and
/// `settle_positions`: any index will do).
pub fn check_shard(ledger: &Ledger, exchange: &Pubkey) -> Result<()> {
    require!(
        ledger.exchange == exchange.to_bytes() && ledger.index < LEDGER_SHARDS,
        KeelError::WrongLedger
    );
    Ok(())
}

/// Reads every shard from the front of `remaining` — `LEDGER_SHARDS` accounts, index 0 first —
/// and returns the exchange's totals (its own fields plus theirs) and the accounts after them.
pub fn totals<'info>(
    remaining: &'info [AccountInfo<'info>],
    exchange_key: &Pubkey,
    ex: &keel_state::Exchange,
) -> Result<(Totals, &'info [AccountInfo<'info>])> {
    let n = LEDGER_SHARDS as usize;
    require!(remaining.len() >= n, KeelError::LedgersMissing);
    let mut t = Totals::of(ex);
    for (i, info) in remaining[..n].iter().enumerate() {
        let l = load_ref::<Ledger>(info).map_err(|_| error!(KeelError::WrongLedger))?;
        check_shard(&l, exchange_key)?;
        require!(l.index as usize == i, KeelError::WrongLedger);
        t = t.with_shard(&l).ok_or(KeelError::MathOverflow)?;
    }
    Ok((t, &remaining[n..]))
}
