//! `resolve_bankruptcy`: permissionless. An account that `liquidate` left without positions and
//! with negative collateral is bankrupt: the insurance fund pays what it can, the rest is
//! socialised over every account's positive collateral (charged to each when next touched), and
//! the account ends at zero, flagged bankrupt (docs/liquidation.md, "Bankruptcy").
//!
//! The fund and the positive-collateral base are totals over the Exchange and every ledger
//! shard, so this instruction reads them all and writes the Exchange: `liquidate` stays off the
//! Exchange's write lock, and this rare step takes it.
//!
//! Remaining accounts: every ledger shard, index 0 first (`keel_state::ledger`).

use crate::controller::{ledger, liquidation as avsl, shards};
use crate::error::KeelError;
use crate::events::Bankrupt;
use crate::state::{Exchange, MarginAccount};
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_LIQUIDATE;

#[derive(Accounts)]
pub struct ResolveBankruptcy<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = margin_account.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler<'info>(ctx: Context<'info, ResolveBankruptcy<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &ctx.accounts;
    let mut ex = a.exchange.load_mut()?;
    require!(ex.allows(PAUSE_LIQUIDATE), KeelError::ExchangePaused);
    let mut acc = a.margin_account.load_mut()?;
    require!(
        acc.n_positions == 0 && acc.collateral_native < 0,
        KeelError::NotBankrupt
    );
    let (held, rest) = shards::read(ctx.remaining_accounts, &a.exchange.key())?;
    require!(rest.is_empty(), KeelError::UnexpectedAccount);
    ledger::sweep_overcharge(&mut ex, &held)?;
    // Negative collateral owes no share of earlier losses: this only moves its index forward.
    let index = ex.social_loss_index_q60;
    ledger::charge_social_loss(&a.margin_account.key(), &mut acc, index, &mut ex.0)?;
    let totals = shards::exchange_totals(&ex, &held)?;
    let b = avsl::resolve_bankruptcy(&mut acc, &mut ex, &totals)?.ok_or(KeelError::NotBankrupt)?;
    let after = shards::exchange_totals(&ex, &held)?;
    // At zero collateral and no positions the account is no longer liquidatable.
    avsl::end_episode_if_healthy(&mut acc, true);
    acc.last_margin = bytemuck::Zeroable::zeroed();
    acc.last_margin.ts = now;
    crate::events::emit(Bankrupt {
        account: a.margin_account.key(),
        shortfall_native: b.shortfall,
        insurance_paid_native: b.insurance_paid,
        socialised_native: b.socialised,
        social_loss_index_q60: ex.social_loss_index_q60,
        social_loss_index_increase_q60: b.index_increase,
        insurance_fund_native: after.insurance_fund_native,
        social_loss_pending_native: after.social_loss_pending_native,
        ts: now,
    });
    Ok(())
}
