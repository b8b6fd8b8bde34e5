//! `withdraw`: quote tokens from the vault to the owner's token account, only while equity at
//! initial-margin valuation (stable price, haircut gains) stays ≥ IM after it. (An account in a
//! liquidation episode can withdraw only once it is back above IM, which ends the episode.)
//!
//! Remaining accounts: every ledger shard, index 0 first (read: the conservation identity is
//! checked on the exchange's totals), then (market, oracle) for every market the account holds
//! positions in, then optional correlation accounts.

use crate::controller::margin::{has_expired_positions, health_im, Margin, MarketSet};
use crate::controller::{ledger, shards, token};
use crate::error::KeelError;
use crate::events::Withdrawn;
use crate::state::{Exchange, MarginAccount};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_state::exchange::PAUSE_WITHDRAW;

/// Arguments of `withdraw`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct WithdrawArgs {
    /// Quote native units (> 0, ≤ collateral).
    pub amount_native: u64,
}

#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub owner: Signer<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        mut,
        constraint = margin_account.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange,
        constraint = margin_account.load()?.owner == owner.key().to_bytes() @ KeelError::NotOwner,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = destination.mint == quote_mint.key() @ KeelError::WrongQuoteMint)]
    pub destination: InterfaceAccount<'info, TokenAccount>,
    #[account(mut, constraint = vault.key().to_bytes() == exchange.load()?.quote_vault @ KeelError::WrongVault)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    #[account(constraint = quote_mint.key().to_bytes() == exchange.load()?.quote_mint @ KeelError::WrongQuoteMint)]
    pub quote_mint: InterfaceAccount<'info, Mint>,
    #[account(constraint = token_program.key().to_bytes() == exchange.load()?.quote_token_program @ KeelError::WrongTokenProgram)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler<'info>(mut ctx: Context<'info, Withdraw<'info>>, args: WithdrawArgs) -> Result<()> {
    let amount = args.amount_native;
    require!(amount > 0, KeelError::ZeroAmount);
    let amount_i = i64::try_from(amount).map_err(|_| error!(KeelError::AmountTooLarge))?;
    let now = Clock::get()?.unix_timestamp;
    let exchange_key = ctx.accounts.exchange.key();
    let remaining = ctx.remaining_accounts;
    let (held, margin_accounts) = shards::read(remaining, &exchange_key)?;
    let (bump, decimals) = {
        let mut ex = ctx.accounts.exchange.load_mut()?;
        require!(ex.allows(PAUSE_WITHDRAW), KeelError::ExchangePaused);
        token::absorb_surplus(&mut ex, &held, ctx.accounts.vault.amount)?;
        let mut acc = ctx.accounts.margin_account.load_mut()?;
        let index = ex.social_loss_index_q60;
        ledger::charge_social_loss(
            &ctx.accounts.margin_account.key(),
            &mut acc,
            index,
            &mut ex.0,
        )?;
        (ex.bump, ctx.accounts.quote_mint.decimals)
    };
    let (snapshot, healthy) = {
        let acc = ctx.accounts.margin_account.load()?;
        require!(
            acc.collateral_native >= amount_i,
            KeelError::InsufficientCollateral
        );
        require!(
            !has_expired_positions(&acc, now),
            KeelError::ExpiredPositionsUnsettled
        );
        let set = MarketSet::load(margin_accounts, &exchange_key, now)?;
        let mut margin = Margin::once(&set, now);
        let after = margin.compute(&acc, Some(acc.collateral_native - amount_i))?;
        if health_im(&after) < 0 {
            crate::log!(
                "withdraw {}: equity_im {} < im {} afterwards",
                amount,
                after.equity_im,
                after.im
            );
            return err!(KeelError::WithdrawalBelowInitialMargin);
        }
        // Above IM afterwards; the trigger is above IM only under realised-vol stress, and no
        // withdrawal may leave the account liquidatable.
        let above = crate::controller::liquidation::at_or_above_trigger(
            &margin.breakdown,
            &ctx.accounts.exchange.load()?.0,
        )?;
        if !above {
            crate::log!("withdraw {}: liquidatable afterwards", amount);
            return err!(KeelError::WithdrawalLeavesLiquidatable);
        }
        (after, acc.in_liquidation_episode())
    };

    let a = &ctx.accounts;
    token::transfer_out(
        &a.token_program.to_account_info(),
        &a.vault.to_account_info(),
        &a.quote_mint.to_account_info(),
        &a.destination.to_account_info(),
        &a.exchange.to_account_info(),
        bump,
        amount,
        decimals,
    )?;
    let a = &mut ctx.accounts;
    a.vault.reload()?;
    let mut ex = a.exchange.load_mut()?;
    let mut acc = a.margin_account.load_mut()?;
    ledger::credit(&mut acc, &mut ex.0, -amount_i)?;
    acc.withdrawn_native = acc
        .withdrawn_native
        .checked_add(amount_i)
        .ok_or(KeelError::MathOverflow)?;
    acc.last_margin = snapshot;
    crate::controller::liquidation::end_episode_if_healthy(&mut acc, healthy);
    // After this account's charge: what the charges over-collected goes to the fund.
    ledger::sweep_overcharge(&mut ex, &held)?;
    let totals = shards::exchange_totals(&ex, &held)?;
    token::check_conservation(&totals, a.vault.amount)?;
    crate::events::emit(Withdrawn {
        account: a.margin_account.key(),
        owner: a.owner.key(),
        amount_native: amount,
        collateral_native: acc.collateral_native,
        vault_native: a.vault.amount,
        total_collateral_native: totals.total_collateral_native,
        equity_im: snapshot.equity_im,
        im: snapshot.im,
    });
    Ok(())
}
