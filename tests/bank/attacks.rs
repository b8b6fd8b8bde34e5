//! The seven value-extraction paths an adversarial review found (docs/security.md), each as the
//! attack itself: before the fixes every one of these succeeded; now each is refused with its
//! own named error and changes nothing, or is held to its documented bound.

use anchor_lang::prelude::Pubkey;
use keel::error::KeelError as E;
use keel::events::Liquidated;
use keel::instructions::{InitExchangeArgs, TradeArgs};
use keel_state::account::EPISODE_MAX_GAP_SECS;
use keel_state::market::MAX_ORACLE_FUTURE_SECS;
use keel_tests::book::{crash, refresh, Book};
use keel_tests::helpers::{liquidate_ix, metas};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::{ix, MarketHandle, TestContext, User};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// A trade of `qty` of `series` at `price`: taker and maker accounts with the keys that sign.
#[allow(clippy::too_many_arguments)]
fn trade(
    t: &TestContext,
    series: &Pubkey,
    taker: (&Pubkey, &Keypair),
    maker: (&Pubkey, &Keypair),
    qty: i64,
    price: i64,
    markets: &[&MarketHandle],
) -> anchor_lang::solana_program::instruction::Instruction {
    ix::trade(
        &t.ex,
        series,
        taker.0,
        &taker.1.pubkey(),
        maker.0,
        &maker.1.pubkey(),
        TradeArgs {
            qty_contracts: qty,
            price_native: price,
        },
        &metas(markets),
    )
}

/// Wendy's book after a crash that leaves her below maintenance margin with positive equity.
async fn liquidatable_book(t: &mut TestContext) -> Book {
    let k = Book::new(t, 5_500 * USDC, 100).await;
    k.publish_iv(t, 10_000).await;
    crash(t, &k.btc, 60_000, 57_000, 2).await;
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(
        r.liquidatable && r.equity_mm > 0,
        "{} {}",
        r.equity_mm,
        r.mm
    );
    k
}

/// Attack 1: below IM, a "risk-reducing" buy-back at a free price paid an accomplice out of the
/// account (and left its collateral negative, for the insurance fund to pay).
#[tokio::test]
async fn below_im_reduction_is_priced_no_worse_than_the_mark() {
    let mut t = TestContext::builder().start().await;
    let k = liquidatable_book(&mut t).await;
    let (wendy, bob) = (k.wendy.kp.insecure_clone(), k.bob.kp.insecure_clone());
    let watch = [k.w, k.b, k.put, t.ex.exchange];
    let band = t.band(&k.btc, &k.put).await;
    let collateral = t.margin_account(&k.w).await.collateral_native;
    // Buying everything back at the top of the band: IM falls to zero and IM health becomes the
    // collateral left, so the old rule accepted it (as long as health did not worsen).
    let qty = 100.min(collateral / band.hi);
    assert!(qty >= 10, "qty {qty}");
    let all_back = trade(
        &t,
        &k.put,
        (&k.w, &wendy),
        (&k.b, &bob),
        qty,
        band.hi,
        &[&k.btc],
    );
    t.expect_error(&[all_back], &[&wendy, &bob], E::ReduceWorseThanMark, &watch)
        .await;
    // One native unit above the mark is already too much …
    let one = trade(
        &t,
        &k.put,
        (&k.w, &wendy),
        (&k.b, &bob),
        1,
        band.mark + 1,
        &[&k.btc],
    );
    t.expect_error(&[one], &[&wendy, &bob], E::ReduceWorseThanMark, &watch)
        .await;
    // … and the price (several times the mark) is outside the band altogether.
    let far = trade(
        &t,
        &k.put,
        (&k.w, &wendy),
        (&k.b, &bob),
        1,
        band.hi + 1,
        &[&k.btc],
    );
    t.expect_error(&[far], &[&wendy, &bob], E::PriceOutsideBand, &watch)
        .await;
    // At the mark she may de-risk while liquidatable.
    t.send(
        &[trade(
            &t,
            &k.put,
            (&k.w, &wendy),
            (&k.b, &bob),
            10,
            band.mark,
            &[&k.btc],
        )],
        &[&wendy, &bob],
    )
    .await
    .expect("a reduction at the mark");
    assert!(t.margin_account(&k.w).await.collateral_native >= 0);
    t.assert_conservation(&k.accounts(), &k.series()).await;
}

/// Attack 2: a delegate ("may trade, never withdraw") signed both sides and bought a cheap put
/// from its own account at 4 800 USDC for its principal.
#[tokio::test]
async fn a_delegate_cannot_trade_its_principal_against_itself() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let (dan, d_acc) = t.trader(10_000 * USDC as u64, 1_000 * USDC as u64).await;
    let alice = s.alice.kp.insecure_clone();
    t.send(
        &[ix::set_delegate(&alice.pubkey(), &s.a, dan.key())],
        &[&alice],
    )
    .await
    .unwrap();
    let watch = [s.a, d_acc, s.put, t.ex.exchange];
    let drain = trade(
        &t,
        &s.put,
        (&s.a, &dan.kp),
        (&d_acc, &dan.kp),
        1,
        4_800 * USDC,
        &[&s.btc],
    );
    t.expect_error(&[drain], &[&dan.kp], E::SameSignerBothSides, &watch)
        .await;
    // With a second key of his own the price is still held to the band …
    let (eve, e_acc) = t.trader(10_000 * USDC as u64, 1_000 * USDC as u64).await;
    let watch = [s.a, e_acc, s.put, t.ex.exchange];
    let drain = trade(
        &t,
        &s.put,
        (&s.a, &dan.kp),
        (&e_acc, &eve.kp),
        1,
        4_800 * USDC,
        &[&s.btc],
    );
    t.expect_error(&[drain], &[&dan.kp, &eve.kp], E::PriceOutsideBand, &watch)
        .await;
    // … so one fill moves at most (band.hi − mark) per contract (docs/security.md).
    let band = t.band(&s.btc, &s.put).await;
    let before = t.margin_account(&s.a).await.collateral_native;
    t.send(
        &[trade(
            &t,
            &s.put,
            (&s.a, &dan.kp),
            (&e_acc, &eve.kp),
            1,
            band.hi,
            &[&s.btc],
        )],
        &[&dan.kp, &eve.kp],
    )
    .await
    .expect("inside the band");
    let paid = before - t.margin_account(&s.a).await.collateral_native;
    let fee = keel::controller::ledger::fee(1, band.hi, t.exchange().await.taker_fee_bps).unwrap();
    assert_eq!(paid, band.hi + fee);
    t.assert_conservation(&[s.a, s.b, d_acc, e_acc], &s.series())
        .await;
}

/// Attack 3: the stable price's speed limit was counted from the last crank, so after an idle
/// hour one crank moved it (almost) all the way to a pumped oracle. Now a move held Δt seconds
/// moves it at most e^(g·(Δt + staleness)) − 1: the last observation of the pump pulls for the
/// market's oracle staleness window after it, and no longer however long nobody cranks.
#[tokio::test]
async fn a_pump_after_an_idle_hour_moves_the_stable_price_at_its_documented_speed() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let stable0 = t.market(&s.btc.key).await.vol_state.stable_price;
    // The crank is idle for an hour, then the oracle is 20× for five minutes, cranked at every
    // minute the market allows; then it is back and nobody cranks for an hour.
    t.advance(3_600).await;
    let start = t.now().await;
    for i in 0..=5 {
        if i > 0 {
            t.advance(60).await;
        }
        t.price_and_crank(&s.btc, 1_200_000).await;
    }
    refresh(&mut t, &s.btc, 60_000).await;
    // What a margin check values IM at, at the end of the pump, at the end of the last pumped
    // observation's window, and an hour later.
    let m = t.market(&s.btc.key).await;
    let window = m.oracle.max_staleness_secs;
    let g: f64 = m.risk_params.stable_growth_per_sec.to_num();
    let bound = (g * (300 + window) as f64).exp() - 1.0;
    let moved = |now: i64| m.stable_price_at(now).unwrap() as f64 / stable0 as f64 - 1.0;
    for now in [start + 300, start + 300 + window, start + 300 + 3_600] {
        assert!(
            moved(now) <= bound,
            "at +{} s: stable moved {}, bound {bound}",
            now - start,
            moved(now)
        );
    }
    // It follows a price the crank has seen, to the bound: six observations each pulling one
    // window, (1 + g·60)⁶ − 1 (the bound's exponential compounds continuously).
    let reached = (1.0 + g * window as f64).powi(6) - 1.0;
    assert!(moved(start + 300 + window) > reached - 1e-6);
    // The margin check uses exactly this stable price.
    t.advance(window).await;
    refresh(&mut t, &s.btc, 60_000).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    t.send(
        &[trade(
            &t,
            &s.fut,
            (&s.a, &alice),
            (&s.b, &bob),
            1,
            600 * USDC,
            &[&s.btc],
        )],
        &[&alice, &bob],
    )
    .await
    .expect("a future at the oracle");
    let r = t.margin_report(&s.a, &[&s.btc]).await;
    assert_eq!(
        r.markets[0].stable_spot,
        m.stable_price_at(start + 300 + window).unwrap()
    );
}

/// Attack 3, on the cadence: the attacker cranks a one-second 20× spike (the crank is
/// permissionless) and the keeper's next crank, 540 s later, moved the stable price 5.4% toward
/// it. An observation pulls for at most the market's staleness window after its publish time.
#[tokio::test]
async fn a_one_second_spike_pulls_the_stable_price_for_at_most_the_staleness_window() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    t.advance(600).await;
    t.price_and_crank(&s.btc, 60_000).await;
    let stable0 = t.market(&s.btc.key).await.vol_state.stable_price;
    // T1: the spike, cranked at once; T1 + 1: over.
    t.advance(600).await;
    t.price_and_crank(&s.btc, 1_200_000).await;
    t.advance(1).await;
    refresh(&mut t, &s.btc, 60_000).await;
    // T1 + 540: what a margin check values IM at just before the keeper cranks, and after.
    t.advance(539).await;
    let now = t.now().await;
    let before_keeper = t.market(&s.btc.key).await.stable_price_at(now).unwrap();
    t.price_and_crank(&s.btc, 60_000).await;
    let m = t.market(&s.btc.key).await;
    let window = m.oracle.max_staleness_secs;
    let g: f64 = m.risk_params.stable_growth_per_sec.to_num();
    let bound = (g * (1 + window) as f64).exp() - 1.0;
    for (when, stable) in [
        ("before the keeper's crank", before_keeper),
        ("at the keeper's crank", m.vol_state.stable_price),
        ("after it", m.stable_price_at(now).unwrap()),
    ] {
        let moved = stable as f64 / stable0 as f64 - 1.0;
        assert!(
            moved <= bound,
            "{when}: stable moved {moved}, bound {bound}"
        );
    }
    // The spike did pull, for the window.
    let moved = m.vol_state.stable_price as f64 / stable0 as f64 - 1.0;
    assert!(moved >= g * window as f64 - 1e-6, "moved {moved}");
}

/// Attack 4: the caller chose which price update to pass. Updates now only move forward per
/// market, and one dated in the future is refused.
#[tokio::test]
async fn oracle_updates_only_move_forward() {
    let mut t = TestContext::builder().start().await;
    let k = liquidatable_book(&mut t).await;
    let larry = k.larry.kp.insecure_clone();
    // The price recovers (above Wendy's trigger level, which the high vol has raised to IM);
    // the newest update (now) is accepted by a crank.
    t.advance(60).await;
    t.price_and_crank(&k.btc, 62_000).await;
    let now = t.now().await;
    assert!(!t.margin_report(&k.w, &[&k.btc]).await.liquidatable);
    // A 45-second-old update of the same feed at the crash price, in another account: fresh by
    // age, but older than what the market accepted.
    let old = Keypair::new().pubkey();
    t.set_pull_oracle(
        &old,
        k.btc.feed_id,
        Quote::usd(57_000, 5, now - 45),
        VerificationLevel::Full,
    )
    .await;
    let stale_view = MarketHandle {
        key: k.btc.key,
        oracle: old,
        feed_id: k.btc.feed_id,
        index: k.btc.index,
        legacy: false,
        pages: k.btc.pages,
    };
    let watch = [k.w, k.l, k.btc.key, t.ex.exchange];
    let liq = liquidate_ix(
        &t,
        &k.larry,
        &k.l,
        &k.w,
        &[&stale_view],
        &k.series(),
        10_000,
    );
    t.expect_error(&[liq], &[&larry], E::OracleOutOfOrder, &watch)
        .await;
    let w = ix::withdraw(
        &t.ex,
        &k.bob.key(),
        &k.b,
        &k.bob.tokens,
        1,
        &metas(&[&stale_view]),
    );
    t.expect_error(&[w], &[&k.bob.kp], E::OracleOutOfOrder, &watch)
        .await;
    // A trade at the old update's marks: refused the same way, before any price check.
    let band = t.band(&k.btc, &k.put).await;
    let old_trade = trade(
        &t,
        &k.put,
        (&k.b, &k.bob.kp),
        (&k.l, &larry),
        1,
        band.mark,
        &[&stale_view],
    );
    let (bob, watch_trade) = (
        k.bob.kp.insecure_clone(),
        [k.b, k.l, k.put, k.btc.key, t.ex.exchange],
    );
    t.expect_error(
        &[old_trade],
        &[&bob, &larry],
        E::OracleOutOfOrder,
        &watch_trade,
    )
    .await;
    // A market passed read-only cannot record what it accepted: refused.
    let mut ro = ix::withdraw(
        &t.ex,
        &k.bob.key(),
        &k.b,
        &k.bob.tokens,
        1,
        &metas(&[&k.btc]),
    );
    let m = ro
        .accounts
        .iter_mut()
        .find(|m| m.pubkey == k.btc.key)
        .unwrap();
    m.is_writable = false;
    t.expect_error(&[ro], &[&k.bob.kp], E::MarketNotWritable, &watch)
        .await;
    // Dated in the future: up to the tolerance it is accepted, one second more is refused.
    let future = Keypair::new().pubkey();
    let view = MarketHandle {
        oracle: future,
        ..stale_view
    };
    for (dt, ok) in [
        (MAX_ORACLE_FUTURE_SECS, true),
        (MAX_ORACLE_FUTURE_SECS + 1, false),
    ] {
        t.set_pull_oracle(
            &future,
            k.btc.feed_id,
            Quote::usd(60_000, 5, now + dt),
            VerificationLevel::Full,
        )
        .await;
        let w = ix::withdraw(
            &t.ex,
            &k.bob.key(),
            &k.b,
            &k.bob.tokens,
            1,
            &metas(&[&view]),
        );
        if ok {
            t.simulate(&[w], &[&k.bob.kp])
                .await
                .expect("within the tolerance");
        } else {
            t.expect_error(&[w], &[&k.bob.kp], E::OracleFutureDated, &watch)
                .await;
        }
    }
    let crank = ix::update_volatility(&t.ex, &k.btc.key, &future);
    t.expect_error(&[crank], &[], E::OracleFutureDated, &watch)
        .await;
}

/// Attack 5: a 1-bps call at one dip opened an episode whose Dutch-auction clock still ran at the
/// next dip 1.5 hours later (paying the capped bonus).
#[tokio::test]
async fn a_lapsed_liquidation_episode_restarts_the_bonus_ramp() {
    let mut t = TestContext::builder().start().await;
    let k = liquidatable_book(&mut t).await;
    let series = k.series();
    let first = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1)
        .await
        .expect("a 1-bps call");
    assert_eq!(first.event::<Liquidated>().elapsed_secs, 0);
    // Within the gap the episode goes on: exactly EPISODE_MAX_GAP_SECS later the clock counts it.
    t.advance(EPISODE_MAX_GAP_SECS).await;
    refresh(&mut t, &k.btc, 57_000).await;
    let ev = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1)
        .await
        .expect("within the gap")
        .event::<Liquidated>();
    assert_eq!(ev.elapsed_secs, EPISODE_MAX_GAP_SECS);
    // The account recovers unseen (no instruction touches it) — above its trigger level, which
    // the high vol has raised to IM (at 60 000 it is above MM but still below IM) —, 1.5 hours
    // pass, the next dip.
    t.advance(60).await;
    t.price_and_crank(&k.btc, 62_000).await;
    assert!(!t.margin_report(&k.w, &[&k.btc]).await.liquidatable);
    t.advance(5_400).await;
    t.price_and_crank(&k.btc, 60_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    let ev = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1)
        .await
        .expect("the next dip")
        .event::<Liquidated>();
    assert_eq!(ev.elapsed_secs, 0, "a new episode: the ramp starts again");
    // One second past the gap also lapses.
    t.advance(EPISODE_MAX_GAP_SECS + 1).await;
    refresh(&mut t, &k.btc, 57_000).await;
    let ev = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1)
        .await
        .expect("past the gap")
        .event::<Liquidated>();
    assert_eq!(ev.elapsed_secs, 0);
    t.assert_conservation(&k.accounts(), &k.series()).await;
}

/// Attack 5, healed by a deposit: a 1-bps call at a dip opened an episode; ten seconds later
/// the owner deposited and was healthy, but `deposit` computed no margin, so at the next dip,
/// 290 s after the call (inside the episode gap), the Dutch-auction clock still counted from
/// the first. A deposit passed the account's markets now ends the episode if the account is
/// at or above MM; a deposit that leaves it below MM (one unit, to reset the ramp) does not.
#[tokio::test]
async fn a_deposit_that_restores_health_ends_the_liquidation_episode() {
    let mut t = TestContext::builder().start().await;
    let k = liquidatable_book(&mut t).await;
    let series = k.series();
    let opened = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1)
        .await
        .expect("a 1-bps call at the dip")
        .event::<Liquidated>();
    assert_eq!(opened.elapsed_secs, 0);
    let wendy = k.wendy.kp.insecure_clone();
    let deposit = |t: &TestContext, amount: u64| {
        ix::deposit_checking_margin(
            &t.ex,
            &wendy.pubkey(),
            &k.w,
            &k.wendy.tokens,
            amount,
            &metas(&[&k.btc]),
        )
    };
    // One unit while still below MM: the episode goes on (no reset of the ramp).
    t.advance(5).await;
    refresh(&mut t, &k.btc, 57_000).await;
    t.send(&[deposit(&t, 1)], &[&wendy])
        .await
        .expect("one unit");
    let acc = t.margin_account(&k.w).await;
    assert_eq!(acc.liquidatable_since_ts, opened.ts, "still in the episode");
    // At T + 10 she deposits what lifts her just above MM: with vol above its reference the
    // trigger level is raised toward IM, she is still below it, and the episode goes on.
    t.advance(5).await;
    refresh(&mut t, &k.btc, 57_000).await;
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    let params = t.exchange().await.liquidation_params;
    let level = keel_scenario::avsl::report_trigger_level(&r, &params);
    assert!(
        level > r.mm as f64 + 200.0 * USDC as f64,
        "raised trigger {level}"
    );
    let top_up = (r.mm - r.equity_mm) as u64 + 100 * USDC as u64;
    t.send(&[deposit(&t, top_up)], &[&wendy])
        .await
        .expect("top-up to MM");
    let acc = t.margin_account(&k.w).await;
    assert!(acc.last_margin.equity_mm >= acc.last_margin.mm);
    assert_eq!(
        acc.liquidatable_since_ts, opened.ts,
        "below the raised trigger"
    );
    // She deposits what lifts her above the raised trigger, with her markets: the episode ends.
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    let level = keel_scenario::avsl::report_trigger_level(&r, &params);
    let top_up = (level - r.equity_mm as f64) as u64 + 100 * USDC as u64;
    t.send(&[deposit(&t, top_up)], &[&wendy])
        .await
        .expect("top-up to the trigger level");
    let acc = t.margin_account(&k.w).await;
    assert_eq!(acc.liquidatable_since_ts, 0, "healthy: the episode is over");
    assert_eq!(acc.flags & keel_state::account::FLAG_BEING_LIQUIDATED, 0);
    assert!(acc.last_margin.equity_mm as f64 >= level);
    // T + 290: the next dip. The ramp starts again.
    t.advance(280).await;
    t.price_and_crank(&k.btc, 54_000).await;
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    assert!(r.liquidatable, "{} {}", r.equity_mm, r.mm);
    let ev = t
        .liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &series, 1)
        .await
        .expect("the next dip")
        .event::<Liquidated>();
    assert_eq!(ev.elapsed_secs, 0, "a new episode: the ramp starts again");
    t.assert_conservation(&k.accounts(), &k.series()).await;
}

/// Attack 6: any signer could front-run `init_exchange` and become the admin.
#[tokio::test]
async fn only_the_upgrade_authority_initialises_the_exchange() {
    let mut t = TestContext::builder().start_bank().await;
    let mallory = t.user(0).await;
    t.airdrop(&mallory.key(), 10_000_000_000).await;
    let args = || InitExchangeArgs {
        taker_fee_bps: 5,
        maker_fee_bps: 2,
    };
    let watch = [t.ex.exchange, t.ex.vault];
    let front_run = ix::init_exchange(&t.ex, &mallory.key(), args());
    t.expect_error(&[front_run], &[&mallory.kp], E::NotUpgradeAuthority, &watch)
        .await;
    // Nor with a ProgramData-shaped account of her own at another address.
    let fake = Keypair::new().pubkey();
    let mut data = vec![3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    data.extend_from_slice(mallory.key().as_ref());
    t.set_account(
        &fake,
        &anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        data,
    )
    .await;
    let mut spoofed = ix::init_exchange(&t.ex, &mallory.key(), args());
    spoofed.accounts[1].pubkey = fake;
    let e = t.expect_failure(&[spoofed], &[&mallory.kp], &watch).await;
    assert_eq!(
        e.code,
        Some(anchor_lang::error::ErrorCode::ConstraintSeeds as u32)
    );
    // The upgrade authority can.
    let admin = t.admin.insecure_clone();
    t.send(
        &[ix::init_exchange(&t.ex, &admin.pubkey(), args())],
        &[&admin],
    )
    .await
    .expect("the upgrade authority initialises");
    assert_eq!(t.exchange().await.admin, admin.pubkey().to_bytes());
}

/// Attack 7: a key that is delegate of another owner's account liquidated its own account
/// through it (the check compared owners, not the signer).
#[tokio::test]
async fn the_delegate_of_the_liquidatee_cannot_liquidate_it() {
    let mut t = TestContext::builder().start().await;
    let k = liquidatable_book(&mut t).await;
    let dan: User = t.user(100_000 * USDC as u64).await;
    let d_acc = t.open_account(&dan, 0).await;
    t.deposit(&dan, &d_acc, 50_000 * USDC as u64).await.unwrap();
    let wendy = k.wendy.kp.insecure_clone();
    t.send(
        &[ix::set_delegate(&wendy.pubkey(), &k.w, dan.key())],
        &[&wendy],
    )
    .await
    .unwrap();
    let watch = [k.w, d_acc, t.ex.exchange, k.put];
    let liq = liquidate_ix(&t, &dan, &d_acc, &k.w, &[&k.btc], &k.series(), 10_000);
    t.expect_error(&[liq], &[&dan.kp], E::SelfLiquidation, &watch)
        .await;
    // Anyone else may.
    t.liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &k.series(), 10_000)
        .await
        .expect("an independent liquidator");
}
