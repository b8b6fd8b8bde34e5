//! Adaptive volatility-scaled liquidation (AVSL) as state transitions (docs/liquidation.md).
//!
//! One call: keel-risk sizes the fraction f of the liquidatee's book to move
//! (`keel_risk::liquidation::plan`), the liquidator takes ⌈|qty|·f⌉ of every position at its
//! mark — a fee-free fill at the mark price, so each side's equity is unchanged by the transfer
//! itself — and the liquidatee pays the bonus ⌈rate·f·MM⌉, of which the insurance share goes to
//! the fund. A liquidatee left with no positions and negative collateral is bankrupt: the
//! insurance fund covers what it can, the rest is socialised (`ledger::socialise`), in its own
//! instruction (`resolve_bankruptcy`: it needs every ledger shard's totals). An account
//! is liquidatable below its trigger level: MM, raised toward IM while vol is above the
//! reference (`keel_risk::liquidation::is_liquidatable`).

use crate::controller::ledger::{self, Fill};
use crate::error::{KeelError, OrKeel};
use crate::state::Series;
use anchor_lang::prelude::*;
use keel_risk::liquidation::{self, LiquidationPlan};
use keel_risk::{Fx, MarginBreakdown};
use keel_state::account::{EPISODE_MAX_GAP_SECS, FLAG_BANKRUPT, FLAG_BEING_LIQUIDATED};
use keel_state::ledger::Books;
use keel_state::{Exchange, MarginAccount, Totals};

/// Whether the account of breakdown `b` is at or above its liquidation trigger level (MM, raised
/// while vol is above the reference: `keel_risk::liquidation::trigger_level`) — the level a
/// `liquidate` call needs it below.
pub fn at_or_above_trigger(b: &MarginBreakdown, ex: &Exchange) -> Result<bool> {
    Ok(!liquidation::is_liquidatable(b, max_sigma(b), &ex.liquidation_params).or_keel()?)
}

/// Ends the account's liquidation episode (flag and Dutch-auction clock) if it is no longer
/// liquidatable (`healthy`: `at_or_above_trigger` of the breakdown that gave its margin). Every
/// instruction that updates an account after computing its margin calls it: `trade`,
/// `withdraw`, `liquidate`, and `deposit` when passed the markets.
pub fn end_episode_if_healthy(acc: &mut MarginAccount, healthy: bool) {
    if healthy {
        acc.flags &= !FLAG_BEING_LIQUIDATED;
        acc.liquidatable_since_ts = 0;
    }
}

/// Opens the account's liquidation episode at `now` if none is open — or if the open one has
/// lapsed: no `liquidate` call found the account below its trigger level for more than `EPISODE_MAX_GAP_SECS`
/// (it may have recovered unseen in between) — and records this call. Returns the seconds since
/// the episode opened (the Dutch-auction clock).
pub fn episode_elapsed(acc: &mut MarginAccount, now: i64) -> i64 {
    let lapsed = now.saturating_sub(acc.last_liquidation_ts) > EPISODE_MAX_GAP_SECS;
    if acc.flags & FLAG_BEING_LIQUIDATED == 0 || acc.liquidatable_since_ts == 0 || lapsed {
        acc.flags |= FLAG_BEING_LIQUIDATED;
        acc.liquidatable_since_ts = now;
    }
    acc.last_liquidation_ts = now;
    now.saturating_sub(acc.liquidatable_since_ts).max(0)
}

pub use liquidation::max_sigma;

/// The plan for this call, with the fraction further limited to `max_fraction` (the
/// liquidator's own appetite).
pub fn plan(
    b: &MarginBreakdown,
    elapsed_secs: i64,
    max_fraction: Fx,
    ex: &Exchange,
) -> Result<LiquidationPlan> {
    let mut p =
        liquidation::plan(b, max_sigma(b), elapsed_secs, &ex.liquidation_params).or_keel()?;
    if p.fraction > max_fraction {
        p.fraction = max_fraction;
        p.restores_target = false;
    }
    Ok(p)
}

/// One position slice to move: `qty` contracts (the liquidatee's sign) of `series` at `mark`.
#[derive(Clone, Copy, Debug)]
pub struct Slice {
    /// The series.
    pub series: [u8; 32],
    /// Contracts the liquidator takes over (> 0 long, < 0 short).
    pub qty: i64,
    /// Mark value per contract at the oracle (the fill price).
    pub mark: i64,
}

/// The slices of every position for `fraction`, from the breakdown of the account's positions
/// (`slot_of(i)`: the account slot of the breakdown's i-th position).
pub fn slices(
    acc: &MarginAccount,
    b: &MarginBreakdown,
    slot_of: impl Fn(usize) -> usize,
    fraction: Fx,
) -> Result<Vec<Slice>> {
    let mut out = Vec::with_capacity(b.n_positions as usize);
    for i in 0..b.n_positions as usize {
        let p = &acc.positions[slot_of(i)];
        let qty = liquidation::slice(p.qty_contracts, fraction).or_keel()?;
        if qty != 0 {
            out.push(Slice {
                series: p.series,
                qty,
                mark: b.positions[i].mark.max(0),
            });
        }
    }
    Ok(out)
}

/// The slots of `slice`'s series in `from` and `to` when moving it changes nothing the series
/// counts: the liquidatee keeps a position on the same side (a partial slice) and the
/// liquidator already holds that side, so no position opens, closes or flips, no holder comes
/// or goes, open interest only passes from one to the other, and no futures cash is realised.
/// `None` otherwise.
fn keeps_series(from: &MarginAccount, to: &MarginAccount, slice: &Slice) -> Option<(usize, usize)> {
    let i = from.position_on_side(&slice.series, slice.qty)?;
    let j = to.position_on_side(&slice.series, slice.qty)?;
    let left = from.positions[i].qty_contracts.checked_sub(slice.qty)?;
    ((left > 0) == (slice.qty > 0) && left != 0).then_some((i, j))
}

/// Moves `slice` from `from` to `to`: a fee-free fill of the series at the mark on both sides.
/// A series passed read-only is only read, which the program accepts where the move changes
/// nothing the series counts (`keeps_series`; `SeriesNotWritable` otherwise), so liquidations
/// in one series need not queue on it. A writable one takes the fill's usual path.
pub fn transfer<'info>(
    from: &mut MarginAccount,
    to: &mut MarginAccount,
    ex: &mut impl Books,
    series_info: &'info AccountInfo<'info>,
    slice: &Slice,
) -> Result<(Fill, Fill)> {
    let loader = AccountLoader::<Series>::try_from(series_info)?;
    if !series_info.is_writable {
        let (i, j) = keeps_series(from, to, slice).ok_or(KeelError::SeriesNotWritable)?;
        let series = loader.load()?;
        require!(series.exchange == from.exchange, KeelError::WrongExchange);
        require!(
            series.status == keel_state::series::SERIES_ACTIVE,
            KeelError::SeriesAlreadySettled
        );
        let give = ledger::shift_position(from, ex, i, -slice.qty, slice.mark)?;
        let take = ledger::shift_position(to, ex, j, slice.qty, slice.mark)?;
        return Ok((give, take));
    }
    let mut series = loader.load_mut()?;
    require!(series.exchange == from.exchange, KeelError::WrongExchange);
    let give = ledger::apply_fill(
        from,
        ex,
        &slice.series,
        &mut series,
        -slice.qty,
        slice.mark,
        0,
    )?;
    let take = ledger::apply_fill(to, ex, &slice.series, &mut series, slice.qty, slice.mark, 0)?;
    Ok((give, take))
}

/// Pays the bonus for `fraction` of the account's MM from liquidatee to liquidator, with the
/// insurance share to the fund. Returns (bonus, insurance share).
pub fn pay_bonus(
    liquidatee: &mut MarginAccount,
    liquidator: &mut MarginAccount,
    books: &mut impl Books,
    ex: &Exchange,
    plan: &LiquidationPlan,
    mm: i64,
) -> Result<(i64, i64)> {
    let (bonus, share) =
        liquidation::bonus(plan.bonus_rate, plan.fraction, mm, &ex.liquidation_params).or_keel()?;
    ledger::credit(liquidatee, books, -bonus)?;
    ledger::credit(liquidator, books, bonus - share)?;
    *books.insurance_fund() = books
        .insurance_fund()
        .checked_add(share)
        .ok_or(KeelError::MathOverflow)?;
    *books.liquidation_bonus() = books
        .liquidation_bonus()
        .checked_add(bonus)
        .ok_or(KeelError::MathOverflow)?;
    Ok((bonus, share))
}

/// What a bankruptcy resolution did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bankruptcy {
    /// The negative collateral covered (−collateral before).
    pub shortfall: i64,
    /// Paid by the insurance fund.
    pub insurance_paid: i64,
    /// Socialised over every account's positive collateral.
    pub socialised: i64,
    /// The index increase that spreads it (0: nobody to spread it over; it stays pending).
    pub index_increase: u64,
}

/// Resolves a bankrupt account — no positions left, negative collateral: the insurance fund pays
/// what it can, the rest is socialised; the account ends at zero. `None` if not bankrupt.
/// `totals`: the Exchange's fields plus every shard's (the fund and the positive-collateral base
/// are totals); everything is booked in the Exchange's own fields.
pub fn resolve_bankruptcy(
    acc: &mut MarginAccount,
    ex: &mut Exchange,
    totals: &Totals,
) -> Result<Option<Bankruptcy>> {
    if acc.n_positions != 0 || acc.collateral_native >= 0 {
        return Ok(None);
    }
    let shortfall = acc
        .collateral_native
        .checked_neg()
        .ok_or(KeelError::MathOverflow)?;
    let insurance_paid = shortfall.min(totals.insurance_fund_native.max(0));
    ex.insurance_fund_native = ex
        .insurance_fund_native
        .checked_sub(insurance_paid)
        .ok_or(KeelError::MathOverflow)?;
    ledger::credit(acc, ex, insurance_paid)?;
    acc.insurance_received_native = acc
        .insurance_received_native
        .checked_add(insurance_paid)
        .ok_or(KeelError::MathOverflow)?;
    ex.insurance_paid_native = ex
        .insurance_paid_native
        .checked_add(insurance_paid)
        .ok_or(KeelError::MathOverflow)?;
    let socialised = shortfall - insurance_paid;
    let mut index_increase = 0;
    if socialised > 0 {
        ledger::credit(acc, ex, socialised)?;
        // The account was negative, so crediting it up to zero left the positive base as it
        // was: the base the loss is spread over is the totals' (this account counts 0 in it).
        index_increase = ledger::socialise(ex, totals.positive_collateral_native, socialised)?;
    }
    acc.flags |= FLAG_BANKRUPT;
    Ok(Some(Bankruptcy {
        shortfall,
        insurance_paid,
        socialised,
        index_increase,
    }))
}
