//! The keeper's decisions on in-memory snapshots: which accounts, in which order, which cranks,
//! which settlements — no chain involved.

use super::*;
use keel_client::oracle::{price_update_v2, Quote};
use keel_client::view::MarketView;
use keel_risk::{RiskParams, VolState};
use keel_state::{Exchange, Market, Position, Series};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::Account;
use std::collections::BTreeMap;

const USDC: i64 = 1_000_000;
const NOW: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

fn key(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

/// A BTC market (0.01 BTC per contract) whose oracle says `usd`, published at `publish`, with
/// its vol state last observed at `usd_last` at `last_ts`.
fn market(k: Pubkey, usd: i64, publish: i64, usd_last: i64, last_ts: i64) -> MarketView {
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
    let oracle = Account {
        lamports: 1,
        data: price_update_v2(
            [9; 32],
            Quote::usd(usd, 5, publish),
            VerificationLevel::Full,
        ),
        owner: pyth_solana_receiver_sdk::ID,
        executable: false,
        rent_epoch: 0,
    };
    MarketView {
        key: k,
        market: m,
        oracle_key: key(200),
        oracle: Some(oracle),
    }
}

/// An account of `owner` with `collateral` USDC short `qty` puts of strike 580 USDC expiring at
/// `expiry` (series `series`) on market `m`.
fn short_puts(m: Pubkey, series: Pubkey, collateral: i64, qty: i64, expiry: i64) -> MarginAccount {
    let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
    a.version = keel_state::LAYOUT_VERSION;
    a.collateral_native = collateral * USDC;
    if qty != 0 {
        a.markets[0] = m.to_bytes();
        a.positions[0] = Position {
            series: series.to_bytes(),
            qty_contracts: -qty,
            cash_native: 0,
            strike_native: 580 * USDC,
            expiry_ts: expiry,
            market_slot: 0,
            kind: 1,
            padding0: [0; 6],
            reserved: [0; 8],
        };
        a.n_positions = 1;
    }
    a
}

fn snapshot(markets: Vec<MarketView>, accounts: Vec<(Pubkey, MarginAccount)>) -> Snapshot {
    let mut ex: Exchange = bytemuck::Zeroable::zeroed();
    ex.version = keel_state::LAYOUT_VERSION;
    Snapshot {
        now: NOW,
        exchange_key: key(1),
        exchange: ex,
        markets: markets.into_iter().map(|m| (m.key, m)).collect(),
        series: BTreeMap::new(),
        accounts: accounts.into_iter().collect(),
        correlations: BTreeMap::new(),
    }
}

fn liquidations(p: &Plan) -> Vec<(Pubkey, i64)> {
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

#[test]
fn liquidates_accounts_below_mm_largest_shortfall_first() {
    let btc = key(10);
    let put = key(11);
    let expiry = NOW + 7 * DAY;
    // After a crash to 50 000 a 580 put is 80 in the money: every writer of 100 is short ~8 000.
    let s = snapshot(
        vec![market(btc, 50_000, NOW - 5, 50_000, NOW - 10)],
        vec![
            (key(20), short_puts(btc, put, 9_000, 100, expiry)), // small shortfall
            (key(21), short_puts(btc, put, 2_000, 100, expiry)), // largest
            (key(22), short_puts(btc, put, 5_000, 100, expiry)), // middle
            (key(23), short_puts(btc, put, 100_000, 100, expiry)), // healthy
            (key(24), short_puts(btc, put, 1_000, 0, expiry)),   // no positions
            (key(25), short_puts(btc, put, 2_000, 100, expiry)), // the keeper's own: skipped
        ],
    );
    let policy = Policy {
        liquidator_account: Some(key(25)),
        ..Policy::default()
    };
    let p = plan(&s, NOW, &policy);
    assert_eq!(p.watched, 6);
    let order: Vec<Pubkey> = liquidations(&p).iter().map(|(k, _)| *k).collect();
    assert_eq!(order, vec![key(21), key(22), key(20)]);
    let shortfalls: Vec<i64> = liquidations(&p).iter().map(|(_, s)| *s).collect();
    assert!(
        shortfalls.windows(2).all(|w| w[0] >= w[1]),
        "{shortfalls:?}"
    );
    // Each shortfall is MM − equity as the program computes it.
    let b = s.margin(&s.accounts[&key(21)], Some(NOW)).unwrap();
    assert_eq!(shortfalls[0], b.mm - b.equity_mm);
    assert_eq!(p.liquidatable.len(), 3);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
}

#[test]
fn equal_shortfalls_are_ordered_by_address() {
    let (btc, put, expiry) = (key(10), key(11), NOW + 7 * DAY);
    let s = snapshot(
        vec![market(btc, 50_000, NOW - 5, 50_000, NOW - 10)],
        vec![
            (key(31), short_puts(btc, put, 2_000, 100, expiry)),
            (key(30), short_puts(btc, put, 2_000, 100, expiry)),
        ],
    );
    let order: Vec<Pubkey> = liquidations(&plan(&s, NOW, &Policy::default()))
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(order, vec![key(30), key(31)]);
}

#[test]
fn stale_oracles_and_missing_markets_are_reported_not_liquidated() {
    let (btc, put, expiry) = (key(10), key(11), NOW + 7 * DAY);
    // The oracle is two minutes old: the program would refuse; the keeper does not send.
    let s = snapshot(
        vec![market(btc, 50_000, NOW - 120, 50_000, NOW - 200)],
        vec![
            (key(20), short_puts(btc, put, 2_000, 100, expiry)),
            (key(21), short_puts(key(99), put, 2_000, 100, expiry)),
        ],
    );
    let p = plan(&s, NOW, &Policy::default());
    assert!(liquidations(&p).is_empty());
    let skipped: Vec<Pubkey> = p.skipped.iter().map(|(k, _)| *k).collect();
    assert!(
        skipped.contains(&key(20)) && skipped.contains(&key(21)),
        "{:?}",
        p.skipped
    );
    assert!(p.skipped.iter().any(|(_, why)| why.contains("OracleStale")));
}

#[test]
fn expired_positions_are_settled_not_liquidated() {
    let (btc, put) = (key(10), key(11));
    let expiry = NOW - 60;
    let mut s = snapshot(
        vec![market(btc, 50_000, NOW - 5, 50_000, NOW - 10)],
        vec![(key(20), short_puts(btc, put, 2_000, 100, expiry))],
    );
    let mut series: Series = bytemuck::Zeroable::zeroed();
    series.version = keel_state::LAYOUT_VERSION;
    series.kind = 1;
    series.market = btc.to_bytes();
    series.strike_native = 580 * USDC;
    series.expiry_ts = expiry;
    s.series.insert(put, series);
    // The oracle's update covers the expiry only if its previous publish time is before it.
    let p = plan(&s, NOW, &Policy::default());
    assert!(
        liquidations(&p).is_empty(),
        "expired positions block liquidation"
    );
    assert!(
        !p.actions
            .iter()
            .any(|a| matches!(a, Action::SettleSeries { .. })),
        "the current update does not cover the expiry (published long after it)"
    );
    // An update that straddles the expiry, inside the settlement window, is settled.
    let mut mv = s.markets[&btc].clone();
    let q = Quote {
        prev_publish_time: expiry - 2,
        ..Quote::usd(50_000, 5, expiry + 1)
    };
    mv.oracle.as_mut().unwrap().data = price_update_v2([9; 32], q, VerificationLevel::Full);
    s.markets.insert(btc, mv);
    let p = plan(&s, NOW, &Policy::default());
    assert!(p.actions.contains(&Action::SettleSeries {
        series: put,
        market: btc
    }));
    // Once settled, positions are realised, losers first.
    let mut settled = series;
    settled.status = SERIES_SETTLED;
    settled.settlement_price_native = 500 * USDC;
    s.series.insert(put, settled);
    let mut winner = short_puts(btc, put, 1_000, 0, expiry);
    winner.markets[0] = btc.to_bytes();
    winner.positions[0] = s.accounts[&key(20)].positions[0];
    winner.positions[0].qty_contracts = 100;
    winner.n_positions = 1;
    s.accounts.insert(key(5), winner); // sorts before the loser by address
    let p = plan(&s, NOW, &Policy::default());
    let settlements: Vec<(Pubkey, i64)> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::SettlePositions {
                account, payout, ..
            } => Some((*account, *payout)),
            _ => None,
        })
        .collect();
    assert_eq!(
        settlements,
        vec![(key(20), -100 * 80 * USDC), (key(5), 100 * 80 * USDC)],
        "the loser pays in first"
    );
    let off = Policy {
        settle: false,
        ..Policy::default()
    };
    assert!(plan(&s, NOW, &off).actions.iter().all(|a| !matches!(
        a,
        Action::SettlePositions { .. } | Action::SettleSeries { .. }
    )));
}

fn cranks(p: &Plan) -> Vec<CrankReason> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::Crank { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

#[test]
fn cranks_on_a_move_or_after_the_interval_never_too_soon() {
    let btc = key(10);
    let policy = Policy {
        crank_max_interval_secs: 600,
        crank_min_move_bps: 50,
        ..Policy::default()
    };
    let at = |usd, publish, last_usd, last_ts| {
        let s = snapshot(vec![market(btc, usd, publish, last_usd, last_ts)], vec![]);
        cranks(&plan(&s, NOW, &policy))
    };
    // A 1% move, observed 2 minutes after the last crank.
    assert_eq!(
        at(60_600, NOW - 1, 60_000, NOW - 120),
        vec![CrankReason::Moved]
    );
    // A 0.1% move, 11 minutes after the last crank.
    assert_eq!(
        at(60_060, NOW - 1, 60_000, NOW - 660),
        vec![CrankReason::Interval]
    );
    // A 0.1% move, 2 minutes after: nothing due.
    assert!(at(60_060, NOW - 1, 60_000, NOW - 120).is_empty());
    // A 1% move but published within the market's 60 s minimum interval of the last crank.
    assert!(at(60_600, NOW - 90, 60_000, NOW - 120).is_empty());
    // The interval is capped at half the market's max vol age (3 600 s here).
    let lazy = Policy {
        crank_max_interval_secs: 100_000,
        ..policy.clone()
    };
    let s = snapshot(
        vec![market(btc, 60_000, NOW - 1, 60_000, NOW - 1_801)],
        vec![],
    );
    assert_eq!(cranks(&plan(&s, NOW, &lazy)), vec![CrankReason::Interval]);
    // Cranks come before liquidations (a stale vol state would make them fail).
    let s = snapshot(
        vec![market(btc, 50_000, NOW - 1, 60_000, NOW - 120)],
        vec![(key(20), short_puts(btc, key(11), 2_000, 100, NOW + 7 * DAY))],
    );
    let p = plan(&s, NOW, &policy);
    assert!(matches!(p.actions[0], Action::Crank { .. }));
    assert!(matches!(p.actions[1], Action::Liquidate { .. }));
    assert_eq!(p.crank_lag_secs, vec![(btc, 120)]);
}
