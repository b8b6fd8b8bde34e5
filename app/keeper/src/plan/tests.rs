//! The keeper's decisions on in-memory snapshots: which accounts, in which order, which cranks,
//! which settlements — no chain involved.

use super::*;
use crate::fixtures::*;
use keel_client::oracle::{price_update_v2, Quote};
use keel_risk::RiskParams;
use keel_state::Series;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;

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
    // Each shortfall is MM − equity as the program computes it once the arrays are cranked.
    let (cranked, _) = s.with_arrays_cranked(NOW);
    let b = cranked.margin(&s.accounts[&key(21)], Some(NOW)).unwrap();
    assert_eq!(shortfalls[0], b.mm - b.equity_mm);
    assert_eq!(p.liquidatable.len(), 3);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
}

#[test]
fn an_empty_account_below_zero_is_resolved_not_liquidated() {
    let (btc, put, expiry) = (key(10), key(11), NOW + 7 * DAY);
    let mut bust = short_puts(btc, put, 1_000, 0, expiry);
    bust.collateral_native = -1_234;
    let mut flat = short_puts(btc, put, 1_000, 0, expiry);
    flat.collateral_native = 0;
    let s = snapshot(
        vec![market(btc, 50_000, NOW - 5, 50_000, NOW - 10)],
        vec![(key(40), bust), (key(41), flat)],
    );
    let p = plan(&s, NOW, &Policy::default());
    assert!(liquidations(&p).is_empty());
    let resolves: Vec<(Pubkey, i64)> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::ResolveBankruptcy { account, shortfall } => Some((*account, *shortfall)),
            _ => None,
        })
        .collect();
    assert_eq!(resolves, vec![(key(40), 1_234)]);
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
    // No move, 2 minutes after the last crank, but an implied vol published since: crank (the
    // vol state takes it in only at a crank); one published before it, or without a vol
    // authority, is not a reason.
    let with_iv = |iv_ts: i64, authority: bool| {
        let mut mv = market(btc, 60_060, NOW - 1, 60_000, NOW - 120);
        mv.market.implied_vol = keel_risk::Fx::lit("1.5");
        mv.market.implied_vol_ts = iv_ts;
        if authority {
            mv.market.vol_authority = [7; 32];
        }
        cranks(&plan(&snapshot(vec![mv], vec![]), NOW, &policy))
    };
    assert_eq!(with_iv(NOW - 30, true), vec![CrankReason::ImpliedVol]);
    assert!(with_iv(NOW - 130, true).is_empty());
    assert!(with_iv(NOW - 30, false).is_empty());
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
    // Cranks come before liquidations (a stale vol state would make them fail), the array
    // cranks between them.
    let s = snapshot(
        vec![market(btc, 50_000, NOW - 1, 60_000, NOW - 120)],
        vec![(key(20), short_puts(btc, key(11), 2_000, 100, NOW + 7 * DAY))],
    );
    let p = plan(&s, NOW, &policy);
    assert!(matches!(p.actions[0], Action::Crank { .. }));
    assert_eq!(
        p.actions[1],
        Action::CrankArrays {
            market: btc,
            page: Some(page_key(&btc, 0))
        }
    );
    assert!(matches!(p.actions[2], Action::Liquidate { .. }));
    assert_eq!(p.actions.len(), 3);
    assert_eq!(p.crank_lag_secs, vec![(btc, 120)]);
}

/// `s` at `t`: every market's oracle republished at `usd`, one second before.
fn republished(s: &Snapshot, t: i64, usd: i64) -> Snapshot {
    let mut s = s.clone();
    s.now = t;
    for mv in s.markets.values_mut() {
        mv.oracle = Some(oracle_account(usd, t - 1));
    }
    s
}

#[test]
fn arrays_are_cranked_when_due_one_call_per_page_or_a_reanchor_alone() {
    let (btc, eth, put) = (key(10), key(12), key(11));
    let expiry = NOW + 7 * DAY;
    // A healthy account short puts on BTC (its page 0); ETH has no option positions, no page.
    let s = snapshot(
        vec![
            market(btc, 60_000, NOW - 5, 60_000, NOW - 10),
            market(eth, 60_000, NOW - 5, 60_000, NOW - 10),
        ],
        vec![(key(20), short_puts(btc, put, 100_000, 10, expiry))],
    );
    // Never anchored: both markets anchor, BTC's page is priced.
    let p = plan(&s, NOW, &Policy::default());
    assert_eq!(
        array_cranks(&p),
        vec![(btc, Some(page_key(&btc, 0))), (eth, None)]
    );
    assert!(p
        .actions
        .iter()
        .all(|a| matches!(a, Action::CrankArrays { .. })));
    // The stored arrays cannot serve a margin check yet; the plan judged the account on the
    // arrays as the cranks leave them.
    assert!(s.margin(&s.accounts[&key(20)], Some(NOW)).is_err());
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert!(p.liquidatable.is_empty());

    // Once cranked, nothing is due while the anchor is younger than half its maximum age ...
    let (cranked, due) = s.with_arrays_cranked(NOW);
    assert_eq!(due.reanchor, vec![btc, eth]);
    let max_age = RiskParams::DEFAULT.array_max_age_secs;
    for t in [NOW + 60, NOW + max_age / 2] {
        let p = plan(&republished(&cranked, t, 60_000), t, &Policy::default());
        assert!(
            array_cranks(&p).is_empty(),
            "at +{}: {:?}",
            t - NOW,
            p.actions
        );
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    }
    // ... and past it both markets re-anchor and the page is re-priced.
    let t = NOW + max_age / 2 + 1;
    let p = plan(&republished(&cranked, t, 60_000), t, &Policy::default());
    assert_eq!(
        array_cranks(&p),
        vec![(btc, Some(page_key(&btc, 0))), (eth, None)]
    );
    // A price move past half the arrays' tolerance makes them due as well.
    let p = plan(
        &republished(&cranked, NOW + 60, 66_000),
        NOW + 60,
        &Policy::default(),
    );
    assert_eq!(
        array_cranks(&p),
        vec![(btc, Some(page_key(&btc, 0))), (eth, None)]
    );
}

#[test]
fn array_cranks_are_keyed_by_market_and_page() {
    let (btc, page) = (key(10), page_key(&key(10), 0));
    let a = Action::CrankArrays {
        market: btc,
        page: Some(page),
    };
    let b = Action::CrankArrays {
        market: btc,
        page: None,
    };
    assert_eq!(a.key(), ActionKey::CrankArrays(btc, Some(page)));
    assert_ne!(a.key(), b.key());
    assert_ne!(b.key(), ActionKey::Crank(btc));
}
