//! Liquidation down to bankruptcy: a put writer's equity goes negative in a 35% crash with the
//! implied vol at 150%; below the danger level a liquidator takes her whole book in one call; the
//! insurance fund pays all it holds, the rest is socialised, and every other account is charged
//! its share in proportion to its collateral when next touched — every unit accounted for, and
//! conservation after every step.

use crate::backend::Backend;
use crate::world::{events, one_event, World, DAY, USDC};
use keel::events::{Bankrupt, Liquidated, SocialLossCharged};
use keel_state::account::FLAG_BANKRUPT;
use solana_signer::Signer;

/// Runs the scenario on `b`.
pub async fn run<B: Backend>(b: B) -> World<B> {
    let mut w = World::start(b).await;
    let vol_authority = w.keypair();
    let btc = w
        .create_market("BTC/USD", 60_000, false, vol_authority.pubkey())
        .await;
    let expiry = w.b.now().await + 7 * DAY;
    let put = w.list_series(&btc, 1, 580 * USDC, expiry).await;
    let put_lo = w.list_series(&btc, 1, 500 * USDC, expiry).await;
    let series = [put, put_lo];
    let (wendy, wd) = w.trader(11_000 * USDC as u64, 5_500 * USDC as u64).await;
    let (bob, b) = w
        .trader(1_000_000 * USDC as u64, 500_000 * USDC as u64)
        .await;
    let (larry, l) = w
        .trader(1_000_000 * USDC as u64, 200_000 * USDC as u64)
        .await;
    let (carol, c) = w.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    w.trade(&put, (&bob, &b), (&wendy, &wd), 100, 9 * USDC, &[btc])
        .await
        .expect("Wendy writes puts");
    w.fund_insurance(&carol, 300 * USDC as u64)
        .await
        .expect("fund insurance");
    assert_eq!(w.exchange().await.insurance_fund_native, 300 * USDC);
    w.assert_conservation("set-up").await;

    // A 35% crash in four cranked steps with the implied vol at 150%.
    w.publish_iv(&btc, &vol_authority, 15_000).await;
    for i in 1..=4 {
        w.advance(600).await;
        w.price_and_crank(&btc, 60_000 - 21_000 * i / 4).await;
    }
    let r0 = w.margin_report(&wd, &[btc]).await;
    assert!(r0.equity_mm < 0, "bankrupt: {}", r0.equity_mm);

    // At negative equity (at or below the danger level δ·MM) the whole book goes in one call.
    let mut bankrupt = None;
    let (mut shares, mut calls) = (0, 0);
    while bankrupt.is_none() {
        assert!(calls < 40, "the book is gone within 40 calls");
        calls += 1;
        let ok = w
            .liquidate(&larry, &l, &wd, &[btc], &series, 10_000)
            .await
            .unwrap_or_else(|e| panic!("liquidate call {calls}: {e:?}"));
        w.assert_conservation(&format!("liquidation {calls}")).await;
        let ev: Liquidated = one_event(&ok);
        shares += ev.insurance_share_native;
        assert!(
            events::<Bankrupt>(&ok).is_empty(),
            "liquidate never resolves"
        );
        if ev.liquidatee_positions_after == 0 {
            // Left without positions and below zero: anyone may now resolve the bankruptcy
            // (insurance, then socialisation), which writes the Exchange and reads every shard.
            assert!(ev.liquidatee_collateral_native < 0);
            let ok = w
                .resolve_bankruptcy(&wd)
                .await
                .unwrap_or_else(|e| panic!("resolve_bankruptcy: {e:?}"));
            w.assert_conservation("bankruptcy resolved").await;
            bankrupt = Some(one_event::<Bankrupt>(&ok));
        } else {
            w.advance(20).await;
            w.set_usd(&btc, 39_000).await;
        }
    }
    let bk = bankrupt.unwrap();
    assert_eq!(calls, 1, "the whole account at once below the danger level");
    // The fund paid everything it had, the rest is socialised; Wendy ends at zero.
    assert_eq!(
        bk.insurance_paid_native,
        300 * USDC + shares,
        "the whole fund"
    );
    assert!(bk.shortfall_native > bk.insurance_paid_native);
    assert_eq!(
        bk.socialised_native,
        bk.shortfall_native - bk.insurance_paid_native
    );
    let ex = w.exchange().await;
    assert_eq!(ex.insurance_fund_native, 0);
    assert_eq!(ex.social_loss_pending_native, bk.socialised_native);
    let wa = w.margin_account(&wd).await;
    assert_eq!((wa.collateral_native, wa.n_positions), (0, 0));
    assert_ne!(wa.flags & FLAG_BANKRUPT, 0);

    // Everyone with collateral bears a share in proportion to it, charged when next touched;
    // the shares add up to the loss, rounded up by at most a unit per account.
    let base = ex.positive_collateral_native;
    let others = [(&bob, b), (&larry, l), (&carol, c)];
    let mut total = 0;
    for (_, key) in &others {
        total += w.margin_account(key).await.collateral_native;
    }
    assert_eq!(total, base, "the base is the others' collateral");
    let mut charged = 0;
    for (user, key) in &others {
        let a = w.margin_account(key).await;
        let want = keel_state::social::charge(
            a.collateral_native,
            a.social_loss_index_q60,
            ex.social_loss_index_q60,
        );
        let ok = w.deposit(user, key, 1).await.expect("touch");
        let ev: SocialLossCharged = one_event(&ok);
        assert_eq!(ev.amount_native, want);
        let share = bk.socialised_native as f64 * a.collateral_native as f64 / base as f64;
        assert!((ev.amount_native as f64 - share).abs() <= 1.0);
        let after = w.margin_account(key).await;
        assert_eq!(after.collateral_native, a.collateral_native - want + 1);
        charged += want;
        w.assert_conservation("social loss charged").await;
    }
    assert!(charged >= bk.socialised_native && charged <= bk.socialised_native + 3);
    let ex = w.exchange().await;
    assert_eq!(ex.social_loss_pending_native, 0);
    assert_eq!(ex.insurance_fund_native, charged - bk.socialised_native);
    let ok = w.deposit(&carol, &c, 1).await.expect("touch again");
    assert!(events::<SocialLossCharged>(&ok).is_empty(), "charged once");
    w.assert_conservation("end").await;
    w
}
