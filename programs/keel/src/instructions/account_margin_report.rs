//! `margin_report`: computes an account's margin and emits the full keel-risk breakdown as a
//! `MarginReport` event (read-only: clients simulate it; `keel verify` compares it with its own
//! off-chain computation). Remaining accounts as for `withdraw`. The account is valued as the
//! next instruction touching it would see it: with its pending share of socialised losses
//! charged (`keel_state::social::apply`, on a heap copy).

use crate::controller::margin::{Margin, MarketSet};
use crate::error::{KeelError, OrKeel};
use crate::events::MarginReportView;
use crate::state::{Exchange, MarginAccount};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct MarginReportAccounts<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(constraint = margin_account.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler<'info>(ctx: Context<'info, MarginReportAccounts<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut acc = bytemuck::zeroed_box::<keel_state::MarginAccount>();
    *acc = ctx.accounts.margin_account.load()?.0;
    keel_state::social::apply(&mut acc, &ctx.accounts.exchange.load()?.0);
    // With the `cu-trace` feature (a measurement build, scripts/measure-margin-check.sh) the
    // margin check itself — markets, oracles and pages loaded and checked, the margin computed —
    // is bracketed by the VM's remaining-units log, so it is measured on the program's bytecode.
    #[cfg(feature = "cu-trace")]
    crate::cu_trace::log_compute_units();
    let set = MarketSet::load(ctx.remaining_accounts, &ctx.accounts.exchange.key(), now)?;
    let mut margin = Margin::once(&set, now);
    margin.compute(&acc, None)?;
    #[cfg(feature = "cu-trace")]
    crate::cu_trace::log_compute_units();
    let b = &margin.breakdown;
    let market_keys: Vec<Pubkey> = (0..b.n_markets as usize)
        .map(|i| Pubkey::new_from_array(margin.market_key(i)))
        .collect();
    let positions: Vec<(Pubkey, i64)> = (0..b.n_positions as usize)
        .map(|i| {
            let slot = &acc.positions[margin.position_slot(i)];
            (Pubkey::new_from_array(slot.series), slot.qty_contracts)
        })
        .collect();
    // The level `liquidate` compares equity with, computed once: whether the account is below
    // it, and what `withdraw` accepts above it.
    let liquidation_params = ctx.accounts.exchange.load()?.liquidation_params;
    let status = keel_risk::liquidation::status(b, &liquidation_params).or_keel()?;
    // Encoded straight from the breakdown (the SBF heap holds no copy of it as vectors).
    crate::events::emit_margin_report(&MarginReportView {
        account: ctx.accounts.margin_account.key(),
        now,
        breakdown: b,
        status,
        market_keys: &market_keys,
        positions: &positions,
    });
    Ok(())
}
