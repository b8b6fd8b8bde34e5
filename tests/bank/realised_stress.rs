//! The realised-vol stress of the liquidation trigger on the program (docs/liquidation.md §1):
//! while a market's realised vol runs ahead of its margin vol, an account above IM becomes
//! liquidatable, and no trade, withdrawal or liquidation may leave an account below that
//! raised trigger — only a reduction is allowed.

use keel::error::KeelError as E;
use keel::events::{Liquidated, MarginReport};
use keel::instructions::TradeArgs;
use keel_tests::book::Book;
use keel_tests::helpers::{liquidate_ix, metas};
use keel_tests::scenario::USDC;
use keel_tests::{ix, TestContext};

fn q32(x: i64) -> f64 {
    x as f64 / 4294967296.0
}

#[tokio::test]
async fn realised_vol_ahead_of_the_margin_vol_raises_the_trigger_above_im() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 50_000 * USDC, 100).await;
    let series = k.series();
    // The market opts in: a realised vol over the last half day (off by default).
    k.set_realised_tau(&mut t, 12 * 3600).await;
    let params = t.exchange().await.liquidation_params;
    assert!(params.realised_stress_cap > keel_risk::Fx::ONE);

    // Wendy keeps 20% above her IM.
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    let keep = r.im / 5;
    t.withdraw(&k.wendy, &k.w, (r.withdrawable - keep) as u64, &[&k.btc])
        .await
        .expect("withdraw down to 1.2 x IM");
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(!r.liquidatable && r.equity_im > r.im);
    let i = liquidate_ix(&t, &k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000);
    let larry = k.larry.kp.insecure_clone();
    t.expect_error(&[i], &[&larry], E::NotLiquidatable, &[k.w, k.l])
        .await;

    // Four hours of ±3% every ten minutes, ending where it started: the realised vol (τ 12 h)
    // runs far ahead of the 161-day margin vol.
    for step in 1..=24 {
        t.advance(600).await;
        let usd = if step % 2 == 1 { 61_800 } else { 60_000 };
        t.price_and_crank(&k.btc, usd).await;
    }
    let r: MarginReport = t.margin_report(&k.w, &[&k.btc]).await;
    let (sigma, realised) = (
        q32(r.markets[0].sigma_q32),
        q32(r.markets[0].realised_sigma_q32),
    );
    assert!(
        realised > 2.0 * sigma,
        "realised {realised} vs margin {sigma}"
    );
    // Above IM, and not liquidatable without the stress; liquidatable with it.
    assert!(r.equity_im > r.im && r.equity_mm > r.im, "{r:?}");
    assert!(r.liquidatable, "the stressed trigger is above her equity");
    // The report states that level and the stress at the cap (2), the documented formula.
    let level = keel_scenario::avsl::report_trigger_level(&r, &params);
    assert_eq!(r.stress_q32, 2 << 32);
    assert!(r.liquidation_level > r.im && r.liquidation_level > r.equity_mm && level > r.im as f64);

    // No withdrawal may leave her liquidatable, even one that keeps her above IM.
    let watch = [k.w, k.wendy.tokens, t.ex.vault];
    let w = ix::withdraw(
        &t.ex,
        &k.wendy.key(),
        &k.w,
        &k.wendy.tokens,
        USDC as u64,
        &metas(&[&k.btc]),
    );
    let wendy = k.wendy.kp.insecure_clone();
    t.expect_error(&[w], &[&wendy], E::WithdrawalLeavesLiquidatable, &watch)
        .await;

    // Selling one more put at the mark is refused; buying some back at the mark is allowed.
    let mark = r.positions.iter().find(|p| p.series == k.put).unwrap().mark;
    let trade = |qty: i64, price_native: i64| {
        ix::trade(
            &t.ex,
            &k.put,
            &k.w,
            &k.wendy.key(),
            &k.b,
            &k.bob.key(),
            TradeArgs {
                qty_contracts: qty,
                price_native,
            },
            &metas(&[&k.btc]),
        )
    };
    // (The mark moves with time: a buy 3% below it stays no worse than the mark for her.)
    let (sell, buy) = (trade(-1, mark), trade(5, mark * 97 / 100));
    let bob = k.bob.kp.insecure_clone();
    t.expect_error(
        &[sell],
        &[&wendy, &bob],
        E::TradeLeavesLiquidatable,
        &[k.w, k.b, k.put],
    )
    .await;
    t.send(&[buy], &[&wendy, &bob])
        .await
        .expect("a reduction at the mark is allowed below the stressed trigger");

    // A liquidator whose own account would end between its IM and its stressed trigger may
    // not take the slice: Larry's simulated call gives the slice's IM, Lina holds 5% above it.
    let i = liquidate_ix(&t, &k.larry, &k.l, &k.w, &[&k.btc], &series, 1_000);
    let sim: Liquidated = t.simulate(&[i], &[&larry]).await.unwrap().event();
    let larry_collateral = t.margin_account(&k.l).await.collateral_native;
    let gained = sim.liquidator_equity_im - larry_collateral;
    let lina_deposit = (sim.liquidator_im * 105 / 100 - gained).max(1);
    let (lina, l2) = t.trader(lina_deposit as u64 * 2, lina_deposit as u64).await;
    let i = liquidate_ix(&t, &lina, &l2, &k.w, &[&k.btc], &series, 1_000);
    let lina_kp = lina.kp.insecure_clone();
    t.expect_error(
        &[i],
        &[&lina_kp],
        E::LiquidatorLeavesLiquidatable,
        &[k.w, l2],
    )
    .await;

    // Larry takes it: the event's trigger level is above her IM.
    let ok = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000)
        .await
        .expect("liquidate under stress");
    let ev: Liquidated = ok.event();
    // The event's cap and trigger level are the documented formulas at its own stress, which is
    // the margin report's realised/margin vol at the cap.
    keel_scenario::avsl::assert_documented(&ev, &params);
    assert_eq!(ev.stress_q32, params.realised_stress_cap.to_bits());
    assert!(
        ev.trigger_level > ev.im_before && ev.equity_mm_before > ev.im_before,
        "trigger {} im {} equity {}",
        ev.trigger_level,
        ev.im_before,
        ev.equity_mm_before
    );
    assert!(ev.target > ev.trigger_level);

    // Liquidated back above her stressed trigger, she may withdraw what the report says — which
    // the trigger, not IM, now bounds — and not a unit more.
    for _ in 0..10 {
        if !t.margin_report(&k.w, &[&k.btc]).await.liquidatable {
            break;
        }
        t.liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000)
            .await
            .expect("liquidate");
    }
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(!r.liquidatable);
    assert!(
        r.withdrawable > 0 && r.withdrawable < r.health_im,
        "trigger-bound: {} < {}",
        r.withdrawable,
        r.health_im
    );
    let w = ix::withdraw(
        &t.ex,
        &k.wendy.key(),
        &k.w,
        &k.wendy.tokens,
        r.withdrawable as u64 + 1,
        &metas(&[&k.btc]),
    );
    t.expect_error(&[w], &[&wendy], E::WithdrawalLeavesLiquidatable, &watch)
        .await;
    t.withdraw(&k.wendy, &k.w, r.withdrawable as u64, &[&k.btc])
        .await
        .expect("withdraw what the report allows");
}
