//! `init_exchange`: creates the exchange and its quote vault. Only the program's upgrade
//! authority may call it (it becomes the admin).

use crate::controller::token::check_mint_extensions;
use crate::error::KeelError;
use crate::events::ExchangeInitialized;
use crate::state::Exchange;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_risk::LiquidationParams;
use keel_state::seeds;

/// Largest trading fee (1%).
pub const MAX_FEE_BPS: u16 = 100;

/// Arguments of `init_exchange`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitExchangeArgs {
    /// Taker fee on trade notional, basis points (≤ `MAX_FEE_BPS`).
    pub taker_fee_bps: u16,
    /// Maker fee on trade notional, basis points (≤ `MAX_FEE_BPS`).
    pub maker_fee_bps: u16,
}

#[derive(Accounts)]
pub struct InitExchange<'info> {
    /// Must be the program's upgrade authority: otherwise anyone watching a deployment could
    /// initialise the exchange first and become its admin.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The program's own ProgramData account (BPF upgradeable loader, seeds = [program id]).
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(admin.key()) @ KeelError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(init, payer = admin, space = Exchange::SPACE, seeds = [seeds::EXCHANGE], bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mint::token_program = token_program)]
    pub quote_mint: InterfaceAccount<'info, Mint>,
    #[account(
        init,
        payer = admin,
        seeds = [seeds::VAULT, exchange.key().as_ref()],
        bump,
        token::mint = quote_mint,
        token::authority = exchange,
        token::token_program = token_program,
    )]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitExchange>, args: InitExchangeArgs) -> Result<()> {
    require!(
        args.taker_fee_bps <= MAX_FEE_BPS && args.maker_fee_bps <= MAX_FEE_BPS,
        KeelError::FeeOutOfBounds
    );
    check_mint_extensions(&ctx.accounts.quote_mint.to_account_info())?;
    let a = &ctx.accounts;
    let mut ex = a.exchange.load_init()?;
    ex.version = keel_state::LAYOUT_VERSION;
    ex.bump = ctx.bumps.exchange;
    ex.vault_bump = ctx.bumps.vault;
    ex.quote_decimals = a.quote_mint.decimals;
    ex.admin = a.admin.key().to_bytes();
    ex.quote_mint = a.quote_mint.key().to_bytes();
    ex.quote_vault = a.vault.key().to_bytes();
    ex.quote_token_program = a.token_program.key().to_bytes();
    ex.taker_fee_bps = args.taker_fee_bps;
    ex.maker_fee_bps = args.maker_fee_bps;
    ex.liquidation_params = LiquidationParams::DEFAULT;
    crate::events::emit(ExchangeInitialized {
        exchange: a.exchange.key(),
        admin: a.admin.key(),
        quote_mint: a.quote_mint.key(),
        quote_vault: a.vault.key(),
        quote_token_program: a.token_program.key(),
        quote_decimals: a.quote_mint.decimals,
        taker_fee_bps: args.taker_fee_bps,
        maker_fee_bps: args.maker_fee_bps,
    });
    Ok(())
}
