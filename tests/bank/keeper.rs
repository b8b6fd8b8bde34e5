//! The keeper's own logic (keel-keeper's `Keeper::tick`, the code the binary runs against an RPC
//! node) running against the bank through keel-client's `Chain`: a price crash written into the
//! oracle, the keeper cranks volatility and liquidates the account partially over several
//! passes until it sits between MM and IM; a second crash to bankruptcy goes through the
//! insurance fund and then socialisation, every unit accounted for.

use keel::events::Bankrupt;
use keel_keeper::{Action, Keeper, KeeperConfig, TickReport};
use keel_tests::book::{refresh, Book};
use keel_tests::scenario::USDC;
use keel_tests::TestContext;

/// Passes until one sends nothing, `secs` apart, with a fresh oracle at `usd` before each.
async fn run_until_quiet(
    t: &mut TestContext,
    keeper: &mut Keeper,
    k: &Book,
    usd: i64,
    secs: i64,
) -> Vec<TickReport> {
    let chain = t.chain(&k.larry.kp);
    let mut reports = Vec::new();
    for _ in 0..60 {
        t.advance(secs).await;
        refresh(t, &k.btc, usd).await;
        let r = keeper.tick(&chain).await.expect("keeper pass");
        assert!(r.plan.skipped.is_empty(), "{:?}", r.plan.skipped);
        let quiet = r.outcomes.is_empty();
        for o in &r.outcomes {
            if let Err(e) = &o.result {
                panic!("{:?} failed: {e}", o.action);
            }
        }
        reports.push(r);
        if quiet {
            return reports;
        }
    }
    panic!("the keeper did not settle down in 60 passes");
}

fn count(reports: &[TickReport], pred: impl Fn(&Action) -> bool) -> usize {
    reports
        .iter()
        .flat_map(|r| r.outcomes.iter())
        .filter(|o| pred(&o.action))
        .count()
}

#[tokio::test]
async fn the_keeper_cranks_and_liquidates_through_a_crash_and_a_bankruptcy() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let (carol, c) = t.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    let accounts = [k.w, k.b, k.l, c];
    let series = k.series();
    // The market accepts any PriceUpdateV2 of its feed: the operator tells the keeper which
    // account to read (on mainnet: the Pyth sponsored feed account, the default).
    let mut config = KeeperConfig::default();
    config.oracles.overrides.insert(k.btc.key, k.btc.oracle);
    let mut keeper = Keeper::new(config, k.larry.kp.insecure_clone(), k.l);

    // Calm: the keeper watches four accounts, cranks when due, liquidates nothing.
    let calm = run_until_quiet(&mut t, &mut keeper, &k, 60_000, 60).await;
    assert_eq!(count(&calm, |a| matches!(a, Action::Liquidate { .. })), 0);
    assert_eq!(calm.last().unwrap().plan.watched, 4);

    // Crash 1: −5% with the implied vol at 100%. The keeper cranks (the price moved), sees
    // Wendy below her trigger level and liquidates her: at E/MM ≈ 0.6 the cap has grown past
    // the fraction that restores the target, so one call does it.
    k.publish_iv(&mut t, 10_000).await;
    let crash = run_until_quiet(&mut t, &mut keeper, &k, 57_000, 30).await;
    let liqs = count(&crash, |a| matches!(a, Action::Liquidate { .. }));
    let cranks = count(&crash, |a| matches!(a, Action::Crank { .. }));
    println!(
        "crash 1: {liqs} liquidations, {cranks} cranks over {} passes",
        crash.len()
    );
    assert_eq!(liqs, 1, "one call restores the target: {liqs}");
    assert!(cranks >= 1);
    let events: Vec<_> = crash
        .iter()
        .flat_map(|r| r.liquidations())
        .map(|o| o.liquidated.clone().expect("the bank returns logs"))
        .collect();
    assert!(events.iter().all(|e| e.fraction_q32 <= e.fraction_cap_q32));
    let params = t.exchange().await.liquidation_params;
    for e in &events {
        keel_scenario::avsl::assert_documented(e, &params);
    }
    assert!(events[0].fraction_needed_q32 <= events[0].fraction_cap_q32);
    assert!(events[0].liquidatee_positions_after > 0, "partial");
    assert!(events[..events.len() - 1].iter().all(|e| !e.healthy_after));
    assert!(events.last().unwrap().healthy_after);
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
    assert!(
        t.margin_report(&k.l, &[&k.btc]).await.health_im >= 0,
        "the liquidator stays healthy"
    );
    t.assert_conservation(&accounts, &series).await;
    let m = keeper.metrics.render();
    assert!(
        m.contains(&format!("keel_keeper_liquidations_confirmed_total {liqs}")),
        "{m}"
    );
    assert!(m.contains("keel_keeper_accounts_watched 4"));
    // The keeper held none of Wendy's puts: its call wrote the series.
    assert_eq!(
        counter(&m, "keel_keeper_liquidations_series_read_only_total"),
        0
    );
    // Every liquidation asked for what its simulation used (plus headroom), not the 1.4M
    // maximum: the scheduler charges the request against the slot's caps (liquidation.md §6).
    assert!(
        m.contains(&format!("keel_keeper_liquidate_cu_requested_count {liqs}")),
        "{m}"
    );
    let requested: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("keel_keeper_liquidate_cu_requested_sum "))
        .expect("the sum")
        .parse()
        .expect("a number");
    assert!(
        requested < liqs as f64 * keel_client::Budget::MAX_CU_LIMIT as f64,
        "{requested}"
    );

    // Crash 2: −35% with the implied vol at 150%: Wendy is bankrupt. The keeper takes her book
    // apart; the insurance fund (seeded with 300 USDC plus the bonus shares) pays what it can,
    // the rest is socialised.
    t.fund_insurance(&carol, 300 * USDC as u64).await.unwrap();
    k.publish_iv(&mut t, 15_000).await;
    let bust = run_until_quiet(&mut t, &mut keeper, &k, 39_000, 20).await;
    let bankrupt: Vec<Bankrupt> = bust
        .iter()
        .flat_map(|r| r.outcomes.iter())
        .filter_map(|o| o.result.as_ref().ok())
        .flat_map(|s| keel_client::events::decode::<Bankrupt>(&s.logs).unwrap())
        .collect();
    assert_eq!(bankrupt.len(), 1, "exactly one bankruptcy");
    // Now the keeper held Wendy's side, so it passed her series read-only
    // (liquidate_metas_reading_held); the whole book going at once closes her position, the
    // program refused with SeriesNotWritable, and the keeper sent it again writable.
    let m = keeper.metrics.render();
    assert!(
        counter(&m, "keel_keeper_liquidations_series_retried_total") >= 1,
        "{m}"
    );
    // Resolved in the pass of the liquidation that left Wendy bankrupt, right after it.
    let pass = bust
        .iter()
        .find(|r| {
            r.outcomes
                .iter()
                .any(|o| matches!(o.action, Action::ResolveBankruptcy { .. }))
        })
        .expect("a pass resolved it");
    let i = pass
        .outcomes
        .iter()
        .position(|o| matches!(o.action, Action::ResolveBankruptcy { .. }))
        .unwrap();
    assert!(i > 0);
    let before = &pass.outcomes[i - 1];
    assert!(
        matches!(before.action, Action::Liquidate { account, .. } if account == k.w),
        "{:?}",
        before.action
    );
    assert!(
        before
            .liquidated
            .as_ref()
            .unwrap()
            .liquidatee_collateral_native
            < 0
    );
    let b = &bankrupt[0];
    assert!(b.insurance_paid_native > 300 * USDC && b.socialised_native > 0);
    assert_eq!(
        b.shortfall_native,
        b.insurance_paid_native + b.socialised_native
    );
    let w = t.margin_account(&k.w).await;
    assert_eq!((w.n_positions, w.collateral_native), (0, 0));
    t.assert_conservation(&accounts, &series).await;
    // The keeper does not chase a flat, empty account.
    assert!(bust.last().unwrap().plan.liquidatable.is_empty());
    // Every other account bears its share when next touched; nothing is left pending beyond
    // what the rounding collected for the fund.
    for (u, a) in [(&k.bob, k.b), (&k.larry, k.l), (&carol, c)] {
        t.deposit(u, &a, 1).await.unwrap();
    }
    let ex = t.exchange().await;
    assert_eq!(ex.social_loss_pending_native, 0);
    let borne: i64 = {
        let mut sum = 0;
        for a in [k.b, k.l, c] {
            sum += t.margin_account(&a).await.socialised_loss_native;
        }
        sum
    };
    assert!(borne >= b.socialised_native && borne <= b.socialised_native + 3);
    t.assert_conservation(&accounts, &series).await;
}

/// A counter's value in the keeper's Prometheus text.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {metrics}"))
        .parse()
        .expect("a number")
}

/// A vol crank that moves the margin vol past the risk arrays' tolerance makes the arrays stale
/// (and, on a range-limited market, forgets the anchors). The keeper plans the pass on the vol
/// state its crank leaves (`Snapshot::with_vols_cranked`): the crank, the arrays' re-anchoring
/// and the liquidation the new vol calls for go out in the same pass, and all succeed.
#[tokio::test]
async fn a_vol_jump_is_cranked_re_anchored_and_liquidated_in_one_pass() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let mut config = KeeperConfig::default();
    config.oracles.overrides.insert(k.btc.key, k.btc.oracle);
    let mut keeper = Keeper::new(config, k.larry.kp.insecure_clone(), k.l);
    let calm = run_until_quiet(&mut t, &mut keeper, &k, 60_000, 60).await;
    assert_eq!(count(&calm, |a| matches!(a, Action::Liquidate { .. })), 0);

    // The implied vol jumps to 250% with the price where it was: Wendy's short puts need more
    // margin, and only the vol says so.
    k.publish_iv(&mut t, 25_000).await;
    t.advance(120).await;
    refresh(&mut t, &k.btc, 60_000).await;
    let before = t.market(&k.btc.key).await.vol_state.margin_vol;
    let chain = t.chain(&k.larry.kp);
    let r = keeper.tick(&chain).await.expect("keeper pass");
    let sent: Vec<&Action> = r.outcomes.iter().map(|o| &o.action).collect();
    for o in &r.outcomes {
        if let Err(e) = &o.result {
            panic!("{:?} failed: {e}", o.action);
        }
    }
    let after = t.market(&k.btc.key).await.vol_state.margin_vol;
    assert!(
        after.to_num::<f64>() > before.to_num::<f64>() * 1.05,
        "the crank moved the margin vol past the arrays' tolerance: {before} → {after}"
    );
    assert!(matches!(sent[0], Action::Crank { .. }), "{sent:?}");
    assert!(
        sent.iter().any(|a| matches!(a, Action::CrankArrays { .. })),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|a| matches!(a, Action::Liquidate { account, .. } if *account == k.w)),
        "the liquidation goes out in the crank's pass: {sent:?}"
    );
}

/// On a market with the realised-vol stress on, the keeper liquidates an account that meets IM
/// once the crank's own returns run ahead of the margin vol: its plan (keel-client's breakdown,
/// keel-risk's trigger) agrees with the program's, so every call it sends is accepted, and it
/// stops once the account is back above its stressed trigger.
#[tokio::test]
async fn under_realised_vol_stress_the_keeper_liquidates_an_account_above_im() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 50_000 * USDC, 100).await;
    k.set_realised_tau(&mut t, 12 * 3600).await;
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    t.withdraw(
        &k.wendy,
        &k.w,
        (r.withdrawable - r.im / 5) as u64,
        &[&k.btc],
    )
    .await
    .expect("Wendy keeps 20% above IM");
    let mut config = KeeperConfig::default();
    config.oracles.overrides.insert(k.btc.key, k.btc.oracle);
    let mut keeper = Keeper::new(config, k.larry.kp.insecure_clone(), k.l);
    let calm = run_until_quiet(&mut t, &mut keeper, &k, 60_000, 60).await;
    assert_eq!(count(&calm, |a| matches!(a, Action::Liquidate { .. })), 0);

    // ±3% every ten minutes for four hours, the keeper running each time.
    let chain = t.chain(&k.larry.kp);
    let mut reports = Vec::new();
    for step in 1..=24 {
        t.advance(600).await;
        refresh(&mut t, &k.btc, if step % 2 == 1 { 61_800 } else { 60_000 }).await;
        let r = keeper.tick(&chain).await.expect("keeper pass");
        for o in &r.outcomes {
            if let Err(e) = &o.result {
                panic!("{:?} failed: {e}", o.action);
            }
        }
        reports.push(r);
    }
    assert!(
        keeper
            .metrics
            .render()
            .contains("keel_keeper_markets_stressed 1"),
        "the operator sees the stressed market"
    );
    reports.extend(run_until_quiet(&mut t, &mut keeper, &k, 60_000, 60).await);
    let events: Vec<_> = reports
        .iter()
        .flat_map(|r| r.liquidations())
        .map(|o| o.liquidated.clone().expect("the bank returns logs"))
        .collect();
    assert!(!events.is_empty(), "the keeper liquidated under the stress");
    let params = t.exchange().await.liquidation_params;
    for e in &events {
        keel_scenario::avsl::assert_documented(e, &params);
    }
    let first = &events[0];
    assert!(first.stress_q32 > 1 << 32, "stressed: {}", first.stress_q32);
    assert!(
        first.equity_mm_before > first.im_before,
        "an account above IM: {} > {}",
        first.equity_mm_before,
        first.im_before
    );
    assert!(!t.margin_report(&k.w, &[&k.btc]).await.liquidatable);
}
