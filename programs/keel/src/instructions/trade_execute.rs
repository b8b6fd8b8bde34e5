//! `trade`: a bilateral trade of one series at an agreed price. Maker and taker (each the owner
//! or delegate of its account, two different keys) sign the same transaction. The price must lie
//! inside the band around the series' mark (`keel_state::trade_band`). Afterwards each account
//! must hold non-negative collateral and satisfy initial margin; an account that was already
//! below IM may only trade to strictly reduce its risk: a reduce-only trade in the series, IM
//! strictly lower, IM health no worse, at a price no worse for it than the mark. The same rule
//! lets an account in a liquidation episode de-risk itself while liquidators work.
//!
//! The Exchange is read, not written: fees, collateral totals and settlement pools are booked
//! in the ledger shard the caller passes (any shard of the exchange; `keel_state::ledger`), so
//! trades of different accounts do not queue on one writable account.
//!
//! On a market without a vol authority an option fill also records its implied vol in the
//! series (`keel_state::Series::record_fill`), which `update_volatility` folds into the market's.
//!
//! Remaining accounts: (market, oracle) for every market either account holds positions in
//! after the trade (including the series' market), then optional correlation accounts.

use crate::bounds::MAX_TRADE_CONTRACTS;
use crate::controller::ledger::{self, Fill};
use crate::controller::margin::{has_expired_positions, health_im, Margin, MarketSet};
use crate::error::{KeelError, OrKeel};
use crate::events::{FuturesRealised, Traded};
use crate::state::{Exchange, Ledger, MarginAccount, Series};
use anchor_lang::prelude::*;
use keel_risk::SeriesKind;
use keel_state::exchange::PAUSE_TRADE;
use keel_state::series::SERIES_ACTIVE;
use keel_state::MarginSnapshot;

/// Arguments of `trade`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct TradeArgs {
    /// Contracts the taker buys (> 0) or sells (< 0); the maker takes the other side.
    pub qty_contracts: i64,
    /// Price per contract, quote native units: the premium for options (≥ 0), the futures
    /// price (> 0).
    pub price_native: i64,
}

#[derive(Accounts)]
pub struct Trade<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// The ledger shard this trade's money movements are booked in.
    #[account(mut)]
    pub ledger: AccountLoader<'info, Ledger>,
    #[account(mut, constraint = series.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub series: AccountLoader<'info, Series>,
    #[account(mut, constraint = taker_account.key() != maker_account.key() @ KeelError::SelfTrade)]
    pub taker_account: AccountLoader<'info, MarginAccount>,
    pub taker: Signer<'info>,
    /// `dup` so that passing the taker's account twice fails with `SelfTrade`, not a generic
    /// duplicate-account error.
    #[account(mut, dup)]
    pub maker_account: AccountLoader<'info, MarginAccount>,
    pub maker: Signer<'info>,
}

/// Checks one account after a fill of `side_qty` contracts (its own sign) at `price`: collateral
/// never negative; then IM, or — for an account already below IM — a strict risk reduction.
/// A fill that reduces (or flips) a position of an account that was below IM must also be
/// priced no worse for it than the mark (`mark`), even when it ends above IM: otherwise closing
/// at a free price would hand the account's last equity to the other side.
fn check_side(
    margin: &mut Margin,
    after: &keel_state::MarginAccount,
    before: &keel_state::MarginAccount,
    fill: &Fill,
    fill_terms: (i64, i64, i64),
    ex: &keel_state::Exchange,
) -> Result<(MarginSnapshot, bool)> {
    let (side_qty, price, mark) = fill_terms;
    if after.collateral_native < 0 {
        crate::log!("collateral {} after the trade", after.collateral_native);
        return err!(KeelError::TradeLeavesNegativeCollateral);
    }
    let (q0, q1) = (fill.qty_before, fill.qty_after);
    // Buying back above the mark or selling below it: worse than a close-out at the mark.
    let worse_than_mark = (side_qty > 0 && price > mark) || (side_qty < 0 && price < mark);
    let reduces = q0 != 0 && (q1.unsigned_abs() < q0.unsigned_abs() || (q1 > 0) != (q0 > 0));
    // Smaller on the same side (or closed): what an account below IM or below its trigger may do.
    let reduce_only =
        q0 != 0 && q1.unsigned_abs() < q0.unsigned_abs() && (q1 == 0 || (q1 > 0) == (q0 > 0));
    let snap = margin.compute(after, None)?;
    // At or above the liquidation trigger afterwards (asked before the breakdown is overwritten
    // by the checks below): ends an episode, and is required of any trade but a reduction.
    let above = crate::controller::liquidation::at_or_above_trigger(&margin.breakdown, ex)?;
    let healthy = after.in_liquidation_episode() && above;
    if health_im(&snap) >= 0 {
        if !above {
            // Above IM but below a trigger the realised-vol stress raised above IM: the account
            // may only reduce, and not at a price worse than the mark (as below IM).
            if !reduce_only {
                crate::log!("liquidatable after the trade: equity_mm {}", snap.equity_mm);
                return err!(KeelError::TradeLeavesLiquidatable);
            }
            if worse_than_mark {
                crate::log!("below the trigger: price {} vs mark {}", price, mark);
                return err!(KeelError::ReduceWorseThanMark);
            }
            return Ok((snap, healthy));
        }
        // The prior state is only needed (and only computed) for a worse-than-mark reduction.
        if worse_than_mark && reduces && health_im(&margin.compute(before, None)?) < 0 {
            crate::log!("below IM before: price {} vs mark {}", price, mark);
            return err!(KeelError::ReduceWorseThanMark);
        }
        return Ok((snap, healthy));
    }
    let prior = margin.compute(before, None)?;
    if health_im(&prior) >= 0 {
        crate::log!(
            "equity_im {} < im {} after the trade",
            snap.equity_im,
            snap.im
        );
        return err!(KeelError::BelowInitialMargin);
    }
    if !(reduce_only && snap.im < prior.im && health_im(&snap) >= health_im(&prior)) {
        crate::log!(
            "below IM: im {} -> {}, health {} -> {}",
            prior.im,
            snap.im,
            health_im(&prior),
            health_im(&snap)
        );
        return err!(KeelError::TradeIncreasesRisk);
    }
    if worse_than_mark {
        crate::log!("below IM: price {} vs mark {}", price, mark);
        return err!(KeelError::ReduceWorseThanMark);
    }
    Ok((snap, healthy))
}

pub fn handler<'info>(ctx: Context<'info, Trade<'info>>, args: TradeArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let qty = args.qty_contracts;
    let price = args.price_native;
    require!(
        qty != 0 && qty.unsigned_abs() <= MAX_TRADE_CONTRACTS as u64,
        KeelError::InvalidQuantity
    );
    let a = &ctx.accounts;
    let exchange_key = a.exchange.key();
    let series_key = a.series.key().to_bytes();
    let ex = a.exchange.load()?;
    require!(ex.allows(PAUSE_TRADE), KeelError::ExchangePaused);
    let mut books = a.ledger.load_mut()?;
    crate::controller::shards::check_shard(&books, &exchange_key)?;
    let index = ex.social_loss_index_q60;
    let mut series = a.series.load_mut()?;
    require!(
        series.status == SERIES_ACTIVE,
        KeelError::SeriesAlreadySettled
    );
    require!(now < series.expiry_ts, KeelError::SeriesExpired);
    let kind = series.series_kind().ok_or(KeelError::InvalidSeriesKind)?;
    match kind {
        SeriesKind::Future => require!(price > 0, KeelError::InvalidPrice),
        _ => require!(price >= 0, KeelError::InvalidPrice),
    }
    let mut taker = a.taker_account.load_mut()?;
    let mut maker = a.maker_account.load_mut()?;
    for acc in [&taker, &maker] {
        require!(
            acc.exchange == exchange_key.to_bytes(),
            KeelError::WrongExchange
        );
        require!(
            !has_expired_positions(acc, now),
            KeelError::ExpiredPositionsUnsettled
        );
    }
    require!(
        taker.is_trader(&a.taker.key().to_bytes()),
        KeelError::NotTrader
    );
    require!(
        maker.is_trader(&a.maker.key().to_bytes()),
        KeelError::NotTrader
    );
    // One key on both sides (an owner's two accounts, or a delegate and its own account) could
    // set any price between them: a delegate would drain its principal.
    require_keys_neq!(a.taker.key(), a.maker.key(), KeelError::SameSignerBothSides);

    ledger::charge_social_loss(&a.taker_account.key(), &mut taker, index, &mut books.totals)?;
    ledger::charge_social_loss(&a.maker_account.key(), &mut maker, index, &mut books.totals)?;

    let taker_fee = ledger::fee(qty, price, ex.taker_fee_bps)?;
    let maker_fee = ledger::fee(qty, price, ex.maker_fee_bps)?;

    // Copies of the accounts before the fill, on the heap, for the risk-reduction rule.
    let mut taker_before = bytemuck::zeroed_box::<keel_state::MarginAccount>();
    *taker_before = taker.0;
    let mut maker_before = bytemuck::zeroed_box::<keel_state::MarginAccount>();
    *maker_before = maker.0;

    let t = ledger::apply_fill(
        &mut taker,
        &mut books.totals,
        &series_key,
        &mut series,
        qty,
        price,
        taker_fee,
    )?;
    let m = ledger::apply_fill(
        &mut maker,
        &mut books.totals,
        &series_key,
        &mut series,
        -qty,
        price,
        maker_fee,
    )?;
    series.volume_contracts = series
        .volume_contracts
        .checked_add(qty.unsigned_abs())
        .ok_or(KeelError::MathOverflow)?;

    let set = MarketSet::load(ctx.remaining_accounts, &exchange_key, now)?;
    let market = set
        .markets
        .iter()
        .find(|m| m.key.to_bytes() == series.market)
        .ok_or(KeelError::MarketMissing)?;
    // Every fill is priced near its mark (docs/security.md, "Off-market fills").
    let band = keel_state::trade_band::band(
        &market.market.0,
        &market.reading,
        kind,
        series.strike_native,
        series.expiry_ts,
        now,
    )
    .or_keel()?;
    if !band.contains(price) {
        crate::log!("price {} outside [{}, {}]", price, band.lo, band.hi);
        return err!(KeelError::PriceOutsideBand);
    }
    // A market without a vol authority takes its implied vol from its own option fills: each
    // records its implied vol in the series (rate- and band-limited, `Series::record_fill`),
    // which the vol crank folds into the market's (docs/risk-model.md §3.6).
    if kind.is_option() && !market.market.0.has_vol_authority() {
        let (hist, decimals) = (
            market.market.0.vol_state.hist_vol,
            market.market.0.quote_decimals,
        );
        series
            .record_fill(band.spot, price, qty, now, hist, decimals)
            .or_keel()?;
    }
    let mut margin = Margin::new(&set, now);
    let (ts, taker_healthy) = check_side(
        &mut margin,
        &taker,
        &taker_before,
        &t,
        (qty, price, band.mark),
        &ex,
    )?;
    let (ms, maker_healthy) = check_side(
        &mut margin,
        &maker,
        &maker_before,
        &m,
        (-qty, price, band.mark),
        &ex,
    )?;
    taker.last_margin = ts;
    maker.last_margin = ms;
    crate::controller::liquidation::end_episode_if_healthy(&mut taker, taker_healthy);
    crate::controller::liquidation::end_episode_if_healthy(&mut maker, maker_healthy);

    for (fill, acc, key) in [
        (&t, &taker, a.taker_account.key()),
        (&m, &maker, a.maker_account.key()),
    ] {
        if fill.realised_native != 0 {
            crate::events::emit(FuturesRealised {
                account: key,
                series: a.series.key(),
                amount_native: fill.realised_native,
                collateral_native: acc.collateral_native,
                settlement_pool_native: series.settlement_pool_native,
            });
        }
    }
    crate::events::emit(Traded {
        series: a.series.key(),
        market: Pubkey::new_from_array(series.market),
        taker: a.taker_account.key(),
        maker: a.maker_account.key(),
        qty_contracts: qty,
        price_native: price,
        taker_fee_native: taker_fee,
        maker_fee_native: maker_fee,
        taker_qty_after: t.qty_after,
        maker_qty_after: m.qty_after,
        taker_collateral_native: taker.collateral_native,
        maker_collateral_native: maker.collateral_native,
        taker_equity_im: ts.equity_im,
        taker_im: ts.im,
        maker_equity_im: ms.equity_im,
        maker_im: ms.im,
        open_interest_contracts: series.open_interest_contracts,
        ts: now,
    });
    Ok(())
}
