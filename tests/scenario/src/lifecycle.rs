//! The full lifecycle on one exchange: a `PriceUpdateV2` market and a legacy Pyth push market,
//! series, four traders, trades paying the right fees to the unit, two hours of vol-crank
//! moves raising margin, a withdrawal beyond IM refused and one at IM accepted, a crash with the
//! implied vol at 100% putting a put writer below maintenance and a liquidator bringing her
//! back in vol-scaled steps, expiry, settlement paying the right amounts to the unit, and an
//! account closed. Negative checks (wrong mint, wrong signer, beyond IM, not liquidatable)
//! assert Keel's named errors and that nothing changed; conservation holds after every step.

use crate::backend::Backend;
use crate::world::{events, one_event, World, DAY, USDC};
use anchor_lang::prelude::Pubkey;
use keel::error::KeelError as E;
use keel::events::{Liquidated, PositionSettled, SeriesSettled, Traded, VolatilityUpdated};
use keel_client::ix;
use keel_client::oracle::Quote;
use solana_signer::Signer;

/// ⌈|q|·p·bps / 10 000⌉, the fee formula written out independently.
fn fee(q: i64, p: i64, bps: i64) -> i64 {
    (q.abs() * p * bps + 9_999) / 10_000
}

/// Runs the lifecycle on `b`; returns the world (its `measured` CU, its accounts).
pub async fn run<B: Backend>(b: B) -> World<B> {
    let mut w = World::start(b).await;
    w.assert_conservation("init_exchange").await;

    let vol_authority = w.keypair();
    let btc = w
        .create_market("BTC/USD", 60_000, false, vol_authority.pubkey())
        .await;
    let eth = w
        .create_market("ETH/USD", 3_000, true, Pubkey::default())
        .await;
    assert_eq!(
        w.market(&btc.key).await.last_oracle.price_native,
        600 * USDC,
        "0.01 BTC at 60 000 (PriceUpdateV2) = 600 USDC"
    );
    assert_eq!(
        w.market(&eth.key).await.last_oracle.price_native,
        30 * USDC,
        "0.01 ETH at 3 000 (legacy push account) = 30 USDC"
    );
    // ETH lists no options: it takes a range speed limit (3% a day), so the program's range
    // path runs on every ETH crank below.
    let limited = keel_risk::RiskParams {
        apc_max_rise_per_day: keel_risk::Fx::lit("0.03"),
        ..w.market(&eth.key).await.risk_params
    };
    w.update_market_params(&eth, &limited).await;

    let expiry = w.b.now().await + 7 * DAY;
    let call = w.list_series(&btc, 0, 620 * USDC, expiry).await;
    let put_hi = w.list_series(&btc, 1, 580 * USDC, expiry).await;
    let put_lo = w.list_series(&btc, 1, 560 * USDC, expiry).await;
    let all_series = [call, put_hi, put_lo];

    let (alice, a) = w.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let (bob, b) = w.trader(10_000 * USDC as u64, 2_000 * USDC as u64).await;
    let (wendy, wd) = w.trader(11_000 * USDC as u64, 5_500 * USDC as u64).await;
    let (larry, l) = w
        .trader(1_000_000 * USDC as u64, 200_000 * USDC as u64)
        .await;
    w.assert_conservation("deposits").await;

    // Negative: a deposit from a token account of another mint; a withdrawal signed by someone
    // other than the owner.
    let watch = [a, w.ex.vault, w.ex.exchange, alice.tokens];
    let foreign = w.keypair().pubkey();
    let other_mint = w.keypair().pubkey();
    w.write_token_account(&foreign, &other_mint, &alice.key(), 1_000 * USDC as u64)
        .await;
    let ix = ix::deposit(&w.ex, &alice.key(), &a, &foreign, 100 * USDC as u64);
    w.expect_error(&[ix], &[&alice.kp], E::WrongQuoteMint, &watch)
        .await;
    let ix = ix::withdraw(&w.ex, &bob.key(), &a, &bob.tokens, USDC as u64, &[]);
    w.expect_error(&[ix], &[&bob.kp], E::NotOwner, &watch).await;

    // Bob (taker) buys 10 calls from Alice at 8 USDC, buys the 580 put at 10, sells the 560 put
    // at 4: Alice is short the call and short the put spread.
    let ok = w
        .trade(&call, (&bob, &b), (&alice, &a), 10, 8 * USDC, &[btc])
        .await
        .expect("call trade");
    let ev: Traded = one_event(&ok);
    assert_eq!(ev.taker_fee_native, fee(10, 8 * USDC, 5));
    assert_eq!(ev.maker_fee_native, fee(10, 8 * USDC, 2));
    assert_eq!(ev.open_interest_contracts, 10);
    w.assert_conservation("trade call").await;
    w.trade(&put_hi, (&bob, &b), (&alice, &a), 10, 10 * USDC, &[btc])
        .await
        .expect("580 put");
    w.trade(&put_lo, (&bob, &b), (&alice, &a), -10, 4 * USDC, &[btc])
        .await
        .expect("560 put");
    w.assert_conservation("trade puts").await;
    let mut alice_c = 5_000 * USDC + 80 * USDC - fee(10, 8 * USDC, 2) + 100 * USDC
        - fee(10, 10 * USDC, 2)
        - 40 * USDC
        - fee(10, 4 * USDC, 2);
    let mut bob_c =
        2_000 * USDC - 80 * USDC - fee(10, 8 * USDC, 5) - 100 * USDC - fee(10, 10 * USDC, 5)
            + 40 * USDC
            - fee(10, 4 * USDC, 5);
    assert_eq!(w.margin_account(&a).await.collateral_native, alice_c);
    // Wendy writes 100 of the 580 puts to Bob at 9 USDC.
    w.trade(&put_hi, (&bob, &b), (&wendy, &wd), 100, 9 * USDC, &[btc])
        .await
        .expect("Wendy writes puts");
    bob_c -= 900 * USDC + fee(100, 9 * USDC, 5);
    assert_eq!(w.margin_account(&b).await.collateral_native, bob_c);
    w.assert_conservation("Wendy's puts").await;

    // Two hours of ±5% moves every ten minutes, back at 60 000: the vol crank raises the vol
    // in force and with it maintenance margin. The legacy market is cranked alongside.
    let before = w.margin_report(&a, &[btc]).await;
    let vol_before = w.market(&btc.key).await.vol_state.margin_vol;
    for step in 1..=12 {
        w.advance(600).await;
        let usd = if step % 2 == 1 { 63_000 } else { 60_000 };
        let ok = w.price_and_crank(&btc, usd).await;
        let v: VolatilityUpdated = one_event(&ok);
        assert_eq!(v.price_native, usd / 100 * USDC);
        assert_eq!(v.dt_secs, 600);
        w.price_and_crank(&eth, 3_000).await;
    }
    w.assert_conservation("cranks").await;
    let m = w.market(&btc.key).await;
    assert!(m.vol_state.margin_vol > vol_before, "vol rises");
    assert_eq!(m.vol_state.n_obs, 13);
    let after = w.margin_report(&a, &[btc]).await;
    assert_eq!(after.markets[0].spot, before.markets[0].spot, "same spot");
    assert!(after.mm > before.mm, "MM {} -> {}", before.mm, after.mm);

    // One unit beyond IM is refused and changes nothing; exactly the allowed amount goes.
    let allowed = after.withdrawable;
    assert!(allowed > 0 && allowed < alice_c, "withdrawable {allowed}");
    assert_eq!(allowed, after.equity_im - after.im);
    let ix = ix::withdraw(
        &w.ex,
        &alice.key(),
        &a,
        &alice.tokens,
        allowed as u64 + 1,
        &crate::world::metas(&[btc]),
    );
    w.expect_error(&[ix], &[&alice.kp], E::WithdrawalBelowInitialMargin, &watch)
        .await;
    let wallet = w.token_balance(&alice.tokens).await;
    w.withdraw(&alice, &a, allowed as u64, &[btc])
        .await
        .expect("withdraw at IM");
    assert_eq!(
        w.token_balance(&alice.tokens).await,
        wallet + allowed as u64
    );
    alice_c -= allowed;
    w.assert_conservation("withdraw at IM").await;

    // Larry is healthy: liquidating him is refused.
    let ix = crate::world::liquidate_ix(&w.ex, &wendy, &wd, &l, &[btc], &[], 10_000);
    w.expect_error(
        &[ix],
        &[&wendy.kp],
        E::NotLiquidatable,
        &[l, wd, w.ex.exchange],
    )
    .await;

    // A 5% crash while the implied vol goes to 100%: Wendy falls below maintenance; Larry
    // liquidates her, calls 30 s apart, until she is at or above her trigger level again.
    w.publish_iv(&btc, &vol_authority, 10_000).await;
    let eth_before = w.market(&eth.key).await.vol_state;
    for (i, (usd, eth_usd)) in [(58_500, 2_700), (57_000, 2_400)].into_iter().enumerate() {
        w.advance(600).await;
        w.price_and_crank(&btc, usd).await;
        w.price_and_crank(&eth, eth_usd).await;
        w.assert_conservation(&format!("crash step {i}")).await;
    }
    // ETH fell 20% in ten minutes: its margin vol rose at once, its range vol by at most
    // 1.03^(1200 s / 1 day) (the rounding is downwards).
    let eth_after = w.market(&eth.key).await.vol_state;
    assert!(eth_after.margin_vol > eth_before.margin_vol);
    assert!(eth_after.range_vol < eth_after.margin_vol);
    let bound = eth_before.range_sigma().to_num::<f64>() * 1.03f64.powf(1_200.0 / 86_400.0);
    assert!(eth_after.range_vol.to_num::<f64>() <= bound);
    let r0 = w.margin_report(&wd, &[btc]).await;
    assert!(r0.liquidatable, "equity {} < mm {}", r0.equity_mm, r0.mm);
    assert!(r0.equity_mm > 0, "not bankrupt");
    let mut calls = 0;
    loop {
        let ok = w
            .liquidate(&larry, &l, &wd, &[btc], &all_series, 10_000)
            .await
            .unwrap_or_else(|e| panic!("liquidate call {calls}: {e:?}"));
        let ev: Liquidated = one_event(&ok);
        assert!(ev.fraction_q32 > 0 && ev.fraction_q32 <= ev.fraction_cap_q32);
        crate::avsl::assert_documented(&ev, &w.exchange().await.liquidation_params);
        if calls == 0 {
            // Deep below MM (E/MM well under 1), the cap has grown from 0.25/σ toward 1.
            assert!(ev.equity_mm_before < ev.mm_before);
            let vol_cap = 0.25 / crate::avsl::q32(ev.sigma_q32);
            assert!(crate::avsl::q32(ev.fraction_cap_q32) > vol_cap);
        }
        if ev.fraction_needed_q32 <= ev.fraction_cap_q32 {
            assert!(
                ev.healthy_after,
                "a call that restores the target ends the episode"
            );
        }
        calls += 1;
        w.assert_conservation(&format!("liquidation {calls}")).await;
        if ev.healthy_after {
            break;
        }
        assert!(calls < 10, "healthy within ten calls");
        w.advance(30).await;
        w.set_usd(&btc, 57_000).await;
    }
    let r1 = w.margin_report(&wd, &[btc]).await;
    assert!(r1.equity_mm >= r1.mm, "Wendy is above MM again");

    // Expiry: the update covering it says 65 000 → 650 USDC; the puts expire worthless and
    // Alice pays 10 × (650 − 620) = 300 USDC into the call's pool, which pays Bob.
    w.b.set_time(expiry + 20).await;
    let q = Quote {
        prev_publish_time: expiry - 3,
        ..Quote::usd(65_000, 5, expiry + 2)
    };
    w.set_price(&btc, q).await;
    for s in &all_series {
        let ok = w.settle_series(&btc, s).await.expect("settle_series");
        let e: SeriesSettled = one_event(&ok);
        assert_eq!(e.settlement_price_native, 650 * USDC);
    }
    w.assert_conservation("settle_series").await;
    let ok = w
        .settle_positions(&a, &all_series)
        .await
        .expect("settle Alice");
    let payouts: Vec<i64> = events::<PositionSettled>(&ok)
        .iter()
        .map(|e| e.payout_native)
        .collect();
    assert_eq!(payouts, vec![-300 * USDC, 0, 0]);
    w.assert_conservation("settle Alice").await;
    for acc in [b, wd, l] {
        let held = w.held_series(&acc).await;
        w.settle_positions(&acc, &held)
            .await
            .expect("settle positions");
        w.assert_conservation("settle positions").await;
    }
    alice_c -= 300 * USDC;
    bob_c += 300 * USDC;
    assert_eq!(w.margin_account(&a).await.collateral_native, alice_c);
    assert_eq!(w.margin_account(&b).await.collateral_native, bob_c);
    for acc in [a, b, wd, l] {
        assert_eq!(w.margin_account(&acc).await.n_positions, 0);
    }
    for s in &all_series {
        let s = w.series_state(s).await;
        assert_eq!(
            (s.settlement_pool_native, s.open_interest_contracts),
            (0, 0)
        );
    }

    // Bob takes everything out and closes his account.
    w.withdraw(&bob, &b, bob_c as u64, &[])
        .await
        .expect("withdraw all");
    let ix = ix::close_account(&bob.key(), &b);
    w.call("close_account", &[ix], &[&bob.kp])
        .await
        .expect("close_account");
    assert!(w.b.account(&b).await.is_none(), "closed");
    w.assert_conservation("close").await;
    w
}
