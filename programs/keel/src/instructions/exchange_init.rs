//! `init_exchange`: creates the exchange, its quote vault and its `LEDGER_SHARDS` ledger shards
//! (`keel_state::ledger`). Only the program's upgrade authority may call it (it becomes the
//! admin).
//!
//! Remaining accounts: the ledger PDAs `["ledger", exchange, index]`, index 0 first (writable).
//! They are created here, in a loop, rather than as `init` fields: four more Anchor `init`
//! accounts would enlarge the accounts struct's frame beyond what the 4 KiB SBF stack allows.

use crate::controller::token::check_mint_extensions;
use crate::error::KeelError;
use crate::events::ExchangeInitialized;
use crate::state::{Exchange, Ledger};
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_risk::LiquidationParams;
use keel_state::seeds;
use keel_state::LEDGER_SHARDS;

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

/// Creates ledger shard `index` at `info` (its PDA), paid by `payer`. An address someone already
/// sent lamports to (to block the creation) is topped up, allocated and assigned instead.
fn create_ledger<'info>(
    info: &AccountInfo<'info>,
    index: u8,
    exchange: &Pubkey,
    payer: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
) -> Result<()> {
    use anchor_lang::system_program::{allocate, assign, create_account, transfer};
    use anchor_lang::system_program::{Allocate, Assign, CreateAccount, Transfer};
    let (pda, bump) =
        Pubkey::find_program_address(&[seeds::LEDGER, exchange.as_ref(), &[index]], &crate::ID);
    require_keys_eq!(info.key(), pda, KeelError::WrongLedger);
    require!(info.is_writable, KeelError::WrongLedger);
    let signer: &[&[u8]] = &[seeds::LEDGER, exchange.as_ref(), &[index], &[bump]];
    let space = Ledger::SPACE;
    let rent = Rent::get()?.minimum_balance(space);
    let program = system_program.key();
    if info.lamports() == 0 {
        create_account(
            CpiContext::new_with_signer(
                program,
                CreateAccount {
                    from: payer.clone(),
                    to: info.clone(),
                },
                &[signer],
            ),
            rent,
            space as u64,
            &crate::ID,
        )?;
    } else {
        let missing = rent.saturating_sub(info.lamports());
        if missing > 0 {
            transfer(
                CpiContext::new(
                    program,
                    Transfer {
                        from: payer.clone(),
                        to: info.clone(),
                    },
                ),
                missing,
            )?;
        }
        allocate(
            CpiContext::new_with_signer(
                program,
                Allocate {
                    account_to_allocate: info.clone(),
                },
                &[signer],
            ),
            space as u64,
        )?;
        assign(
            CpiContext::new_with_signer(
                program,
                Assign {
                    account_to_assign: info.clone(),
                },
                &[signer],
            ),
            &crate::ID,
        )?;
    }
    let mut data = info.try_borrow_mut_data()?;
    data[..8].copy_from_slice(Ledger::DISCRIMINATOR);
    let l: &mut keel_state::Ledger = bytemuck::from_bytes_mut(&mut data[8..space]);
    l.version = keel_state::LAYOUT_VERSION;
    l.bump = bump;
    l.index = index;
    l.exchange = exchange.to_bytes();
    Ok(())
}

pub fn handler<'info>(
    ctx: Context<'info, InitExchange<'info>>,
    args: InitExchangeArgs,
) -> Result<()> {
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
    drop(ex);
    let remaining = ctx.remaining_accounts;
    require!(
        remaining.len() == LEDGER_SHARDS as usize,
        KeelError::LedgersMissing
    );
    let exchange_key = a.exchange.key();
    let payer = a.admin.to_account_info();
    let system = a.system_program.to_account_info();
    for (i, info) in remaining.iter().enumerate() {
        create_ledger(info, i as u8, &exchange_key, &payer, &system)?;
    }
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
