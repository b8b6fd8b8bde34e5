//! `set_pause`: sets the exchange's pause flags (admin).

use crate::error::KeelError;
use crate::events::PauseSet;
use crate::state::Exchange;
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_ALL;

/// Arguments of `set_pause`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SetPauseArgs {
    /// New `PAUSE_*` flags (bits outside `PAUSE_ALL` are refused).
    pub flags: u8,
}

#[derive(Accounts)]
pub struct SetPause<'info> {
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
}

pub fn handler(ctx: Context<SetPause>, args: SetPauseArgs) -> Result<()> {
    require!(args.flags & !PAUSE_ALL == 0, KeelError::InvalidPauseFlags);
    let mut ex = ctx.accounts.exchange.load_mut()?;
    let old = ex.pause_flags;
    ex.pause_flags = args.flags;
    crate::events::emit(PauseSet {
        exchange: ctx.accounts.exchange.key(),
        old_flags: old,
        new_flags: args.flags,
        ts: Clock::get()?.unix_timestamp,
    });
    Ok(())
}
