extern crate std;
use std::boxed::Box;

use super::*;
use crate::account::Position;
use crate::array_page::ArrayPage;
use crate::oracle::ContractSpec;
use keel_risk::{compute, MarginBreakdown, VolState};

const NOW: i64 = 1_700_000_000;

fn market(params: RiskParams) -> Market {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = crate::LAYOUT_VERSION;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = -2;
    m.quote_decimals = 6;
    m.oracle.max_staleness_secs = 60;
    m.oracle.max_conf_bps = 200;
    m.max_vol_age_secs = 3_600;
    m.risk_params = params;
    // 60 000 USD/BTC → 600 USDC per 0.01 BTC contract.
    m.vol_state = VolState::new(600_000_000, NOW - 100, &params).unwrap();
    m
}

fn reading(price_usd: i64) -> OracleReading {
    OracleReading {
        price: price_usd * 100_000_000,
        conf: 1_000_000,
        expo: -8,
        publish_time: NOW - 5,
        prev_publish_time: NOW - 6,
    }
}

fn account(positions: &[(u8, u8, i64, i64)]) -> MarginAccount {
    let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
    a.collateral_native = 10_000_000_000;
    for (i, &(slot, kind, strike, qty)) in positions.iter().enumerate() {
        a.markets[slot as usize] = [slot + 1; 32];
        a.positions[i] = Position {
            series: [100 + i as u8; 32],
            qty_contracts: qty,
            cash_native: 0,
            strike_native: strike,
            expiry_ts: NOW + 30 * 86_400,
            market_slot: slot,
            kind,
            array_page: 0,
            array_slot: i as u8,
            padding0: [0; 3],
            reserved: [0; 8],
        };
        a.n_positions += 1;
    }
    a
}

/// Anchors `m` at `NOW` and returns a page (index 0 of market `key`) holding the account's
/// option positions of that market, priced there.
fn anchored_page(m: &mut Market, key: [u8; 32], a: &MarginAccount) -> Box<ArrayPage> {
    for p in a.active_positions() {
        if p.kind != 2 && a.markets[p.market_slot as usize] == key {
            assert!(m.list_option(p.strike_native, p.expiry_ts));
        }
    }
    let v = m.valuation(&reading(60_000), NOW).unwrap();
    m.reanchor_if_due(&v, NOW).unwrap();
    let mut page: Box<ArrayPage> = Box::new(bytemuck::Zeroable::zeroed());
    page.market = key;
    for (i, p) in a.positions.iter().enumerate() {
        if p.is_free() || p.kind == 2 || a.markets[p.market_slot as usize] != key {
            continue;
        }
        let s = &mut page.slots[i];
        s.series = p.series;
        s.strike_native = p.strike_native;
        s.expiry_ts = p.expiry_ts;
        s.kind = p.kind;
        assert!(m.price_slot(s).unwrap());
    }
    page
}

#[test]
fn builds_inputs_that_the_engine_accepts() {
    let mut m = market(RiskParams::DEFAULT);
    let a = account(&[(0, 0, 620_000_000, -10), (0, 1, 580_000_000, 5)]);
    let page = anchored_page(&mut m, [1; 32], &a);
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    let mut inp = MarginInputs::new();
    margin_inputs(&a, &readings, &[&page], &[], NOW, &mut inp).unwrap();
    assert_eq!(inp.n_markets, 1);
    assert_eq!(inp.n_positions, 2);
    assert_eq!(inp.markets[0].spot, 600_000_000);
    assert_eq!(
        inp.markets[0].conf, 100,
        "0.01 USD/BTC → 0.0001 USDC per contract"
    );
    assert_eq!(inp.markets[0].stable_spot, 600_000_000);
    assert_eq!(inp.positions[0].kind, SeriesKind::Call);
    assert_eq!(inp.positions[1].qty, 5);
    assert!(core::ptr::eq(inp.anchors[0], &m.anchor));
    let mut b = MarginBreakdown::default();
    compute_margin(&a, None, &readings, &[&page], &[], NOW, &mut inp, &mut b).unwrap();
    assert!(b.im > b.mm && b.mm > 0);
    assert_eq!(b.collateral, 10_000_000_000);
    // At the anchor, the stored arrays give exactly the fresh model's figures.
    let mut fresh = MarginBreakdown::default();
    compute(&inp.portfolio(), &mut fresh).unwrap();
    assert_eq!(
        (b.im, b.mm, b.equity_mm),
        (fresh.im, fresh.mm, fresh.equity_mm)
    );
    // Through a window memo (as the program checks several accounts): the same bits, for the
    // first check and for the ones that reuse its windows, whatever the collateral.
    let mut memo = MarginMemo::default();
    for collateral in [None, Some(1), None] {
        let mut plain = MarginBreakdown::default();
        compute_margin(
            &a,
            collateral,
            &readings,
            &[&page],
            &[],
            NOW,
            &mut inp,
            &mut plain,
        )
        .unwrap();
        let mut memoed = MarginBreakdown::default();
        compute_margin_memo(
            &a,
            collateral,
            &readings,
            &[&page],
            &[],
            NOW,
            &mut inp,
            Some(&mut memo),
            &mut memoed,
        )
        .unwrap();
        assert_eq!(plain, memoed);
    }
    // Another reading of the same market, or another time, is not served from the memo.
    let moved = [MarketReading {
        oracle: reading(60_100),
        ..readings[0]
    }];
    for (r, now) in [(&moved, NOW), (&moved, NOW + 1), (&readings, NOW + 1)] {
        let mut plain = MarginBreakdown::default();
        compute_margin(&a, None, r, &[&page], &[], now, &mut inp, &mut plain).unwrap();
        let mut memoed = MarginBreakdown::default();
        compute_margin_memo(
            &a,
            None,
            r,
            &[&page],
            &[],
            now,
            &mut inp,
            Some(&mut memo),
            &mut memoed,
        )
        .unwrap();
        assert_eq!(plain, memoed, "now {now}");
    }
    // A reading that goes stale between two checks is refused by the second, memo or not.
    for now in [NOW + 55, NOW + 56] {
        let mut plain = MarginBreakdown::default();
        let want = compute_margin(
            &a,
            None,
            &readings,
            &[&page],
            &[],
            now,
            &mut inp,
            &mut plain,
        );
        let mut memoed = MarginBreakdown::default();
        let got = compute_margin_memo(
            &a,
            None,
            &readings,
            &[&page],
            &[],
            now,
            &mut inp,
            Some(&mut memo),
            &mut memoed,
        );
        assert_eq!(want, got, "now {now}");
        assert_eq!(want.is_ok(), now == NOW + 55);
    }
}

/// Which arrays a check may use: those priced at the market's current anchor or, all of them,
/// at the previous one; never a mix, never an unpriced slot, never another series' slot or a
/// page that was not supplied.
#[test]
fn arrays_must_be_priced_at_one_of_the_two_anchors() {
    let mut m = market(RiskParams::DEFAULT);
    let a = account(&[(0, 0, 620_000_000, -10), (0, 1, 580_000_000, 5)]);
    let page = anchored_page(&mut m, [1; 32], &a);
    let check = |m: &Market, page: &ArrayPage, acc: &MarginAccount| {
        let readings = [MarketReading {
            key: [1; 32],
            market: m,
            oracle: reading(60_000),
        }];
        let mut inp = MarginInputs::new();
        margin_inputs(acc, &readings, &[page], &[], NOW, &mut inp).map(|()| {
            (
                core::ptr::eq(inp.anchors[0], &m.anchor),
                core::ptr::eq(inp.anchors[0], &m.prev_anchor),
            )
        })
    };
    assert_eq!(check(&m, &page, &a), Ok((true, false)));
    // The market re-anchors: the page, not yet re-priced, is served by the previous anchor.
    let mut later = m;
    later.prev_anchor = later.anchor;
    later.anchor_epoch += 1;
    assert_eq!(check(&later, &page, &a), Ok((false, true)));
    // One slot re-priced, the other not: refused.
    let mut mixed = page.clone();
    mixed.slots[0].epoch += 1;
    assert_eq!(check(&later, &mixed, &a), Err(StateError::ArraysNotCranked));
    // Two generations behind, or never priced: refused.
    let mut old = later;
    old.anchor_epoch += 1;
    assert_eq!(check(&old, &page, &a), Err(StateError::ArraysNotCranked));
    let mut unpriced = page.clone();
    unpriced.slots[0].epoch = 0;
    unpriced.slots[1].epoch = 0;
    assert_eq!(check(&m, &unpriced, &a), Err(StateError::ArraysNotCranked));
    // A slot holding another series, a page of another market or index.
    let mut swapped = page.clone();
    swapped.slots.swap(0, 1);
    assert_eq!(check(&m, &swapped, &a), Err(StateError::ArraySlotMismatch));
    let mut elsewhere = page.clone();
    elsewhere.market = [2; 32];
    assert_eq!(check(&m, &elsewhere, &a), Err(StateError::ArrayPageMissing));
    let mut other_index = page.clone();
    other_index.page_index = 1;
    assert_eq!(
        check(&m, &other_index, &a),
        Err(StateError::ArrayPageMissing)
    );
    // The anchor serving the check must still cover it: past its age the engine refuses.
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    let late = NOW + m.risk_params.array_max_age_secs + 1;
    let mut inp = MarginInputs::new();
    let mut b = MarginBreakdown::default();
    let mut fresh_reading = readings;
    fresh_reading[0].oracle.publish_time = late - 1;
    assert_eq!(
        compute_margin(
            &a,
            None,
            &fresh_reading,
            &[&page],
            &[],
            late,
            &mut inp,
            &mut b
        ),
        Err(StateError::Risk(keel_risk::RiskError::ArraysExpired))
    );
}

#[test]
fn the_stable_price_lags_a_pumped_oracle() {
    let m = market(RiskParams::DEFAULT);
    // (margin_inputs only: no anchor needed to build the inputs.)
    let a = account(&[(0, 2, 0, 1)]);
    // The oracle is 20× higher 100 s after the last crank, which has not seen the pump: the
    // stable price does not move toward it at all (it follows only observed prices).
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(1_200_000),
    }];
    let mut inp = MarginInputs::new();
    margin_inputs(&a, &readings, &[], &[], NOW, &mut inp).unwrap();
    assert_eq!(inp.markets[0].spot, 12_000_000_000);
    assert_eq!(inp.markets[0].stable_spot, 600_000_000);
    // Once a crank has seen it, it pulls for at most the staleness window (60 s) after that
    // observation: 100 s later the stable price has moved 60 s × 0.01%/s = 0.6% (0.0001 is not
    // exact in Q32.32: 429 497/2^32 ≈ 1.000000008e-4, a few units above), and with a window of
    // 100 s or more, 1%.
    let mut seen = m;
    seen.vol_state = VolState {
        last_price: 12_000_000_000,
        last_ts: NOW - 100,
        ..m.vol_state
    };
    let readings = [MarketReading {
        key: [1; 32],
        market: &seen,
        oracle: reading(1_200_000),
    }];
    margin_inputs(&a, &readings, &[], &[], NOW, &mut inp).unwrap();
    let stable = inp.markets[0].stable_spot;
    assert!((603_600_000..=603_600_010).contains(&stable), "{stable}");
    for window in [100, 3_600] {
        let mut long_window = seen;
        long_window.oracle.max_staleness_secs = window;
        let readings = [MarketReading {
            key: [1; 32],
            market: &long_window,
            oracle: reading(1_200_000),
        }];
        let mut inp = MarginInputs::new();
        margin_inputs(&a, &readings, &[], &[], NOW, &mut inp).unwrap();
        let stable = inp.markets[0].stable_spot;
        assert!(
            (606_000_000..=606_000_010).contains(&stable),
            "{window}: {stable}"
        );
    }
}

#[test]
fn oracle_updates_only_move_forward() {
    let mut m = market(RiskParams::DEFAULT);
    let r = reading(60_000);
    m.accept_reading(&r).unwrap();
    assert_eq!(m.oracle_high_water_ts, r.publish_time);
    // The same update again is fine; an older one is refused and changes nothing.
    assert_eq!(m.accept_reading(&r), Ok(()));
    let mut older = r;
    older.publish_time -= 1;
    assert_eq!(m.accept_reading(&older), Err(StateError::OracleOutOfOrder));
    assert_eq!(m.oracle_high_water_ts, r.publish_time);
    let mut newer = r;
    newer.publish_time += 1;
    m.accept_reading(&newer).unwrap();
    assert_eq!(m.check_order(&r), Err(StateError::OracleOutOfOrder));
}

#[test]
fn guard_rails() {
    let mut m = market(RiskParams::DEFAULT);
    let a = account(&[(0, 0, 620_000_000, -1)]);
    let page = anchored_page(&mut m, [1; 32], &a);
    let run = |r: OracleReading, now: i64, _: &mut ()| {
        let readings = [MarketReading {
            key: [1; 32],
            market: &m,
            oracle: r,
        }];
        margin_inputs(&a, &readings, &[&page], &[], now, &mut MarginInputs::new())
    };
    let mut inp = ();
    let mut stale = reading(60_000);
    stale.publish_time = NOW - 61;
    assert_eq!(run(stale, NOW, &mut inp), Err(StateError::OracleStale));
    let mut wide = reading(60_000);
    wide.conf = 60_000 * 100_000_000 / 50 + 1; // 2% + ε
    assert_eq!(run(wide, NOW, &mut inp), Err(StateError::OracleConfidence));
    let mut neg = reading(60_000);
    neg.price = 0;
    assert_eq!(run(neg, NOW, &mut inp), Err(StateError::OracleNonPositive));
    // Dated in the future: accepted up to the tolerance, refused one second beyond it.
    let mut ahead = reading(60_000);
    ahead.publish_time = NOW + crate::market::MAX_ORACLE_FUTURE_SECS;
    assert_eq!(run(ahead, NOW, &mut inp).map(|_| ()), Ok(()));
    ahead.publish_time += 1;
    assert_eq!(
        run(ahead, NOW, &mut inp),
        Err(StateError::OracleFutureDated)
    );
    let mut late = reading(60_000);
    late.publish_time = NOW + 4_000;
    assert_eq!(
        run(late, NOW + 4_000, &mut inp),
        Err(StateError::VolStateStale)
    );
    // A market the account uses but that was not supplied.
    let mut inp = MarginInputs::new();
    let other = [MarketReading {
        key: [9; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    assert_eq!(
        margin_inputs(&a, &other, &[&page], &[], NOW, &mut inp),
        Err(StateError::MarketMissing)
    );
    // A corrupt position kind.
    let mut bad = a;
    bad.positions[0].kind = 7;
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    assert_eq!(
        margin_inputs(&bad, &readings, &[&page], &[], NOW, &mut inp),
        Err(StateError::CorruptPosition)
    );
}

#[test]
fn correlations_default_to_no_offset_and_use_the_supplied_state() {
    let mut params = RiskParams::DEFAULT;
    params.corr_max_offset = keel_risk::Fx::lit("0.5");
    params.corr_floor = keel_risk::Fx::lit("0.2");
    let (mut m1, mut m2) = (market(params), market(params));
    let a = account(&[(0, 0, 620_000_000, -10), (1, 0, 620_000_000, -10)]);
    let (p1, mut p2) = (
        anchored_page(&mut m1, [1; 32], &a),
        anchored_page(&mut m2, [2; 32], &a),
    );
    p2.page_index = 0;
    let pages = [&*p1, &*p2];
    let readings = [
        MarketReading {
            key: [1; 32],
            market: &m1,
            oracle: reading(60_000),
        },
        MarketReading {
            key: [2; 32],
            market: &m2,
            oracle: reading(60_000),
        },
    ];
    let mut inp = MarginInputs::new();
    margin_inputs(&a, &readings, &pages, &[], NOW, &mut inp).unwrap();
    assert_eq!(inp.correlations.rho[0][1], keel_risk::Fx::ONE);
    assert_eq!(inp.correlations.max_offset, keel_risk::Fx::lit("0.5"));

    // Uncorrelated observations: ρ ≈ 0 → floored at 0.2.
    let mut c: Correlation = bytemuck::Zeroable::zeroed();
    c.market_a = [2; 32];
    c.market_b = [1; 32];
    let cap = keel_risk::Fx::lit("100");
    let prices = [(100, 100), (110, 100), (110, 110), (100, 110), (100, 100)];
    for (i, (pa, pb)) in prices.iter().enumerate() {
        c.state
            .observe(*pa, *pb, 1_000 + 100 * i as i64, 86_400, 60, cap)
            .unwrap();
    }
    let rho = c.state.rho().unwrap();
    assert!(rho < keel_risk::Fx::lit("0.2"), "ρ = {rho}");
    margin_inputs(&a, &readings, &pages, &[&c], NOW, &mut inp).unwrap();
    assert_eq!(inp.correlations.rho[0][1], keel_risk::Fx::lit("0.2"));
    assert_eq!(inp.correlations.rho[1][0], keel_risk::Fx::lit("0.2"));
    let mut b = MarginBreakdown::default();
    compute(&inp.portfolio(), &mut b).unwrap();
    assert!(
        b.offset_im > 0,
        "two short calls on weakly correlated markets get an offset"
    );
}

#[test]
fn contract_spec_of_market() {
    let m = market(RiskParams::DEFAULT);
    assert_eq!(
        m.contract_spec(),
        ContractSpec {
            size_mantissa: 1,
            size_expo: -2,
            quote_decimals: 6
        }
    );
}

/// The memo's size, which docs/performance.md states (the program keeps one on the heap per
/// instruction that checks margin).
#[test]
fn memo_size_is_documented() {
    assert_eq!(core::mem::size_of::<MarginMemo>(), 1_200);
}
