//! The full lifecycle of the issue: exchange and a `PriceUpdateV2` market, series, two traders
//! trading a short/long call and a put spread, a price move and the vol crank raising margin, a
//! withdrawal beyond IM refused, expiry and settlement paying the right amounts to the unit.

use keel::events::{PositionSettled, SeriesSettled, Traded, VolatilityUpdated};
use keel_tests::oracle::Quote;
use keel_tests::TestContext;

const USDC: i64 = 1_000_000;
const DAY: i64 = 86_400;

/// ⌈|q|·p·bps / 10 000⌉, the fee formula written out independently.
fn fee(q: i64, p: i64, bps: i64) -> i64 {
    let n = q.abs() * p * bps;
    (n + 9_999) / 10_000
}

#[tokio::test]
async fn full_lifecycle() {
    let mut t = TestContext::builder().fees(5, 2).start().await;
    let btc = t.create_btc_market(60_000).await;
    let m0 = t.market(&btc.key).await;
    assert_eq!(
        m0.last_oracle.price_native,
        600 * USDC,
        "0.01 BTC at 60 000 = 600 USDC"
    );

    let start = t.now().await;
    let expiry = start + 7 * DAY;
    let call = t.list_series(&btc, 0, 620 * USDC, expiry).await;
    let put_hi = t.list_series(&btc, 1, 580 * USDC, expiry).await;
    let put_lo = t.list_series(&btc, 1, 560 * USDC, expiry).await;
    let all_series = [call, put_hi, put_lo];

    let (alice, a_acc) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let (bob, b_acc) = t.trader(10_000 * USDC as u64, 2_000 * USDC as u64).await;
    let accounts = [a_acc, b_acc];
    t.assert_conservation(&accounts, &all_series).await;

    // Bob (taker) buys 10 calls from Alice at 8 USDC; buys the 580 put at 10, sells the 560 put
    // at 4: Alice is short the call and short the put spread.
    let ok = t
        .trade(
            &call,
            (&bob, &b_acc),
            (&alice, &a_acc),
            10,
            8 * USDC,
            &[&btc],
        )
        .await
        .expect("call trade");
    let ev = ok.event::<Traded>();
    assert_eq!(ev.taker_fee_native, fee(10, 8 * USDC, 5));
    assert_eq!(ev.maker_fee_native, fee(10, 8 * USDC, 2));
    assert_eq!(ev.open_interest_contracts, 10);
    t.assert_conservation(&accounts, &all_series).await;
    t.trade(
        &put_hi,
        (&bob, &b_acc),
        (&alice, &a_acc),
        10,
        10 * USDC,
        &[&btc],
    )
    .await
    .expect("580 put");
    t.trade(
        &put_lo,
        (&bob, &b_acc),
        (&alice, &a_acc),
        -10,
        4 * USDC,
        &[&btc],
    )
    .await
    .expect("560 put");
    t.assert_conservation(&accounts, &all_series).await;

    let mut alice_c = 5_000 * USDC + 80 * USDC - fee(10, 8 * USDC, 2) + 100 * USDC
        - fee(10, 10 * USDC, 2)
        - 40 * USDC
        - fee(10, 4 * USDC, 2);
    let mut bob_c =
        2_000 * USDC - 80 * USDC - fee(10, 8 * USDC, 5) - 100 * USDC - fee(10, 10 * USDC, 5)
            + 40 * USDC
            - fee(10, 4 * USDC, 5);
    assert_eq!(t.margin_account(&a_acc).await.collateral_native, alice_c);
    assert_eq!(t.margin_account(&b_acc).await.collateral_native, bob_c);
    let a = t.margin_account(&a_acc).await;
    assert_eq!(a.n_positions, 3);
    let qty = |acc: &keel_state::MarginAccount, s: anchor_lang::prelude::Pubkey| {
        acc.positions[acc.position_index(&s.to_bytes()).unwrap()].qty_contracts
    };
    assert_eq!(
        (qty(&a, call), qty(&a, put_hi), qty(&a, put_lo)),
        (-10, -10, 10)
    );

    // Two hours of violent two-way moves (±5% every ten minutes, back at 60 000 at the end):
    // the spot is where it started, the vol crank raises volatility, margin rises.
    let before = t.margin_report(&a_acc, &[&btc]).await;
    let vol_before = t.market(&btc.key).await.vol_state.margin_vol;
    for step in 1..=12 {
        t.advance(600).await;
        let usd = if step % 2 == 1 { 63_000 } else { 60_000 };
        let ok = t.price_and_crank(&btc, usd).await;
        let v = ok.event::<VolatilityUpdated>();
        assert_eq!(v.price_native, usd / 100 * USDC);
        assert_eq!(v.dt_secs, 600);
    }
    let m = t.market(&btc.key).await;
    let vol_after = m.vol_state.margin_vol;
    assert!(vol_after > vol_before, "vol {vol_before} -> {vol_after}");
    assert_eq!(m.vol_state.n_obs, 13);
    let after = t.margin_report(&a_acc, &[&btc]).await;
    assert_eq!(after.markets[0].spot, before.markets[0].spot, "same spot");
    assert_eq!(after.markets[0].sigma_q32, vol_after.to_bits());
    // Maintenance margin scales with the vol in force. IM here is set by a named shock (the
    // +39% squeeze on the short call, deep in the money, where vol matters little): it does not
    // rise, but the higher marks cut IM equity, so the account's IM headroom shrinks.
    assert!(after.mm > before.mm, "MM {} -> {}", before.mm, after.mm);
    assert!(
        after.equity_im - after.im < before.equity_im - before.im,
        "IM health {} -> {}",
        before.equity_im - before.im,
        after.equity_im - after.im
    );
    println!(
        "vol {vol_before} -> {vol_after}; Alice IM {} -> {}, MM {} -> {}, equity_im {}",
        before.im, after.im, before.mm, after.mm, after.equity_im
    );

    // A withdrawal one unit beyond what IM allows is refused and changes nothing; exactly the
    // allowed amount goes through.
    let w = after.withdrawable;
    assert!(w > 0 && w < alice_c, "withdrawable {w} of {alice_c}");
    assert_eq!(w, after.equity_im - after.im);
    let watch = [a_acc, t.ex.vault, alice.tokens, t.ex.exchange];
    let ix = keel_tests::ix::withdraw(
        &t.ex,
        &alice.key(),
        &a_acc,
        &alice.tokens,
        w as u64 + 1,
        &keel_tests::helpers::metas(&[&btc]),
    );
    t.expect_error(
        &[ix],
        &[&alice.kp],
        keel::error::KeelError::WithdrawalBelowInitialMargin,
        &watch,
    )
    .await;
    let wallet = t.token_balance(&alice.tokens).await;
    t.withdraw(&alice, &a_acc, w as u64, &[&btc])
        .await
        .expect("withdraw at IM");
    assert_eq!(t.token_balance(&alice.tokens).await, wallet + w as u64);
    alice_c -= w;
    assert_eq!(t.margin_account(&a_acc).await.collateral_native, alice_c);
    t.assert_conservation(&accounts, &all_series).await;

    // Expiry: the oracle update covering the expiry says 65 000 → 650 USDC per contract.
    t.set_time(expiry + 20).await;
    t.set_price(
        &btc,
        Quote {
            prev_publish_time: expiry - 3,
            ..Quote::usd(65_000, 5, expiry + 2)
        },
    )
    .await;
    for s in &all_series {
        let ok = t.settle_series(&btc, s).await.expect("settle_series");
        let e = ok.event::<SeriesSettled>();
        assert_eq!(e.settlement_price_native, 650 * USDC);
        assert!(!e.by_admin);
    }
    // Losers first: Alice pays 10 × (650 − 620) = 300 USDC into the call's pool; both puts
    // expire worthless.
    let ok = t
        .settle_positions(&a_acc, &all_series)
        .await
        .expect("settle Alice");
    let payouts: Vec<i64> = ok
        .events::<PositionSettled>()
        .iter()
        .map(|e| e.payout_native)
        .collect();
    assert_eq!(payouts, vec![-300 * USDC, 0, 0]);
    assert_eq!(t.series(&call).await.settlement_pool_native, 300 * USDC);
    t.assert_conservation(&accounts, &all_series).await;
    let ok = t
        .settle_positions(&b_acc, &all_series)
        .await
        .expect("settle Bob");
    let payouts: Vec<i64> = ok
        .events::<PositionSettled>()
        .iter()
        .map(|e| e.payout_native)
        .collect();
    assert_eq!(payouts, vec![300 * USDC, 0, 0]);
    alice_c -= 300 * USDC;
    bob_c += 300 * USDC;

    let (a, b) = (
        t.margin_account(&a_acc).await,
        t.margin_account(&b_acc).await,
    );
    assert_eq!(a.collateral_native, alice_c, "Alice to the unit");
    assert_eq!(b.collateral_native, bob_c, "Bob to the unit");
    assert_eq!((a.n_positions, b.n_positions), (0, 0));
    assert_eq!(a.realised_pnl_native, -300 * USDC);
    assert_eq!(b.realised_pnl_native, 300 * USDC);
    for s in &all_series {
        let s = t.series(s).await;
        assert_eq!(s.settlement_pool_native, 0);
        assert_eq!(s.open_interest_contracts, 0);
        assert_eq!(s.holders, 0);
    }
    let ex = t.exchange().await;
    let fees = fee(10, 8 * USDC, 5)
        + fee(10, 8 * USDC, 2)
        + fee(10, 10 * USDC, 5)
        + fee(10, 10 * USDC, 2)
        + fee(10, 4 * USDC, 5)
        + fee(10, 4 * USDC, 2);
    assert_eq!(ex.fees_native, fees);
    assert_eq!(ex.total_collateral_native, alice_c + bob_c);
    t.assert_conservation(&accounts, &all_series).await;

    // Bob takes everything out and closes his account; the rent comes back.
    t.withdraw(&bob, &b_acc, bob_c as u64, &[])
        .await
        .expect("withdraw all");
    let lamports = t.pt.banks_client.get_balance(bob.key()).await.unwrap();
    t.send(
        &[keel_tests::ix::close_account(&bob.key(), &b_acc)],
        &[&bob.kp],
    )
    .await
    .expect("close");
    assert!(t
        .pt
        .banks_client
        .get_account(b_acc)
        .await
        .unwrap()
        .is_none());
    assert!(t.pt.banks_client.get_balance(bob.key()).await.unwrap() > lamports);
    t.assert_conservation(&accounts, &all_series).await;
}
