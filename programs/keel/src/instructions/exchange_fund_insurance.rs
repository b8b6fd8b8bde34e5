//! `fund_insurance`: anyone adds quote tokens to the insurance fund (the operator seeds it; a
//! protocol treasury or a backstop provider tops it up). The fund pays bankrupt accounts'
//! shortfalls before anything is socialised, and receives a share of every liquidation bonus.

use crate::controller::{ledger, shards, token};
use crate::error::KeelError;
use crate::events::InsuranceFunded;
use crate::state::Exchange;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_state::exchange::PAUSE_DEPOSIT;

/// Arguments of `fund_insurance`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct FundInsuranceArgs {
    /// Quote native units (> 0, ≤ i64::MAX).
    pub amount_native: u64,
}

#[derive(Accounts)]
pub struct FundInsurance<'info> {
    pub funder: Signer<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        mut,
        constraint = source.mint == quote_mint.key() @ KeelError::WrongQuoteMint,
        constraint = source.owner == funder.key() @ KeelError::WrongTokenOwner,
    )]
    pub source: InterfaceAccount<'info, TokenAccount>,
    #[account(mut, constraint = vault.key().to_bytes() == exchange.load()?.quote_vault @ KeelError::WrongVault)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    #[account(constraint = quote_mint.key().to_bytes() == exchange.load()?.quote_mint @ KeelError::WrongQuoteMint)]
    pub quote_mint: InterfaceAccount<'info, Mint>,
    #[account(constraint = token_program.key().to_bytes() == exchange.load()?.quote_token_program @ KeelError::WrongTokenProgram)]
    pub token_program: Interface<'info, TokenInterface>,
}

/// Remaining accounts: every ledger shard, index 0 first (the conservation identity is checked
/// on the exchange's totals).
pub fn handler<'info>(
    mut ctx: Context<'info, FundInsurance<'info>>,
    args: FundInsuranceArgs,
) -> Result<()> {
    require!(
        ctx.accounts.exchange.load()?.allows(PAUSE_DEPOSIT),
        KeelError::ExchangePaused
    );
    let remaining = ctx.remaining_accounts;
    let exchange_key = ctx.accounts.exchange.key();
    let (held, rest) = shards::read(remaining, &exchange_key)?;
    require!(rest.is_empty(), KeelError::UnexpectedAccount);
    let a = &mut ctx.accounts;
    let received_i = token::receive(
        &a.exchange,
        &held,
        &mut a.vault,
        &a.token_program.to_account_info(),
        &a.source.to_account_info(),
        &a.quote_mint,
        &a.funder.to_account_info(),
        args.amount_native,
    )?;
    let received = received_i as u64;
    let mut ex = a.exchange.load_mut()?;
    ledger::sweep_overcharge(&mut ex, &held)?;
    ex.insurance_fund_native = ex
        .insurance_fund_native
        .checked_add(received_i)
        .ok_or(KeelError::MathOverflow)?;
    let totals = shards::exchange_totals(&ex, &held)?;
    token::check_conservation(&totals, a.vault.amount)?;
    crate::events::emit(InsuranceFunded {
        exchange: a.exchange.key(),
        funder: a.funder.key(),
        amount_native: received,
        insurance_fund_native: totals.insurance_fund_native,
        vault_native: a.vault.amount,
    });
    Ok(())
}
