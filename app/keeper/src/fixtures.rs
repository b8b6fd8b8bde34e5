//! In-memory chain state for the keeper's unit tests: a BTC market, its oracle, margin
//! accounts short puts, and the risk-array pages their positions point at — no chain involved.

use crate::plan::{Action, Plan};
use keel_client::oracle::{price_update_v2, Quote};
use keel_client::view::{MarketView, Snapshot};
use keel_client::Pubkey;
use keel_risk::{RiskParams, VolState};
use keel_state::{ArrayPage, Exchange, MarginAccount, Market, Position};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::Account;
use std::collections::BTreeMap;

pub const USDC: i64 = 1_000_000;
pub const NOW: i64 = 1_767_225_600;
pub const DAY: i64 = 86_400;
/// The puts' strike per contract.
pub const STRIKE: i64 = 580 * USDC;

pub fn key(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

/// The oracle account of a market: a `PriceUpdateV2` of feed `[9; 32]` at `usd`, published at
/// `publish`.
pub fn oracle_account(usd: i64, publish: i64) -> Account {
    Account {
        lamports: 1,
        data: price_update_v2(
            [9; 32],
            Quote::usd(usd, 5, publish),
            VerificationLevel::Full,
        ),
        owner: pyth_solana_receiver_sdk::ID,
        executable: false,
        rent_epoch: 0,
    }
}

/// A BTC market (0.01 BTC per contract) whose oracle says `usd`, published at `publish`, with
/// its vol state last observed at `usd_last` at `last_ts`; never anchored.
pub fn market(k: Pubkey, usd: i64, publish: i64, usd_last: i64, last_ts: i64) -> MarketView {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = keel_state::LAYOUT_VERSION;
    m.oracle.kind = keel_state::market::ORACLE_PYTH_PULL;
    m.oracle.program = pyth_solana_receiver_sdk::ID.to_bytes();
    m.oracle.feed_id = [9; 32];
    m.oracle.max_staleness_secs = 60;
    m.oracle.max_conf_bps = 200;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = -2;
    m.quote_decimals = 6;
    m.max_vol_age_secs = 3_600;
    m.settle_window_secs = 300;
    m.risk_params = RiskParams::DEFAULT;
    m.vol_state = VolState::new(usd_last / 100 * USDC, last_ts, &m.risk_params).unwrap();
    MarketView {
        key: k,
        market: m,
        oracle_key: key(200),
        oracle: Some(oracle_account(usd, publish)),
    }
}

/// An account with `collateral` USDC short `qty` puts of strike 580 USDC expiring at `expiry`
/// (series `series`, slot 0 of market `m`'s page 0).
pub fn short_puts(
    m: Pubkey,
    series: Pubkey,
    collateral: i64,
    qty: i64,
    expiry: i64,
) -> MarginAccount {
    let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
    a.version = keel_state::LAYOUT_VERSION;
    a.collateral_native = collateral * USDC;
    if qty != 0 {
        a.markets[0] = m.to_bytes();
        a.positions[0] = Position {
            series: series.to_bytes(),
            qty_contracts: -qty,
            cash_native: 0,
            strike_native: STRIKE,
            expiry_ts: expiry,
            market_slot: 0,
            kind: 1,
            array_page: 0,
            array_slot: 0,
            padding0: [0; 3],
            reserved: [0; 8],
        };
        a.n_positions = 1;
    }
    a
}

/// The address of market `m`'s risk-array page `index` in these snapshots.
pub fn page_key(m: &Pubkey, index: u16) -> Pubkey {
    let mut b = m.to_bytes();
    b[30] = 0xA7;
    b[31] = index as u8;
    Pubkey::new_from_array(b)
}

/// A snapshot of `markets` and `accounts`, with the risk-array page of every option position
/// (each series in the slot its position names, never priced) and each option listed in its
/// market's register of strike points.
pub fn snapshot(markets: Vec<MarketView>, accounts: Vec<(Pubkey, MarginAccount)>) -> Snapshot {
    let mut ex: Exchange = bytemuck::Zeroable::zeroed();
    ex.version = keel_state::LAYOUT_VERSION;
    let mut markets: BTreeMap<Pubkey, MarketView> =
        markets.into_iter().map(|m| (m.key, m)).collect();
    let mut pages: BTreeMap<Pubkey, Box<ArrayPage>> = BTreeMap::new();
    for (_, a) in &accounts {
        for p in a.active_positions().filter(|p| p.kind != 2) {
            let m = Pubkey::new_from_array(a.markets[p.market_slot as usize]);
            let page = pages.entry(page_key(&m, p.array_page)).or_insert_with(|| {
                let mut pg = bytemuck::zeroed_box::<ArrayPage>();
                pg.version = keel_state::LAYOUT_VERSION;
                pg.page_index = p.array_page;
                pg.market = m.to_bytes();
                pg
            });
            let slot = &mut page.slots[p.array_slot as usize];
            if slot.is_free() {
                slot.series = p.series;
                slot.strike_native = p.strike_native;
                slot.expiry_ts = p.expiry_ts;
                slot.kind = p.kind;
                page.n_used += 1;
                if let Some(mv) = markets.get_mut(&m) {
                    mv.market.list_option(p.strike_native, p.expiry_ts);
                }
            }
        }
    }
    for mv in markets.values_mut() {
        mv.market.array_pages = pages
            .values()
            .filter(|p| p.market == mv.key.to_bytes())
            .count() as u16;
    }
    Snapshot {
        now: NOW,
        exchange_key: key(1),
        exchange: ex,
        markets,
        series: BTreeMap::new(),
        accounts: accounts.into_iter().collect(),
        correlations: BTreeMap::new(),
        pages,
    }
}

pub fn liquidations(p: &Plan) -> Vec<(Pubkey, i64)> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::Liquidate {
                account, shortfall, ..
            } => Some((*account, *shortfall)),
            _ => None,
        })
        .collect()
}

/// The array cranks of a plan: (market, page).
pub fn array_cranks(p: &Plan) -> Vec<(Pubkey, Option<Pubkey>)> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::CrankArrays { market, page } => Some((*market, *page)),
            _ => None,
        })
        .collect()
}
