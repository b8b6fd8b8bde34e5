//! Permissionless cranks: the vol crank's oracle validation, series settlement windows and
//! settlement-pool ordering, and the correlation crank with its margin offset.

use keel::error::KeelError as E;
use keel::events::{CorrelationUpdated, SeriesSettled};
use keel::instructions::CreateCorrelationArgs;
use keel_risk::{Fx, RiskParams};
use keel_state::exchange::{PAUSE_CRANK, PAUSE_SETTLE};
use keel_tests::helpers::{btc_market_args, metas};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::{ix, pda, TestContext};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn vol_crank_refuses_bad_prices_and_changes_nothing() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let m = s.btc;
    let crank = |t: &TestContext, oracle| ix::update_volatility(&t.ex, &m.key, oracle);
    let watch = [m.key];
    t.advance(120).await;
    let now = t.now().await;
    // Stale: published 61 s ago with a 60 s limit.
    t.set_price(&m, Quote::usd(61_000, 5, now - 61)).await;
    t.expect_error(&[crank(&t, &m.oracle)], &[], E::OracleStale, &watch)
        .await;
    // Low confidence: 2.01% of the price with a 2% limit.
    t.set_price(&m, Quote::usd(61_000, 201, now)).await;
    t.expect_error(
        &[crank(&t, &m.oracle)],
        &[],
        E::OracleConfidenceTooWide,
        &watch,
    )
    .await;
    // Zero and negative prices.
    t.set_price(
        &m,
        Quote {
            price: 0,
            ..Quote::usd(61_000, 0, now)
        },
    )
    .await;
    t.expect_error(
        &[crank(&t, &m.oracle)],
        &[],
        E::OracleNonPositivePrice,
        &watch,
    )
    .await;
    t.set_price(
        &m,
        Quote {
            price: -5,
            conf: 0,
            ..Quote::usd(61_000, 0, now)
        },
    )
    .await;
    t.expect_error(
        &[crank(&t, &m.oracle)],
        &[],
        E::OracleNonPositivePrice,
        &watch,
    )
    .await;
    // Only partially verified.
    t.set_pull_oracle(
        &m.oracle,
        m.feed_id,
        Quote::usd(61_000, 5, now),
        VerificationLevel::Partial { num_signatures: 5 },
    )
    .await;
    t.expect_error(&[crank(&t, &m.oracle)], &[], E::OracleUnverified, &watch)
        .await;
    // Another feed.
    t.set_pull_oracle(
        &m.oracle,
        [9; 32],
        Quote::usd(61_000, 5, now),
        VerificationLevel::Full,
    )
    .await;
    t.expect_error(&[crank(&t, &m.oracle)], &[], E::OracleWrongFeed, &watch)
        .await;
    // A foreign account with the right bytes.
    let fake = Keypair::new().pubkey();
    let data = keel_tests::oracle::price_update_v2(
        m.feed_id,
        Quote::usd(61_000, 5, now),
        VerificationLevel::Full,
    );
    t.set_account(&fake, &Keypair::new().pubkey(), data).await;
    t.expect_error(&[crank(&t, &fake)], &[], E::OracleWrongOwner, &watch)
        .await;
    // Receiver-owned garbage.
    t.set_account(&fake, &pyth_solana_receiver_sdk::ID, vec![1; 134])
        .await;
    t.expect_error(&[crank(&t, &fake)], &[], E::OracleInvalidAccount, &watch)
        .await;
    // Paused.
    let admin = t.admin.insecure_clone();
    t.set_price(&m, Quote::usd(61_000, 5, now)).await;
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_CRANK)],
        &[&admin],
    )
    .await
    .unwrap();
    t.expect_error(&[crank(&t, &m.oracle)], &[], E::ExchangePaused, &watch)
        .await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();
    // A good price is accepted once …
    t.crank(&m).await.unwrap();
    let vs = t.market(&m.key).await.vol_state;
    assert_eq!(vs.last_ts, now);
    // … the same update again, or an older one, is out of order …
    t.expect_error(
        &[crank(&t, &m.oracle)],
        &[],
        E::ObservationOutOfOrder,
        &watch,
    )
    .await;
    // (an older one is refused by the market's oracle high-water mark before the vol state
    // sees it) …
    t.set_price(&m, Quote::usd(61_000, 5, now - 10)).await;
    t.expect_error(&[crank(&t, &m.oracle)], &[], E::OracleOutOfOrder, &watch)
        .await;
    // … and a newer one inside the minimum interval (60 s) is too soon.
    t.advance(30).await;
    t.set_price(&m, Quote::usd(61_000, 5, now + 30)).await;
    t.expect_error(&[crank(&t, &m.oracle)], &[], E::ObservationTooSoon, &watch)
        .await;
    t.advance(30).await;
    t.set_price(&m, Quote::usd(61_000, 5, now + 60)).await;
    t.crank(&m).await.expect("60 s later");
    // The crank of another market's oracle is another market's business.
    let eth = t.create_btc_market(3_000).await;
    t.expect_error(&[crank(&t, &eth.oracle)], &[], E::OracleWrongFeed, &watch)
        .await;
}

#[tokio::test]
async fn settlement_window_and_order() {
    let mut t = TestContext::builder().fees(0, 0).start().await;
    let s = Scenario::new(&mut t).await;
    // Alice short 3 futures at 600 to Bob, short 2 calls at 10 to Bob.
    t.trade(
        &s.fut,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        3,
        600 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    t.trade(
        &s.call,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        2,
        10 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    let payer = t.pt.payer.insecure_clone();
    // Options free their risk-array slot at settlement; this test settles the future.
    // An option passes the page of its risk array (its slot is freed at settlement).
    let pages = [
        (s.call, t.page_of(&s.btc, &s.call).await),
        (s.put, t.page_of(&s.btc, &s.put).await),
    ];
    let settle = |t: &TestContext, caller: &Keypair, series: &anchor_lang::prelude::Pubkey| {
        let page = pages
            .iter()
            .find(|(k, _)| k == series)
            .and_then(|(_, p)| *p);
        ix::settle_series(
            &t.ex,
            &caller.pubkey(),
            &s.btc.key,
            series,
            &s.btc.oracle,
            page,
        )
    };

    // Before expiry.
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::SeriesNotExpired,
        &[s.fut],
    )
    .await;
    let e = s.expiry;
    // After expiry, positions must be settled before margin-checked operations.
    t.set_time(e + 30).await;
    t.set_price(&s.btc, Quote::usd(65_000, 5, e + 29)).await;
    t.expect_error(
        &[ix::withdraw(
            &t.ex,
            &s.alice.key(),
            &s.a,
            &s.alice.tokens,
            1,
            &metas(&[&s.btc]),
        )],
        &[&s.alice.kp],
        E::ExpiredPositionsUnsettled,
        &[s.a],
    )
    .await;
    // An update that does not cover the expiry (previous publish time after it): refused.
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: e + 1,
            ..Quote::usd(65_000, 5, e + 5)
        },
    )
    .await;
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::OracleOutsideSettlementWindow,
        &[s.fut],
    )
    .await;
    // One published before the expiry: refused.
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: e - 10,
            ..Quote::usd(65_000, 5, e - 1)
        },
    )
    .await;
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::OracleOutsideSettlementWindow,
        &[s.fut],
    )
    .await;
    // Covering the expiry but published after the 300 s window: refused.
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: e - 1,
            ..Quote::usd(65_000, 5, e + 301)
        },
    )
    .await;
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::OracleOutsideSettlementWindow,
        &[s.fut],
    )
    .await;
    // Too uncertain.
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: e - 1,
            ..Quote::usd(65_000, 300, e + 2)
        },
    )
    .await;
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::OracleConfidenceTooWide,
        &[s.fut],
    )
    .await;
    // Paused.
    let admin = t.admin.insecure_clone();
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: e - 1,
            ..Quote::usd(65_000, 5, e + 2)
        },
    )
    .await;
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_SETTLE)],
        &[&admin],
    )
    .await
    .unwrap();
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::ExchangePaused,
        &[s.fut],
    )
    .await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();
    // The covering update inside the window settles the future and the call at 650.
    t.send(
        &[settle(&t, &payer, &s.fut), settle(&t, &payer, &s.call)],
        &[],
    )
    .await
    .unwrap();
    t.expect_error(
        &[settle(&t, &payer, &s.fut)],
        &[],
        E::SeriesAlreadySettled,
        &[s.fut],
    )
    .await;
    assert_eq!(t.series(&s.fut).await.settlement_price_native, 650 * USDC);

    // Positions in a series that is not settled cannot be realised.
    t.expect_error(
        &[ix::settle_positions(&t.ex, &s.a, &[s.put])],
        &[],
        E::SeriesNotSettled,
        &[s.a, s.put],
    )
    .await;
    // Bob won (3 × 50 on the future + 2 × 30 on the calls = 210) but the pools are empty until
    // Alice pays: refused by name, nothing changes.
    t.expect_error(
        &[ix::settle_positions(&t.ex, &s.b, &[s.fut, s.call])],
        &[],
        E::SettlementPoolShort,
        &[s.b, s.fut, s.call, t.ex.exchange],
    )
    .await;
    t.settle_positions(&s.a, &[s.fut, s.call]).await.unwrap();
    assert_eq!(t.series(&s.fut).await.settlement_pool_native, 150 * USDC);
    assert_eq!(t.series(&s.call).await.settlement_pool_native, 60 * USDC);
    t.settle_positions(&s.b, &[s.fut, s.call]).await.unwrap();
    assert_eq!(
        t.margin_account(&s.a).await.collateral_native,
        5_000 * USDC + 20 * USDC - 210 * USDC
    );
    assert_eq!(
        t.margin_account(&s.b).await.collateral_native,
        5_000 * USDC - 20 * USDC + 210 * USDC
    );
    // A second settlement of the same position finds nothing.
    t.expect_error(
        &[ix::settle_positions(&t.ex, &s.b, &[s.fut])],
        &[],
        E::PositionNotFound,
        &[s.b],
    )
    .await;
    t.assert_conservation(&s.accounts(), &s.series()).await;

    // The put was never settled in the window: only the admin can settle it afterwards, from
    // any valid update published at or after expiry.
    t.set_time(e + 1_000).await;
    t.set_price(
        &s.btc,
        Quote {
            prev_publish_time: e + 900,
            ..Quote::usd(64_000, 5, e + 990)
        },
    )
    .await;
    t.expect_error(
        &[settle(&t, &payer, &s.put)],
        &[],
        E::OracleOutsideSettlementWindow,
        &[s.put],
    )
    .await;
    let ok = t
        .send(&[settle(&t, &admin, &s.put)], &[&admin])
        .await
        .unwrap();
    let ev = ok.event::<SeriesSettled>();
    assert!(ev.by_admin);
    assert_eq!(ev.settlement_price_native, 640 * USDC);
}

#[tokio::test]
async fn correlation_offsets_margin_across_markets() {
    let mut t = TestContext::builder().fees(0, 0).start().await;
    // Two markets whose parameters allow up to a 50% offset above a 0.2 correlation floor.
    let mut p = RiskParams::DEFAULT;
    p.corr_max_offset = Fx::lit("0.5");
    p.corr_floor = Fx::lit("0.2");
    let mk = |feed: u8| {
        let mut a = btc_market_args([feed; 32], None);
        a.risk_params = bytemuck::bytes_of(&p).to_vec();
        a
    };
    let a = t
        .create_market_with(mk(1), Keypair::new().pubkey(), 60_000)
        .await
        .unwrap();
    let b = t
        .create_market_with(mk(2), Keypair::new().pubkey(), 60_000)
        .await
        .unwrap();
    let admin = t.admin.insecure_clone();
    let args = CreateCorrelationArgs {
        tau_secs: 86_400,
        min_interval_secs: 60,
        max_sync_secs: 5,
    };
    // Markets must be passed lower index first.
    let bad = ix::create_correlation(
        &t.ex,
        &admin.pubkey(),
        &b.key,
        &a.key,
        CreateCorrelationArgs { ..args.clone() },
    );
    t.expect_error(
        &[bad],
        &[&admin],
        E::InvalidCorrelationMarkets,
        &[pda::correlation(&b.key, &a.key)],
    )
    .await;
    let bad = ix::create_correlation(
        &t.ex,
        &admin.pubkey(),
        &a.key,
        &b.key,
        CreateCorrelationArgs {
            tau_secs: 10,
            ..args.clone()
        },
    );
    t.expect_error(
        &[bad],
        &[&admin],
        E::GuardOutOfBounds,
        &[pda::correlation(&a.key, &b.key)],
    )
    .await;
    t.send(
        &[ix::create_correlation(
            &t.ex,
            &admin.pubkey(),
            &a.key,
            &b.key,
            args,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let corr = pda::correlation(&a.key, &b.key);

    // Unsynchronised prices are refused.
    let now = t.now().await;
    t.set_price(&a, Quote::usd(60_000, 5, now)).await;
    t.set_price(&b, Quote::usd(60_000, 5, now - 10)).await;
    let upd = ix::update_correlation(&t.ex, (&a.key, &a.oracle), (&b.key, &b.oracle));
    t.expect_error(
        std::slice::from_ref(&upd),
        &[],
        E::OracleNotSynchronised,
        &[corr],
    )
    .await;
    // Uncorrelated moves for a while: ρ falls toward 0 and is floored at 0.2 for margin.
    let path = [
        (60_000, 60_000),
        (63_000, 60_000),
        (63_000, 63_000),
        (60_000, 63_000),
        (60_000, 60_000),
        (63_000, 60_000),
        (63_000, 63_000),
        (60_000, 63_000),
    ];
    let mut last = None;
    for (pa, pb) in path {
        t.advance(120).await;
        let now = t.now().await;
        t.set_price(&a, Quote::usd(pa, 5, now)).await;
        t.set_price(&b, Quote::usd(pb, 5, now)).await;
        let ok = t
            .send(
                &[
                    upd.clone(),
                    ix::update_volatility(&t.ex, &a.key, &a.oracle),
                    ix::update_volatility(&t.ex, &b.key, &b.oracle),
                ],
                &[],
            )
            .await
            .unwrap();
        last = Some(ok.event::<CorrelationUpdated>());
    }
    let rho = Fx::from_bits(last.unwrap().rho_q32);
    assert!(rho < Fx::lit("0.2"), "ρ = {rho}");
    // The correlation crank too refuses an update older than one its market has accepted.
    let now = t.now().await;
    t.set_price(&a, Quote::usd(60_000, 5, now - 5)).await;
    t.set_price(&b, Quote::usd(60_000, 5, now - 5)).await;
    t.expect_error(
        std::slice::from_ref(&upd),
        &[],
        E::OracleOutOfOrder,
        &[corr, a.key, b.key],
    )
    .await;
    t.set_price(&a, Quote::usd(60_000, 5, now)).await;
    t.set_price(&b, Quote::usd(60_000, 5, now)).await;

    // Alice writes calls on both markets. With the correlation account passed, her IM gets the
    // diversification offset; without it the per-market losses simply add up.
    let expiry = t.now().await + 7 * 86_400;
    let ca = t.list_series(&a, 0, 620 * USDC, expiry).await;
    let cb = t.list_series(&b, 0, 620 * USDC, expiry).await;
    let (alice, acc_a) = t.trader(20_000 * USDC as u64, 10_000 * USDC as u64).await;
    let (bob, acc_b) = t.trader(20_000 * USDC as u64, 10_000 * USDC as u64).await;
    let (pa, pb) = (t.band(&a, &ca).await.mark, t.band(&b, &cb).await.mark);
    t.trade(&ca, (&bob, &acc_b), (&alice, &acc_a), 10, pa, &[&a])
        .await
        .unwrap();
    t.trade(&cb, (&bob, &acc_b), (&alice, &acc_a), 10, pb, &[&a, &b])
        .await
        .unwrap();
    let without = t.margin_report(&acc_a, &[&a, &b]).await;
    let pairs = [(a.key, a.oracle), (b.key, b.oracle)];
    let pages: Vec<anchor_lang::prelude::Pubkey> =
        a.pages.iter().chain(b.pages.iter()).copied().collect();
    let rep = ix::margin_report(&t.ex, &acc_a, &ix::margin_metas(&pairs, &pages, &[corr]));
    let with = t
        .simulate(&[rep], &[])
        .await
        .unwrap()
        .event::<keel::events::MarginReport>();
    assert_eq!(without.offset_im, 0);
    assert!(
        with.offset_im > 0 && with.im < without.im,
        "IM {} vs {}",
        with.im,
        without.im
    );
    assert!(with.im * 2 >= without.im, "offset capped at 50%");
}
