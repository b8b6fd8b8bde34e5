//! `keel` commands end to end on the in-process bank: the same command functions the binary
//! runs against RPC, run against `keel_bank::BankChain`, asserting on their `--output json`.
//! Markets, oracles, mints and funded wallets come from keel-tests' `TestContext` (one harness).

use anchor_lang::prelude::Pubkey;
use keel_bank::BankChain;
use keel_cli::commands::{
    account, admin, bootstrap, cranks, margin, markets, trade, verify, wallet,
};
use keel_cli::output::{print, Format};
use keel_cli::{Env, Render};
use keel_tests::book::{crash, refresh, Book};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::TestContext;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use serde_json::Value;
use solana_keypair::Keypair;
use solana_signer::Signer;

fn env(t: &TestContext, kp: &Keypair) -> Env<BankChain> {
    Env::new(t.chain(kp), kp.insecure_clone())
}

/// As [`env`], naming the oracle account of each of `markets` (they accept any update of their
/// feed, and the bank has no Pyth sponsored accounts): what `--oracle MARKET=ACCOUNT` does.
fn env_with(
    t: &TestContext,
    kp: &Keypair,
    markets: &[&keel_tests::MarketHandle],
) -> Env<BankChain> {
    let mut e = env(t, kp);
    for m in markets {
        e.oracles.overrides.insert(m.key, m.oracle);
    }
    e
}

/// What `--output json` prints for `r`, parsed back.
fn json<R: Render>(r: &R) -> Value {
    serde_json::from_str(&print(r, Format::Json)).expect("--output json is JSON")
}

fn err<T>(r: Result<T, keel_cli::CliError>) -> String {
    match r {
        Ok(_) => panic!("expected the command to fail"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn account_open_deposit_withdraw_show_close() {
    let mut t = TestContext::builder().start().await;
    let _btc = t.create_btc_market(60_000).await;
    let carol = t.user(1_000 * USDC as u64).await;
    let e = env(&t, &carol.kp);

    let opened = json(&account::open(&e, 0).await.unwrap());
    let acc: Pubkey = opened["account"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        acc,
        keel_client::pda::margin_account(&t.ex.exchange, &carol.key(), 0)
    );
    assert_eq!(opened["owner"], carol.key().to_string());

    let d = json(
        &wallet::deposit(&e, "250.5", None, 0, Some(carol.tokens))
            .await
            .unwrap(),
    );
    assert_eq!(d["amount_native"], 250_500_000);
    assert_eq!(d["collateral_native"], 250_500_000);
    assert_eq!(t.token_balance(&carol.tokens).await, 749_500_000);
    // Amounts are exact: more decimals than the mint has is refused before anything is sent.
    assert!(
        err(wallet::deposit(&e, "0.0000001", None, 0, Some(carol.tokens)).await)
            .contains("more than 6 decimal places")
    );

    let shown = json(&account::show(&e, None, 0).await.unwrap());
    assert_eq!(shown["collateral_native"], 250_500_000);
    assert_eq!(shown["deposited_native"], 250_500_000);
    assert_eq!(shown["margin"]["withdrawable"], 250_500_000);
    assert_eq!(shown["margin"]["liquidation_level"], 0);
    assert_eq!(shown["margin"]["liquidatable"], false);
    assert_eq!(shown["positions"].as_array().unwrap().len(), 0);

    // Closing with collateral fails with the program's error decoded, and what to do.
    let msg = err(account::close(&e, None, 0).await);
    assert!(
        msg.contains("close_account failed: Keel error AccountHasCollateral"),
        "{msg}"
    );
    assert!(
        msg.contains("what to do: close or settle every position and withdraw all collateral"),
        "{msg}"
    );
    // Withdrawing more than the collateral: named, with its hint.
    let msg = err(wallet::withdraw(&e, "300", None, 0, Some(carol.tokens)).await);
    assert!(
        msg.contains("InsufficientCollateral") && msg.contains("keel account show"),
        "{msg}"
    );

    let w = json(
        &wallet::withdraw(&e, "50", None, 0, Some(carol.tokens))
            .await
            .unwrap(),
    );
    assert_eq!(w["collateral_native"], 200_500_000);
    // `max` withdraws what the margin allows (all of it: no positions) to the associated token
    // account, created on the way.
    let w = json(&wallet::withdraw(&e, "max", None, 0, None).await.unwrap());
    assert_eq!(w["amount_native"], 200_500_000);
    let ata = keel_cli::env::associated_token_account(
        &carol.key(),
        &t.ex.quote_mint,
        &t.ex.token_program,
    );
    assert_eq!(w["token_account"], ata.to_string());
    assert_eq!(t.token_balance(&ata).await, 200_500_000);

    let c = json(&account::close(&e, None, 0).await.unwrap());
    assert_eq!(c["account"], acc.to_string());
    assert!(t.snapshot(&[acc]).await[0].is_none());
    // Someone else's account: refused before sending, saying whose it is.
    let (_, other) = t.trader(10 * USDC as u64, 0).await;
    assert!(err(account::close(&e, Some(other), 0).await).contains("use the owner's --keypair"));
}

/// `keel deposit` into an account in a liquidation episode passes the account's markets, so a
/// deposit that restores it ends the episode; when the margin part is refused (a stale oracle)
/// the money still goes in and the episode stays open.
#[tokio::test]
async fn a_deposit_ends_the_liquidation_episode_it_heals() {
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    k.publish_iv(&mut t, 10_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    t.liquidate(&k.larry, &k.l, &k.w, &[&k.btc], &k.series(), 1)
        .await
        .expect("a 1-bps call opens the episode");
    let e = env_with(&t, &k.wendy.kp, &[&k.btc]);
    // Two minutes later the oracle is stale: the margin part is refused, the deposit is not.
    t.advance(120).await;
    let before = t.margin_account(&k.w).await.collateral_native;
    let d = json(
        &wallet::deposit(&e, "1", None, 0, Some(k.wendy.tokens))
            .await
            .unwrap(),
    );
    let note = d["liquidation_episode"].as_str().unwrap();
    assert!(note.starts_with("still open (margin not checked"), "{note}");
    assert!(note.contains("OracleStale"), "{note}");
    assert_eq!(
        t.margin_account(&k.w).await.collateral_native,
        before + USDC
    );
    // With a fresh price, a top-up just above maintenance margin leaves it open: with vol at
    // 100%, above its 50% reference, the trigger level is raised to
    // min(MM·(1 + b·(σ − ref)/ref), IM) and she is still below it.
    refresh(&mut t, &k.btc, 57_000).await;
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    let top_up = ((r.mm - r.equity_mm) / USDC + 100).to_string();
    let d = json(
        &wallet::deposit(&e, &top_up, None, 0, Some(k.wendy.tokens))
            .await
            .unwrap(),
    );
    assert_eq!(
        d["liquidation_episode"],
        "still open (below its liquidation trigger level)"
    );
    // A top-up above the raised trigger level ends it.
    let r = t.margin_report(&k.w, &[&k.btc]).await;
    let lp = t.exchange().await.liquidation_params;
    let level = keel_tests::avsl::report_trigger_level(&r, &lp);
    assert!(level > r.equity_mm as f64, "{level} {}", r.equity_mm);
    // `keel margin` shows that level (the documented formula, to rounding), above MM, no
    // realised-vol stress, and the account below it.
    let v = json(&margin::margin(&e, Some(k.w), 0).await.unwrap());
    let shown = v["liquidation_level"].as_i64().unwrap();
    assert!(
        (shown as f64 - level).abs() <= 1e-6 * level + 2.0,
        "{shown} vs {level}"
    );
    assert!(
        shown > r.mm && shown <= r.im.max(r.mm),
        "{shown}: MM {} IM {}",
        r.mm,
        r.im
    );
    assert_eq!(v["health_liquidation"], r.equity_mm - shown);
    assert_eq!(v["stress_q32"], 1i64 << 32);
    assert_eq!(v["liquidatable"], true);
    // `keel account` shows the same level.
    let a = json(&account::show(&e, Some(k.w), 0).await.unwrap());
    assert_eq!(a["margin"]["liquidation_level"], shown);
    assert_eq!(a["margin"]["liquidatable"], true);
    assert!(margin::margin(&e, Some(k.w), 0)
        .await
        .unwrap()
        .render()
        .contains("LIQUIDATABLE (below its liquidation level)"));
    let top_up = ((level as i64 - r.equity_mm) / USDC + 100).to_string();
    let d = json(
        &wallet::deposit(&e, &top_up, None, 0, Some(k.wendy.tokens))
            .await
            .unwrap(),
    );
    assert_eq!(
        d["liquidation_episode"],
        "ended (at or above its liquidation trigger level)"
    );
    assert_eq!(t.margin_account(&k.w).await.liquidatable_since_ts, 0);
    // Without an episode there is nothing to report.
    let d = json(
        &wallet::deposit(&e, "1", None, 0, Some(k.wendy.tokens))
            .await
            .unwrap(),
    );
    assert!(d.get("liquidation_episode").is_none(), "{d}");
}

#[tokio::test]
async fn trade_is_made_by_one_party_and_taken_by_the_other() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let alice = env_with(&t, &s.alice.kp, &[&s.btc]); // maker
    let bob = env_with(&t, &s.bob.kp, &[&s.btc]); // taker

    let offer = trade::make(
        &alice,
        trade::MakeArgs {
            series: s.call,
            taker_qty: 10,
            price: "8".into(),
            taker: s.bob.key(),
            taker_account: None,
            maker_account: None,
        },
        0,
    )
    .await
    .unwrap();
    let o = json(&offer);
    assert_eq!(o["format"], "keel-trade-offer/1");
    assert_eq!(o["summary"]["taker_qty_contracts"], 10);
    assert_eq!(o["summary"]["price_native"], 8 * USDC);
    assert_eq!(o["summary"]["notional_native"], 80 * USDC);
    assert_eq!(o["summary"]["taker_fee_native"], 40_000); // 5 bps of 80 USDC
    assert_eq!(o["summary"]["taker_account"], s.b.to_string());
    let desc = o["summary"]["description"].as_str().unwrap();
    assert!(
        desc.starts_with("taker buys 10 BTC/USD call 62000 2026-01-08T00:00:00Z from maker at 8"),
        "{desc}"
    );

    // Through a file, as the binary does.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offer.json");
    std::fs::write(&path, serde_json::to_string_pretty(&offer).unwrap()).unwrap();
    let read = trade::read_offer(path.to_str().unwrap()).unwrap();

    // Without --yes the taker only sees what it would sign; nothing moves.
    let shown = json(
        &trade::take(&bob, &read, &trade::Expect::default(), false)
            .await
            .unwrap(),
    );
    assert_eq!(shown["sent"], false);
    assert_eq!(shown["summary"], o["summary"]);
    assert_eq!(t.margin_account(&s.b).await.n_positions, 0);

    // Refusals, each naming what is wrong.
    let wrong_qty = trade::Expect {
        taker_qty: Some(5),
        ..Default::default()
    };
    assert!(
        err(trade::take(&bob, &read, &wrong_qty, true).await).contains("its quantity is 10, not 5")
    );
    let wrong_price = trade::Expect {
        price: Some("7.5".into()),
        ..Default::default()
    };
    assert!(err(trade::take(&bob, &read, &wrong_price, true).await)
        .contains("its price is 8 per contract, not 7.5"));
    let mut lying = read.clone();
    lying.summary.taker_qty_contracts = 1;
    lying.summary.description = "taker buys 1 ...".into();
    let m = err(trade::take(&bob, &lying, &trade::Expect::default(), true).await);
    assert!(
        m.contains("its summary does not match its transaction") && m.contains("taker buys 10"),
        "{m}"
    );
    // Someone other than the named taker.
    let carol = t.user(0).await;
    let m = err(trade::take(
        &env_with(&t, &carol.kp, &[&s.btc]),
        &read,
        &trade::Expect::default(),
        true,
    )
    .await);
    assert!(
        m.contains(&format!("it is for taker {}", s.bob.key())),
        "{m}"
    );
    // A transaction altered after the maker signed (price 8 → 1, summary made to agree).
    let mut tx: solana_transaction::Transaction = bincode::deserialize(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &read.transaction,
        )
        .unwrap(),
    )
    .unwrap();
    let trade_ix = tx.message.instructions.last_mut().unwrap();
    trade_ix.data[16..24].copy_from_slice(&USDC.to_le_bytes());
    let mut forged = read.clone();
    forged.transaction = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        bincode::serialize(&tx).unwrap(),
    );
    // The summary is made to agree with the altered transaction, so only the signature
    // check stands between the taker and a trade the maker never signed.
    forged.summary.price_native = USDC;
    forged.summary.notional_native = 10 * USDC;
    forged.summary.taker_fee_native = 5_000;
    forged.summary.maker_fee_native = 2_000;
    forged.summary.description = forged.summary.description.replace("at 8 per", "at 1 per");
    let m = err(trade::take(&bob, &forged, &trade::Expect::default(), true).await);
    assert!(m.contains("the maker's signature does not verify"), "{m}");
    // An extra instruction smuggled in (a SOL transfer from the taker, who pays the fees).
    let mut ixs = keel_client::chain::budget_instructions(keel_client::Budget::default());
    ixs.push(solana_system_interface::instruction::transfer(
        &s.bob.key(),
        &s.alice.key(),
        1_000_000_000,
    ));
    ixs.push(keel_client::ix::trade(
        &t.ex,
        &s.call,
        &s.b,
        &s.bob.key(),
        &s.a,
        &s.alice.key(),
        keel::instructions::TradeArgs {
            qty_contracts: 10,
            price_native: 8 * USDC,
        },
        &keel_tests::helpers::metas(&[&s.btc]),
    ));
    let mut smuggled = solana_transaction::Transaction::new_with_payer(&ixs, Some(&s.bob.key()));
    smuggled.partial_sign(&[&s.alice.kp], tx.message.recent_blockhash);
    let mut bad = read.clone();
    bad.transaction = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        bincode::serialize(&smuggled).unwrap(),
    );
    let m = err(trade::take(&bob, &bad, &trade::Expect::default(), true).await);
    assert!(
        m.contains("it calls program 11111111111111111111111111111111, not only Keel"),
        "{m}"
    );
    assert_eq!(
        t.margin_account(&s.b).await.n_positions,
        0,
        "no refusal moved anything"
    );

    // The real thing.
    let expect = trade::Expect {
        series: Some(s.call),
        taker_qty: Some(10),
        price: Some("8".into()),
    };
    let done = json(&trade::take(&bob, &read, &expect, true).await.unwrap());
    assert_eq!(done["sent"], true);
    assert_eq!(done["taker_qty_after"], 10);
    let a = t.margin_account(&s.a).await;
    assert_eq!(
        a.positions[a.position_index(&s.call.to_bytes()).unwrap()].qty_contracts,
        -10
    );
    // The same file cannot be replayed.
    assert!(trade::take(&bob, &read, &expect, true).await.is_err());
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

/// A scenario with a trade done: Alice short 10 calls and long 5 futures, Bob the other side.
async fn traded() -> (TestContext, Scenario) {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    t.trade(
        &s.call,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        10,
        8 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    t.trade(
        &s.fut,
        (&s.alice, &s.a),
        (&s.bob, &s.b),
        5,
        600 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    (t, s)
}

#[tokio::test]
async fn markets_series_and_margin_breakdown() {
    let (mut t, s) = traded().await;
    // Without the oracle of the market the account uses, the margin cannot be computed and the
    // error says how to name it.
    let m = err(margin::margin(&env(&t, &s.alice.kp), None, 0).await);
    assert!(
        m.contains(&format!("--oracle {}=ACCOUNT", s.btc.key)),
        "{m}"
    );
    let e = env_with(&t, &s.alice.kp, &[&s.btc]);

    let m = json(&markets::markets(&e).await.unwrap());
    let ms = m["markets"].as_array().unwrap();
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0]["name"], "BTC/USD");
    assert_eq!(ms[0]["address"], s.btc.key.to_string());
    assert_eq!(ms[0]["contract_size"], "0.01");
    assert_eq!(ms[0]["price_native"], 600 * USDC); // 60 000 USD × 0.01
    assert_eq!(ms[0]["series_count"], 3);

    let l = json(&markets::series(&e, None).await.unwrap());
    let ls = l["series"].as_array().unwrap();
    assert_eq!(
        ls.iter()
            .map(|x| x["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["call", "put", "future"]
    );
    assert_eq!(ls[0]["strike"], "62000");
    assert_eq!(ls[1]["strike_native"], 580 * USDC);
    assert_eq!(ls[0]["open_interest_contracts"], 10);
    assert_eq!(ls[0]["address"], s.call.to_string());

    // The breakdown is what the program reports, figure for figure.
    let v = json(&margin::margin(&e, None, 0).await.unwrap());
    let r = t.margin_report(&s.a, &[&s.btc]).await;
    for (k, x) in [
        ("equity_mm", r.equity_mm),
        ("equity_im", r.equity_im),
        ("im", r.im),
        ("mm", r.mm),
        ("scan_im", r.scan_im),
        ("withdrawable", r.withdrawable),
    ] {
        assert_eq!(v[k], x, "{k}");
    }
    assert!(r.im > 0 && r.im > r.mm);
    let p = v["positions"].as_array().unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0]["qty_contracts"], -10);
    assert_eq!(p[0]["delta_q32"], r.positions[0].delta_q32);
    assert_eq!(
        p[1]["label"],
        format!(
            "BTC/USD future {}",
            keel_migrations::units::fmt_time(s.expiry)
        )
    );
    let mk = &v["markets"][0];
    assert_eq!(mk["worst_im"], r.markets[0].worst_im);
    assert_eq!(mk["worst_im_interval"], r.markets[0].worst_im_interval);
    assert_eq!(mk["anchor_ts"], r.markets[0].anchor_ts);
    assert_eq!(mk["anchor_spot"], r.markets[0].anchor_spot);
    assert_eq!(v["arrays_due"], false);
    // The worst interval is named by its ladder and the prices it spans around the anchor's.
    let name = mk["worst_im_interval_name"].as_str().unwrap();
    let (ladder, _) =
        keel_risk::array::Ladder::of_point(r.markets[0].worst_im_interval as usize).unwrap();
    assert!(
        name.starts_with(&format!(
            "#{}: {} ",
            r.markets[0].worst_im_interval,
            ladder.name()
        )) && name.contains(", price "),
        "{name}"
    );
    assert_eq!(
        mk["pnl"].as_array().unwrap().len(),
        keel_risk::array::POINTS
    );
    assert_eq!(mk["gap"], serde_json::json!(r.markets[0].gap));
    // The market's listed strikes near the price are the anchor's strike points.
    let strikes: Vec<i64> = serde_json::from_value(mk["strike_points"].clone()).unwrap();
    assert!(
        strikes.contains(&(580 * USDC)) && strikes.contains(&(620 * USDC)),
        "{strikes:?}"
    );
    // The table names the figures people look for.
    let table = margin::margin(&e, None, 0).await.unwrap().render();
    for want in [
        "initial margin",
        "maint. margin",
        "health (IM)",
        "worst IM",
        "IM interval",
        "anchor spot",
        "delta",
        "vega",
        "BTC/USD call 62000",
    ] {
        assert!(table.contains(want), "{want} missing from\n{table}");
    }
}

#[tokio::test]
async fn margin_at_a_later_time_is_what_the_program_reports_then() {
    // `keel margin --at T` (the dashboard's test values keel-client's figures at the page's
    // time): read before the clock reaches T, it is the program's own report at T.
    let (mut t, s) = traded().await;
    let e = env_with(&t, &s.alice.kp, &[&s.btc]);
    let later = t.now().await + 60;
    let v = json(&margin::margin_at(&e, None, 0, Some(later)).await.unwrap());
    assert_eq!(v["now"], later);
    t.set_time(later).await;
    let r = t.margin_report(&s.a, &[&s.btc]).await;
    assert_eq!(r.now, later);
    for (k, x) in [
        ("equity_mm", r.equity_mm),
        ("equity_im", r.equity_im),
        ("im", r.im),
        ("mm", r.mm),
        ("health_im", r.health_im),
        ("withdrawable", r.withdrawable),
    ] {
        assert_eq!(v[k], x, "{k}");
    }
    // Without --at, the cluster's clock.
    let v = json(&margin::margin(&e, None, 0).await.unwrap());
    assert_eq!(v["now"], later);
}

#[tokio::test]
async fn verify_passes_on_a_real_account_and_names_tampered_figures() {
    let (mut t, s) = traded().await;
    let e = env_with(&t, &s.alice.kp, &[&s.btc]);

    let v = verify::verify(&e, Some(s.a), 0).await.unwrap();
    let j = json(&v);
    assert_eq!(j["ok"], true, "{}", v.message);
    assert_eq!(j["bytes_identical"], true);
    // Alice's one option's risk array (its slot's series, strike, expiry and kind, then its
    // figures), 21 totals (the breakdown's, withdrawable, liquidatable, the liquidation level
    // and stress) + the market count, every figure of the one market (19, and its P&L and gap at
    // each scenario point with their counts), the position count and two positions (11 figures
    // each).
    let array = keel_risk::array::SERIES_ARRAY_BYTES / 8;
    let points = keel_risk::array::POINTS;
    assert_eq!(array, 268);
    assert_eq!(j["arrays_verified"], 1);
    assert_eq!(
        j["figures_compared"],
        (4 + array) + 21 + 1 + (19 + 2 + 2 * points) + 1 + 2 * 11
    );
    assert!(v.message.starts_with("verified: all "), "{}", v.message);

    // Tampered account bytes: one byte of Alice's collateral (the low byte of
    // `collateral_native`) flipped in the fetched account before recomputing.
    let v = verify::verify_with(&e, Some(s.a), 0, |snap| {
        let acc = snap.accounts.get_mut(&s.a).unwrap();
        let bytes = bytemuck::bytes_of_mut(acc);
        let off = core::mem::offset_of!(keel_state::MarginAccount, collateral_native);
        bytes[off] ^= 0x01;
    })
    .await
    .unwrap();
    assert!(!v.ok);
    assert_eq!(v.differences[0].field, "collateral");
    let on: i64 = v.differences[0].on_chain.parse().unwrap();
    let off: i64 = v.differences[0].off_chain.parse().unwrap();
    assert_eq!(on ^ off, 1);
    assert!(
        v.message.starts_with(&format!(
            "MISMATCH: collateral is {on} on-chain but {off} off-chain (and "
        )),
        "{}",
        v.message
    );
    assert!(v.differences.iter().any(|d| d.field == "equity_mm"));

    // A tampered market parameter: the IM long-option haircut, on Bob's long calls. Only IM
    // figures move; MM, which never haircuts, must not.
    let bob = env_with(&t, &s.bob.kp, &[&s.btc]);
    let v = verify::verify_with(&bob, None, 0, |snap| {
        let m = snap.markets.get_mut(&s.btc.key).unwrap();
        m.market.risk_params.long_haircut += keel_risk::Fx::from_num(0.1);
    })
    .await
    .unwrap();
    let fields: Vec<&str> = v.differences.iter().map(|d| d.field.as_str()).collect();
    assert!(!v.ok);
    assert_eq!(fields[0], "equity_im", "{fields:?}");
    assert!(fields.contains(&"positions[0].value_im"), "{fields:?}");
    assert!(
        !fields
            .iter()
            .any(|f| *f == "mm" || *f == "equity_mm" || f.ends_with("].value")),
        "{fields:?}"
    );
    assert!(
        v.message.starts_with("MISMATCH: equity_im is "),
        "{}",
        v.message
    );
    let table = v.render();
    assert!(table.contains("positions[0].value_im"), "{table}");

    // A tampered risk array: one figure of the call's stored lower bound, which a short
    // position does not use, so only the array comparison can catch it.
    let v = verify::verify_with(&e, Some(s.a), 0, |snap| {
        let (pk, _) = snap.page_of(&s.btc.key, 0).unwrap();
        let page = snap.pages.get_mut(&pk).unwrap();
        let slot = page
            .slots
            .iter_mut()
            .find(|x| x.series == s.call.to_bytes())
            .unwrap();
        slot.array.lo.value[17] += 1;
    })
    .await
    .unwrap();
    assert!(!v.ok);
    assert_eq!(v.differences[0].field, "positions[0].array.lo.value[17]");
    let stored: i64 = v.differences[0].on_chain.parse().unwrap();
    let again: i64 = v.differences[0].off_chain.parse().unwrap();
    assert_eq!(stored, again + 1);
    assert!(
        v.message
            .starts_with("MISMATCH: positions[0].array.lo.value[17] is "),
        "{}",
        v.message
    );

    // Not a margin account: said plainly.
    let m = err(verify::verify(&e, Some(s.call), 0).await);
    assert!(m.contains("is not a margin account"), "{m}");

    // Past the arrays' maximum age the program would refuse them: verify still recomputes them
    // from their anchor but compares no margin, and says to crank. `keel crank arrays`
    // re-anchors and re-prices; then everything verifies, and nothing more is due.
    let max_age = keel_risk::RiskParams::DEFAULT.array_max_age_secs;
    t.advance(max_age + 1).await;
    keel_tests::book::refresh(&mut t, &s.btc, 60_000).await;
    let v = verify::verify(&e, Some(s.a), 0).await.unwrap();
    assert!(!v.ok && v.arrays_due, "{}", v.message);
    assert_eq!(v.arrays_verified, 1);
    assert!(v.differences.is_empty(), "{:?}", v.differences);
    assert!(
        v.message.contains("run `keel crank arrays`"),
        "{}",
        v.message
    );
    let c = json(&cranks::crank_arrays(&e, None).await.unwrap());
    let calls = c["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "one page holds the options: {calls:?}");
    assert_eq!(calls[0]["reanchored"], true);
    assert_eq!(calls[0]["priced"], 2, "the call and the put");
    assert_eq!(calls[0]["anchor_ts"], t.now().await);
    let v = verify::verify(&e, Some(s.a), 0).await.unwrap();
    assert!(v.ok, "{}", v.message);
    let again = cranks::crank_arrays(&e, Some("BTC/USD")).await.unwrap();
    assert!(again.calls.is_empty());
    assert!(again.render().starts_with("nothing due"));
}

#[tokio::test]
async fn admin_commands_and_a_non_admin() {
    let mut t = TestContext::builder().start_bank().await;
    let admin_kp = t.admin.insecure_clone();
    let a = env(&t, &admin_kp);
    let done = json(
        &admin::exchange_init(&a, t.ex.quote_mint, "spl-token", 7, 3)
            .await
            .unwrap(),
    );
    assert_eq!(done["address"], t.ex.exchange.to_string());

    let now = t.now().await;
    let oracle = Keypair::new().pubkey();
    let feed = [9u8; 32];
    t.set_pull_oracle(
        &oracle,
        feed,
        Quote::usd(3_000, 5, now),
        VerificationLevel::Full,
    )
    .await;
    let cfg = keel_migrations::config::MarketConfig {
        name: "ETH/USD".into(),
        contract_size: "0.1".into(),
        oracle: keel_migrations::config::OracleConfig {
            kind: keel_migrations::config::OracleKind::PythPull,
            feed_id: Some(keel_migrations::config::to_hex(&feed)),
            account: None,
            price_account: Some(oracle.to_string()),
            program: None,
        },
        guards: Default::default(),
        vol_authority: None,
        risk_params: toml::from_str("im_range_sigmas = \"3.4\"").unwrap(),
        series: vec![],
    };
    let made = json(&admin::market_create(&a, &cfg).await.unwrap());
    let mkey: Pubkey = made["address"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        t.market(&mkey)
            .await
            .risk_params
            .im_range_sigmas
            .to_string(),
        "3.4"
    );

    let s = keel_migrations::config::SeriesConfig {
        kind: keel_migrations::config::SeriesKindConfig::Put,
        strike: Some("2500".into()),
        expiry: toml::Value::String("2026-03-01".into()),
    };
    // The market has no risk-array page yet: listing the option creates one first.
    let listed = json(&admin::list_series(&a, "ETH/USD", &s).await.unwrap());
    let skey: Pubkey = listed["address"].as_str().unwrap().parse().unwrap();
    let put = t.series(&skey).await;
    assert_eq!(put.strike_native, 250 * USDC);
    assert_eq!((put.array_page, put.array_slot), (0, 0));
    let details: Vec<String> = serde_json::from_value(listed["details"].clone()).unwrap();
    assert!(
        details[1].starts_with("created risk-array page 0 at "),
        "{details:?}"
    );
    assert!(
        details[2].starts_with("risk array in slot 0 of page 0"),
        "{details:?}"
    );
    // A page made by hand is the market's next; a later option still fills page 0 first.
    let page = json(&admin::create_array_page(&a, "ETH/USD").await.unwrap());
    assert!(
        page["action"]
            .as_str()
            .unwrap()
            .starts_with("risk-array page 1 of ETH/USD created"),
        "{page}"
    );
    assert_eq!(t.market(&mkey).await.array_pages, 2);
    let call = keel_migrations::config::SeriesConfig {
        kind: keel_migrations::config::SeriesKindConfig::Call,
        strike: Some("3500".into()),
        ..s.clone()
    };
    let listed = json(&admin::list_series(&a, "0", &call).await.unwrap());
    let ckey: Pubkey = listed["address"].as_str().unwrap().parse().unwrap();
    let c = t.series(&ckey).await;
    assert_eq!((c.array_page, c.array_slot), (0, 1));
    assert_eq!(listed["details"].as_array().unwrap().len(), 2, "{listed}");

    let up = json(
        &admin::market_update_params(
            &a,
            "0",
            &["long_haircut=0.2".into()],
            admin::GuardOverrides {
                max_staleness_secs: Some(30),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    let details: Vec<String> = serde_json::from_value(up["details"].clone()).unwrap();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].starts_with("risk_params.long_haircut: ") && details[0].contains(" vs 0.2"),
        "{details:?}"
    );
    let m = t.market(&mkey).await;
    assert_eq!(m.oracle.max_staleness_secs, 30);
    assert_eq!(
        m.risk_params.im_range_sigmas.to_string(),
        "3.4",
        "other parameters kept"
    );
    // The range speed limit is for futures-only markets: refused on one with a call listed,
    // by name and with what to do.
    let m = err(admin::market_update_params(
        &a,
        "0",
        &["apc_max_rise_per_day=0.03".into()],
        admin::GuardOverrides::default(),
    )
    .await);
    assert!(
        m.contains("RangeLimitWithOptions") && m.contains("futures only"),
        "{m}"
    );
    // The realised-vol stress of the liquidation trigger is a per-market switch (off by
    // default): on with a half-day τ, named in the details; a τ under an hour is refused by name
    // before anything is sent.
    assert_eq!(t.market(&mkey).await.risk_params.realised_tau_secs, 0);
    let up = json(
        &admin::market_update_params(
            &a,
            "0",
            &["realised_tau_secs=43200".into()],
            admin::GuardOverrides::default(),
        )
        .await
        .unwrap(),
    );
    assert!(
        up["details"][0]
            .as_str()
            .unwrap()
            .starts_with("risk_params.realised_tau_secs: "),
        "{up}"
    );
    assert_eq!(t.market(&mkey).await.risk_params.realised_tau_secs, 43200);
    let m = err(admin::market_update_params(
        &a,
        "0",
        &["realised_tau_secs=60".into()],
        admin::GuardOverrides::default(),
    )
    .await);
    assert!(
        m.contains("realised_tau_secs would be outside its hard bounds"),
        "{m}"
    );

    json(
        &admin::exchange_pause(&a, &["trade".into(), "withdraw".into()])
            .await
            .unwrap(),
    );
    let shown = json(&admin::exchange_show(&a).await.unwrap());
    assert_eq!(shown["paused"], serde_json::json!(["withdraw", "trade"]));
    assert_eq!(shown["taker_fee_bps"], 7);
    assert!(err(admin::exchange_pause(&a, &["everything".into()]).await)
        .contains("unknown pause flag `everything`"));

    // Someone else: the program's NotAdmin, named, with what to do.
    let mallory = t.user(0).await;
    let m = err(admin::exchange_pause(&env(&t, &mallory.kp), &["none".into()]).await);
    assert!(
        m.contains("set_pause failed: Keel error NotAdmin")
            && m.contains("sign with the exchange admin's keypair"),
        "{m}"
    );
}

#[tokio::test]
async fn bootstrap_runs_the_shipped_localnet_config_and_rerunning_changes_nothing() {
    let mut t = TestContext::builder().start_bank().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/localnet.toml"
    ))
    .unwrap();
    let mut cfg = keel_migrations::Config::from_toml(&text).unwrap();
    // The bank's own mint (as the demo does), and the local price publisher's updates at the
    // pinned oracle accounts the file names.
    cfg.exchange.quote_mint = t.ex.quote_mint.to_string();
    let now = t.now().await;
    for (m, usd) in cfg.markets.iter().zip([60_000, 3_000]) {
        let args = m.oracle_args().unwrap();
        t.set_pull_oracle(
            &args.account,
            args.feed_id,
            Quote::usd(usd, 5, now),
            VerificationLevel::Full,
        )
        .await;
    }
    let admin_kp = t.admin.insecure_clone();
    let a = env(&t, &admin_kp);
    let first = json(
        &bootstrap::bootstrap(&a, &cfg, Default::default())
            .await
            .unwrap(),
    );
    let items = first["items"].as_array().unwrap();
    // The exchange, 2 markets, 5 series, a risk-array page per market (both list options) and
    // the correlation.
    assert_eq!(items.len(), 1 + 2 + 5 + 2 + 1);
    assert!(items.iter().all(|i| i["status"] == "created"), "{items:#?}");
    assert_eq!(first["sent"].as_array().unwrap().len(), 11);
    assert_eq!(first["mismatches"], 0);

    let again = bootstrap::bootstrap(&a, &cfg, Default::default())
        .await
        .unwrap();
    let j = json(&again);
    assert_eq!(j["sent"].as_array().unwrap().len(), 0);
    assert!(j["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "exists"));
    assert!(again
        .render()
        .contains("0 transaction(s) sent; 0 mismatch(es)"));

    // What the bootstrap created is what `keel markets` / `keel series` then list.
    let ms = json(&markets::markets(&a).await.unwrap());
    assert_eq!(ms["markets"][1]["name"], "ETH/USD");
    let ss = json(&markets::series(&a, None).await.unwrap());
    assert_eq!(ss["series"].as_array().unwrap().len(), 5);
    assert_eq!(ss["series"][3]["strike"], "4000");
}

/// The binary itself: Solana CLI config wiring, usage errors and `--output json` errors.
#[test]
fn the_binary_reads_the_solana_config_and_reports_errors() {
    let bin = env!("CARGO_BIN_EXE_keel");
    let dir = tempfile::tempdir().unwrap();
    // No keypair where the config says: a usage error (exit 2) naming the file.
    let cfg = dir.path().join("config.yml");
    let missing = dir.path().join("nobody.json");
    std::fs::write(
        &cfg,
        format!(
            "---\njson_rpc_url: \"http://127.0.0.1:9\"\nkeypair_path: {}\ncommitment: processed\n",
            missing.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["-C", cfg.to_str().unwrap(), "deposit", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot read the keypair {}", missing.display())),
        "{stderr}"
    );

    // With a keypair, the URL from the config is used (nothing listens there): the failure is
    // a JSON object on stdout with --output json, and a sentence on stderr.
    let kp = dir.path().join("id.json");
    std::fs::write(
        &kp,
        serde_json::to_string(&Keypair::new().to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args([
            "-C",
            cfg.to_str().unwrap(),
            "--keypair",
            kp.to_str().unwrap(),
            "--output",
            "json",
            "verify",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("127.0.0.1:9"), "{v}");

    // `crank arrays` and `crank <market>` both parse (and go to the chain, which is not
    // there); `crank` alone is a usage error.
    for args in [
        &["crank", "arrays"][..],
        &["crank", "arrays", "BTC/USD"],
        &["crank", "BTC/USD"],
    ] {
        let out = std::process::Command::new(bin)
            .args([
                "-C",
                cfg.to_str().unwrap(),
                "--keypair",
                kp.to_str().unwrap(),
            ])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("127.0.0.1:9"), "{args:?}: {stderr}");
    }

    // Argument errors are clap's (exit 2).
    for args in [&["trade", "make", "--qty", "x"][..], &["crank"]] {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[tokio::test]
async fn crank_and_settle() {
    let (mut t, s) = traded().await;
    let e = env_with(&t, &s.bob.kp, &[&s.btc]);

    // The crank reads the (named) oracle and moves the vol state to now.
    t.advance(600).await;
    let now = t.now().await;
    t.set_price(&s.btc, Quote::usd(61_000, 5, now)).await;
    let c = json(&cranks::crank(&e, "BTC/USD").await.unwrap());
    assert_eq!(c["oracle"], s.btc.oracle.to_string());
    assert_eq!(t.market(&s.btc.key).await.vol_state.last_ts, now);
    assert_eq!(
        c["margin_vol_q32"],
        t.market(&s.btc.key).await.vol_state.margin_vol.to_bits()
    );
    // The market has no vol authority: the crank folded the option fills of the trades above
    // into its implied vol, which `keel markets` shows with its source.
    let m = t.market(&s.btc.key).await;
    assert!(m.fill_vol.fills > 0, "the crank passed the traded series");
    let listed = json(&markets::markets(&e).await.unwrap());
    let row = &listed["markets"][0];
    assert_eq!(row["vol_source"], "fills");
    assert_eq!(row["implied_vol_q32"], m.fill_vol.level.to_bits());
    // No range speed limit: the range is set from the margin vol.
    assert_eq!(row["range_vol_q32"], m.vol_state.margin_vol.to_bits());
    assert_eq!(row["range_limit_per_day_q32"], 0);
    // No realised-vol stress (the default): no realised vol kept.
    assert_eq!(row["realised_tau_secs"], 0);
    assert_eq!(row["realised_vol_q32"], 0);

    // Too early: the program's error, named, with what to do.
    let m = err(cranks::settle(&e, s.call, &[]).await);
    assert!(
        m.contains("SeriesNotExpired") && m.contains("only after expiry"),
        "{m}"
    );

    // After expiry, at 63 000 USD (the 62 000 call pays 10 USDC per contract): the series is
    // fixed, then Alice (short, paying 100) is settled before Bob (long, paid 100).
    t.set_time(s.expiry + 5).await;
    t.set_price(&s.btc, Quote::usd(63_000, 5, s.expiry)).await;
    let (ca, cb) = (
        t.margin_account(&s.a).await.collateral_native,
        t.margin_account(&s.b).await.collateral_native,
    );
    let call = t.series(&s.call).await;
    let page_before = t.market(&s.btc.key).await;
    let r = json(&cranks::settle(&e, s.call, &[]).await.unwrap());
    assert_eq!(r["series_settled_now"], true);
    assert_eq!(r["settlement_price_native"], 630 * USDC);
    // The option's risk-array slot is freed and it leaves the market's strike-point register.
    let page = s.btc.pages[call.array_page as usize];
    let page =
        keel_migrations::pages::decode_page(&t.snapshot(&[page]).await[0].as_ref().unwrap().data)
            .unwrap();
    assert!(page.slots[call.array_slot as usize].is_free());
    assert_eq!(
        t.market(&s.btc.key).await.listed_count,
        page_before.listed_count - 1
    );
    assert_eq!(
        r["accounts"],
        serde_json::json!([s.a.to_string(), s.b.to_string()])
    );
    assert_eq!(
        t.margin_account(&s.a).await.collateral_native,
        ca - 100 * USDC
    );
    assert_eq!(
        t.margin_account(&s.b).await.collateral_native,
        cb + 100 * USDC
    );
    t.assert_conservation(&s.accounts(), &s.series()).await;
    // Again: nothing left to settle in it, said plainly.
    let r = json(&cranks::settle(&e, s.call, &[]).await.unwrap());
    assert_eq!(r["series_settled_now"], false);
    assert_eq!(r["accounts"], serde_json::json!([]));
}

/// `keel demo --output json` on a short window of the bundled history: the binary prints only
/// JSON (the natively run program's own prints are silenced), and its end-of-run books balance
/// to the unit: vault == collateral + insurance + fees + settlement pools − pending social loss.
#[test]
fn the_demo_prints_a_balanced_json_summary() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prices = keel_demo::DemoConfig::default_at(&root).prices;
    if !prices.is_file() {
        println!(
            "skipped: {} not present (set KEEL_SHARED_DATA to the market history's folder)",
            prices.display()
        );
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
        .args([
            "demo",
            "--from",
            "2020-03-12",
            "--to",
            "2020-03-12",
            "--output",
            "json",
            "--out",
        ])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    let y = &s["system"];
    let n = |k: &str| y[k].as_i64().unwrap_or_else(|| panic!("{k}"));
    assert_eq!(
        y["vault_native"].as_u64().unwrap() as i64,
        n("total_collateral_native")
            + n("insurance_fund_native")
            + n("fees_native")
            + n("settlement_pools_native")
            - n("social_loss_pending_native")
    );
    assert_eq!(y["conservation_holds"], true);
    assert!(
        y["liquidation_calls"].as_u64().unwrap() > 0,
        "the crash day liquidates"
    );
    assert!(s["bars"].as_u64().unwrap() >= 12);
    assert!(out_dir.path().join("keel-demo.svg").is_file());
    // A missing price file is a usage error, not a crash.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["demo", "--prices", "/nonexistent.csv"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such price file"));
}
