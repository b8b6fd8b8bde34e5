//! AVSL liquidation on the bank: partial, vol-scaled steps that bring an account back between MM
//! and IM; bankruptcy through the insurance fund and then socialisation, every unit accounted
//! for; and a negative test for every check of `liquidate`.

use anchor_lang::prelude::Pubkey;
use keel::error::KeelError as E;
use keel::events::{Bankrupt, Liquidated, SocialLossCharged};
use keel_risk::{Fx, LiquidationParams};
use keel_state::account::{FLAG_BANKRUPT, FLAG_BEING_LIQUIDATED};
use keel_state::exchange::PAUSE_LIQUIDATE;
use keel_tests::book::{crash, refresh, Book};
use keel_tests::helpers::liquidate_ix;
use keel_tests::scenario::USDC;
use keel_tests::{ix, TestContext, User};
use solana_signer::Signer;

/// The liquidation event's numbers, re-derived from keel-risk and the liquidatee's report
/// before the call: the bonus and its insurance share round up, the fraction is the plan's.
fn check_event(ev: &Liquidated, params: &LiquidationParams) {
    keel_scenario::avsl::assert_documented(ev, params);
    assert!(
        ev.fraction_q32 > 0
            && ev.fraction_q32 <= ev.fraction_cap_q32.max(ev.fraction_needed_q32.min(1 << 32))
    );
    assert!(
        ev.fraction_q32 <= ev.fraction_cap_q32,
        "per-call cap honoured"
    );
    let (bonus, share) = keel_risk::liquidation::bonus(
        Fx::from_bits(ev.bonus_rate_q32),
        Fx::from_bits(ev.fraction_q32),
        ev.mm_before,
        params,
    )
    .unwrap();
    assert_eq!((ev.bonus_native, ev.insurance_share_native), (bonus, share));
    let exact = ev.bonus_rate_q32 as f64 / 4294967296.0 * ev.fraction_q32 as f64 / 4294967296.0
        * ev.mm_before as f64;
    assert!(
        bonus as f64 >= exact && (bonus as f64) < exact + 2.0,
        "bonus rounds up"
    );
    assert!(
        share as f64 >= 0.2 * bonus as f64,
        "insurance share rounds up"
    );
    let value: i64 = ev
        .transfers
        .iter()
        .map(|x| x.qty_contracts * x.price_native)
        .sum();
    assert_eq!(value, ev.value_native);
}

#[tokio::test]
async fn partial_liquidation_in_vol_scaled_steps_restores_the_target() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let params = t.exchange().await.liquidation_params;
    let (accounts, series) = (k.accounts(), k.series());

    // A 5% crash while the implied vol feed goes to 100%: the vol in force rises at once and
    // Wendy falls below maintenance margin.
    k.publish_iv(&mut t, 10_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    let r0 = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(r0.liquidatable, "equity {} < mm {}", r0.equity_mm, r0.mm);
    assert!(r0.equity_mm > 0, "not bankrupt");
    let sigma = r0.markets[0].sigma_q32 as f64 / 4294967296.0;
    assert!(sigma > 0.85, "vol in force {sigma}");

    let w0 = t.margin_account(&k.w).await;
    let l0 = t.margin_account(&k.l).await;
    let ins0 = t.exchange().await.insurance_fund_native;
    let (mut value, mut bonus, mut share) = (0i64, 0i64, 0i64);
    let mut events = Vec::new();
    for call in 0..10 {
        let ok = t
            .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000)
            .await
            .unwrap_or_else(|e| panic!("call {call}: {e:?}"));
        let ev = ok.event::<Liquidated>();
        check_event(&ev, &params);
        value += ev.value_native;
        bonus += ev.bonus_native;
        share += ev.insurance_share_native;
        t.assert_conservation(&accounts, &series).await;
        let healthy = ev.healthy_after;
        events.push(ev);
        if healthy {
            break;
        }
        // The Dutch auction: the next keeper comes 30 s later and is offered a higher bonus.
        t.advance(30).await;
        refresh(&mut t, &k.btc, 57_000).await;
    }
    for e in &events {
        println!(
            "fraction {:.4} (needed {:.4}, cap {:.4}) bonus rate {:.4} after {} s: bonus {} of MM {}; equity {} -> {}, MM {} -> {}",
            e.fraction_q32 as f64 / 4294967296.0,
            e.fraction_needed_q32 as f64 / 4294967296.0,
            e.fraction_cap_q32 as f64 / 4294967296.0,
            e.bonus_rate_q32 as f64 / 4294967296.0,
            e.elapsed_secs,
            e.bonus_native,
            e.mm_before,
            e.equity_mm_before,
            e.equity_mm_after,
            e.mm_before,
            e.mm_after
        );
    }
    // Every call's cap and trigger level are the documented ones (`check_event`): at σ ≈ 1 the trigger is raised
    // to min(2·MM, IM), and at E/MM ≈ 0.61 the cap has grown from 0.25/σ toward 1 by
    // (MM − E)/((1 − δ)·MM) ≈ 0.78 of the way, to ≈ 0.84 — more than the ≈ 0.54 that restores
    // the target, so one call does it.
    let first = &events[0];
    let vol_cap = 0.25 / (first.sigma_q32 as f64 / 4294967296.0);
    let cap = first.fraction_cap_q32 as f64 / 4294967296.0;
    assert!(
        cap > vol_cap + 0.5,
        "the cap grew toward bankruptcy: {cap} vs 0.25/σ = {vol_cap}"
    );
    assert!(
        first.trigger_level > first.mm_before,
        "the vol-raised trigger"
    );
    assert!(
        first.fraction_needed_q32 <= first.fraction_cap_q32,
        "the grown cap covers the target"
    );
    assert_eq!(first.fraction_q32, first.fraction_needed_q32);
    assert_eq!(events.len(), 1, "one call restores the target");
    assert!(
        events.iter().all(|e| e.liquidatee_positions_after > 0),
        "partial"
    );

    // Money: Wendy paid Larry the marks of the shorts he took and the bonus; the fund got its share.
    let w1 = t.margin_account(&k.w).await;
    let l1 = t.margin_account(&k.l).await;
    assert_eq!(w1.collateral_native, w0.collateral_native + value - bonus);
    assert_eq!(
        l1.collateral_native,
        l0.collateral_native - value + bonus - share
    );
    assert_eq!(t.exchange().await.insurance_fund_native, ins0 + share);
    assert_eq!(w1.liquidations, events.len() as u64);
    // Positions moved pro rata, whole contracts rounded up; open interest is unchanged.
    let moved: i64 = events
        .iter()
        .flat_map(|e| e.transfers.iter())
        .map(|x| x.qty_contracts)
        .sum();
    let qty = |a: &keel_state::MarginAccount| {
        a.positions[a.position_index(&k.put.to_bytes()).unwrap()].qty_contracts
    };
    assert_eq!(qty(&w1), -100 - moved);
    assert_eq!(qty(&l1), moved);
    assert!(qty(&w1) < 0 && moved < 0);
    assert_eq!(t.series(&k.put).await.open_interest_contracts, 100);

    // Wendy ends at or above her trigger level, which at σ ≈ 1 is raised to
    // min(2·MM, IM); the episode is over.
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    let lp = t.exchange().await.liquidation_params;
    let level = keel_scenario::avsl::report_trigger_level(&r, &lp);
    println!(
        "after: equity {} mm {} im {} trigger {level}",
        r.equity_mm, r.mm, r.im
    );
    assert!(
        r.equity_mm as f64 >= level && level > r.mm as f64,
        "{} >= trigger {level} (mm {}, im {})",
        r.equity_mm,
        r.mm,
        r.im
    );
    assert_eq!(w1.flags & FLAG_BEING_LIQUIDATED, 0);
    assert_eq!(w1.liquidatable_since_ts, 0);
    let rl = t.margin_report(&k.l, &[&k.btc]).await;
    assert!(rl.health_im >= 0);
    // Healthy now: a further call is refused and changes nothing.
    let watch = [k.w, k.l, t.ex.exchange, k.put];
    let ix =
        keel_tests::helpers::liquidate_ix(&t, &k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000);
    t.expect_error(&[ix], &[&k.larry.kp], E::NotLiquidatable, &watch)
        .await;
}

/// `liquidate` writes a series only when a transfer changes what the series counts: a partial
/// slice to a liquidator already short the same puts passes the series read-only and leaves its
/// bytes unchanged (liquidations in one series need not queue on it), while one that nets
/// against the liquidator's opposite position (Bob is long the puts) changes open interest and
/// is refused with the series read-only, changing nothing.
#[tokio::test]
async fn a_partial_slice_to_a_holder_of_the_same_side_only_reads_the_series() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let (accounts, series) = (k.accounts(), k.series());
    k.publish_iv(&mut t, 10_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    // Larry's first call makes him a holder of the short puts (the series is written).
    let first = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1_000)
        .await
        .expect("first call");
    assert!(first.event::<Liquidated>().liquidatee_positions_after > 0);
    t.advance(30).await;
    refresh(&mut t, &k.btc, 57_000).await;
    let read_only = |mut i: anchor_lang::solana_program::instruction::Instruction| {
        for m in i.accounts.iter_mut().filter(|m| series.contains(&m.pubkey)) {
            m.is_writable = false;
        }
        i
    };
    // Bob is long the puts: taking Wendy's shorts nets his position, open interest falls.
    let bob = k.bob.kp.insecure_clone();
    let nets = read_only(keel_tests::helpers::liquidate_ix(
        &t,
        &k.bob,
        &k.b,
        &k.w,
        &[&k.btc],
        &series,
        1_000,
    ));
    let mut watch = vec![k.w, k.b, k.l, k.put, t.ex.exchange];
    watch.extend(t.ex.ledgers);
    t.expect_error(&[nets], &[&bob], E::SeriesNotWritable, &watch)
        .await;
    // Larry again, a tenth of the book: the series is read-only and unchanged.
    let before = t.series(&k.put).await;
    let w0 = t.margin_account(&k.w).await;
    let larry = k.larry.kp.insecure_clone();
    let ok = t
        .send(
            &[read_only(keel_tests::helpers::liquidate_ix(
                &t,
                &k.larry,
                &k.l,
                &k.w,
                &[&k.btc],
                &series,
                1_000,
            ))],
            &[&larry],
        )
        .await
        .expect("a partial slice to a holder of the same side");
    let ev = ok.event::<Liquidated>();
    assert!(ev.liquidatee_positions_after > 0 && !ev.transfers.is_empty());
    assert_eq!(t.series(&k.put).await, before, "the series is untouched");
    let w1 = t.margin_account(&k.w).await;
    let qty = |a: &keel_state::MarginAccount| {
        a.positions[a.position_index(&k.put.to_bytes()).unwrap()].qty_contracts
    };
    let moved: i64 = ev.transfers.iter().map(|x| x.qty_contracts).sum();
    assert_eq!(qty(&w1), qty(&w0) - moved);
    // Open interest is still exact: Bob's long is all of it.
    let b = t.margin_account(&k.b).await;
    assert_eq!(before.open_interest_contracts, qty(&b));
    t.assert_conservation(&accounts, &series).await;
}

/// `margin_report`'s `liquidatable` is the test `liquidate` applies: an account between MM and
/// the trigger level raised by high vol is reported liquidatable and is liquidated; once above
/// the trigger it is reported healthy and a call is refused. (Before, the report said `equity <
/// MM`: a keeper or dashboard reading it missed accounts the program liquidates.)
#[tokio::test]
async fn the_margin_report_flags_exactly_what_liquidate_accepts() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let params = t.exchange().await.liquidation_params;
    let series = k.series();
    k.publish_iv(&mut t, 10_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    let r0 = t.margin_report(&k.w, &[&k.btc]).await;
    let level =
        |r: &keel::events::MarginReport| keel_scenario::avsl::report_trigger_level(r, &params);
    assert!(r0.equity_mm < r0.mm && level(&r0) > r0.mm as f64 + 100.0);
    // Wendy tops up to halfway between MM and her raised trigger level.
    let top_up = (level(&r0) - r0.equity_mm as f64 - (level(&r0) - r0.mm as f64) / 2.0) as u64;
    t.deposit(&k.wendy, &k.w, top_up).await.unwrap();
    let r1 = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(
        r1.equity_mm >= r1.mm && (r1.equity_mm as f64) < level(&r1),
        "between MM {} and the trigger {}: {}",
        r1.mm,
        level(&r1),
        r1.equity_mm
    );
    assert!(r1.liquidatable, "reported as liquidate sees it");
    let ok = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000)
        .await
        .expect("liquidated between MM and the raised trigger");
    let ev = ok.event::<Liquidated>();
    assert!(ev.equity_mm_before >= ev.mm_before && ev.equity_mm_before < ev.trigger_level);
    let r2 = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(ev.healthy_after && !r2.liquidatable);
    let watch = [k.w, k.l, t.ex.exchange, k.put];
    let ix =
        keel_tests::helpers::liquidate_ix(&t, &k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000);
    t.expect_error(&[ix], &[&k.larry.kp], E::NotLiquidatable, &watch)
        .await;
}

#[tokio::test]
async fn bankruptcy_uses_the_insurance_fund_then_socialises_to_the_unit() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let (carol, c) = t.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    let accounts = [k.w, k.b, k.l, c];
    let series = k.series();
    t.fund_insurance(&carol, 300 * USDC as u64)
        .await
        .expect("fund insurance");
    assert_eq!(t.exchange().await.insurance_fund_native, 300 * USDC);
    t.assert_conservation(&accounts, &series).await;

    // A 35% crash with implied vol at 150%: Wendy's equity goes negative.
    k.publish_iv(&mut t, 15_000).await;
    crash(&mut t, &k.btc, 60_000, 39_000, 4).await;
    let r0 = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(r0.equity_mm < 0, "bankrupt: {}", r0.equity_mm);

    // At negative equity (at or below the danger level δ·MM) the whole book goes in one call.
    let mut bankrupt = None;
    let mut shares = 0;
    let mut calls = 0;
    for call in 0..40 {
        calls += 1;
        let ok = t
            .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000)
            .await
            .unwrap_or_else(|e| panic!("call {call}: {e:?}"));
        t.assert_conservation(&accounts, &series).await;
        let ev = ok.event::<Liquidated>();
        check_event(&ev, &t.exchange().await.liquidation_params);
        assert_eq!(ev.fraction_q32, 1 << 32, "the whole account");
        shares += ev.insurance_share_native;
        assert!(
            ok.events::<Bankrupt>().is_empty(),
            "liquidate never resolves"
        );
        if ev.liquidatee_positions_after == 0 {
            // Left without positions and below zero: anyone may now resolve the bankruptcy.
            assert!(ev.liquidatee_collateral_native < 0);
            // Nothing is left to take over: a further liquidation is refused by name.
            let again = liquidate_ix(&t, &k.larry, &k.l, &k.w, &[&k.btc], &series, 10_000);
            let mut watch = vec![k.w, k.l, t.ex.exchange];
            watch.extend(t.ex.ledgers);
            let larry = k.larry.kp.insecure_clone();
            t.expect_error(&[again], &[&larry], E::NoPositionsToLiquidate, &watch)
                .await;
            let ok = t
                .resolve_bankruptcy(&k.w)
                .await
                .unwrap_or_else(|e| panic!("resolve_bankruptcy: {e:?}"));
            t.assert_conservation(&accounts, &series).await;
            bankrupt = Some(ok.event::<Bankrupt>());
            break;
        }
        t.advance(20).await;
        refresh(&mut t, &k.btc, 39_000).await;
    }
    let b = bankrupt.expect("the book is gone within 40 calls");
    // The fund paid everything it had, the rest is socialised; Wendy ends at zero.
    println!(
        "{calls} calls; shortfall {} = insurance {} (seeded 300 USDC + bonus shares {shares}) + socialised {}",
        b.shortfall_native, b.insurance_paid_native, b.socialised_native
    );
    assert_eq!(calls, 1, "the whole account at once below the danger level");
    assert_eq!(
        b.insurance_paid_native,
        300 * USDC + shares,
        "the whole fund"
    );
    let ex = t.exchange().await;
    assert!(
        b.shortfall_native > b.insurance_paid_native,
        "shortfall beyond the fund"
    );
    assert_eq!(
        b.socialised_native,
        b.shortfall_native - b.insurance_paid_native
    );
    assert_eq!(ex.insurance_fund_native, 0);
    assert_eq!(ex.social_loss_pending_native, b.socialised_native);
    assert_eq!(ex.socialised_loss_native, b.socialised_native);
    assert_eq!(ex.insurance_paid_native, b.insurance_paid_native);
    let w = t.margin_account(&k.w).await;
    assert_eq!((w.collateral_native, w.n_positions), (0, 0));
    assert_eq!(w.insurance_received_native, b.insurance_paid_native);
    assert_ne!(w.flags & FLAG_BANKRUPT, 0);

    // Everyone with collateral bears a share in proportion to it, charged when next touched;
    // the shares add up to the loss, rounded up by at most a unit per account, the excess to
    // the fund.
    let base = ex.positive_collateral_native;
    let others = [(&k.bob, k.b), (&k.larry, k.l), (&carol, c)];
    let mut expected_total = 0;
    for (_, key) in &others {
        let a = t.margin_account(key).await;
        expected_total += a.collateral_native;
    }
    assert_eq!(expected_total, base, "the base is the others' collateral");
    let mut charged = 0;
    for (user, key) in &others {
        let a = t.margin_account(key).await;
        let want = keel_state::social::charge(
            a.collateral_native,
            a.social_loss_index_q60,
            ex.social_loss_index_q60,
        );
        let ok = t.deposit(user, key, 1).await.expect("touch");
        let ev = ok.event::<SocialLossCharged>();
        assert_eq!(ev.amount_native, want);
        let share = b.socialised_native as f64 * a.collateral_native as f64 / base as f64;
        assert!(
            (ev.amount_native as f64 - share).abs() <= 1.0,
            "{} vs {share}",
            ev.amount_native
        );
        let after = t.margin_account(key).await;
        assert_eq!(after.collateral_native, a.collateral_native - want + 1);
        assert_eq!(after.socialised_loss_native, want);
        charged += want;
        t.assert_conservation(&accounts, &series).await;
    }
    assert!(charged >= b.socialised_native && charged <= b.socialised_native + 3);
    let ex = t.exchange().await;
    assert_eq!(ex.social_loss_pending_native, 0);
    assert_eq!(ex.insurance_fund_native, charged - b.socialised_native);
    // Touching again charges nothing more.
    let ok = t.deposit(&carol, &c, 1).await.unwrap();
    assert!(ok.events::<SocialLossCharged>().is_empty());
    t.assert_conservation(&accounts, &series).await;
}

#[tokio::test]
async fn liquidate_checks() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let series = k.series();
    let watch = [k.w, k.l, t.ex.exchange, k.put];
    let liq = |t: &TestContext, who: &User, acc: &Pubkey, bps: u16, ser: &[Pubkey]| {
        keel_tests::helpers::liquidate_ix(t, who, acc, &k.w, &[&k.btc], ser, bps)
    };

    // A healthy account.
    let ix = liq(&t, &k.larry, &k.l, 10_000, &series);
    t.expect_error(&[ix], &[&k.larry.kp], E::NotLiquidatable, &watch)
        .await;

    k.publish_iv(&mut t, 10_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    assert!(t.margin_report(&k.w, &[&k.btc]).await.liquidatable);

    // Self-liquidation: with the same account, and with another account of the same owner.
    let ix = liq(&t, &k.wendy, &k.w, 10_000, &series);
    t.expect_error(&[ix], &[&k.wendy.kp], E::SelfLiquidation, &watch)
        .await;
    let w2 = t.open_account(&k.wendy, 1).await;
    t.deposit(&k.wendy, &w2, 1_000 * USDC as u64).await.unwrap();
    let ix = liq(&t, &k.wendy, &w2, 10_000, &series);
    t.expect_error(&[ix], &[&k.wendy.kp], E::SelfLiquidation, &watch)
        .await;
    // A signer that is neither owner nor delegate of the liquidator account.
    let mallory = t.user(0).await;
    let ix = liq(&t, &mallory, &k.l, 10_000, &series);
    t.expect_error(&[ix], &[&mallory.kp], E::NotTrader, &watch)
        .await;
    // A liquidator that cannot carry the positions.
    let (dave, d) = t.trader(100 * USDC as u64, 50 * USDC as u64).await;
    let ix = liq(&t, &dave, &d, 10_000, &series);
    t.expect_error(
        &[ix],
        &[&dave.kp],
        E::LiquidatorBelowInitialMargin,
        &[k.w, d, t.ex.exchange, k.put],
    )
    .await;
    // The liquidatee's series must be passed, writable.
    let ix = liq(&t, &k.larry, &k.l, 10_000, &[]);
    t.expect_error(&[ix], &[&k.larry.kp], E::SeriesMissing, &watch)
        .await;
    // The fraction limit is 1..=10 000 bps.
    for bps in [0, 10_001] {
        let ix = liq(&t, &k.larry, &k.l, bps, &series);
        t.expect_error(&[ix], &[&k.larry.kp], E::InvalidFraction, &watch)
            .await;
    }
    // Paused.
    let admin = t.admin.insecure_clone();
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_LIQUIDATE)],
        &[&admin],
    )
    .await
    .unwrap();
    let ix = liq(&t, &k.larry, &k.l, 10_000, &series);
    t.expect_error(&[ix], &[&k.larry.kp], E::ExchangePaused, &watch)
        .await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();
    // A stale oracle: two minutes without a price.
    t.advance(120).await;
    let ix = liq(&t, &k.larry, &k.l, 10_000, &series);
    t.expect_error(&[ix], &[&k.larry.kp], E::OracleStale, &watch)
        .await;
    // A fresh oracle but a volatility state older than the market allows (one hour).
    t.advance(3_600).await;
    let now = t.now().await;
    t.set_price(&k.btc, keel_tests::oracle::Quote::usd(57_000, 5, now))
        .await;
    let ix = liq(&t, &k.larry, &k.l, 10_000, &series);
    t.expect_error(&[ix], &[&k.larry.kp], E::VolStateStale, &watch)
        .await;

    // The liquidator's limit is honoured: 10% of the book (10 puts) and no more.
    t.crank(&k.btc).await.unwrap();
    let ok = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1_000)
        .await
        .unwrap();
    let ev = ok.event::<Liquidated>();
    assert_eq!(ev.fraction_q32, (1_000i64 << 32) / 10_000);
    assert_eq!(ev.transfers.len(), 1);
    assert_eq!(ev.transfers[0].qty_contracts, -10);
}
