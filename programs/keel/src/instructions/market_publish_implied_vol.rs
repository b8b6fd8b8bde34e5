//! `publish_implied_vol`: the market's vol authority publishes an implied volatility; the vol
//! crank blends it in with a weight that decays with its age (`RiskParams::iv_*`).

use crate::bounds;
use crate::error::KeelError;
use crate::events::ImpliedVolPublished;
use crate::state::Market;
use anchor_lang::prelude::*;

/// Arguments of `publish_implied_vol`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct PublishImpliedVolArgs {
    /// Annualised implied vol in basis points (5 500 = 55%).
    pub implied_vol_bps: u32,
}

#[derive(Accounts)]
pub struct PublishImpliedVol<'info> {
    pub vol_authority: Signer<'info>,
    #[account(
        mut,
        constraint = market.load()?.vol_authority != [0; 32]
            && market.load()?.vol_authority == vol_authority.key().to_bytes() @ KeelError::NotVolAuthority,
    )]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<PublishImpliedVol>, args: PublishImpliedVolArgs) -> Result<()> {
    bounds::within(
        "implied_vol_bps",
        args.implied_vol_bps,
        bounds::IMPLIED_VOL_BPS,
    )
    .map_err(|_| error!(KeelError::InvalidImpliedVol))?;
    let now = Clock::get()?.unix_timestamp;
    let vol = keel_risk::Fx::from_bits(((args.implied_vol_bps as i64) << 32) / 10_000);
    let mut m = ctx.accounts.market.load_mut()?;
    m.implied_vol = vol;
    m.implied_vol_ts = now;
    crate::events::emit(ImpliedVolPublished {
        market: ctx.accounts.market.key(),
        authority: ctx.accounts.vol_authority.key(),
        implied_vol_q32: vol.to_bits(),
        ts: now,
    });
    Ok(())
}
