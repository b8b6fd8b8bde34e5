//! `list_series`: a new call, put or future of a market with a strike and an expiry (admin). An
//! option takes a free slot of the given risk-array page of its market and joins the market's
//! register of strike-point candidates; a future needs neither (it is valued from the anchor's
//! forwards).

use crate::bounds::MAX_LISTING_HORIZON_SECS;
use crate::error::KeelError;
use crate::events::SeriesListed;
use crate::state::{ArrayPage, Exchange, Market, Series};
use anchor_lang::prelude::*;
use keel_risk::SeriesKind;
use keel_state::array_page::NO_PAGE;
use keel_state::exchange::PAUSE_LISTING;
use keel_state::seeds;

/// Arguments of `list_series`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ListSeriesArgs {
    /// 0 call, 1 put, 2 future.
    pub kind: u8,
    /// Strike per contract, quote native units (> 0 for options, 0 for futures).
    pub strike_native: i64,
    /// Expiry, unix seconds (in the future, within `MAX_LISTING_HORIZON_SECS`).
    pub expiry_ts: i64,
}

#[derive(Accounts)]
pub struct ListSeries<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = market.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    #[account(
        init,
        payer = admin,
        space = Series::SPACE,
        seeds = [seeds::SERIES, market.key().as_ref(), &market.load()?.series_count.to_le_bytes()],
        bump,
    )]
    pub series: AccountLoader<'info, Series>,
    /// An option's risk-array page (of this market, with a free slot); none for a future.
    #[account(mut, constraint = array_page.load()?.market == market.key().to_bytes() @ KeelError::WrongArrayPage)]
    pub array_page: Option<AccountLoader<'info, ArrayPage>>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<ListSeries>, args: ListSeriesArgs) -> Result<()> {
    require!(
        ctx.accounts.exchange.load()?.allows(PAUSE_LISTING),
        KeelError::ExchangePaused
    );
    let kind = SeriesKind::from_u8(args.kind).ok_or(KeelError::InvalidSeriesKind)?;
    if kind.is_option() {
        require!(args.strike_native > 0, KeelError::InvalidStrike);
    } else {
        require!(args.strike_native == 0, KeelError::InvalidStrike);
    }
    let now = Clock::get()?.unix_timestamp;
    require!(
        args.expiry_ts > now && args.expiry_ts - now <= MAX_LISTING_HORIZON_SECS,
        KeelError::InvalidExpiry
    );
    let mut m = ctx.accounts.market.load_mut()?;
    // See `update_market_params`: a range speed limit is for futures-only markets.
    require!(
        !kind.is_option() || m.risk_params.apc_max_rise_per_day == keel_risk::Fx::ZERO,
        KeelError::RangeLimitWithOptions
    );
    let mut s = ctx.accounts.series.load_init()?;
    s.version = keel_state::LAYOUT_VERSION;
    s.bump = ctx.bumps.series;
    s.kind = args.kind;
    s.series_index = m.series_count;
    s.exchange = m.exchange;
    s.market = ctx.accounts.market.key().to_bytes();
    s.strike_native = args.strike_native;
    s.expiry_ts = args.expiry_ts;
    s.contract_size_mantissa = m.contract_size_mantissa;
    s.contract_size_expo = m.contract_size_expo;
    s.array_page = NO_PAGE;
    if kind.is_option() {
        let page = ctx
            .accounts
            .array_page
            .as_ref()
            .ok_or(KeelError::ArrayPageMissing)?;
        let mut pg = page.load_mut()?;
        let i = pg.free_slot().ok_or(KeelError::ArrayPageFull)?;
        require!(
            m.list_option(args.strike_native, args.expiry_ts),
            KeelError::ListedOptionsFull
        );
        let slot = &mut pg.slots[i];
        slot.series = ctx.accounts.series.key().to_bytes();
        slot.epoch = 0;
        slot.strike_native = args.strike_native;
        slot.expiry_ts = args.expiry_ts;
        slot.kind = args.kind;
        pg.n_used += 1;
        s.array_page = pg.page_index;
        s.array_slot = i as u8;
    }
    m.series_count = m
        .series_count
        .checked_add(1)
        .ok_or(KeelError::MathOverflow)?;
    crate::events::emit(SeriesListed {
        market: ctx.accounts.market.key(),
        series: ctx.accounts.series.key(),
        series_index: s.series_index,
        kind: s.kind,
        strike_native: s.strike_native,
        expiry_ts: s.expiry_ts,
        contract_size_mantissa: s.contract_size_mantissa,
        contract_size_expo: s.contract_size_expo,
        array_page: s.array_page,
        array_slot: s.array_slot,
    });
    Ok(())
}
