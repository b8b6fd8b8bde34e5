//! `close_account`: closes an empty margin account (no positions, no collateral) and returns
//! its rent to the owner.

use crate::error::KeelError;
use crate::events::AccountClosed;
use crate::state::MarginAccount;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct CloseAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        close = owner,
        constraint = margin_account.load()?.owner == owner.key().to_bytes() @ KeelError::NotOwner,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler(ctx: Context<CloseAccount>) -> Result<()> {
    let a = ctx.accounts.margin_account.load()?;
    require!(a.n_positions == 0, KeelError::AccountHasPositions);
    require!(a.collateral_native == 0, KeelError::AccountHasCollateral);
    // No positions and no collateral: nothing is left to liquidate, whatever the flags say.
    crate::events::emit(AccountClosed {
        account: ctx.accounts.margin_account.key(),
        owner: ctx.accounts.owner.key(),
    });
    Ok(())
}
