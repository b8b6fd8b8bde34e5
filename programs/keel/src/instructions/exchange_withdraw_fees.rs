//! `withdraw_fees`: the admin moves collected trading fees out of the vault. The fee balance is
//! a total over the Exchange and every ledger shard (fees are booked in the shards by `trade`);
//! the withdrawal is booked in the Exchange's own field.
//!
//! Remaining accounts: every ledger shard, index 0 first.

use crate::controller::{ledger, shards, token};
use crate::error::KeelError;
use crate::events::FeesWithdrawn;
use crate::state::Exchange;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

/// Arguments of `withdraw_fees`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct WithdrawFeesArgs {
    /// Quote native units (> 0, ≤ the fee balance).
    pub amount_native: u64,
}

#[derive(Accounts)]
pub struct WithdrawFees<'info> {
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = destination.mint == quote_mint.key() @ KeelError::WrongQuoteMint)]
    pub destination: InterfaceAccount<'info, TokenAccount>,
    #[account(mut, constraint = vault.key().to_bytes() == exchange.load()?.quote_vault @ KeelError::WrongVault)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    #[account(constraint = quote_mint.key().to_bytes() == exchange.load()?.quote_mint @ KeelError::WrongQuoteMint)]
    pub quote_mint: InterfaceAccount<'info, Mint>,
    #[account(constraint = token_program.key().to_bytes() == exchange.load()?.quote_token_program @ KeelError::WrongTokenProgram)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler<'info>(
    mut ctx: Context<'info, WithdrawFees<'info>>,
    args: WithdrawFeesArgs,
) -> Result<()> {
    let amount = args.amount_native;
    require!(amount > 0, KeelError::ZeroAmount);
    let amount_i = i64::try_from(amount).map_err(|_| error!(KeelError::AmountTooLarge))?;
    let remaining = ctx.remaining_accounts;
    let exchange_key = ctx.accounts.exchange.key();
    let (held, rest) = shards::read(remaining, &exchange_key)?;
    require!(rest.is_empty(), KeelError::UnexpectedAccount);
    let bump = {
        let mut ex = ctx.accounts.exchange.load_mut()?;
        token::absorb_surplus(&mut ex, &held, ctx.accounts.vault.amount)?;
        ledger::sweep_overcharge(&mut ex, &held)?;
        let totals = shards::exchange_totals(&ex, &held)?;
        require!(totals.fees_native >= amount_i, KeelError::InsufficientFees);
        ex.bump
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
        a.quote_mint.decimals,
    )?;
    let a = &mut ctx.accounts;
    a.vault.reload()?;
    let mut ex = a.exchange.load_mut()?;
    ex.fees_native = ex
        .fees_native
        .checked_sub(amount_i)
        .ok_or(KeelError::MathOverflow)?;
    let totals = shards::exchange_totals(&ex, &held)?;
    token::check_conservation(&totals, a.vault.amount)?;
    crate::events::emit(FeesWithdrawn {
        exchange: a.exchange.key(),
        destination: a.destination.key(),
        amount_native: amount,
        fees_native: totals.fees_native,
        vault_native: a.vault.amount,
    });
    Ok(())
}
