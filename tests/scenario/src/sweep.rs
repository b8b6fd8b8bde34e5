//! Every per-account instruction at a given size, for compute-unit budgets: a writer (Alice)
//! holding short puts in `n_series` series spread evenly over `n_markets` markets, bought by
//! Bob; then deposit, withdraw, margin_report, update_volatility, trade at full size, a crash
//! with the implied vol at 150% that puts Alice below maintenance, liquidate by Larry,
//! margin_report, expiry, settle_series and settle_positions of all her series in one call. Every Keel call is
//! measured at shape (n_series, n_markets); conservation holds after every step.

use crate::backend::Backend;
use crate::world::{one_event, MarketHandle, World, DAY, USDC};
use anchor_lang::prelude::Pubkey;
use keel::events::Liquidated;
use keel_client::oracle::Quote;
use solana_signer::Signer;

/// Spot of every market, USD.
const SPOT: i64 = 60_000;
/// Contracts Alice writes per series.
const QTY: i64 = 10;

/// Runs the sweep at (`n_series`, `n_markets`) on `b`.
pub async fn run<B: Backend>(b: B, n_series: usize, n_markets: usize) -> World<B> {
    assert!(n_markets >= 1 && n_series >= n_markets && n_series.is_multiple_of(n_markets));
    let mut w = World::start(b).await;
    w.shape = (n_series, n_markets);
    let vol_authority = w.keypair();
    let mut markets: Vec<MarketHandle> = Vec::new();
    for i in 0..n_markets {
        let m = w
            .create_market(&format!("M{i}/USD"), SPOT, false, vol_authority.pubkey())
            .await;
        markets.push(m);
    }
    let expiry = w.b.now().await + 7 * DAY;
    // Puts from 590 USDC down in 5-USDC steps (spot 600 per contract), per market.
    let mut series: Vec<(MarketHandle, Pubkey)> = Vec::new();
    for i in 0..n_series / n_markets {
        for m in &markets {
            let s = w
                .list_series(m, 1, (590 - 5 * i as i64) * USDC, expiry)
                .await;
            series.push((*m, s));
        }
    }
    let all_series: Vec<Pubkey> = series.iter().map(|(_, s)| *s).collect();

    let (alice, a) = w
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let (bob, b) = w
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let (larry, l) = w
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let (carol, c) = w
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    // Each put is written at its mark (inside the trade band).
    for (m, s) in &series {
        let mark = w.band(m, s).await.mark;
        w.trade(s, (&bob, &b), (&alice, &a), QTY, mark, &markets)
            .await
            .expect("Alice writes a put");
        w.trade(s, (&bob, &b), (&carol, &c), QTY, mark, &markets)
            .await
            .expect("Carol writes a put");
    }
    assert_eq!(
        w.margin_account(&a).await.n_positions as usize,
        n_series,
        "Alice holds every series"
    );
    w.assert_conservation("trades").await;

    w.deposit(&alice, &a, USDC as u64).await.expect("deposit");
    w.withdraw(&alice, &a, USDC as u64, &markets)
        .await
        .expect("withdraw");
    // A usual trade at full size: Bob buys one more of the first series.
    let mark0 = w.band(&series[0].0, &series[0].1).await.mark;
    w.trade(&series[0].1, (&bob, &b), (&alice, &a), 1, mark0, &markets)
        .await
        .expect("trade at full size");
    w.assert_conservation("deposit, withdraw, trade").await;

    // Alice and Carol withdraw down to IM, as stored by their last check.
    for (u, acc) in [(&alice, a), (&carol, c)] {
        let snap = w.margin_account(&acc).await.last_margin;
        let allowed = snap.equity_im - snap.im;
        assert!(allowed > 0, "withdrawable {allowed}");
        w.withdraw(u, &acc, allowed as u64, &markets)
            .await
            .expect("withdraw to IM");
    }
    w.assert_conservation("withdraw to IM").await;

    // The crash: implied vol 150%, every market 15% down in three cranked steps.
    for m in &markets {
        w.publish_iv(m, &vol_authority, 15_000).await;
    }
    for step in 1..=3 {
        w.advance(600).await;
        for m in &markets {
            w.price_and_crank(m, SPOT - SPOT * 15 * step / 300).await;
        }
    }
    w.assert_conservation("crash").await;

    // The worst-case trade: Alice (below IM) buys back one put from Carol (below IM) at the
    // bottom of the band (no worse than the mark for her). Each
    // side is below IM after the fill, so each also computes its margin before it: four margin
    // computations. Alice's side passes (reduce-only, IM lower, health better); Carol's short
    // grows, so the last check refuses it: measured through the refusal, which comes after all
    // four computations (a passing one would add only the writes and the event).
    let lo = w.band(&markets[0], &series[0].1).await.lo;
    let args = keel::instructions::TradeArgs {
        qty_contracts: 1,
        price_native: lo,
    };
    let ix = keel_client::ix::trade(
        &w.ex,
        &series[0].1,
        &a,
        &alice.key(),
        &c,
        &carol.key(),
        args,
        &crate::world::metas(&markets),
    );
    let watch = [a, c, series[0].1, w.ex.exchange];
    w.crank_all_arrays().await;
    let before = w.snapshot(&watch).await;
    let e =
        w.b.send(&[ix], &[&alice.kp, &carol.kp])
            .await
            .expect_err("the maker side is refused");
    assert!(
        before == w.snapshot(&watch).await,
        "a refused trade changed an account"
    );
    if e.code
        == Some(crate::world::code(
            keel::error::KeelError::TradeIncreasesRisk,
        ))
    {
        assert!(
            e.logs.iter().any(|l| l.contains("below IM: im")),
            "refused by the risk-reduction rule"
        );
        // Only the VM reports CU (the natively registered program logs no "consumed" line); a
        // budget for it that goes unmeasured fails the SBF run.
        let usual = w.max_cu("trade");
        if let (Some(cu), Some(usual)) = (crate::backend::program_cu(&e.logs), usual) {
            assert!(
                cu > usual,
                "four computations ({cu} CU) cost more than two ({usual})"
            );
            w.measured.push(crate::world::Measured {
                instruction: "trade_both_below_im",
                series: n_series,
                markets: n_markets,
                cu,
            });
        }
    } else {
        // Out of compute before the rule could answer: recorded (a known failure where the
        // budget file says so), not fatal, so the rest of the sweep is measured at this size.
        assert!(e.code.is_none(), "unexpected refusal {:?}", e.code);
        w.failures.push(("trade_both_below_im", e.error.clone()));
    }

    // Alice is below the danger level, where the plan takes the whole account: Larry limits
    // himself to half of it, so she still holds every series for the margin report and the
    // settlement measured below.
    let ok = match w
        .liquidate(&larry, &l, &a, &markets, &all_series, 5_000)
        .await
    {
        Ok(ok) => ok,
        // Out of compute: recorded (a known failure where the budget file says so); the rest
        // of the sweep needs the liquidation, so it ends here.
        Err(e) if e.code.is_none() => {
            w.failures.push(("liquidate", e.error.clone()));
            return w;
        }
        Err(e) => panic!("liquidate (Alice below MM after the crash): {e:?}"),
    };
    let ev: Liquidated = one_event(&ok);
    assert_eq!(
        ev.fraction_q32,
        (5_000i64 << 32) / 10_000,
        "the liquidator's own limit"
    );
    w.assert_conservation("liquidate").await;

    // margin_report of Alice, still holding every series. A failure is recorded, not fatal,
    // so the settlement below is measured at this size too.
    match w.try_margin_report(&a, &markets).await {
        Ok(r) => assert_eq!(r.positions.len(), n_series),
        Err(e) => w.failures.push((
            "margin_report",
            format!(
                "{} ({})",
                e.error,
                e.logs
                    .iter()
                    .find(|l| l.contains("Error"))
                    .cloned()
                    .unwrap_or_default()
            ),
        )),
    }

    // Expiry at the crash price: every series settles, then Alice's positions in one call.
    w.b.set_time(expiry + 20).await;
    let usd = SPOT - SPOT * 15 / 100;
    for m in &markets {
        let q = Quote {
            prev_publish_time: expiry - 3,
            ..Quote::usd(usd, 5, expiry + 2)
        };
        w.set_price(m, q).await;
    }
    for (m, s) in &series {
        w.settle_series(m, s).await.expect("settle_series");
    }
    w.assert_conservation("settle_series").await;
    // Losers first (Alice, Carol and Larry are short the puts), so the pools can pay Bob.
    for acc in [a, c, l, b] {
        let held = w.held_series(&acc).await;
        w.settle_positions(&acc, &held)
            .await
            .expect("settle_positions");
        w.assert_conservation("settle_positions").await;
    }
    w
}
