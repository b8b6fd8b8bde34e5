//! Money movements inside the exchange and the position bookkeeping of fills and settlements.
//!
//! Every movement updates both sides of the conservation identity
//! `vault == Σ collateral + insurance + fees + settlement pools − pending social loss`: a change
//! of one account's collateral is mirrored in the books' total collateral (and its positive part
//! in the positive-collateral base), a fee moves collateral into fees, a realised loss moves
//! collateral into its series' pool and a realised gain moves it back out, a socialised loss is
//! recorded as pending and later charged to accounts. The books (`keel_state::ledger::Books`)
//! are the Exchange's own fields where an instruction writes the Exchange, a ledger shard where
//! it does not (`trade`, `liquidate`, `settle_positions`): every aggregate is the sum of both,
//! so the identity holds for the sums. Nothing here touches tokens.

use crate::error::{Checked, KeelError};
use anchor_lang::prelude::*;
use keel_risk::SeriesKind;
use keel_state::ledger::Books;
use keel_state::series::SERIES_ACTIVE;
use keel_state::{Exchange, MarginAccount, Series};

/// Adds `amount` (may be negative) to an account's collateral and the books' totals.
pub fn credit(acc: &mut MarginAccount, ex: &mut impl Books, amount: i64) -> Result<()> {
    let before = acc.collateral_native;
    acc.collateral_native = before.add_or(amount)?;
    *ex.total_collateral() = ex.total_collateral().add_or(amount)?;
    *ex.positive_collateral() = ex
        .positive_collateral()
        .add_or(acc.collateral_native.max(0))?
        .sub_or(before.max(0))?;
    Ok(())
}

/// Charges the account its share of the losses socialised since it was last touched
/// (`keel_state::social`; `index`: the Exchange's current social-loss index), and returns it.
/// Every instruction that reads or changes an account's collateral calls this first, so margin
/// and balances always include it. The whole charge leaves the pending loss. Each charge is
/// rounded up, so all of them together may collect a few units more than was socialised (at
/// most one per account and loss): the pending total then dips below zero by that much until an
/// instruction that writes the Exchange and reads every shard moves it to the insurance fund
/// (`sweep_overcharge`) — a shard cannot see the total to stop at zero itself.
pub fn charge_social_loss(
    key: &Pubkey,
    acc: &mut MarginAccount,
    index: u64,
    ex: &mut impl Books,
) -> Result<i64> {
    let c = keel_state::social::charge(acc.collateral_native, acc.social_loss_index_q60, index);
    let since = acc.social_loss_index_q60;
    acc.social_loss_index_q60 = index;
    if c == 0 {
        return Ok(0);
    }
    credit(acc, ex, -c)?;
    acc.socialised_loss_native = acc.socialised_loss_native.add_or(c)?;
    *ex.social_loss_pending() = ex.social_loss_pending().sub_or(c)?;
    crate::events::emit(crate::events::SocialLossCharged {
        account: *key,
        amount_native: c,
        index_from_q60: since,
        index_to_q60: index,
        collateral_native: acc.collateral_native,
        socialised_loss_native: acc.socialised_loss_native,
    });
    Ok(c)
}

/// Moves what social-loss charges collected beyond the losses (a negative pending total over
/// the Exchange and every shard) into the insurance fund, as a charge
/// booked where the total is visible would have. Called by every instruction that writes the
/// Exchange with every shard read (`shards`: what they hold). Returns the amount moved.
pub fn sweep_overcharge(ex: &mut Exchange, shards: &keel_state::Totals) -> Result<i64> {
    let over = ex
        .social_loss_pending_native
        .add_or(shards.social_loss_pending_native)?
        .min(0)
        .checked_neg()
        .ok_or(KeelError::MathOverflow)?;
    if over > 0 {
        ex.social_loss_pending_native = ex.social_loss_pending_native.add_or(over)?;
        ex.insurance_fund_native = ex.insurance_fund_native.add_or(over)?;
    }
    Ok(over)
}

/// Spreads `loss` over every account's positive collateral (`base`: its total over the Exchange
/// and every shard): records it as pending (each account is charged its share when next
/// touched) and raises the index. Returns the index increase (0 if no account has positive
/// collateral: the loss then stays pending, unallocated).
pub fn socialise(ex: &mut Exchange, base: i64, loss: i64) -> Result<u64> {
    require!(loss >= 0, KeelError::MathOverflow);
    let inc = keel_state::social::index_increase(loss, base);
    ex.social_loss_index_q60 = ex
        .social_loss_index_q60
        .checked_add(inc)
        .ok_or(KeelError::MathOverflow)?;
    ex.social_loss_pending_native = ex.social_loss_pending_native.add_or(loss)?;
    ex.socialised_loss_native = ex.socialised_loss_native.add_or(loss)?;
    ex.socialisation_count = ex.socialisation_count.saturating_add(1);
    Ok(inc)
}

/// Moves a fee from an account's collateral to the exchange's fee balance.
pub fn pay_fee(acc: &mut MarginAccount, ex: &mut impl Books, fee: i64) -> Result<()> {
    require!(fee >= 0, KeelError::MathOverflow);
    credit(acc, ex, -fee)?;
    *ex.fees() = ex.fees().add_or(fee)?;
    acc.fees_paid_native = acc.fees_paid_native.add_or(fee)?;
    Ok(())
}

/// Realises `amount` of P&L of a position in `series` into the account: a loss (< 0) is paid
/// into the series' settlement pool, a gain (> 0) is paid out of it and must be covered by it.
pub fn realise(
    acc: &mut MarginAccount,
    ex: &mut impl Books,
    series: &mut Series,
    amount: i64,
) -> Result<()> {
    if amount > 0 {
        require!(
            series.settlement_pool_native >= amount,
            KeelError::SettlementPoolShort
        );
    }
    credit(acc, ex, amount)?;
    series.settlement_pool_native = series.settlement_pool_native.sub_or(amount)?;
    *ex.settlement_pools() = ex.settlement_pools().sub_or(amount)?;
    acc.realised_pnl_native = acc.realised_pnl_native.add_or(amount)?;
    Ok(())
}

/// ⌈a·b/d⌉ on 64-bit operations (exact 128-bit intermediate), `None` if it does not fit.
pub fn mul_div_ceil(a: u64, b: u64, d: u64) -> Option<u64> {
    if d == 0 {
        return None;
    }
    let (hi, lo) = keel_risk::fx::mul_wide(a, b);
    if hi >= d {
        return None;
    }
    let (q, r) = keel_risk::fx::div_wide(hi, lo, d);
    q.checked_add((r != 0) as u64)
}

/// Fee on a fill of `qty` contracts at `price`: ⌈|qty|·price·bps / 10 000⌉.
pub fn fee(qty: i64, price: i64, bps: u16) -> Result<i64> {
    let notional = (qty.unsigned_abs())
        .checked_mul(price.max(0) as u64)
        .filter(|n| *n <= i64::MAX as u64)
        .ok_or(KeelError::AmountTooLarge)?;
    let f = mul_div_ceil(notional, bps as u64, 10_000).ok_or(KeelError::MathOverflow)?;
    Ok(f as i64)
}

/// What a fill did to one account.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fill {
    /// Position before.
    pub qty_before: i64,
    /// Position after.
    pub qty_after: i64,
    /// Futures cash realised into collateral because the position went flat (0 if none).
    pub realised_native: i64,
}

/// Applies a fill of `qty` contracts (signed, this account's side) of `series` at `price` per
/// contract, paying `fee_native`:
/// - options: the premium qty·price moves through collateral now;
/// - futures: −qty·price accumulates in the position's cash (the entry cost);
/// - a position that goes flat frees its slot; a flat future realises its cash (a gain only if
///   the series' pool can pay it, otherwise the slot stays as a claim).
///
/// Open interest (Σ long contracts) and the holder count follow.
#[allow(clippy::too_many_arguments)]
pub fn apply_fill(
    acc: &mut MarginAccount,
    ex: &mut impl Books,
    series_key: &[u8; 32],
    series: &mut Series,
    qty: i64,
    price: i64,
    fee_native: i64,
) -> Result<Fill> {
    require!(
        series.status == SERIES_ACTIVE,
        KeelError::SeriesAlreadySettled
    );
    let kind = series.series_kind().ok_or(KeelError::InvalidSeriesKind)?;
    let i = match acc.position_index(series_key) {
        Some(i) => i,
        None => {
            let slot = acc
                .market_slot_or_insert(&series.market)
                .ok_or(KeelError::TooManyMarkets)?;
            let i = match acc.free_slot() {
                Some(i) => i,
                None => {
                    // Undo the market entry if it was just taken and nothing uses it.
                    acc.free_market_if_unused(slot);
                    return err!(KeelError::TooManyPositions);
                }
            };
            let p = &mut acc.positions[i];
            p.series = *series_key;
            p.qty_contracts = 0;
            p.cash_native = 0;
            p.strike_native = series.strike_native;
            p.expiry_ts = series.expiry_ts;
            p.market_slot = slot as u8;
            p.kind = series.kind;
            p.array_page = series.array_page;
            p.array_slot = series.array_slot;
            acc.n_positions += 1;
            series.holders = series
                .holders
                .checked_add(1)
                .ok_or(KeelError::MathOverflow)?;
            i
        }
    };
    let qty_before = acc.positions[i].qty_contracts;
    let qty_after = qty_before.add_or(qty)?;
    let cost = qty.mul_or(price)?;
    match kind {
        SeriesKind::Call | SeriesKind::Put => credit(acc, ex, -cost)?,
        SeriesKind::Future => {
            acc.positions[i].cash_native = acc.positions[i].cash_native.sub_or(cost)?;
        }
    }
    acc.positions[i].qty_contracts = qty_after;
    pay_fee(acc, ex, fee_native)?;

    let oi_delta = qty_after.max(0).sub_or(qty_before.max(0))?;
    series.open_interest_contracts = series.open_interest_contracts.add_or(oi_delta)?;

    let mut realised = 0;
    if qty_after == 0 {
        let cash = acc.positions[i].cash_native;
        if cash <= 0 || series.settlement_pool_native >= cash {
            if cash != 0 {
                realise(acc, ex, series, cash)?;
                realised = cash;
            }
            acc.free_position(i);
            series.holders = series.holders.saturating_sub(1);
        }
    }
    Ok(Fill {
        qty_before,
        qty_after,
        realised_native: realised,
    })
}

/// Moves `qty` contracts (this account's side) at `price` into the position in slot `i`, which
/// stays open on the side it had: `apply_fill`'s movements of money and contracts without a
/// fee and without the series (no holder, open-interest or settlement-pool change happens in
/// that case; `liquidation::transfer` decides when it is).
pub fn shift_position(
    acc: &mut MarginAccount,
    ex: &mut impl Books,
    i: usize,
    qty: i64,
    price: i64,
) -> Result<Fill> {
    let p = acc.positions[i];
    let kind = SeriesKind::from_u8(p.kind).ok_or(KeelError::InvalidSeriesKind)?;
    let cost = qty.mul_or(price)?;
    match kind {
        SeriesKind::Call | SeriesKind::Put => credit(acc, ex, -cost)?,
        SeriesKind::Future => {
            acc.positions[i].cash_native = p.cash_native.sub_or(cost)?;
        }
    }
    let qty_after = p.qty_contracts.add_or(qty)?;
    acc.positions[i].qty_contracts = qty_after;
    Ok(Fill {
        qty_before: p.qty_contracts,
        qty_after,
        realised_native: 0,
    })
}

/// What settling one position paid.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settlement {
    /// Contracts held.
    pub qty: i64,
    /// Futures cash held.
    pub cash: i64,
    /// qty·payoff + cash, realised into collateral.
    pub payout: i64,
}

/// Realises the position of `acc` in settled `series` at its settlement price and frees it.
pub fn settle_position(
    acc: &mut MarginAccount,
    ex: &mut impl Books,
    series_key: &[u8; 32],
    series: &mut Series,
) -> Result<Settlement> {
    let i = acc
        .position_index(series_key)
        .ok_or(KeelError::PositionNotFound)?;
    let p = acc.positions[i];
    let payoff = series
        .payoff_per_contract(series.settlement_price_native)
        .ok_or(KeelError::MathOverflow)?;
    let payout = p.qty_contracts.mul_or(payoff)?.add_or(p.cash_native)?;
    realise(acc, ex, series, payout)?;
    series.open_interest_contracts = series
        .open_interest_contracts
        .sub_or(p.qty_contracts.max(0))?;
    series.holders = series.holders.saturating_sub(1);
    acc.free_position(i);
    Ok(Settlement {
        qty: p.qty_contracts,
        cash: p.cash_native,
        payout,
    })
}
