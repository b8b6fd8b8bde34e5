//! The implied vol of a market's own option fills (docs/risk-model.md §3.6, issue 16 §2): on a
//! market without a vol authority every option fill records its Black-76 implied vol in its
//! series, and the vol crank folds the series it is given into the market's implied vol — rate-
//! and band-limited, so colluding traders move it no faster than documented.

use keel::error::KeelError as E;
use keel_risk::pricing::black76;
use keel_risk::vol::blend::with_implied;
use keel_risk::vol::fills::FillVolParams;
use keel_risk::{Fx, ImpliedVol, SeriesKind};
use keel_tests::context::{MarketHandle, TxErr, TxOk};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, DAY, USDC};
use keel_tests::{ix, TestContext};
use solana_keypair::Keypair;
use solana_signer::Signer;

const P: FillVolParams = FillVolParams::DEFAULT;
/// Contracts of 0.01 BTC at 60,000 USD: 17 make a fill of 10,200 USDC, above `full_notional`.
const FULL: i64 = 17;

/// The call's premium at `sigma` now (its strike 620 USDC, the market's spot per contract).
async fn call_price_at(t: &mut TestContext, s: &Scenario, sigma: f64) -> i64 {
    let m = t.market(&s.btc.key).await;
    let series = t.series(&s.call).await;
    let now = t.now().await;
    black76(
        SeriesKind::Call,
        m.last_oracle.price_native,
        series.strike_native,
        Fx::from_num(sigma),
        series.expiry_ts - now,
    )
    .unwrap()
}

/// Bob buys `FULL` calls from Alice at `price`.
async fn bob_buys_calls(t: &mut TestContext, s: &Scenario, price: i64) {
    t.trade(
        &s.call,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        FULL,
        price,
        &[&s.btc],
    )
    .await
    .expect("Bob buys the calls");
}

/// Runs `btc`'s vol crank with `series` passed to fold their fills, at a fresh price.
async fn crank_with_fills(
    t: &mut TestContext,
    btc: &MarketHandle,
    series: &[anchor_lang::prelude::Pubkey],
) -> Result<TxOk, TxErr> {
    let now = t.now().await;
    t.set_price(btc, Quote::usd(60_000, 5, now)).await;
    let i = ix::update_volatility_with_fills(&t.ex, &btc.key, &btc.oracle, series);
    t.send(&[i], &[]).await
}

#[tokio::test]
async fn option_fills_record_their_implied_vol_and_the_crank_folds_it_into_the_margin_vol() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let m0 = t.market(&s.btc.key).await;
    assert!(!m0.has_vol_authority());
    let sigma = m0.vol_state.mark_vol().to_num::<f64>() * 1.3;
    let price = call_price_at(&mut t, &s, sigma).await;
    assert!(t.band(&s.btc, &s.call).await.contains(price));
    bob_buys_calls(&mut t, &s, price).await;
    // The series records the fill's vol: a full-size first fill sets the level.
    let fv = t.series(&s.call).await.fill_vol;
    assert_eq!(fv.fills, 1);
    assert!(
        (fv.level.to_num::<f64>() - sigma).abs() < 1e-4,
        "{} vs {sigma}",
        fv.level
    );
    // A future's fill records nothing.
    let fut_price = t.band(&s.btc, &s.fut).await.mark;
    t.trade(
        &s.fut,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        1,
        fut_price,
        &[&s.btc],
    )
    .await
    .expect("future trade");
    assert_eq!(t.series(&s.fut).await.fill_vol.fills, 0);

    // The plain crank folds nothing: the market has no implied vol yet.
    t.advance(120).await;
    t.price_and_crank(&s.btc, 60_000).await;
    let m1 = t.market(&s.btc.key).await;
    assert_eq!(m1.fill_vol.fills, 0);
    assert_eq!(m1.implied(), None);

    // With the call passed, the market takes the series' level as its implied vol, and the
    // blend uses it: raw vol = σ_hist + iv_weight·(level − σ_hist).
    t.advance(120).await;
    crank_with_fills(&mut t, &s.btc, &[s.call])
        .await
        .expect("crank with fills");
    let m2 = t.market(&s.btc.key).await;
    assert_eq!(m2.fill_vol.fills, 1);
    assert_eq!(m2.fill_vol.level, fv.level);
    let iv = m2.implied().expect("the fills' implied vol");
    assert_eq!(
        iv,
        ImpliedVol {
            vol: fv.level,
            ts: fv.ts
        }
    );
    let now = t.now().await;
    let want = with_implied(
        m2.vol_state.hist_vol.to_bits(),
        Some(iv),
        now,
        &m2.risk_params,
    )
    .unwrap();
    assert_eq!(m2.vol_state.raw_vol.to_bits(), want);
    assert!(m2.vol_state.raw_vol > m1.vol_state.raw_vol);
    // Folding the same fill again changes nothing.
    t.advance(120).await;
    crank_with_fills(&mut t, &s.btc, &[s.call]).await.unwrap();
    assert_eq!(t.market(&s.btc.key).await.fill_vol, m2.fill_vol);

    // A small fill pulls in proportion to its notional in whole quote units (the market's quote
    // decimals): one contract (600 USDC) an hour later, at the mark vol, moves the level 6% of
    // the way (inside the rate's 3%-an-hour allowance).
    t.advance(3_600).await;
    t.price_and_crank(&s.btc, 60_000).await;
    let mark_sigma = sigma / 1.3;
    let price = call_price_at(&mut t, &s, mark_sigma).await;
    t.trade(
        &s.call,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        1,
        price,
        &[&s.btc],
    )
    .await
    .expect("one call");
    let fill = t.series(&s.call).await.fill_vol;
    assert_eq!(fill.fills, 2);
    let pull = 600.0 / FillVolParams::FULL_NOTIONAL_UNITS as f64;
    let want = fv.level.to_num::<f64>() + pull * (mark_sigma - fv.level.to_num::<f64>());
    assert!(
        (fill.level.to_num::<f64>() - want).abs() < 2e-4,
        "{} vs {want}",
        fill.level
    );
}

/// The wash-trade attack: Alice and Bob, colluding, trade the call back and forth at the
/// bottom of the price band every ten minutes for six hours, and a crank folds every round.
/// The market's fill vol falls, but never faster than exp(−rate·Δt/rate_secs) from its first
/// fold, never below band_low × the historical vol, and the margin vol with it.
#[tokio::test]
async fn colluding_traders_move_the_fill_vol_no_faster_than_its_rate_nor_out_of_its_band() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    // A fair first fill at the mark vol, folded: the level the attack starts from.
    let mark_vol = t
        .market(&s.btc.key)
        .await
        .vol_state
        .mark_vol()
        .to_num::<f64>();
    let fair = call_price_at(&mut t, &s, mark_vol).await;
    bob_buys_calls(&mut t, &s, fair).await;
    t.advance(60).await;
    crank_with_fills(&mut t, &s.btc, &[s.call]).await.unwrap();
    let start = t.market(&s.btc.key).await.fill_vol;
    let mut prev = start;
    for round in 1..=36 {
        t.advance(600).await;
        let now = t.now().await;
        t.set_price(&s.btc, Quote::usd(60_000, 5, now)).await;
        let lo = t.band(&s.btc, &s.call).await.lo;
        // Back and forth in the same second: the second fill moves nothing.
        t.trade(
            &s.call,
            (&s.bob, &s.b),
            (&s.alice, &s.a),
            FULL,
            lo,
            &[&s.btc],
        )
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        let after_one = t.series(&s.call).await.fill_vol;
        t.trade(
            &s.call,
            (&s.alice, &s.a),
            (&s.bob, &s.b),
            FULL,
            lo,
            &[&s.btc],
        )
        .await
        .unwrap();
        assert_eq!(t.series(&s.call).await.fill_vol.level, after_one.level);
        crank_with_fills(&mut t, &s.btc, &[s.call]).await.unwrap();
        let m = t.market(&s.btc.key).await;
        let level = m.fill_vol.level.to_num::<f64>();
        let hist = m.vol_state.hist_vol.to_num::<f64>();
        let elapsed = (m.fill_vol.ts - start.ts) as f64;
        let floor = start.level.to_num::<f64>()
            * (-P.rate.to_num::<f64>() * elapsed / P.rate_secs as f64).exp();
        assert!(
            level >= floor * (1.0 - 1e-9),
            "round {round}: {level} < {floor}"
        );
        assert!(level >= P.band_low.to_num::<f64>() * hist - 1e-9);
        assert!(
            m.fill_vol.level <= prev.level,
            "round {round}: the attack pushes it down"
        );
        // The margin vol's floor whatever the duration: σ_hist·(1 − iv_weight·(1 − band_low)).
        let w = m.risk_params.iv_weight.to_num::<f64>();
        let raw = m.vol_state.raw_vol.to_num::<f64>();
        assert!(raw >= hist * (1.0 - w * (1.0 - P.band_low.to_num::<f64>())) - 1e-9);
        prev = m.fill_vol;
    }
    // The attack reaches the bound (about six hours at 3% an hour: a factor e^0.18 ≈ 1.198)
    // to within 0.5%, and does not pass it.
    let moved = start.level.to_num::<f64>() / prev.level.to_num::<f64>();
    let hours = (prev.ts - start.ts) as f64 / 3_600.0;
    assert!((6.0..6.1).contains(&hours), "{hours}");
    let bound = (0.03 * hours).exp();
    assert!(moved >= 0.995 * bound, "{moved} of {bound}");
    assert!(moved <= bound * (1.0 + 1e-9), "{moved} in {hours} h");
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn a_crank_refuses_a_series_of_another_market_and_changes_nothing() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let eth = t.create_btc_market(3_000).await;
    let expiry = t.now().await + 7 * DAY;
    let eth_call = t.list_series(&eth, 0, 31 * USDC, expiry).await;
    t.advance(120).await;
    let now = t.now().await;
    t.set_price(&s.btc, Quote::usd(60_000, 5, now)).await;
    let i = ix::update_volatility_with_fills(&t.ex, &s.btc.key, &s.btc.oracle, &[s.call, eth_call]);
    t.expect_error(&[i], &[], E::WrongMarket, &[s.btc.key, s.call, eth_call])
        .await;
    // Not a series at all (the market itself): refused by its discriminator, nothing changed.
    let before = t.market(&s.btc.key).await;
    let i = ix::update_volatility_with_fills(&t.ex, &s.btc.key, &s.btc.oracle, &[s.btc.key]);
    assert!(t.send(&[i], &[]).await.is_err());
    assert_eq!(t.market(&s.btc.key).await, before);
}

#[tokio::test]
async fn a_market_with_a_vol_authority_records_no_fills() {
    let mut t = TestContext::builder().start().await;
    let authority = Keypair::new();
    let btc = t
        .create_btc_market_with_vol_authority(&authority.pubkey(), 60_000)
        .await;
    let expiry = t.now().await + 7 * DAY;
    let call = t.list_series(&btc, 0, 620 * USDC, expiry).await;
    let (alice, a) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let (bob, b) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let band = t.band(&btc, &call).await;
    t.trade(&call, (&bob, &b), (&alice, &a), FULL, band.hi, &[&btc])
        .await
        .unwrap();
    assert_eq!(t.series(&call).await.fill_vol.fills, 0);
    // Passing the series to the crank folds nothing either: the authority publishes the vol.
    t.advance(120).await;
    crank_with_fills(&mut t, &btc, &[call]).await.unwrap();
    let m = t.market(&btc.key).await;
    assert_eq!(m.fill_vol.fills, 0);
    assert_eq!(m.implied(), None);
}

/// keel-keeper's crank passes the series whose fills the market has not folded
/// (`Snapshot::fill_series`): after a fill, the keeper's next crank gives the market its
/// implied vol, and a later one, with nothing new, passes none.
#[tokio::test]
async fn the_keepers_crank_folds_the_new_fills() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let sigma = t
        .market(&s.btc.key)
        .await
        .vol_state
        .mark_vol()
        .to_num::<f64>()
        * 1.2;
    let price = call_price_at(&mut t, &s, sigma).await;
    bob_buys_calls(&mut t, &s, price).await;
    let (larry, l) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let mut config = keel_keeper::KeeperConfig::default();
    config.oracles.overrides.insert(s.btc.key, s.btc.oracle);
    let mut keeper = keel_keeper::Keeper::new(config, larry.kp.insecure_clone(), l);
    let chain = t.chain(&larry.kp);
    let mut oracles = keel_client::view::OracleDirectory::default();
    oracles.overrides.insert(s.btc.key, s.btc.oracle);
    let mut folded = None;
    for _ in 0..10 {
        t.advance(600).await;
        let now = t.now().await;
        t.set_price(&s.btc, Quote::usd(60_000, 5, now)).await;
        // What the keeper plans on: the market as its crank will leave it, fills folded.
        let predicted = keel_client::view::Snapshot::load(&chain, &oracles)
            .await
            .unwrap()
            .with_vols_cranked(&[s.btc.key], keel_keeper::plan::FILL_SERIES_PER_CRANK, now)
            .markets[&s.btc.key]
            .market;
        let r = keeper.tick(&chain).await.expect("keeper pass");
        let cranked = r
            .outcomes
            .iter()
            .any(|o| matches!(o.action, keel_keeper::Action::Crank { .. }) && o.result.is_ok());
        let m = t.market(&s.btc.key).await;
        if cranked {
            // keel-client's prediction is the program's result: every field the vol crank
            // writes (the pass may also re-anchor the arrays, which it predicts separately).
            let crank_fields = |m: &keel_state::Market| {
                (
                    m.vol_state,
                    m.fill_vol,
                    m.last_oracle,
                    m.oracle_high_water_ts,
                )
            };
            assert!(crank_fields(&m) == crank_fields(&predicted));
        }
        if cranked && m.fill_vol.fills > 0 {
            folded = Some(m.fill_vol);
            break;
        }
    }
    let fv = folded.expect("a keeper crank folded the call's fill");
    assert_eq!(fv.level, t.series(&s.call).await.fill_vol.level);
    // Nothing new: the snapshot picks no series.
    let snap = keel_client::view::Snapshot::load(&chain, &oracles)
        .await
        .unwrap();
    assert!(snap.fill_series(&s.btc.key, 16).is_empty());
}
