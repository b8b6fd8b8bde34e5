//! Named refusals no other test reaches: each is produced by the instruction sequence that
//! leads to it, and changes nothing (errors.rs checks that every error has such a test).

use keel::bounds::MarketGuards;
use keel::error::KeelError as E;
use keel::instructions::{TradeArgs, UpdateMarketParamsArgs};
use keel_tests::helpers::{metas, GUARDS};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, DAY, USDC};
use keel_tests::{ix, TestContext};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_signer::Signer;

#[tokio::test]
async fn the_same_account_cannot_trade_with_itself() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let bob = s.bob.kp.insecure_clone();
    let i = ix::trade(
        &t.ex,
        &s.call,
        &s.b,
        &bob.pubkey(),
        &s.b,
        &bob.pubkey(),
        TradeArgs {
            qty_contracts: 1,
            price_native: 10 * USDC,
        },
        &metas(&[&s.btc]),
    );
    t.expect_error(&[i], &[&bob], E::SelfTrade, &[s.b, s.call, t.ex.exchange])
        .await;
}

#[tokio::test]
async fn an_account_spans_at_most_four_markets() {
    let mut t = TestContext::builder().fees(0, 0).start().await;
    let (alice, a) = t.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    let (bob, b) = t.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    let expiry = t.now().await + 7 * DAY;
    let mut markets = Vec::new();
    let mut futures = Vec::new();
    for _ in 0..5 {
        let m = t.create_btc_market(60_000).await;
        futures.push(t.list_series(&m, 2, 0, expiry).await);
        markets.push(m);
    }
    for i in 0..4 {
        let used: Vec<_> = markets[..=i].iter().collect();
        t.trade(&futures[i], (&bob, &b), (&alice, &a), 1, 600 * USDC, &used)
            .await
            .unwrap_or_else(|e| panic!("market {i}: {e:?}"));
    }
    let all: Vec<_> = markets.iter().collect();
    let fifth = ix::trade(
        &t.ex,
        &futures[4],
        &b,
        &bob.key(),
        &a,
        &alice.key(),
        TradeArgs {
            qty_contracts: 1,
            price_native: 600 * USDC,
        },
        &metas(&all),
    );
    t.expect_error(
        &[fifth],
        &[&alice.kp, &bob.kp],
        E::TooManyMarkets,
        &[a, b, futures[4]],
    )
    .await;
}

#[tokio::test]
async fn a_series_settles_only_against_its_own_market() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let other = t.create_btc_market(60_000).await;
    let payer = t.pt.payer.insecure_clone();
    let i = ix::settle_series(
        &t.ex,
        &payer.pubkey(),
        &other.key,
        &s.call,
        &other.oracle,
        Some(other.pages[0]),
    );
    t.expect_error(&[i], &[], E::WrongMarket, &[s.call, other.key])
        .await;
}

#[tokio::test]
async fn an_oracle_price_too_large_to_convert_is_refused() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    t.advance(120).await;
    let now = t.now().await;
    // i64::MAX dollars per BTC: per contract in native units it overflows 64 bits.
    t.set_pull_oracle(
        &s.btc.oracle,
        s.btc.feed_id,
        Quote {
            price: i64::MAX,
            conf: 0,
            expo: 0,
            publish_time: now,
            prev_publish_time: now - 1,
        },
        VerificationLevel::Full,
    )
    .await;
    let crank = ix::update_volatility(&t.ex, &s.btc.key, &s.btc.oracle);
    t.expect_error(&[crank], &[], E::OraclePriceOverflow, &[s.btc.key])
        .await;
}

#[tokio::test]
async fn the_trade_band_is_bounded() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let admin = t.admin.insecure_clone();
    let ex = t.ex;
    let update = |guards: MarketGuards| {
        ix::update_market_params(
            &ex,
            &admin.pubkey(),
            &s.btc.key,
            UpdateMarketParamsArgs {
                risk_params: bytemuck::bytes_of(&keel_risk::RiskParams::DEFAULT).to_vec(),
                guards,
            },
        )
    };
    let bounds = keel_state::TradeBand::FUTURE_BPS_BOUNDS;
    for bad in [
        MarketGuards {
            band_future_bps: bounds.1 + 1,
            ..GUARDS
        },
        MarketGuards {
            band_vol_frac_q32: 0,
            ..GUARDS
        },
        MarketGuards {
            band_option_spot_bps: 0,
            ..GUARDS
        },
    ] {
        t.expect_error(&[update(bad)], &[&admin], E::InvalidTradeBand, &[s.btc.key])
            .await;
    }
    // At the bound it is accepted and stored; a futures fill 10% off spot then passes.
    t.send(
        &[update(MarketGuards {
            band_future_bps: bounds.1,
            ..GUARDS
        })],
        &[&admin],
    )
    .await
    .unwrap();
    assert_eq!(t.market(&s.btc.key).await.trade_band.future_bps, bounds.1);
    let band = t.band(&s.btc, &s.fut).await;
    assert_eq!(band.hi, 660 * USDC);
    t.trade(
        &s.fut,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        1,
        band.hi,
        &[&s.btc],
    )
    .await
    .expect("at the top of the band");
}

#[tokio::test]
async fn collateral_totals_never_wrap() {
    let mut t = TestContext::builder().start().await;
    let (whale, w) = t.trader(i64::MAX as u64, i64::MAX as u64).await;
    let (minnow, m) = t.trader(10, 0).await;
    assert_eq!(
        t.margin_account(&w).await.collateral_native,
        i64::MAX,
        "{}",
        whale.key()
    );
    let i = ix::deposit(&t.ex, &minnow.key(), &m, &minnow.tokens, 10);
    t.expect_error(
        &[i],
        &[&minnow.kp],
        E::MathOverflow,
        &[m, t.ex.exchange, t.ex.vault],
    )
    .await;
}

#[tokio::test]
async fn fees_leave_the_vault_only_to_the_admin_and_only_what_was_collected() {
    // Default fees: a trade collects some.
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    t.trade(
        &s.fut,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        10,
        600 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    let fees = t.exchange().await.fees_native;
    assert!(fees > 0, "fees {fees}");
    let admin = t.admin.insecure_clone();
    let dest = t
        .token_account(
            &t.ex.quote_mint.clone(),
            &t.ex.token_program.clone(),
            &admin.pubkey(),
        )
        .await;
    let watch = [t.ex.exchange, t.ex.vault, dest];
    let too_much = ix::withdraw_fees(&t.ex, &admin.pubkey(), &dest, fees as u64 + 1);
    t.expect_error(&[too_much], &[&admin], E::InsufficientFees, &watch)
        .await;
    let alice = s.alice.kp.insecure_clone();
    let not_admin = ix::withdraw_fees(&t.ex, &alice.pubkey(), &s.alice.tokens, 1);
    t.expect_error(&[not_admin], &[&alice], E::NotAdmin, &watch)
        .await;
    t.send(
        &[ix::withdraw_fees(
            &t.ex,
            &admin.pubkey(),
            &dest,
            fees as u64,
        )],
        &[&admin],
    )
    .await
    .expect("all collected fees");
    assert_eq!(t.token_balance(&dest).await, fees as u64);
    assert_eq!(t.exchange().await.fees_native, 0);
    t.assert_conservation(&s.accounts(), &s.series()).await;
}
