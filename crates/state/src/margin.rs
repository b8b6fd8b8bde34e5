//! The one function that turns account bytes and oracle readings into keel-risk inputs.
//!
//! The program calls it for every margin check, the keeper and the CLI call it to recompute a
//! margin off-chain, the SBF benchmark calls it on the same bytes: a margin figure cannot differ
//! between them unless the bytes or the oracle reading differ.

use crate::account::MarginAccount;
use crate::array_page::ArrayPage;
use crate::correlation::Correlation;
use crate::market::Market;
use crate::oracle::OracleReading;
use crate::StateError;
use keel_risk::vol::correlation::effective;
use keel_risk::{
    Anchor, Correlations, Fx, MarketInput, Portfolio, PositionInput, RiskParams, SeriesArray,
    SeriesKind, WindowMemo, MAX_MARKETS, MAX_POSITIONS,
};

/// One market as a margin check sees it.
#[derive(Clone, Copy, Debug)]
pub struct MarketReading<'a> {
    /// The market account's address.
    pub key: [u8; 32],
    /// The market account.
    pub market: &'a Market,
    /// Its oracle's reading (identity — owner, feed id, verification — already checked by the
    /// caller; freshness and confidence are checked here).
    pub oracle: OracleReading,
}

/// Parameters of unused market slots (never read by the engine: `n_markets` bounds it).
static UNUSED_PARAMS: RiskParams = RiskParams::DEFAULT;
/// Anchor of unused market slots (likewise never read).
// SAFETY: `Anchor` is plain integers (`Pod`): all-zero bytes are a valid value.
static UNUSED_ANCHOR: Anchor = unsafe { core::mem::zeroed() };

/// Everything `keel_risk::compute` needs, in fixed-capacity arrays (≈ 2 KiB: keep it on the
/// heap on-chain, like the `MarginBreakdown`).
#[derive(Clone, Copy, Debug)]
pub struct MarginInputs<'a> {
    /// Collateral (a withdrawal check lowers it before computing).
    pub collateral: i64,
    /// Valuation time.
    pub now: i64,
    /// Positions in use.
    pub n_positions: usize,
    /// Positions; `market` indexes `markets`.
    pub positions: [PositionInput; MAX_POSITIONS],
    /// Which account slot each position came from (for reports).
    pub position_slots: [u8; MAX_POSITIONS],
    /// Markets in use.
    pub n_markets: usize,
    /// Per market: oracle price, stable price, confidence (all per contract), margin and mark vols, params.
    pub markets: [MarketInput<'a>; MAX_MARKETS],
    /// Their addresses, in the same order.
    pub market_keys: [[u8; 32]; MAX_MARKETS],
    /// Cross-market correlations (1 = no offset where no correlation account was supplied).
    pub correlations: Correlations,
    /// Per market, the anchor its positions' risk arrays were priced at (current or previous).
    pub anchors: [&'a Anchor; MAX_MARKETS],
    /// Per position, its risk array (`None` for a future).
    pub arrays: [Option<&'a SeriesArray>; MAX_POSITIONS],
}

impl<'a> MarginInputs<'a> {
    /// Empty inputs.
    pub fn new() -> Self {
        let unused = MarketInput {
            spot: 1,
            stable_spot: 1,
            conf: 0,
            sigma: Fx::ZERO,
            range_sigma: Fx::ZERO,
            mark_sigma: Fx::ZERO,
            realised_sigma: Fx::ZERO,
            params: &UNUSED_PARAMS,
        };
        MarginInputs {
            collateral: 0,
            now: 0,
            n_positions: 0,
            positions: [PositionInput {
                market: 0,
                kind: SeriesKind::Future,
                strike: 0,
                expiry: 0,
                qty: 0,
                cash: 0,
            }; MAX_POSITIONS],
            position_slots: [0; MAX_POSITIONS],
            n_markets: 0,
            markets: [unused; MAX_MARKETS],
            market_keys: [[0; 32]; MAX_MARKETS],
            correlations: Correlations::NONE,
            anchors: [&UNUSED_ANCHOR; MAX_MARKETS],
            arrays: [None; MAX_POSITIONS],
        }
    }

    /// The engine's view of these inputs.
    pub fn portfolio(&self) -> Portfolio<'_> {
        Portfolio {
            collateral: self.collateral,
            positions: &self.positions[..self.n_positions],
            markets: &self.markets[..self.n_markets],
            correlations: &self.correlations,
            now: self.now,
        }
    }
}

impl Default for MarginInputs<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds the margin inputs of `account` at `now` into `out`.
///
/// `markets` must contain every market the account's positions refer to (extra ones are
/// ignored); each reading must pass the market's guard rails (`Market::check_reading`) and its
/// volatility state must be fresh (`Market::check_vol_age`). `pages` must contain the risk-array
/// page of every option position (`Position::array_page` of its market); each position's slot
/// must hold its series, and all of one market's arrays must have been priced at the same anchor,
/// the market's current or previous one (`ArraysNotCranked` otherwise: run `crank_arrays`).
/// `correlations` may be empty: a pair without a correlation account gets ρ = 1 (no
/// diversification offset). Prices per contract: spot rounded down, confidence rounded up; the
/// stable price is the market's (`Market::stable_price_at`).
pub fn margin_inputs<'a>(
    account: &MarginAccount,
    markets: &[MarketReading<'a>],
    pages: &[&'a ArrayPage],
    correlations: &[&Correlation],
    now: i64,
    out: &mut MarginInputs<'a>,
) -> Result<(), StateError> {
    build_inputs(account, markets, pages, correlations, now, out, None)
}

/// What a check reads from each market and its oracle (the checks, then the prices), through
/// `memo` when given.
fn market_prices<'a>(
    r: &MarketReading<'a>,
    now: i64,
    memo: Option<&mut MarginMemo<'a>>,
) -> Result<[i64; 3], StateError> {
    let m = r.market;
    let fresh = || -> Result<[i64; 3], StateError> {
        m.check_reading(&r.oracle, now)?;
        m.check_vol_age(now)?;
        let spec = m.contract_spec();
        let spot = spec.price_native(&r.oracle)?;
        let conf = spec.conf_native(&r.oracle)?;
        let stable_spot = m.stable_price_at(now)?;
        Ok([spot, conf, stable_spot])
    };
    let Some(memo) = memo else {
        return fresh();
    };
    for e in memo.prices.iter().flatten() {
        if core::ptr::eq(e.market, m) && e.oracle == r.oracle && e.now == now {
            return Ok(e.prices);
        }
    }
    let prices = fresh()?;
    memo.prices[memo.next % MAX_MARKETS] = Some(PricesKey {
        market: m,
        oracle: r.oracle,
        now,
        prices,
    });
    memo.next = memo.next.wrapping_add(1);
    Ok(prices)
}

/// One market's checked reading: what `market_prices` computed from the market, the reading and
/// the time.
#[derive(Clone, Copy, Debug)]
struct PricesKey<'a> {
    market: &'a Market,
    oracle: OracleReading,
    now: i64,
    /// Oracle price, confidence and stable price per contract.
    prices: [i64; 3],
}

/// What the checks of one instruction share ([`compute_margin_memo`]): per market, the checked
/// oracle reading and its prices, and the window on the anchor (`keel_risk::WindowMemo`). Both
/// are pure functions of what their keys hold — the market (borrowed for `'a`, so unchanged
/// while the memo lives), the oracle reading and the time; the window's key in keel-risk — so a
/// hit gives the bits a fresh computation would. Errors are not remembered.
#[derive(Clone, Copy, Debug, Default)]
pub struct MarginMemo<'a> {
    windows: WindowMemo<'a>,
    prices: [Option<PricesKey<'a>>; MAX_MARKETS],
    next: usize,
}

#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn build_inputs<'a>(
    account: &MarginAccount,
    markets: &[MarketReading<'a>],
    pages: &[&'a ArrayPage],
    correlations: &[&Correlation],
    now: i64,
    out: &mut MarginInputs<'a>,
    mut memo: Option<&mut MarginMemo<'a>>,
) -> Result<(), StateError> {
    out.collateral = account.collateral_native;
    out.now = now;
    out.n_markets = 0;
    out.n_positions = 0;
    out.correlations = Correlations::NONE;

    // Account market slot → dense index into `out.markets`.
    let mut dense = [u8::MAX; MAX_MARKETS];
    let mut readings: [Option<&'a Market>; MAX_MARKETS] = [None; MAX_MARKETS];
    for (slot, key) in account.used_markets() {
        // The reading's key compared as words when it is 8-aligned (as a `MarketReading` field
        // it is, in practice); as bytes otherwise. Same result. (The words are read one by one:
        // `*w == words` compiles to the same byte-wise comparison.)
        let words = crate::key_words(
            account,
            core::mem::offset_of!(MarginAccount, markets) + 32 * slot,
        );
        let r = markets
            .iter()
            .find(
                |r| match bytemuck::try_cast_ref::<[u8; 32], [u64; 4]>(&r.key) {
                    Ok(w) => [w[0], w[1], w[2], w[3]] == words,
                    Err(_) => r.key == *key,
                },
            )
            .ok_or(StateError::MarketMissing)?;
        let m = r.market;
        let [spot, conf, stable_spot] = market_prices(r, now, memo.as_deref_mut())?;
        let i = out.n_markets;
        out.markets[i] = MarketInput {
            spot,
            stable_spot,
            conf,
            sigma: m.vol_state.margin_vol,
            range_sigma: m.vol_state.range_sigma(),
            mark_sigma: m.vol_state.mark_vol(),
            realised_sigma: m.vol_state.realised_vol,
            params: &m.risk_params,
        };
        out.market_keys[i] = *key;
        readings[i] = Some(m);
        dense[slot] = i as u8;
        out.n_markets += 1;
    }

    // The anchor generation each market's arrays were priced at (0: no option position yet).
    let mut epochs = [0u64; MAX_MARKETS];
    // Per market, the last page found and its index: the positions of a market mostly share a
    // page, and the search below returns the first page matching (market, index), so a page
    // found for the same market and index is the one the search would find again.
    let mut last_page: [Option<&'a ArrayPage>; MAX_MARKETS] = [None; MAX_MARKETS];
    for (slot, p) in account.positions.iter().enumerate() {
        if p.is_free() {
            continue;
        }
        let market = *dense
            .get(p.market_slot as usize)
            .ok_or(StateError::CorruptPosition)?;
        if market == u8::MAX {
            return Err(StateError::CorruptPosition);
        }
        let kind = SeriesKind::from_u8(p.kind).ok_or(StateError::CorruptPosition)?;
        let i = out.n_positions;
        out.positions[i] = PositionInput {
            market,
            kind,
            strike: p.strike_native,
            expiry: p.expiry_ts,
            qty: p.qty_contracts,
            cash: p.cash_native,
        };
        out.arrays[i] = if kind.is_option() {
            let m = market as usize;
            let page = match last_page[m] {
                Some(pg) if pg.page_index == p.array_page => pg,
                _ => {
                    // `out.market_keys[m]` is the account's key of this market slot.
                    let key = crate::key_words(
                        account,
                        core::mem::offset_of!(MarginAccount, markets) + 32 * p.market_slot as usize,
                    );
                    let pg = *pages
                        .iter()
                        .find(|pg| {
                            crate::key_words(**pg, core::mem::offset_of!(ArrayPage, market)) == key
                                && pg.page_index == p.array_page
                        })
                        .ok_or(StateError::ArrayPageMissing)?;
                    last_page[m] = Some(pg);
                    pg
                }
            };
            let s = page
                .slots
                .get(p.array_slot as usize)
                .filter(|s| crate::key_words(*s, 0) == crate::key_words(p, 0))
                .ok_or(StateError::ArraySlotMismatch)?;
            if s.epoch == 0 || (epochs[m] != 0 && epochs[m] != s.epoch) {
                return Err(StateError::ArraysNotCranked);
            }
            epochs[m] = s.epoch;
            Some(&s.array)
        } else {
            None
        };
        out.position_slots[i] = slot as u8;
        out.n_positions += 1;
    }
    for (i, market) in readings.iter().enumerate().take(out.n_markets) {
        let m = market.ok_or(StateError::MarketMissing)?;
        out.anchors[i] = match epochs[i] {
            0 => &m.anchor,
            e if e == m.anchor_epoch => &m.anchor,
            e if e.checked_add(1) == Some(m.anchor_epoch) => &m.prev_anchor,
            _ => return Err(StateError::ArraysNotCranked),
        };
    }

    if out.n_markets >= 2 {
        let n = out.n_markets;
        let mut max_offset = Fx::MAX;
        for mk in &out.markets[..n] {
            max_offset = max_offset.min(mk.params.corr_max_offset);
        }
        out.correlations.max_offset = max_offset;
        for u in 0..n {
            for v in (u + 1)..n {
                let (ku, kv) = (&out.market_keys[u], &out.market_keys[v]);
                let found = correlations.iter().find(|c| {
                    (c.market_a == *ku && c.market_b == *kv)
                        || (c.market_a == *kv && c.market_b == *ku)
                });
                let rho = match found {
                    Some(c) => {
                        let floor = out.markets[u]
                            .params
                            .corr_floor
                            .max(out.markets[v].params.corr_floor);
                        effective(c.state.rho()?, floor)
                    }
                    None => Fx::ONE,
                };
                out.correlations.rho[u][v] = rho;
                out.correlations.rho[v][u] = rho;
            }
        }
    }
    Ok(())
}

/// The margin of `account` at `now` into `out` (with its collateral replaced by `collateral` if
/// given), through `inputs` (a reusable buffer), from the risk arrays in `pages`: the one
/// computation the program, the keeper, the CLI and `keel verify` all run. An account without
/// positions has equity = collateral and zero margin without reading any market (so an oracle
/// outage never blocks withdrawing free collateral).
// Each argument is a distinct borrowed view the program holds separately (account data, market
// and page refs, correlations, reusable buffers); a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn compute_margin<'a>(
    account: &MarginAccount,
    collateral: Option<i64>,
    markets: &[MarketReading<'a>],
    pages: &[&'a ArrayPage],
    correlations: &[&Correlation],
    now: i64,
    inputs: &mut MarginInputs<'a>,
    out: &mut keel_risk::MarginBreakdown,
) -> Result<(), StateError> {
    compute(
        account,
        collateral,
        markets,
        pages,
        correlations,
        now,
        inputs,
        None,
        out,
    )
}

/// [`compute_margin`] for an instruction that checks several accounts (or one account twice)
/// against the same markets: each market's oracle checks and prices and its window are
/// computed once and reused through `memo` ([`MarginMemo`]; `None`: exactly
/// [`compute_margin`], for an instruction that checks once). Same results.
#[allow(clippy::too_many_arguments)]
pub fn compute_margin_memo<'a>(
    account: &MarginAccount,
    collateral: Option<i64>,
    markets: &[MarketReading<'a>],
    pages: &[&'a ArrayPage],
    correlations: &[&Correlation],
    now: i64,
    inputs: &mut MarginInputs<'a>,
    memo: Option<&mut MarginMemo<'a>>,
    out: &mut keel_risk::MarginBreakdown,
) -> Result<(), StateError> {
    compute(
        account,
        collateral,
        markets,
        pages,
        correlations,
        now,
        inputs,
        memo,
        out,
    )
}

#[allow(clippy::too_many_arguments)]
fn compute<'a>(
    account: &MarginAccount,
    collateral: Option<i64>,
    markets: &[MarketReading<'a>],
    pages: &[&'a ArrayPage],
    correlations: &[&Correlation],
    now: i64,
    inputs: &mut MarginInputs<'a>,
    mut memo: Option<&mut MarginMemo<'a>>,
    out: &mut keel_risk::MarginBreakdown,
) -> Result<(), StateError> {
    let collateral = collateral.unwrap_or(account.collateral_native);
    if account.n_positions == 0 {
        out.now = now;
        out.collateral = collateral;
        out.equity_mm = collateral;
        out.equity_im = collateral;
        out.mm = 0;
        out.im = 0;
        out.scan_mm = 0;
        out.scan_im = 0;
        out.offset_mm = 0;
        out.offset_im = 0;
        out.addons = 0;
        out.short_min_mm = 0;
        out.short_min_im = 0;
        out.rounding = 0;
        out.n_markets = 0;
        out.n_positions = 0;
        return Ok(());
    }
    build_inputs(
        account,
        markets,
        pages,
        correlations,
        now,
        inputs,
        memo.as_deref_mut(),
    )?;
    inputs.collateral = collateral;
    let (np, nm) = (inputs.n_positions, inputs.n_markets);
    let anchors = inputs.anchors;
    match memo {
        Some(memo) => keel_risk::compute_with_arrays_memo(
            &inputs.portfolio(),
            &anchors[..nm],
            &inputs.arrays[..np],
            &mut memo.windows,
            out,
        )?,
        None => keel_risk::compute_with_arrays(
            &inputs.portfolio(),
            &anchors[..nm],
            &inputs.arrays[..np],
            out,
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests;
