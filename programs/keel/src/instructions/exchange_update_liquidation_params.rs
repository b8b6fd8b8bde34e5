//! `update_liquidation_params`: replaces the exchange's AVSL liquidation parameters within their
//! hard bounds (admin; `keel_risk::LiquidationParams::violation` names the first one broken).

use crate::error::KeelError;
use crate::events::LiquidationParamsUpdated;
use crate::state::Exchange;
use anchor_lang::prelude::*;
use keel_risk::LiquidationParams;

/// Arguments of `update_liquidation_params`: the complete new set (no partial updates).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct UpdateLiquidationParamsArgs {
    /// A `keel_risk::LiquidationParams` as raw bytes (160).
    pub liquidation_params: Vec<u8>,
}

#[derive(Accounts)]
pub struct UpdateLiquidationParams<'info> {
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
}

pub fn handler(
    ctx: Context<UpdateLiquidationParams>,
    args: UpdateLiquidationParamsArgs,
) -> Result<()> {
    require!(
        args.liquidation_params.len() == core::mem::size_of::<LiquidationParams>(),
        KeelError::ParamsLength
    );
    let p: LiquidationParams = bytemuck::pod_read_unaligned(&args.liquidation_params);
    if let Some(name) = p.violation() {
        crate::log!("liquidation parameter out of bounds: {}", name);
        return err!(KeelError::ParamOutOfBounds);
    }
    ctx.accounts.exchange.load_mut()?.liquidation_params = p;
    crate::events::emit(LiquidationParamsUpdated {
        exchange: ctx.accounts.exchange.key(),
        liquidation_params: args.liquidation_params,
        ts: Clock::get()?.unix_timestamp,
    });
    Ok(())
}
