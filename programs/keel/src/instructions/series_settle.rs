//! `settle_series`: after expiry, fixes the settlement price from the oracle update that covers
//! the expiry (`prev_publish_time < expiry ≤ publish_time`, Pyth's rule for the unique price at
//! a moment, so a keeper cannot pick among several updates) and was published within the
//! market's settlement window. Permissionless; after the window only the admin may settle, with
//! any valid update published at or after expiry. An option leaves the market's register of
//! strike-point candidates and frees its risk-array slot (no margin check runs on an account
//! holding an expired position: `settle_positions` comes first).

use crate::error::{KeelError, OrKeel};
use crate::events::SeriesSettled;
use crate::oracle;
use crate::state::{ArrayPage, Exchange, Market, Series};
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_SETTLE;
use keel_state::series::{SERIES_ACTIVE, SERIES_SETTLED};

#[derive(Accounts)]
pub struct SettleSeries<'info> {
    pub caller: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = market.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, constraint = series.load()?.market == market.key().to_bytes() @ KeelError::WrongMarket)]
    pub series: AccountLoader<'info, Series>,
    /// CHECK: validated by `oracle::read_for_settlement` against the market's configuration.
    pub oracle: UncheckedAccount<'info>,
    /// An option's risk-array page (the series' own); none for a future.
    #[account(mut, constraint = array_page.load()?.market == market.key().to_bytes() @ KeelError::WrongArrayPage)]
    pub array_page: Option<AccountLoader<'info, ArrayPage>>,
}

pub fn handler(ctx: Context<SettleSeries>) -> Result<()> {
    let ex = ctx.accounts.exchange.load()?;
    require!(ex.allows(PAUSE_SETTLE), KeelError::ExchangePaused);
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    let mut s = ctx.accounts.series.load_mut()?;
    require!(s.status == SERIES_ACTIVE, KeelError::SeriesAlreadySettled);
    require!(now >= s.expiry_ts, KeelError::SeriesNotExpired);
    let r = oracle::read_for_settlement(&m, &ctx.accounts.oracle)?;
    let in_window =
        r.covers(s.expiry_ts) && r.publish_time <= s.expiry_ts.saturating_add(m.settle_window_secs);
    let by_admin = !in_window;
    if by_admin {
        let is_admin = ctx.accounts.caller.key().to_bytes() == ex.admin;
        let window_over = now > s.expiry_ts.saturating_add(m.settle_window_secs);
        require!(
            is_admin && window_over && r.publish_time >= s.expiry_ts,
            KeelError::OracleOutsideSettlementWindow
        );
    }
    let price = m.contract_spec().price_native(&r).or_keel()?;
    if s.series_kind().is_some_and(|k| k.is_option()) {
        let page = ctx
            .accounts
            .array_page
            .as_ref()
            .ok_or(KeelError::ArrayPageMissing)?;
        let mut pg = page.load_mut()?;
        let series_key = ctx.accounts.series.key().to_bytes();
        require!(pg.page_index == s.array_page, KeelError::WrongArrayPage);
        let slot = pg
            .slots
            .get_mut(s.array_slot as usize)
            .filter(|slot| slot.series == series_key)
            .ok_or(KeelError::ArraySlotMismatch)?;
        *slot = bytemuck::Zeroable::zeroed();
        pg.n_used = pg.n_used.saturating_sub(1);
        m.unlist_option(s.strike_native, s.expiry_ts);
    }
    s.status = SERIES_SETTLED;
    s.settlement_price_native = price;
    s.settlement_publish_ts = r.publish_time;
    s.settled_at_ts = now;
    crate::events::emit(SeriesSettled {
        series: ctx.accounts.series.key(),
        market: ctx.accounts.market.key(),
        settlement_price_native: price,
        publish_time: r.publish_time,
        by_admin,
        open_interest_contracts: s.open_interest_contracts,
        ts: now,
    });
    Ok(())
}
