//! One full health scan: the keeper's decision (`plan`: every margin account's margin
//! recomputed with keel-risk exactly as the program computes it, liquidation candidates ranked,
//! cranks and settlements found) over 10 000 margin accounts on 4 markets — what each pass of
//! the keeper costs before it sends anything. A benchmark, not a test:
//!
//!   cargo bench -p keel-keeper --bench health_scan
//!
//! The book: account k holds puts and calls on 1 + k mod 4 markets, 1 + (k/4) mod 8 series on
//! each (1 to 32 positions, 10 on average), half of them after a crash below maintenance.

use criterion::{criterion_group, criterion_main, Criterion};
use keel_client::oracle::{price_update_v2, Quote};
use keel_client::view::{MarketView, Snapshot};
use keel_client::Pubkey;
use keel_keeper::plan::{plan, Policy};
use keel_risk::{RiskParams, VolState};
use keel_state::{ArrayPage, Exchange, MarginAccount, Market, Position};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::Account;
use std::collections::BTreeMap;
use std::time::Duration;

const USDC: i64 = 1_000_000;
const NOW: i64 = 1_767_225_600;
const DAY: i64 = 86_400;
/// Margin accounts scanned.
const ACCOUNTS: usize = 10_000;

fn key(n: u32) -> Pubkey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&n.to_le_bytes());
    b[31] = 7;
    Pubkey::new_from_array(b)
}

/// Market `i` (0.01 BTC per contract) at 51 000 after a fall from 60 000.
fn market(i: u32) -> MarketView {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = keel_state::LAYOUT_VERSION;
    m.oracle.kind = keel_state::market::ORACLE_PYTH_PULL;
    m.oracle.program = pyth_solana_receiver_sdk::ID.to_bytes();
    m.oracle.feed_id = [i as u8 + 1; 32];
    m.oracle.max_staleness_secs = 60;
    m.oracle.max_conf_bps = 200;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = -2;
    m.quote_decimals = 6;
    m.max_vol_age_secs = 3_600;
    m.settle_window_secs = 300;
    m.risk_params = RiskParams::DEFAULT;
    m.vol_state = VolState::new(600 * USDC, NOW - 30, &m.risk_params).unwrap();
    let oracle = Account {
        lamports: 1,
        data: price_update_v2(
            [i as u8 + 1; 32],
            Quote::usd(51_000, 5, NOW - 2),
            VerificationLevel::Full,
        ),
        owner: pyth_solana_receiver_sdk::ID,
        executable: false,
        rent_epoch: 0,
    };
    MarketView {
        key: key(1_000_000 + i),
        market: m,
        oracle_key: key(2_000_000 + i),
        oracle: Some(oracle),
    }
}

/// Account `k` of the book described above.
fn account(k: usize, markets: &[MarketView]) -> MarginAccount {
    let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
    a.version = keel_state::LAYOUT_VERSION;
    let n_markets = 1 + k % 4;
    let per_market = 1 + (k / 4) % 8;
    let mut n = 0;
    for (slot, m) in markets.iter().take(n_markets).enumerate() {
        a.markets[slot] = m.key.to_bytes();
        for j in 0..per_market {
            let call = j % 2 == 1;
            a.positions[n] = Position {
                series: key(3_000_000 + (slot * 32 + j) as u32).to_bytes(),
                qty_contracts: -(1 + (k % 10) as i64),
                cash_native: 0,
                strike_native: if call { 650 } else { 550 } * USDC - j as i64 * 5 * USDC,
                expiry_ts: NOW + (7 + 7 * (j as i64 % 4)) * DAY,
                market_slot: slot as u8,
                kind: if call { 0 } else { 1 },
                // Series j of a market sits in slot j of the market's page 0.
                array_page: 0,
                array_slot: j as u8,
                padding0: [0; 3],
                reserved: [0; 8],
            };
            n += 1;
        }
    }
    a.n_positions = n as u8;
    // Half the book kept well above its margin, half thin enough to fall below after the drop.
    a.collateral_native = if k.is_multiple_of(2) { 200_000 } else { 400 } * USDC * n as i64 / 10;
    a
}

/// Market `m`'s risk-array page (never priced: the scan's plan predicts the crank) holding the
/// book's series of that market, each listed in the market's register of strike points.
fn page(mv: &mut MarketView, accounts: &BTreeMap<Pubkey, MarginAccount>) -> Box<ArrayPage> {
    let mut pg = bytemuck::zeroed_box::<ArrayPage>();
    pg.version = keel_state::LAYOUT_VERSION;
    pg.market = mv.key.to_bytes();
    for a in accounts.values() {
        for p in a.active_positions() {
            if a.markets[p.market_slot as usize] != pg.market {
                continue;
            }
            let slot = &mut pg.slots[p.array_slot as usize];
            if slot.is_free() {
                slot.series = p.series;
                slot.strike_native = p.strike_native;
                slot.expiry_ts = p.expiry_ts;
                slot.kind = p.kind;
                pg.n_used += 1;
                mv.market.list_option(p.strike_native, p.expiry_ts);
            }
        }
    }
    mv.market.array_pages = 1;
    pg
}

fn book() -> Snapshot {
    let mut markets: Vec<MarketView> = (0..4).map(market).collect();
    let accounts: BTreeMap<Pubkey, MarginAccount> = (0..ACCOUNTS)
        .map(|k| (key(k as u32), account(k, &markets)))
        .collect();
    let pages = markets
        .iter_mut()
        .enumerate()
        .map(|(i, mv)| (key(4_000_000 + i as u32), page(mv, &accounts)))
        .collect();
    let mut ex: Exchange = bytemuck::Zeroable::zeroed();
    ex.version = keel_state::LAYOUT_VERSION;
    Snapshot {
        now: NOW,
        exchange_key: key(u32::MAX),
        exchange: ex,
        markets: markets.into_iter().map(|m| (m.key, m)).collect(),
        series: BTreeMap::new(),
        accounts,
        correlations: BTreeMap::new(),
        pages,
    }
}

fn health_scan(c: &mut Criterion) {
    let s = book();
    let positions: usize = s.accounts.values().map(|a| a.n_positions as usize).sum();
    let p = plan(&s, NOW, &Policy::default());
    assert_eq!(p.watched, ACCOUNTS);
    assert!(
        p.skipped.is_empty(),
        "{:?}",
        &p.skipped[..p.skipped.len().min(3)]
    );
    println!(
        "health scan: {ACCOUNTS} accounts, {positions} positions, {} below maintenance",
        p.liquidatable.len()
    );
    let mut g = c.benchmark_group("keeper");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("health_scan_10k_accounts", |b| {
        b.iter(|| plan(std::hint::black_box(&s), NOW, &Policy::default()))
    });
    g.finish();
}

criterion_group!(benches, health_scan);
criterion_main!(benches);
