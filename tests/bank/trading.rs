//! `trade`: signers, pauses, series state, quantities and prices, the IM rule and the
//! risk-reduction rule below IM, position capacity. A failure changes nothing.

use keel::error::KeelError as E;
use keel::events::{FuturesRealised, Traded};
use keel::instructions::TradeArgs;
use keel_state::exchange::PAUSE_TRADE;
use keel_tests::helpers::metas;
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::{ix, TestContext};
use solana_keypair::Keypair;
use solana_signer::Signer;

fn trade_ix(
    t: &TestContext,
    s: &Scenario,
    series: &anchor_lang::prelude::Pubkey,
    taker: (&Keypair, &anchor_lang::prelude::Pubkey),
    maker: (&Keypair, &anchor_lang::prelude::Pubkey),
    qty: i64,
    price: i64,
) -> anchor_lang::solana_program::instruction::Instruction {
    ix::trade(
        &t.ex,
        series,
        taker.1,
        &taker.0.pubkey(),
        maker.1,
        &maker.0.pubkey(),
        TradeArgs {
            qty_contracts: qty,
            price_native: price,
        },
        &metas(&[&s.btc]),
    )
}

#[tokio::test]
async fn trade_validation() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let watch = [s.a, s.b, s.call, s.fut, t.ex.exchange];
    let ok_ix = |t: &TestContext, qty, price| {
        trade_ix(t, &s, &s.call, (&bob, &s.b), (&alice, &s.a), qty, price)
    };

    // Wrong signers: a stranger for the taker, the taker signing for the maker's account.
    let mallory = Keypair::new();
    let bad = trade_ix(&t, &s, &s.call, (&mallory, &s.b), (&alice, &s.a), 1, USDC);
    t.expect_error(&[bad], &[&mallory, &alice], E::NotTrader, &watch)
        .await;
    let bad = trade_ix(&t, &s, &s.call, (&bob, &s.b), (&bob, &s.a), 1, USDC);
    t.expect_error(&[bad], &[&bob], E::NotTrader, &watch).await;
    // The same account on both sides: refusals::the_same_account_cannot_trade_with_itself.
    // Quantities and prices.
    t.expect_error(
        &[ok_ix(&t, 0, USDC)],
        &[&alice, &bob],
        E::InvalidQuantity,
        &watch,
    )
    .await;
    t.expect_error(
        &[ok_ix(&t, i64::MAX, USDC)],
        &[&alice, &bob],
        E::InvalidQuantity,
        &watch,
    )
    .await;
    t.expect_error(
        &[ok_ix(&t, i64::MIN, USDC)],
        &[&alice, &bob],
        E::InvalidQuantity,
        &watch,
    )
    .await;
    t.expect_error(
        &[ok_ix(&t, 1, -1)],
        &[&alice, &bob],
        E::InvalidPrice,
        &watch,
    )
    .await;
    t.expect_error(
        &[ok_ix(&t, 1_000_000, i64::MAX / 10)],
        &[&alice, &bob],
        E::AmountTooLarge,
        &watch,
    )
    .await;
    let fut0 = trade_ix(&t, &s, &s.fut, (&bob, &s.b), (&alice, &s.a), 1, 0);
    t.expect_error(&[fut0], &[&alice, &bob], E::InvalidPrice, &watch)
        .await;
    // The margin check needs the series' market.
    let mut no_market = ok_ix(&t, 1, USDC);
    no_market.accounts.truncate(7);
    t.expect_error(&[no_market], &[&alice, &bob], E::MarketMissing, &watch)
        .await;
    // Paused.
    let admin = t.admin.insecure_clone();
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_TRADE)],
        &[&admin],
    )
    .await
    .unwrap();
    t.expect_error(
        &[ok_ix(&t, 1, USDC)],
        &[&alice, &bob],
        E::ExchangePaused,
        &watch,
    )
    .await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();
    // A stale oracle.
    t.advance(61).await;
    t.expect_error(
        &[ok_ix(&t, 1, USDC)],
        &[&alice, &bob],
        E::OracleStale,
        &watch,
    )
    .await;
    let now = t.now().await;
    t.set_price(&s.btc, Quote::usd(60_000, 5, now)).await;
    // A delegate may trade for the owner.
    let delegate = Keypair::new();
    t.send(
        &[ix::set_delegate(&alice.pubkey(), &s.a, delegate.pubkey())],
        &[&alice],
    )
    .await
    .unwrap();
    let by_delegate = trade_ix(
        &t,
        &s,
        &s.call,
        (&bob, &s.b),
        (&delegate, &s.a),
        1,
        10 * USDC,
    );
    t.send(&[by_delegate], &[&bob, &delegate])
        .await
        .expect("delegate trades");
    // An expired series.
    t.set_time(s.expiry).await;
    t.set_price(&s.btc, Quote::usd(60_000, 5, s.expiry)).await;
    t.crank(&s.btc).await.unwrap();
    t.expect_error(
        &[trade_ix(
            &t,
            &s,
            &s.put,
            (&bob, &s.b),
            (&alice, &s.a),
            1,
            USDC,
        )],
        &[&alice, &bob],
        E::SeriesExpired,
        &[s.a, s.b, s.put],
    )
    .await;
}

#[tokio::test]
async fn initial_margin_gates_new_risk() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let watch = [s.a, s.b, s.call, t.ex.exchange];
    // 5 000 USDC cannot write 500 calls on 300 000 USDC of notional.
    let big = trade_ix(&t, &s, &s.call, (&bob, &s.b), (&alice, &s.a), 500, 8 * USDC);
    let e = t
        .expect_error(&[big], &[&alice, &bob], E::BelowInitialMargin, &watch)
        .await;
    assert!(e.logs.iter().any(|l| l.contains("equity_im")));
    // 10 fit.
    t.send(
        &[trade_ix(
            &t,
            &s,
            &s.call,
            (&bob, &s.b),
            (&alice, &s.a),
            10,
            8 * USDC,
        )],
        &[&alice, &bob],
    )
    .await
    .unwrap();
    // Find the largest size Alice can still write by bisection on real transactions, then
    // check that one more contract is refused: the IM line is exact.
    let (mut lo, mut hi) = (0i64, 500i64);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let ix = trade_ix(&t, &s, &s.call, (&bob, &s.b), (&alice, &s.a), mid, 8 * USDC);
        if t.simulate(&[ix], &[&alice, &bob]).await.is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    assert!(lo > 10, "room for more: {lo}");
    let ok = t
        .send(
            &[trade_ix(
                &t,
                &s,
                &s.call,
                (&bob, &s.b),
                (&alice, &s.a),
                lo,
                8 * USDC,
            )],
            &[&alice, &bob],
        )
        .await
        .unwrap();
    let ev = ok.event::<Traded>();
    assert!(ev.maker_equity_im >= ev.maker_im);
    let one_more = trade_ix(&t, &s, &s.call, (&bob, &s.b), (&alice, &s.a), 1, 8 * USDC);
    t.expect_error(&[one_more], &[&alice, &bob], E::BelowInitialMargin, &watch)
        .await;
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn below_initial_margin_only_risk_reducing_trades() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    // Alice writes as many calls as IM allows …
    let mut q = 200;
    while t
        .send(
            &[trade_ix(
                &t,
                &s,
                &s.call,
                (&bob, &s.b),
                (&alice, &s.a),
                q,
                8 * USDC,
            )],
            &[&alice, &bob],
        )
        .await
        .is_err()
    {
        q -= 10;
    }
    // … then BTC rallies in 0.5% steps until she is below IM (still above MM).
    let mut usd = 60_000;
    let r = loop {
        usd += 300;
        t.advance(120).await;
        t.price_and_crank(&s.btc, usd).await;
        let r = t.margin_report(&s.a, &[&s.btc]).await;
        if r.health_im < 0 {
            break r;
        }
    };
    assert!(
        r.health_mm > 0,
        "IM {} MM {} eq {}",
        r.im,
        r.mm,
        r.equity_im
    );
    let watch = [s.a, s.b, s.call, s.put, t.ex.exchange];
    // Adding risk — more calls, or a new series — is refused.
    let more = trade_ix(&t, &s, &s.call, (&bob, &s.b), (&alice, &s.a), 1, 20 * USDC);
    t.expect_error(&[more], &[&alice, &bob], E::TradeIncreasesRisk, &watch)
        .await;
    let put_mark = t.band(&s.btc, &s.put).await.mark;
    let new_series = trade_ix(&t, &s, &s.put, (&bob, &s.b), (&alice, &s.a), 1, put_mark);
    t.expect_error(
        &[new_series],
        &[&alice, &bob],
        E::TradeIncreasesRisk,
        &watch,
    )
    .await;
    // Buying back more than she is short and ending long beyond what she can pay for: refused
    // before any margin rule (no trade leaves collateral negative). (A flip that ends above IM
    // is allowed: the IM rule comes first.)
    let flip = trade_ix(
        &t,
        &s,
        &s.call,
        (&alice, &s.a),
        (&bob, &s.b),
        q + 300,
        20 * USDC,
    );
    t.expect_error(
        &[flip],
        &[&alice, &bob],
        E::TradeLeavesNegativeCollateral,
        &watch,
    )
    .await;
    // Buying back at a ruinous price lowers IM but worsens her IM health: refused.
    let ruinous = trade_ix(
        &t,
        &s,
        &s.call,
        (&alice, &s.a),
        (&bob, &s.b),
        1,
        2_000 * USDC,
    );
    t.expect_error(&[ruinous], &[&alice, &bob], E::PriceOutsideBand, &watch)
        .await;
    // (Priced worse for her than the mark, a reducing trade below IM is refused:
    // attacks::below_im_reduction_is_priced_no_worse_than_the_mark.)
    // The rule's mark is the band's (Black-76 at the oracle and the mark vol); the engine's,
    // read from the risk arrays, is a bound over the anchor's window: for her short no lower,
    // and inside the band.
    let band = t.band(&s.btc, &s.call).await;
    let fair = band.mark;
    let engine = r.positions[0].mark;
    assert!(
        fair <= engine && engine <= band.hi,
        "the engine's mark {engine} vs the band {band:?}"
    );
    // Buying back some at a fair price strictly reduces her risk: allowed although she stays
    // below IM.
    let before = t.margin_report(&s.a, &[&s.btc]).await;
    t.send(
        &[trade_ix(
            &t,
            &s,
            &s.call,
            (&alice, &s.a),
            (&bob, &s.b),
            5,
            fair,
        )],
        &[&alice, &bob],
    )
    .await
    .expect("risk-reducing trade");
    let after = t.margin_report(&s.a, &[&s.btc]).await;
    assert!(after.im < before.im);
    assert!(after.health_im >= before.health_im);
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn futures_cash_and_realisation_through_the_pool() {
    let mut t = TestContext::builder().fees(0, 0).start().await;
    let s = Scenario::new(&mut t).await;
    let (carol, c) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    // Bob buys 3 futures from Alice at 590, then sells them to Carol at 610: flat with a gain of
    // 60 USDC that Alice (still short 3 at 590) owes. The pool is empty, so Bob keeps a claim.
    // (Prices stay inside the futures band, spot ± 2%.)
    t.trade(
        &s.fut,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        3,
        590 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    let ok = t
        .trade(
            &s.fut,
            (&carol, &c),
            (&s.bob, &s.b),
            3,
            610 * USDC,
            &[&s.btc],
        )
        .await
        .unwrap();
    assert!(ok.events::<FuturesRealised>().is_empty());
    let b = t.margin_account(&s.b).await;
    let p = b.positions[b.position_index(&s.fut.to_bytes()).unwrap()];
    assert_eq!((p.qty_contracts, p.cash_native), (0, 60 * USDC));
    assert_eq!(t.series(&s.fut).await.open_interest_contracts, 3);
    // Alice buys her 3 back from Carol at 600 and Carol sells hers: both go flat with a loss
    // (Alice sold at 590, bought at 600: −30; Carol bought at 610, sold at 600: −30), realised
    // at once into the series' pool, which now holds Bob's 60.
    let ok = t
        .trade(
            &s.fut,
            (&s.alice, &s.a),
            (&carol, &c),
            3,
            600 * USDC,
            &[&s.btc],
        )
        .await
        .unwrap();
    let r: Vec<i64> = ok
        .events::<FuturesRealised>()
        .iter()
        .map(|e| e.amount_native)
        .collect();
    assert_eq!(r, vec![-30 * USDC, -30 * USDC]);
    let fut = t.series(&s.fut).await;
    assert_eq!(fut.settlement_pool_native, 60 * USDC);
    assert_eq!(fut.open_interest_contracts, 0);
    assert_eq!(fut.holders, 1, "only Bob's claim is left");
    assert_eq!(t.margin_account(&s.a).await.n_positions, 0);
    assert_eq!(t.margin_account(&c).await.realised_pnl_native, -30 * USDC);
    t.assert_conservation(&[s.a, s.b, c], &s.series()).await;
    // At expiry Bob's claim is paid out of the pool, whatever the settlement price.
    t.set_time(s.expiry + 10).await;
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: s.expiry - 1,
            ..Quote::usd(70_000, 5, s.expiry + 1)
        },
    )
    .await;
    t.settle_series(&s.btc, &s.fut).await.unwrap();
    t.settle_positions(&s.b, &[s.fut]).await.unwrap();
    let fut = t.series(&s.fut).await;
    assert_eq!((fut.settlement_pool_native, fut.holders), (0, 0));
    assert_eq!(t.margin_account(&s.b).await.realised_pnl_native, 60 * USDC);
    assert_eq!(t.margin_account(&s.b).await.collateral_native, 5_060 * USDC);
    t.assert_conservation(&[s.a, s.b, c], &s.series()).await;
}

#[tokio::test]
async fn position_capacity() {
    let mut t = TestContext::builder().fees(0, 0).start().await;
    let s = Scenario::new(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    // 3 series exist; list 30 more futures (33 in all).
    let mut series = s.series().to_vec();
    for i in 0..30 {
        series.push(t.list_series(&s.btc, 2, 0, s.expiry + i).await);
    }
    for (i, se) in series.iter().enumerate().take(32) {
        let price = if i >= 2 { 600 * USDC } else { 10 * USDC }; // two options, then futures
        t.send(
            &[trade_ix(&t, &s, se, (&bob, &s.b), (&alice, &s.a), 1, price)],
            &[&alice, &bob],
        )
        .await
        .unwrap_or_else(|e| panic!("series {i}: {:?}", e.code));
    }
    assert_eq!(t.margin_account(&s.a).await.n_positions, 32);
    let watch = [s.a, s.b, series[32]];
    let bad = trade_ix(
        &t,
        &s,
        &series[32],
        (&bob, &s.b),
        (&alice, &s.a),
        1,
        600 * USDC,
    );
    t.expect_error(&[bad], &[&alice, &bob], E::TooManyPositions, &watch)
        .await;
    // A full 32-position account still gets a full margin report.
    let r = t.margin_report(&s.a, &[&s.btc]).await;
    assert_eq!(r.positions.len(), 32);
    assert_eq!(r.markets[0].pnl.len(), keel_risk::array::POINTS);
}
