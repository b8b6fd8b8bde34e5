//! `create_correlation`: the optional EWMA covariance state of two markets, used for the
//! cross-underlying margin offset (admin).

use crate::bounds;
use crate::error::KeelError;
use crate::events::CorrelationCreated;
use crate::state::{Correlation, Exchange, Market};
use anchor_lang::prelude::*;
use keel_state::seeds;

/// Arguments of `create_correlation`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CreateCorrelationArgs {
    /// EWMA time constant of the covariance (seconds).
    pub tau_secs: i64,
    /// Minimum interval between accepted observations.
    pub min_interval_secs: i64,
    /// The two publish times must be at most this far apart.
    pub max_sync_secs: i64,
}

#[derive(Accounts)]
pub struct CreateCorrelation<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(constraint = market_a.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market_a: AccountLoader<'info, Market>,
    #[account(
        constraint = market_b.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange,
        constraint = market_a.load()?.market_index < market_b.load()?.market_index @ KeelError::InvalidCorrelationMarkets,
    )]
    pub market_b: AccountLoader<'info, Market>,
    #[account(
        init,
        payer = admin,
        space = Correlation::SPACE,
        seeds = [seeds::CORRELATION, market_a.key().as_ref(), market_b.key().as_ref()],
        bump,
    )]
    pub correlation: AccountLoader<'info, Correlation>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateCorrelation>, args: CreateCorrelationArgs) -> Result<()> {
    bounds::within("tau_secs", args.tau_secs, bounds::CORR_TAU_SECS)?;
    bounds::within(
        "min_interval_secs",
        args.min_interval_secs,
        bounds::CORR_MIN_INTERVAL_SECS,
    )?;
    bounds::within(
        "max_sync_secs",
        args.max_sync_secs,
        bounds::CORR_MAX_SYNC_SECS,
    )?;
    let mut c = ctx.accounts.correlation.load_init()?;
    c.version = keel_state::LAYOUT_VERSION;
    c.bump = ctx.bumps.correlation;
    c.exchange = ctx.accounts.exchange.key().to_bytes();
    c.market_a = ctx.accounts.market_a.key().to_bytes();
    c.market_b = ctx.accounts.market_b.key().to_bytes();
    c.tau_secs = args.tau_secs;
    c.min_interval_secs = args.min_interval_secs;
    c.max_sync_secs = args.max_sync_secs;
    crate::events::emit(CorrelationCreated {
        correlation: ctx.accounts.correlation.key(),
        market_a: ctx.accounts.market_a.key(),
        market_b: ctx.accounts.market_b.key(),
        tau_secs: args.tau_secs,
        min_interval_secs: args.min_interval_secs,
        max_sync_secs: args.max_sync_secs,
    });
    Ok(())
}
