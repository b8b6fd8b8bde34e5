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
/// and returns what they hold together and the accounts after them. The shards are read-only
/// where this is called, so one read serves the whole instruction: the exchange's totals at any
/// point are [`exchange_totals`] of the Exchange then and this.
pub fn read<'info>(
    remaining: &'info [AccountInfo<'info>],
    exchange_key: &Pubkey,
) -> Result<(Totals, &'info [AccountInfo<'info>])> {
    let n = LEDGER_SHARDS as usize;
    require!(remaining.len() >= n, KeelError::LedgersMissing);
    let mut t: Totals = bytemuck::Zeroable::zeroed();
    for (i, info) in remaining[..n].iter().enumerate() {
        let l = load_ref::<Ledger>(info).map_err(|_| error!(KeelError::WrongLedger))?;
        check_shard(&l, exchange_key)?;
        require!(l.index as usize == i, KeelError::WrongLedger);
        t = t.plus(&l.totals).ok_or(KeelError::MathOverflow)?;
    }
    Ok((t, &remaining[n..]))
}

/// The exchange's totals: its own fields plus what its shards hold (`shards`, from [`read`]).
pub fn exchange_totals(ex: &keel_state::Exchange, shards: &Totals) -> Result<Totals> {
    Ok(Totals::of(ex).plus(shards).ok_or(KeelError::MathOverflow)?)
}
