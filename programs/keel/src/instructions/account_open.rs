//! `open_account`: a new margin account for the signer (several per owner, by `account_id`).

use crate::error::KeelError;
use crate::events::AccountOpened;
use crate::state::{Exchange, MarginAccount};
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_LISTING;
use keel_state::seeds;

/// Arguments of `open_account`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct OpenAccountArgs {
    /// The owner's number for this account (PDA seed).
    pub account_id: u32,
}

#[derive(Accounts)]
#[instruction(args: OpenAccountArgs)]
pub struct OpenAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        init,
        payer = owner,
        space = MarginAccount::SPACE,
        seeds = [seeds::MARGIN_ACCOUNT, exchange.key().as_ref(), owner.key().as_ref(), &args.account_id.to_le_bytes()],
        bump,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<OpenAccount>, args: OpenAccountArgs) -> Result<()> {
    let mut ex = ctx.accounts.exchange.load_mut()?;
    require!(ex.allows(PAUSE_LISTING), KeelError::ExchangePaused);
    let mut a = ctx.accounts.margin_account.load_init()?;
    a.version = keel_state::LAYOUT_VERSION;
    a.bump = ctx.bumps.margin_account;
    a.account_id = args.account_id;
    a.exchange = ctx.accounts.exchange.key().to_bytes();
    a.owner = ctx.accounts.owner.key().to_bytes();
    // Losses socialised before the account existed are not its to bear.
    a.social_loss_index_q60 = ex.social_loss_index_q60;
    ex.account_count = ex
        .account_count
        .checked_add(1)
        .ok_or(KeelError::MathOverflow)?;
    crate::events::emit(AccountOpened {
        exchange: ctx.accounts.exchange.key(),
        account: ctx.accounts.margin_account.key(),
        owner: ctx.accounts.owner.key(),
        account_id: args.account_id,
    });
    Ok(())
}
