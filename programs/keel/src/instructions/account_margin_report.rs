//! `margin_report`: computes an account's margin and emits the full keel-risk breakdown as a
//! `MarginReport` event (read-only: clients simulate it; `keel verify` compares it with its own
//! off-chain computation). Remaining accounts as for `withdraw`. The account is valued as the
//! next instruction touching it would see it: with its pending share of socialised losses
//! charged (`keel_state::social::apply`, on a heap copy).

use crate::controller::margin::{Margin, MarketSet};
use crate::error::KeelError;
use crate::events::{MarginReport, MarketRiskReport, PositionRiskReport};
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
    let set = MarketSet::load(ctx.remaining_accounts, &ctx.accounts.exchange.key(), now)?;
    let mut margin = Margin::new(&set, now);
    margin.compute(&acc, None)?;
    let b = &margin.breakdown;
    let markets = (0..b.n_markets as usize)
        .map(|i| {
            let m = &b.markets[i];
            MarketRiskReport {
                market: Pubkey::new_from_array(margin.market_key(i)),
                spot: m.spot,
                stable_spot: m.stable_spot,
                conf: m.conf,
                sigma_q32: m.sigma.to_bits(),
                range_q32: m.range.to_bits(),
                worst_im: m.worst_im,
                worst_im_scenario: m.worst_im_scenario,
                worst_mm: m.worst_mm,
                worst_mm_scenario: m.worst_mm_scenario,
                net_delta_q32: m.net_delta.to_bits(),
                short_min_im: m.short_min_im,
                short_min_mm: m.short_min_mm,
                conf_addon: m.conf_addon,
                impact_addon: m.impact_addon,
                pnl: m.pnl.to_vec(),
            }
        })
        .collect();
    let positions = (0..b.n_positions as usize)
        .map(|i| {
            let p = &b.positions[i];
            let slot = &acc.positions[margin.position_slot(i)];
            PositionRiskReport {
                series: Pubkey::new_from_array(slot.series),
                qty_contracts: slot.qty_contracts,
                mark: p.mark,
                mark_stable: p.mark_stable,
                value: p.value,
                value_im: p.value_im,
                rounding: p.rounding,
                delta_q32: p.greeks.delta.to_bits(),
                gamma_q32: p.greeks.gamma.to_bits(),
                vega: p.greeks.vega,
                theta: p.greeks.theta,
            }
        })
        .collect();
    crate::events::emit(MarginReport {
        account: ctx.accounts.margin_account.key(),
        now,
        collateral: b.collateral,
        equity_mm: b.equity_mm,
        equity_im: b.equity_im,
        mm: b.mm,
        im: b.im,
        scan_mm: b.scan_mm,
        scan_im: b.scan_im,
        offset_mm: b.offset_mm,
        offset_im: b.offset_im,
        addons: b.addons,
        short_min_mm: b.short_min_mm,
        short_min_im: b.short_min_im,
        rounding: b.rounding,
        health_mm: b.health_mm(),
        health_im: b.health_im(),
        withdrawable: b.withdrawable(),
        liquidatable: b.is_liquidatable(),
        markets,
        positions,
    });
    Ok(())
}
