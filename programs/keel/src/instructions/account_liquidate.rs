//! `liquidate`: permissionless adaptive volatility-scaled liquidation (AVSL) of an account below
//! its trigger level — maintenance margin, raised toward IM while vol is above the reference
//! (`keel_risk::liquidation::trigger_level`; docs/liquidation.md). The liquidator — the owner or delegate of its own
//! margin account — takes over the fraction of every position keel-risk sizes to bring the
//! liquidatee back to its target between MM and IM (capped per call, the cap shrinking as vol
//! rises) at mark, and is paid a vol-scaled bonus that grows with the time since the account
//! became liquidatable. The liquidator must satisfy IM afterwards. A liquidatee left without
//! positions and with negative collateral is bankrupt: `resolve_bankruptcy` (anyone may call it)
//! then has the insurance fund cover it and socialises what the fund cannot.
//!
//! The Exchange is read, not written: collateral totals, the insurance share and the counters
//! are booked in the ledger shard the caller passes (any shard of the exchange;
//! `keel_state::ledger`), so liquidations of different accounts do not queue on one writable
//! account. A bankruptcy needs the totals of every shard and writes the Exchange: that is why
//! it is its own instruction.
//!
//! Remaining accounts: (market, oracle) for every market either account holds positions in
//! after the call, optional correlation accounts, and every series the liquidatee holds:
//! writable, or read-only where the transfer changes none of the series' counters (a partial
//! slice to a liquidator that already holds the same side; `SeriesNotWritable` otherwise), so
//! such liquidations in one series do not queue on it.

use crate::controller::ledger;
use crate::controller::liquidation::{self as avsl, Slice};
use crate::controller::margin::{has_expired_positions, health_im, Margin, MarketSet};
use crate::error::{KeelError, OrKeel};
use crate::events::{Liquidated, LiquidationTransfer};
use crate::state::{Exchange, Ledger, MarginAccount};
use anchor_lang::prelude::*;
use keel_risk::{liquidation, Fx};
use keel_state::exchange::PAUSE_LIQUIDATE;

/// Arguments of `liquidate`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct LiquidateArgs {
    /// The most the liquidator is willing to take over in this call, basis points of the
    /// liquidatee's book (1..=10 000; 10 000: whatever the plan says).
    pub max_fraction_bps: u16,
}

#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// The ledger shard this call's money movements are booked in.
    #[account(mut)]
    pub ledger: AccountLoader<'info, Ledger>,
    #[account(mut, constraint = liquidatee.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub liquidatee: AccountLoader<'info, MarginAccount>,
    /// `dup` so that passing the liquidatee twice fails with `SelfLiquidation`, not a generic
    /// duplicate-account error.
    #[account(
        mut,
        dup,
        constraint = liquidator_account.key() != liquidatee.key() @ KeelError::SelfLiquidation,
        constraint = liquidator_account.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange,
    )]
    pub liquidator_account: AccountLoader<'info, MarginAccount>,
    pub liquidator: Signer<'info>,
}

/// Q32.32 fraction of `bps` basis points, rounded down.
fn fraction_of_bps(bps: u16) -> Fx {
    Fx::from_bits(((bps as i64) << 32) / 10_000)
}

pub fn handler<'info>(ctx: Context<'info, Liquidate<'info>>, args: LiquidateArgs) -> Result<()> {
    require!(
        (1..=10_000).contains(&args.max_fraction_bps),
        KeelError::InvalidFraction
    );
    let now = Clock::get()?.unix_timestamp;
    let a = &ctx.accounts;
    let exchange_key = a.exchange.key();
    let ex = a.exchange.load()?;
    require!(ex.allows(PAUSE_LIQUIDATE), KeelError::ExchangePaused);
    let mut books = a.ledger.load_mut()?;
    crate::controller::shards::check_shard(&books, &exchange_key)?;
    let index = ex.social_loss_index_q60;
    let mut victim = a.liquidatee.load_mut()?;
    // Nothing to take over, only a negative balance: that is `resolve_bankruptcy`'s.
    require!(
        victim.n_positions != 0 || victim.collateral_native >= 0,
        KeelError::NoPositionsToLiquidate
    );
    let mut liq = a.liquidator_account.load_mut()?;
    require!(
        liq.is_trader(&a.liquidator.key().to_bytes()),
        KeelError::NotTrader
    );
    // Nobody who controls the liquidatee — its owner, or its delegate through any account —
    // may liquidate it: the bonus would come out of its own (or its principal's) collateral.
    require!(
        victim.owner != liq.owner && !victim.is_trader(&a.liquidator.key().to_bytes()),
        KeelError::SelfLiquidation
    );
    for acc in [&victim, &liq] {
        require!(
            !has_expired_positions(acc, now),
            KeelError::ExpiredPositionsUnsettled
        );
    }
    ledger::charge_social_loss(&a.liquidatee.key(), &mut victim, index, &mut books.totals)?;
    ledger::charge_social_loss(
        &a.liquidator_account.key(),
        &mut liq,
        index,
        &mut books.totals,
    )?;

    let set = MarketSet::load_with_series(ctx.remaining_accounts, &exchange_key, now)?;
    let mut margin = Margin::new(&set, now);
    let before = margin.compute(&victim, None)?;
    // Below MM, or below the level raised toward IM while vol is above the reference.
    let sigma = avsl::max_sigma(&margin.breakdown);
    let (trigger, stress) =
        liquidation::trigger(&margin.breakdown, sigma, &ex.liquidation_params).or_keel()?;
    if !liquidation::below(&margin.breakdown, trigger) {
        crate::log!(
            "equity_mm {} >= trigger {} (mm {}): not liquidatable",
            before.equity_mm,
            trigger,
            before.mm
        );
        return err!(KeelError::NotLiquidatable);
    }
    let elapsed = avsl::episode_elapsed(&mut victim, now);
    let plan = avsl::plan(
        &margin.breakdown,
        elapsed,
        fraction_of_bps(args.max_fraction_bps),
        &ex,
    )?;

    // Slice every position (none when the account holds nothing: only a shortfall is left).
    let slices: Vec<Slice> = if plan.fraction > Fx::ZERO {
        avsl::slices(
            &victim,
            &margin.breakdown,
            |i| margin.position_slot(i),
            plan.fraction,
        )?
    } else {
        Vec::new()
    };
    let mut transfers = Vec::with_capacity(slices.len());
    let mut value: i64 = 0;
    for s in &slices {
        let info = set
            .series
            .iter()
            .find(|i| i.key.to_bytes() == s.series)
            .ok_or(KeelError::SeriesMissing)?;
        avsl::transfer(&mut victim, &mut liq, &mut books.totals, info, s)?;
        value = value
            .checked_add(s.qty.checked_mul(s.mark).ok_or(KeelError::MathOverflow)?)
            .ok_or(KeelError::MathOverflow)?;
        transfers.push(LiquidationTransfer {
            series: info.key(),
            qty_contracts: s.qty,
            price_native: s.mark,
        });
    }
    let (bonus, share) = if slices.is_empty() {
        (0, 0)
    } else {
        avsl::pay_bonus(
            &mut victim,
            &mut liq,
            &mut books.totals,
            &ex,
            &plan,
            before.mm,
        )?
    };

    let after = margin.compute(&victim, None)?;
    let victim_healthy = avsl::at_or_above_trigger(&margin.breakdown, &ex)?;
    if !slices.is_empty()
        && victim.n_positions != 0
        && after.equity_mm.saturating_sub(after.mm) <= before.equity_mm.saturating_sub(before.mm)
    {
        crate::log!(
            "health {} -> {}",
            before.equity_mm.saturating_sub(before.mm),
            after.equity_mm.saturating_sub(after.mm)
        );
        return err!(KeelError::LiquidationDidNotImprove);
    }
    // Taking over long positions is a purchase at the mark: the liquidator pays for it from its
    // own collateral, never on credit against what it takes over (the rule `trade` applies).
    if liq.collateral_native < 0 {
        crate::log!("liquidator collateral {}", liq.collateral_native);
        return err!(KeelError::TradeLeavesNegativeCollateral);
    }
    let liq_snap = margin.compute(&liq, None)?;
    let liq_healthy = avsl::at_or_above_trigger(&margin.breakdown, &ex)?;
    if health_im(&liq_snap) < 0 {
        crate::log!(
            "liquidator equity_im {} < im {}",
            liq_snap.equity_im,
            liq_snap.im
        );
        return err!(KeelError::LiquidatorBelowInitialMargin);
    }
    // Above IM, but not above a trigger the realised-vol stress raised above it.
    if !liq_healthy {
        crate::log!(
            "liquidator equity_mm {} below its trigger",
            liq_snap.equity_mm
        );
        return err!(KeelError::LiquidatorLeavesLiquidatable);
    }
    avsl::end_episode_if_healthy(&mut victim, victim_healthy);
    avsl::end_episode_if_healthy(&mut liq, liq_healthy);
    victim.last_margin = after;
    liq.last_margin = liq_snap;
    victim.liquidations = victim.liquidations.saturating_add(1);
    books.totals.liquidation_count = books.totals.liquidation_count.saturating_add(1);
    crate::events::emit(Liquidated {
        liquidatee: a.liquidatee.key(),
        liquidator: a.liquidator_account.key(),
        liquidator_authority: a.liquidator.key(),
        fraction_q32: plan.fraction.to_bits(),
        fraction_needed_q32: plan.fraction_needed.to_bits(),
        fraction_cap_q32: plan.fraction_cap.to_bits(),
        bonus_rate_q32: plan.bonus_rate.to_bits(),
        sigma_q32: sigma.to_bits(),
        stress_q32: stress.to_bits(),
        elapsed_secs: elapsed,
        bonus_native: bonus,
        insurance_share_native: share,
        value_native: value,
        transfers,
        equity_mm_before: before.equity_mm,
        mm_before: before.mm,
        im_before: before.im,
        trigger_level: trigger,
        target: plan.target,
        equity_mm_after: after.equity_mm,
        mm_after: after.mm,
        im_after: after.im,
        liquidatee_collateral_native: victim.collateral_native,
        liquidatee_positions_after: victim.n_positions,
        healthy_after: victim_healthy,
        liquidator_equity_im: liq_snap.equity_im,
        liquidator_im: liq_snap.im,
        ts: now,
    });
    Ok(())
}
