//! The Mango Markets 2022 lesson: pump the oracle 20× within minutes and show that no more than
//! the documented amount can leave the vault.
//!
//! Documented bound (README, "Manipulation resistance"): initial margin values every position
//! at the worse of the oracle and the stable price, gains at (1 − long_haircut), and the stable
//! price moves at most `stable_growth_per_sec` (relative) per second toward the price the last
//! crank observed (never toward one no crank has seen yet), for at most the staleness window W
//! after that observation. So within t seconds of a pump an account's IM equity rises by at
//! most (1 − h)·Σ|qty|·(S_stable(t) − S_stable(0)), with
//! S_stable(t) ≤ S_stable(0)·(1 + g·min(Δ, W))^(t/Δ) for cranks every Δ seconds, while IM
//! itself grows with the oracle. What can leave — by
//! withdrawal, or as a premium paid to an accomplice's account — is at most the account's IM
//! health before the pump plus that.

use keel::error::KeelError as E;
use keel::instructions::TradeArgs;
use keel_tests::helpers::metas;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::{ix, TestContext};

#[tokio::test]
async fn a_20x_oracle_pump_cannot_be_withdrawn() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    // Mallory (1 000 USDC) buys 10 futures at 600 from Carol, an honest market maker. Her
    // accomplice Bob has an account too.
    let (mallory, m_acc) = t.trader(1_000 * USDC as u64, 1_000 * USDC as u64).await;
    let (carol, c_acc) = t.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    t.trade(
        &s.fut,
        (&mallory, &m_acc),
        (&carol, &c_acc),
        10,
        600 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    let r0 = t.margin_report(&m_acc, &[&s.btc]).await;
    let w0 = r0.withdrawable;
    let stable0 = r0.markets[0].stable_spot;
    let vault0 = t.token_balance(&t.ex.vault.clone()).await;

    // The pump: 60 000 → 1 200 000 USD/BTC in five one-minute steps, cranked every minute.
    let mut usd = 60_000f64;
    for _ in 0..5 {
        usd *= 20f64.powf(0.2);
        t.advance(60).await;
        t.price_and_crank(&s.btc, usd.round() as i64).await;
    }
    let r1 = t.margin_report(&m_acc, &[&s.btc]).await;
    let spot1 = r1.markets[0].spot;
    assert!(
        (11_999 * USDC..=12_001 * USDC).contains(&spot1),
        "20×: {spot1}"
    );
    // At the oracle Mallory made ~114 000 USDC …
    let gain_mm = r1.equity_mm - r0.equity_mm;
    assert!(gain_mm > 110_000 * USDC, "MM equity gain {gain_mm}");
    // … but the stable price moved at most 0.01%/s × min(60 s, W) per crank …
    let stable1 = r1.markets[0].stable_spot;
    let g: f64 = keel_risk::RiskParams::DEFAULT
        .stable_growth_per_sec
        .to_num();
    let pull = 60.min(keel_tests::helpers::GUARDS.max_staleness_secs) as f64;
    let cap = (stable0 as f64 * (1.0 + g * pull).powi(5)).ceil() as i64 + 5;
    assert!(
        stable1 > stable0 && stable1 <= cap,
        "stable {stable0} -> {stable1} (cap {cap})"
    );
    // … so her IM equity rose by at most the documented amount.
    let bound_gain = 9 * 10 * (stable1 - stable0) / 10; // (1 − 10%)·|qty|·ΔS_stable
    assert!(
        r1.equity_im - r0.equity_im <= bound_gain,
        "IM equity {} -> {} (bound +{bound_gain})",
        r0.equity_im,
        r1.equity_im
    );
    let bound = w0 + bound_gain;
    let w1 = r1.withdrawable;
    assert!(w1 <= bound, "withdrawable {w0} -> {w1}, bound {bound}");
    println!(
        "pump 20x: MM equity +{} USDC, IM equity +{} USDC, IM {} -> {} USDC, withdrawable {} -> {} (bound {})",
        gain_mm / USDC,
        (r1.equity_im - r0.equity_im) / USDC,
        r0.im / USDC,
        r1.im / USDC,
        w0,
        w1,
        bound
    );

    // Withdrawing one unit more than the engine allows fails and changes nothing.
    let watch = [m_acc, t.ex.vault, t.ex.exchange, mallory.tokens];
    let bad = ix::withdraw(
        &t.ex,
        &mallory.key(),
        &m_acc,
        &mallory.tokens,
        w1 as u64 + 1,
        &metas(&[&s.btc]),
    );
    t.expect_error(
        &[bad],
        &[&mallory.kp],
        E::WithdrawalBelowInitialMargin,
        &watch,
    )
    .await;
    // Nor can the unrealised gain be paid out as a premium to her accomplice Bob: Mallory
    // "buys" one worthless put from him at (bound + 1) — refused.
    let premium = bound.max(0) + 1;
    let bribe = ix::trade(
        &t.ex,
        &s.put,
        &m_acc,
        &mallory.key(),
        &s.b,
        &s.bob.key(),
        TradeArgs {
            qty_contracts: 1,
            price_native: premium,
        },
        &metas(&[&s.btc]),
    );
    let watch = [m_acc, s.b, t.ex.exchange, s.put];
    let e = t
        .expect_failure(&[bribe], &[&mallory.kp, &s.bob.kp], &watch)
        .await;
    assert!(
        e.code == Some(keel_tests::code(E::BelowInitialMargin))
            || e.code == Some(keel_tests::code(E::TradeIncreasesRisk))
            || e.code == Some(keel_tests::code(E::PriceOutsideBand)),
        "{:?}",
        e.code
    );
    // Whatever she can take, she takes: at most the bound leaves the vault.
    if w1 > 0 {
        t.withdraw(&mallory, &m_acc, w1 as u64, &[&s.btc])
            .await
            .unwrap();
    }
    let left = vault0 - t.token_balance(&t.ex.vault.clone()).await;
    assert!(left as i64 <= bound, "{left} left the vault, bound {bound}");

    // The oracle falls back within minutes: Mallory's account is still solvent at the oracle,
    // so nobody else pays for the manipulation.
    t.advance(60).await;
    t.price_and_crank(&s.btc, 60_000).await;
    let r2 = t.margin_report(&m_acc, &[&s.btc]).await;
    assert!(r2.equity_mm > 0, "no bad debt: equity {}", r2.equity_mm);
    t.assert_conservation(&[s.a, s.b, m_acc, c_acc], &s.series())
        .await;
}
