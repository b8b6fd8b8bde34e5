//! `update_market_params`: replaces a market's risk parameters and oracle/timing guards, each
//! within its hard bounds (admin).

use crate::bounds::{self, MarketGuards};
use crate::error::{KeelError, OrKeel};
use crate::events::MarketParamsUpdated;
use crate::state::{Exchange, Market};
use anchor_lang::prelude::*;

/// Arguments of `update_market_params`: the complete new parameter set (no partial updates, so
/// what is stored is exactly what was reviewed).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct UpdateMarketParamsArgs {
    /// A `keel_risk::RiskParams` as raw bytes (496).
    pub risk_params: Vec<u8>,
    pub guards: MarketGuards,
}

#[derive(Accounts)]
pub struct UpdateMarketParams<'info> {
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = market.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<UpdateMarketParams>, args: UpdateMarketParamsArgs) -> Result<()> {
    require!(!args.risk_params.is_empty(), KeelError::ParamsLength);
    let params = bounds::risk_params(&args.risk_params)?;
    args.guards.validate()?;
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    // The range speed limit lags a crash's gamma: measured sound for linear books only
    // (docs/validation.md, "Delta books"), so not on a market with options listed.
    require!(
        params.apc_max_rise_per_day == keel_risk::Fx::ZERO || m.listed_count == 0,
        KeelError::RangeLimitWithOptions
    );
    m.risk_params = params;
    args.guards.apply(&mut m);
    // Derived vols follow the new parameters at once; with Δt = 0 the anti-procyclical floor
    // lets the margin vol rise but not fall.
    let iv = m.implied();
    let mut vs = m.vol_state;
    vs.refresh(iv, 0, &params).or_keel()?;
    m.vol_state = vs;
    // Every risk array was priced under the old parameters: forget both anchors, so no check
    // uses them until the crank has re-priced.
    m.invalidate_anchors();
    crate::events::emit(MarketParamsUpdated {
        market: ctx.accounts.market.key(),
        risk_params: args.risk_params,
        max_staleness_secs: args.guards.max_staleness_secs,
        max_conf_bps: args.guards.max_conf_bps,
        min_signatures: args.guards.min_signatures,
        max_vol_age_secs: args.guards.max_vol_age_secs,
        settle_window_secs: args.guards.settle_window_secs,
        margin_vol_q32: m.vol_state.margin_vol.to_bits(),
        ts: now,
    });
    Ok(())
}
