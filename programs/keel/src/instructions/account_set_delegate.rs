//! `set_delegate`: lets another key trade for the account (never withdraw or close); the
//! default key removes the delegate (owner).

use crate::error::KeelError;
use crate::events::DelegateSet;
use crate::state::MarginAccount;
use anchor_lang::prelude::*;

/// Arguments of `set_delegate`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SetDelegateArgs {
    /// The delegate (`Pubkey::default()`: none).
    pub delegate: Pubkey,
}

#[derive(Accounts)]
pub struct SetDelegate<'info> {
    pub owner: Signer<'info>,
    #[account(mut, constraint = margin_account.load()?.owner == owner.key().to_bytes() @ KeelError::NotOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler(ctx: Context<SetDelegate>, args: SetDelegateArgs) -> Result<()> {
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.delegate = args.delegate.to_bytes();
    crate::events::emit(DelegateSet {
        account: ctx.accounts.margin_account.key(),
        delegate: args.delegate,
    });
    Ok(())
}
