//! The range speed limit (`apc_max_rise_per_day`, docs/risk-model.md §3.5) on the program: only
//! on a market without options, the range vol lags a crash by at most the limit, and the
//! crank forgets the risk-array anchors when the range they were built on has moved.

use keel::error::KeelError as E;
use keel::instructions::*;
use keel_risk::{Fx, RiskParams};
use keel_tests::helpers::GUARDS;
use keel_tests::scenario::{DAY, USDC};
use keel_tests::{ix, pda, MarketHandle, TestContext};
use solana_signer::Signer;

fn limited() -> RiskParams {
    RiskParams {
        apc_max_rise_per_day: Fx::lit("0.03"),
        ..RiskParams::DEFAULT
    }
}

async fn set_params(
    t: &mut TestContext,
    m: &MarketHandle,
    p: &RiskParams,
) -> Result<keel_tests::TxOk, keel_tests::TxErr> {
    let admin = t.admin.insecure_clone();
    let args = UpdateMarketParamsArgs {
        risk_params: bytemuck::bytes_of(p).to_vec(),
        guards: GUARDS,
    };
    let i = ix::update_market_params(&t.ex, &admin.pubkey(), &m.key, args);
    t.send(&[i], &[&admin]).await
}

#[tokio::test]
async fn a_range_speed_limit_is_for_markets_without_options() {
    let mut t = TestContext::builder().start().await;
    let admin = t.admin.insecure_clone();
    let now = t.now().await;
    // A market with an option listed refuses the limit, and nothing changes.
    let options = t.create_btc_market(60_000).await;
    t.list_series(&options, 0, 62_000 * USDC, now + 30 * DAY)
        .await;
    let p = limited();
    let i = ix::update_market_params(
        &t.ex,
        &admin.pubkey(),
        &options.key,
        UpdateMarketParamsArgs {
            risk_params: bytemuck::bytes_of(&p).to_vec(),
            guards: GUARDS,
        },
    );
    t.expect_error(&[i], &[&admin], E::RangeLimitWithOptions, &[options.key])
        .await;
    // A market without options takes it; it then lists futures but refuses options.
    let futures = t.create_btc_market(60_000).await;
    set_params(&mut t, &futures, &p).await.unwrap();
    assert_eq!(t.market(&futures.key).await.risk_params, p);
    let page = Some(futures.pages[0]);
    let call = ix::list_series(
        &t.ex,
        &admin.pubkey(),
        &futures.key,
        0,
        page,
        ListSeriesArgs {
            kind: 0,
            strike_native: 62_000 * USDC,
            expiry_ts: now + 30 * DAY,
        },
    );
    let watch = [pda::series(&futures.key, 0), futures.key, futures.pages[0]];
    t.expect_error(&[call], &[&admin], E::RangeLimitWithOptions, &watch)
        .await;
    t.list_series(&futures, 2, 0, now + 30 * DAY).await;
    // Back to no limit, options may be listed again.
    set_params(&mut t, &futures, &RiskParams::DEFAULT)
        .await
        .unwrap();
    t.list_series(&futures, 0, 62_000 * USDC, now + 30 * DAY)
        .await;
}

#[tokio::test]
async fn a_crash_moves_the_range_vol_at_the_limit_and_forgets_the_anchors() {
    let mut t = TestContext::builder().start().await;
    let now = t.now().await;
    let limited_market = t.create_btc_market(60_000).await;
    set_params(&mut t, &limited_market, &limited())
        .await
        .unwrap();
    let plain = t.create_btc_market(60_000).await;
    for m in [&limited_market, &plain] {
        t.list_series(m, 2, 0, now + 30 * DAY).await;
    }
    // Calm days, then the arrays are anchored on both markets.
    for _ in 0..5 {
        t.advance(DAY).await;
        for m in [&limited_market, &plain] {
            t.price_and_crank(m, 60_000).await;
        }
    }
    for m in [&limited_market, &plain] {
        t.crank_arrays(m).await.unwrap();
        let mk = t.market(&m.key).await;
        assert_ne!(mk.anchor.ts, 0);
        assert_eq!(
            mk.vol_state.range_vol, mk.vol_state.margin_vol,
            "calm: no lag"
        );
    }
    // A day later, −35%.
    t.advance(DAY).await;
    let before = t.market(&limited_market.key).await;
    for m in [&limited_market, &plain] {
        t.price_and_crank(m, 39_000).await;
    }
    let after = t.market(&limited_market.key).await;
    let (was, r, margin) = (
        before.vol_state.range_vol.to_num::<f64>(),
        after.vol_state.range_vol.to_num::<f64>(),
        after.vol_state.margin_vol.to_num::<f64>(),
    );
    let days = (after.vol_state.last_ts - before.vol_state.last_ts) as f64 / DAY as f64;
    assert!(
        margin > 1.2 * was,
        "the crash raised the margin vol: {was} → {margin}"
    );
    let bound = was * 1.03f64.powf(days);
    assert!(
        r <= bound && r > 0.9999 * bound,
        "{was} → {r}, bound {bound}"
    );
    // The range moved by more than the arrays' tolerance: both anchors are forgotten and the
    // epoch moves past them, so no check uses arrays built on the old range.
    assert_eq!(after.anchor.ts, 0);
    assert_eq!(after.prev_anchor.ts, 0);
    assert_eq!(after.anchor_epoch, before.anchor_epoch + 2);
    // The crank re-anchors on the lagged range: the plain market's range is wider.
    t.crank_arrays(&limited_market).await.unwrap();
    let relimited = t.market(&limited_market.key).await;
    assert_ne!(relimited.anchor.ts, 0);
    // Without a limit the range vol is the margin vol and the crank leaves the anchors (the
    // margin vol's move is refused by the check itself, `ArraysVolChanged`).
    let p = t.market(&plain.key).await;
    assert_eq!(p.vol_state.range_vol, p.vol_state.margin_vol);
    assert_ne!(p.anchor.ts, 0);
    t.crank_arrays(&plain).await.unwrap();
    let p = t.market(&plain.key).await;
    assert!(relimited.anchor.range < p.anchor.range);
}
