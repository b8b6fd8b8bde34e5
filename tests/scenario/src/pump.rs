//! The Mango Markets 2022 lesson: pump the oracle 20× within minutes and show that no more than
//! the documented amount can leave the vault (README, "Manipulation resistance"): IM values
//! gains at the stable price, which moves at most `stable_growth_per_sec` per second, each
//! observation pulling it for at most the staleness window W after it (risk-model.md §4.4),
//! with a 10% long haircut; so what can leave — by withdrawal, or as a premium paid to an
//! accomplice — is at most the IM health before the pump plus (1 − h)·|qty|·ΔS_stable.

use crate::backend::Backend;
use crate::world::{code, metas, World, DAY, USDC};
use anchor_lang::prelude::Pubkey;
use keel::error::KeelError as E;
use keel::instructions::TradeArgs;
use keel_client::ix;

/// Runs the scenario on `b`.
pub async fn run<B: Backend>(b: B) -> World<B> {
    let mut w = World::start(b).await;
    let btc = w
        .create_market("BTC/USD", 60_000, false, Pubkey::default())
        .await;
    let expiry = w.b.now().await + 7 * DAY;
    let put = w.list_series(&btc, 1, 580 * USDC, expiry).await;
    let fut = w.list_series(&btc, 2, 0, expiry).await;
    let (bob, b) = w.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    // Mallory (1 000 USDC) buys 10 futures at 600 from Carol, an honest market maker; Bob is
    // her accomplice.
    let (mallory, m) = w.trader(1_000 * USDC as u64, 1_000 * USDC as u64).await;
    let (carol, c) = w.trader(100_000 * USDC as u64, 50_000 * USDC as u64).await;
    w.trade(&fut, (&mallory, &m), (&carol, &c), 10, 600 * USDC, &[btc])
        .await
        .expect("Mallory buys futures");
    let r0 = w.margin_report(&m, &[btc]).await;
    let stable0 = r0.markets[0].stable_spot;
    let vault = w.ex.vault;
    let vault0 = w.token_balance(&vault).await;

    // The pump: 60 000 → 1 200 000 USD/BTC in five one-minute steps, cranked every minute.
    let mut usd = 60_000f64;
    for _ in 0..5 {
        usd *= 20f64.powf(0.2);
        w.advance(60).await;
        w.price_and_crank(&btc, usd.round() as i64).await;
    }
    let r1 = w.margin_report(&m, &[btc]).await;
    let spot1 = r1.markets[0].spot;
    assert!(
        (11_999 * USDC..=12_001 * USDC).contains(&spot1),
        "20×: {spot1}"
    );
    assert!(
        r1.equity_mm - r0.equity_mm > 110_000 * USDC,
        "the gain at the oracle"
    );
    let g: f64 = keel_risk::RiskParams::DEFAULT
        .stable_growth_per_sec
        .to_num();
    let stable1 = r1.markets[0].stable_spot;
    // Five cranked minutes: each observation pulls for min(60 s, W).
    let pull = 60.min(crate::world::GUARDS.max_staleness_secs) as f64;
    let cap = (stable0 as f64 * (1.0 + g * pull).powi(5)).ceil() as i64 + 5;
    assert!(
        stable1 > stable0 && stable1 <= cap,
        "stable {stable0} -> {stable1} (cap {cap})"
    );
    let bound_gain = 9 * 10 * (stable1 - stable0) / 10; // (1 − 10%)·|qty|·ΔS_stable
    assert!(
        r1.equity_im - r0.equity_im <= bound_gain,
        "IM equity within the bound"
    );
    let bound = r0.withdrawable + bound_gain;
    let w1 = r1.withdrawable;
    assert!(w1 <= bound, "withdrawable {w1}, bound {bound}");

    // One unit beyond what the engine allows is refused and changes nothing.
    let watch = [m, vault, w.ex.exchange, mallory.tokens];
    let ix = ix::withdraw(
        &w.ex,
        &mallory.key(),
        &m,
        &mallory.tokens,
        w1 as u64 + 1,
        &metas(&[btc]),
    );
    w.expect_error(
        &[ix],
        &[&mallory.kp],
        E::WithdrawalBelowInitialMargin,
        &watch,
    )
    .await;
    // Nor can the gain be paid to Bob as a premium: Mallory "buys" one worthless put from him
    // at (bound + 1) — refused, nothing changed.
    let args = TradeArgs {
        qty_contracts: 1,
        price_native: bound.max(0) + 1,
    };
    let bribe = ix::trade(
        &w.ex,
        &put,
        &m,
        &mallory.key(),
        &b,
        &bob.key(),
        args,
        &metas(&[btc]),
    );
    let watch = [m, b, w.ex.exchange, put];
    w.crank_all_arrays().await;
    let before = w.snapshot(&watch).await;
    let e =
        w.b.send(&[bribe], &[&mallory.kp, &bob.kp])
            .await
            .expect_err("the bribe is refused");
    assert!(
        e.code == Some(code(E::BelowInitialMargin))
            || e.code == Some(code(E::TradeIncreasesRisk))
            || e.code == Some(code(E::PriceOutsideBand)),
        "{:?}",
        e.code
    );
    assert!(
        before == w.snapshot(&watch).await,
        "a refused bribe changed an account"
    );
    // Whatever she can take, she takes: at most the bound leaves the vault.
    if w1 > 0 {
        w.withdraw(&mallory, &m, w1 as u64, &[btc])
            .await
            .expect("withdraw what is allowed");
    }
    let left = vault0 - w.token_balance(&vault).await;
    assert!(left as i64 <= bound, "{left} left the vault, bound {bound}");

    // The oracle falls back: Mallory is still solvent at the oracle, nobody else pays.
    w.advance(60).await;
    w.price_and_crank(&btc, 60_000).await;
    let r2 = w.margin_report(&m, &[btc]).await;
    assert!(r2.equity_mm > 0, "no bad debt: equity {}", r2.equity_mm);
    w.assert_conservation("after the pump").await;
    w
}
