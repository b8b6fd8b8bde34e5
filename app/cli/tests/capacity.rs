//! The largest accounts fit one transaction each: an account at full capacity — 32 positions
//! spread over 4 markets (every position slot and every market slot), with correlations
//! between all its markets — is withdrawn from and traded by the `keel` CLI, and liquidated by
//! the keeper, each in one transaction no larger than Solana's 1 232-byte packet.
//!
//! The bank does not limit transaction size, so keel-bank's `BankChain` refuses what a node
//! would (`SendError::TooLarge`) and this test measures each transaction's serialized size
//! itself. A legacy `liquidate` of this account names ~50 accounts and cannot fit; the keeper
//! puts the shared accounts in its address lookup tables and sends v0. The trade's counterparty
//! holds positions on 3 other markets, so the trade's margin check names 7 markets and their 21
//! correlations: the CLI's maker does the same with her own tables, and the taker resolves them
//! from the chain.
//!
//! Compute: the program runs natively in this bank, so the compute units of these very
//! instructions are measured on keel.so in the SBF VM (tests/sbf: `liquidate` at 32 series over
//! 4 markets within the same 1.4M limit the keeper and CLI request) and on a real validator
//! (`validator.rs`).

use anchor_lang::prelude::Pubkey;
use keel::instructions::CreateCorrelationArgs;
use keel_bank::BankChain;
use keel_cli::commands::{trade, wallet};
use keel_cli::Env;
use keel_client::chain::{compile, transaction_size, PACKET_DATA_SIZE};
use keel_client::lookup::LookupTables;
use keel_client::view::{OracleDirectory, Snapshot};
use keel_client::{ix, Budget, Chain};
use keel_keeper::{Action, Keeper, KeeperConfig};
use keel_tests::helpers::btc_market_args;
use keel_tests::scenario::{DAY, USDC};
use keel_tests::{MarketHandle, TestContext};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Markets, series per market on Alice's 4 markets.
const PER_MARKET: usize = 8;

/// The oracle directory of `markets` (they accept any update of their feed).
fn oracles(markets: &[MarketHandle]) -> OracleDirectory {
    let mut o = OracleDirectory::default();
    for m in markets {
        o.overrides.insert(m.key, m.oracle);
    }
    o
}

fn env(t: &TestContext, kp: &Keypair, markets: &[MarketHandle]) -> Env<BankChain> {
    let chain = t.chain(kp).with_lookup_tables(LookupTables::default());
    let mut e = Env::new(chain, kp.insecure_clone());
    e.oracles = oracles(markets);
    e
}

/// Size of `ixs` as a legacy transaction paid by `payer` with `signers`.
fn legacy_size(
    payer: &Keypair,
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    signers: &[&Keypair],
) -> usize {
    // Without tables `compile` refuses what does not fit: measure the message instead.
    match compile(
        payer,
        ixs,
        signers,
        Budget::default(),
        solana_hash::Hash::default(),
        &[],
    ) {
        Ok(tx) => transaction_size(&tx),
        Err(keel_client::SendError::TooLarge { size }) => size,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_full_account_is_withdrawn_from_traded_and_liquidated_in_one_transaction_each() {
    let mut t = TestContext::builder().start().await;
    let admin = t.admin.insecure_clone();
    let va = Keypair::new();
    let mut markets: Vec<MarketHandle> = Vec::new();
    for i in 0..7u8 {
        let mut args = btc_market_args([i + 1; 32], None);
        args.vol_authority = va.pubkey();
        let m = t
            .create_market_with(args, Keypair::new().pubkey(), 60_000)
            .await
            .unwrap();
        markets.push(m);
    }
    // Correlations between every pair of markets (21).
    for group in [&markets[..]] {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                let c = ix::create_correlation(
                    &t.ex,
                    &admin.pubkey(),
                    &a.key,
                    &b.key,
                    CreateCorrelationArgs {
                        tau_secs: 30 * DAY,
                        min_interval_secs: 60,
                        max_sync_secs: 5,
                    },
                );
                t.send(&[c], &[&admin]).await.unwrap();
            }
        }
    }
    let expiry = t.now().await + 14 * DAY;
    let mut series: Vec<(MarketHandle, Pubkey)> = Vec::new();
    for i in 0..PER_MARKET {
        for m in &markets[..4] {
            let s = t
                .list_series(m, 1, (590 - 5 * i as i64) * USDC, expiry)
                .await;
            series.push((*m, s));
        }
    }
    let others: Vec<Pubkey> = {
        let mut v = Vec::new();
        for m in &markets[4..] {
            v.push(t.list_series(m, 1, 580 * USDC, expiry).await);
        }
        v
    };
    let (alice, a) = t.trader(400_000 * USDC as u64, 200_000 * USDC as u64).await;
    let (bob, b) = t
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let (carol, c) = t
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let (dave, d) = t
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let (larry, l) = t
        .trader(2_000_000 * USDC as u64, 1_000_000 * USDC as u64)
        .await;
    let all: Vec<&MarketHandle> = markets.iter().collect();
    for (m, s) in &series {
        let mark = t.band(m, s).await.mark;
        t.trade(s, (&bob, &b), (&alice, &a), 10, mark, &all)
            .await
            .expect("Alice writes a put");
    }
    for (m, s) in markets[4..].iter().zip(&others) {
        let mark = t.band(m, s).await.mark;
        t.trade(s, (&carol, &c), (&dave, &d), 10, mark, &all)
            .await
            .expect("Dave writes a put");
    }
    let acc = t.margin_account(&a).await;
    assert_eq!(acc.n_positions as usize, 32, "every position slot");
    assert_eq!(acc.used_markets().count(), 4, "every market slot");
    let account_keys = [a, b, c, d, l];
    let series_keys: Vec<Pubkey> = series
        .iter()
        .map(|(_, s)| *s)
        .chain(others.clone())
        .collect();
    t.assert_conservation(&account_keys, &series_keys).await;

    // 1. Withdraw with the CLI: its margin check names the 4 markets, their oracles, the risk-
    //    array page of each market (her 8 series of a market share one 16-slot page) and the 6
    //    correlations — a legacy transaction fits.
    let e = env(&t, &alice.kp, &markets);
    let snap = Snapshot::load(&e.chain, &e.oracles).await.unwrap();
    let metas = snap.margin_metas(&[&snap.accounts[&a]], &[]).unwrap();
    assert_eq!(
        metas.len(),
        4 * 2 + 4 + 6,
        "her markets, oracles, pages and their correlations"
    );
    let w_ix = ix::withdraw(&t.ex, &alice.key(), &a, &alice.tokens, USDC as u64, &metas);
    let size = legacy_size(&alice.kp, &[w_ix], &[]);
    println!("withdraw at 32 series over 4 markets: {size} bytes (legacy)");
    assert!(size <= PACKET_DATA_SIZE);
    // Down to her initial margin (`withdraw max`): the crash below then finds her below MM.
    let before = t.token_balance(&alice.tokens).await;
    let moved = wallet::withdraw(&e, "max", Some(a), 0, Some(alice.tokens))
        .await
        .expect("withdraw in one transaction");
    assert!(moved.amount_native > 100_000 * USDC as u64);
    assert_eq!(
        t.token_balance(&alice.tokens).await - before,
        moved.amount_native
    );
    t.assert_conservation(&account_keys, &series_keys).await;

    // 2. Trade with the CLI: Alice (maker, full, at her IM) buys back one put of her first
    //    series from Dave (taker, 3 other markets). The margin check names 7 markets: legacy does not fit,
    //    so the maker signs a v0 transaction through her lookup tables.
    let (m0, s0) = series[0];
    let mark = t.band(&m0, &s0).await.mark;
    let snap = Snapshot::load(&e.chain, &e.oracles).await.unwrap();
    let metas = snap
        .margin_metas(&[&snap.accounts[&d], &snap.accounts[&a]], &[s0])
        .unwrap();
    let t_ix = ix::trade(
        &t.ex,
        &s0,
        &d,
        &dave.key(),
        &a,
        &alice.key(),
        keel::instructions::TradeArgs {
            qty_contracts: -1,
            price_native: mark,
        },
        &metas,
    );
    let size = legacy_size(&dave.kp, std::slice::from_ref(&t_ix), &[&alice.kp]);
    println!("trade, full account against 3 other markets: {size} bytes as legacy");
    assert!(size > PACKET_DATA_SIZE, "this trade needs lookup tables");
    // The maker's tables hold the trade's shared accounts (what `trade make` does itself on a
    // live cluster, waiting a slot; the bank moves a slot only when told).
    let done = keel_client::lookup::ensure(
        &e.chain,
        e.chain.lookup_tables().unwrap(),
        &alice.kp,
        &keel_cli::env::lookup_candidates(&[t_ix]),
    )
    .await
    .unwrap();
    assert_eq!(done.created.len(), 1);
    t.advance(1).await;
    let price = format!("{}.{:06}", mark / USDC, mark % USDC);
    let offer = trade::make(
        &e,
        trade::MakeArgs {
            series: s0,
            taker_qty: -1,
            price: price.clone(),
            taker: dave.key(),
            taker_account: Some(d),
            maker_account: Some(a),
        },
        0,
    )
    .await
    .expect("maker signs");
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &offer.transaction,
    )
    .unwrap();
    println!("trade as v0: {} bytes", bytes.len());
    assert!(bytes.len() <= PACKET_DATA_SIZE);
    let taker = env(&t, &dave.kp, &markets);
    let taken = trade::take(
        &taker,
        &offer,
        &trade::Expect {
            series: Some(s0),
            taker_qty: Some(-1),
            price: Some(price),
        },
        true,
    )
    .await
    .expect("taker checks the resolved accounts, signs and sends");
    assert_eq!(taken.taker_qty_after, Some(-1));
    let after = t.margin_account(&a).await;
    assert_eq!(after.n_positions, 32);
    let i = after.position_index(&s0.to_bytes()).unwrap();
    assert_eq!(
        after.positions[i].qty_contracts, -9,
        "Alice bought one back"
    );
    t.assert_conservation(&account_keys, &series_keys).await;

    // 3. Liquidate with the keeper: a crash on Alice's 4 markets with the implied vol at 150%.
    for m in &markets {
        let ix = ix::publish_implied_vol(&m.key, &va.pubkey(), 15_000);
        t.send(&[ix], &[&va]).await.unwrap();
    }
    for step in 1..=3 {
        t.advance(600).await;
        for m in &markets {
            t.price_and_crank(m, 60_000 - 60_000 * 15 * step / 300)
                .await;
        }
    }
    let chain = t
        .chain(&larry.kp)
        .with_lookup_tables(LookupTables::default());
    let config = KeeperConfig {
        oracles: oracles(&markets),
        ..KeeperConfig::default()
    };
    let mut keeper = Keeper::new(config, larry.kp.insecure_clone(), l);
    let snap = Snapshot::load(&chain, &keeper.config.oracles)
        .await
        .unwrap();
    // Below MM on the risk arrays as the keeper's own array cranks will leave them (the crash
    // moved the markets beyond their anchors; its pass re-anchors before it liquidates).
    let (cranked, due) = snap.with_arrays_cranked(snap.now);
    for m in &markets {
        assert!(due.reanchor.contains(&m.key), "a crashed market re-anchors");
    }
    assert!(cranked
        .margin(&cranked.accounts[&a], None)
        .unwrap()
        .is_liquidatable());
    let liq = ix::liquidate(
        &t.ex,
        &a,
        &l,
        &larry.key(),
        10_000,
        &snap
            .liquidate_metas(&snap.accounts[&a], &snap.accounts[&l])
            .unwrap(),
    );
    let size = legacy_size(&larry.kp, std::slice::from_ref(&liq), &[]);
    println!("liquidate at 32 series over 4 markets: {size} bytes as legacy");
    assert!(
        size > PACKET_DATA_SIZE,
        "a legacy liquidate of a full account cannot be sent"
    );
    // The keeper's tables: everything its transactions name; usable from the next slot.
    let done = keeper.prepare(&chain, &snap).await.unwrap();
    assert!(!done.created.is_empty() && done.appended >= 4 + 14 + 21 + 35);
    t.advance(1).await;
    let tables = chain
        .lookup_tables()
        .unwrap()
        .active(chain.slot().await.unwrap());
    let tx = compile(
        &larry.kp,
        &[liq],
        &[&larry.kp],
        Budget::default(),
        solana_hash::Hash::default(),
        &tables,
    )
    .expect("fits through the keeper's tables");
    println!("liquidate as v0: {} bytes", transaction_size(&tx));
    assert!(transaction_size(&tx) <= PACKET_DATA_SIZE);
    // Fresh prices, then one keeper pass: the liquidation is one transaction.
    for m in &markets {
        let now = t.now().await;
        t.set_price(m, keel_client::oracle::Quote::usd(51_000, 5, now))
            .await;
    }
    let r = keeper.tick(&chain).await.unwrap();
    let liqs: Vec<_> = r
        .outcomes
        .iter()
        .filter(|o| matches!(o.action, Action::Liquidate { account, .. } if account == a))
        .collect();
    assert_eq!(liqs.len(), 1, "{:#?}", r.outcomes);
    let sent = liqs[0].result.as_ref().expect("the liquidation landed");
    let ev = liqs[0].liquidated.clone().expect("Liquidated event");
    assert!(ev.fraction_q32 > 0 && !ev.transfers.is_empty());
    assert!(!sent.signature.is_empty());
    assert_eq!(t.margin_account(&a).await.liquidations, 1);
    t.assert_conservation(&account_keys, &series_keys).await;
}
