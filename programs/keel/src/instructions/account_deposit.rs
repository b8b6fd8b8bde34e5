//! `deposit`: quote tokens from the signer's token account into the vault, credited to a margin
//! account of the exchange (anyone may fund any account; only the owner withdraws).
//!
//! Remaining accounts: every ledger shard, index 0 first (read: the conservation identity is
//! checked on the exchange's totals), then optionally the (market, oracle) pairs and
//! correlations for the account's markets. Used only when the account is in a liquidation
//! episode: its margin is then computed after the deposit, and the episode ends if the account
//! is at or above MM — a deposit that restores the account closes the Dutch-auction clock, one
//! that leaves it below MM (however small) changes nothing about it. Otherwise no margin is
//! computed (deposits stay cheap) and the remaining accounts are ignored.

use crate::controller::margin::{has_expired_positions, Margin, MarketSet};
use crate::controller::{ledger, liquidation, shards, token};
use crate::error::KeelError;
use crate::events::Deposited;
use crate::state::{Exchange, MarginAccount};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_state::exchange::PAUSE_DEPOSIT;

/// Arguments of `deposit`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct DepositArgs {
    /// Quote native units (> 0, ≤ i64::MAX).
    pub amount_native: u64,
}

#[derive(Accounts)]
pub struct Deposit<'info> {
    pub depositor: Signer<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = margin_account.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(
        mut,
        constraint = source.mint == quote_mint.key() @ KeelError::WrongQuoteMint,
        constraint = source.owner == depositor.key() @ KeelError::WrongTokenOwner,
    )]
    pub source: InterfaceAccount<'info, TokenAccount>,
    #[account(mut, constraint = vault.key().to_bytes() == exchange.load()?.quote_vault @ KeelError::WrongVault)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    #[account(constraint = quote_mint.key().to_bytes() == exchange.load()?.quote_mint @ KeelError::WrongQuoteMint)]
    pub quote_mint: InterfaceAccount<'info, Mint>,
    #[account(constraint = token_program.key().to_bytes() == exchange.load()?.quote_token_program @ KeelError::WrongTokenProgram)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler<'info>(mut ctx: Context<'info, Deposit<'info>>, args: DepositArgs) -> Result<()> {
    require!(
        ctx.accounts.exchange.load()?.allows(PAUSE_DEPOSIT),
        KeelError::ExchangePaused
    );
    let remaining = ctx.remaining_accounts;
    let exchange_key = ctx.accounts.exchange.key();
    let (held, margin_accounts) = shards::read(remaining, &exchange_key)?;
    let a = &mut ctx.accounts;
    let received_i = token::receive(
        &a.exchange,
        &held,
        &mut a.vault,
        &a.token_program.to_account_info(),
        &a.source.to_account_info(),
        &a.quote_mint,
        &a.depositor.to_account_info(),
        args.amount_native,
    )?;
    let received = received_i as u64;
    let mut ex = a.exchange.load_mut()?;
    let mut acc = a.margin_account.load_mut()?;
    let index = ex.social_loss_index_q60;
    ledger::charge_social_loss(&a.margin_account.key(), &mut acc, index, &mut ex.0)?;
    ledger::credit(&mut acc, &mut ex.0, received_i)?;
    acc.deposited_native = acc
        .deposited_native
        .checked_add(received_i)
        .ok_or(KeelError::MathOverflow)?;
    if acc.in_liquidation_episode() && !margin_accounts.is_empty() {
        let now = Clock::get()?.unix_timestamp;
        // An account holding expired positions is settled before it can be margined (or
        // liquidated): its episode waits for that.
        if !has_expired_positions(&acc, now) {
            let set = MarketSet::load(margin_accounts, &exchange_key, now)?;
            let mut margin = Margin::once(&set, now);
            let snapshot = margin.compute(&acc, None)?;
            let healthy = liquidation::at_or_above_trigger(&margin.breakdown, &ex)?;
            acc.last_margin = snapshot;
            liquidation::end_episode_if_healthy(&mut acc, healthy);
        }
    }
    // After this account's charge: what the charges over-collected goes to the fund.
    ledger::sweep_overcharge(&mut ex, &held)?;
    let totals = shards::exchange_totals(&ex, &held)?;
    token::check_conservation(&totals, a.vault.amount)?;
    crate::events::emit(Deposited {
        account: a.margin_account.key(),
        depositor: a.depositor.key(),
        amount_native: received,
        collateral_native: acc.collateral_native,
        vault_native: a.vault.amount,
        total_collateral_native: totals.total_collateral_native,
    });
    Ok(())
}
