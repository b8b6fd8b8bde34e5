//! `settle_positions`: realises an account's positions in settled series into its collateral
//! (permissionless). Remaining accounts: the settled series (writable). Losses are paid into
//! each series' settlement pool first and gains out of it, so the pool never goes negative:
//! settle losing accounts first (a keeper orders them by payout). The Exchange is read, not
//! written: the payouts are booked in the ledger shard the caller passes (any shard of the
//! exchange; `keel_state::ledger`).

use crate::controller::ledger;
use crate::error::KeelError;
use crate::events::PositionSettled;
use crate::state::{Exchange, Ledger, MarginAccount, Series};
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_SETTLE;
use keel_state::series::SERIES_SETTLED;

#[derive(Accounts)]
pub struct SettlePositions<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// The ledger shard the payouts are booked in.
    #[account(mut)]
    pub ledger: AccountLoader<'info, Ledger>,
    #[account(mut, constraint = margin_account.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler<'info>(ctx: Context<'info, SettlePositions<'info>>) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key().to_bytes();
    let ex = ctx.accounts.exchange.load()?;
    require!(ex.allows(PAUSE_SETTLE), KeelError::ExchangePaused);
    let mut books = ctx.accounts.ledger.load_mut()?;
    crate::controller::shards::check_shard(&books, &ctx.accounts.exchange.key())?;
    let mut acc = ctx.accounts.margin_account.load_mut()?;
    ledger::charge_social_loss(
        &ctx.accounts.margin_account.key(),
        &mut acc,
        ex.social_loss_index_q60,
        &mut books.totals,
    )?;
    require!(
        !ctx.remaining_accounts.is_empty(),
        KeelError::PositionNotFound
    );
    for info in ctx.remaining_accounts {
        require!(info.is_writable, KeelError::UnexpectedAccount);
        let loader = AccountLoader::<Series>::try_from(info)?;
        let mut s = loader.load_mut()?;
        require!(s.exchange == exchange_key, KeelError::WrongExchange);
        require!(s.status == SERIES_SETTLED, KeelError::SeriesNotSettled);
        let key = info.key().to_bytes();
        let r = ledger::settle_position(&mut acc, &mut books.totals, &key, &mut s)?;
        crate::events::emit(PositionSettled {
            account: ctx.accounts.margin_account.key(),
            series: info.key(),
            qty_contracts: r.qty,
            cash_native: r.cash,
            payout_native: r.payout,
            collateral_native: acc.collateral_native,
            settlement_pool_native: s.settlement_pool_native,
            open_interest_contracts: s.open_interest_contracts,
        });
    }
    Ok(())
}
