//! The keeper's RPC side against a real node: the same Keel accounts loaded into the bank and,
//! at genesis (`--account`), into a real `solana-test-validator` (agave 4.2.2, running keel.so:
//! keel_client::localnet); the keeper's JSON-RPC `Chain` (getProgramAccounts with a
//! discriminator filter, getMultipleAccounts, the Clock sysvar) must find, decode and rank them
//! exactly as its bank `Chain` does. (The program itself acting over RPC is
//! app/cli/tests/validator.rs.)
//!
//! Skipped, with a message, when the `solana-test-validator` binary is absent (install:
//! keel_client::localnet::INSTALL; set `KEEL_TEST_VALIDATOR` to its path if it is not on
//! `PATH` or in ~/.cargo/bin).

use base64::Engine;
use keel_client::localnet::{validator_binary, LocalValidator, INSTALL};
use keel_client::rpc::RpcChain;
use keel_client::view::{OracleDirectory, Snapshot};
use keel_client::{Chain, Pubkey};
use keel_keeper::plan::plan;
use keel_keeper::Policy;
use keel_tests::book::{crash, Book};
use keel_tests::scenario::USDC;
use keel_tests::TestContext;
use solana_account::Account;
use std::time::Instant;

/// The `solana account --output json` form `--account` reads.
fn account_json(key: &Pubkey, a: &Account) -> String {
    serde_json::json!({
        "pubkey": key.to_string(),
        "account": {
            "lamports": a.lamports,
            "data": [base64::engine::general_purpose::STANDARD.encode(&a.data), "base64"],
            "owner": a.owner.to_string(),
            "executable": a.executable,
            "rentEpoch": 0,
            "space": a.data.len(),
        }
    })
    .to_string()
}

#[tokio::test]
async fn rpc_chain_finds_decodes_and_ranks_like_the_bank() {
    if validator_binary().is_none() {
        println!("skipped: solana-test-validator not found (set KEEL_TEST_VALIDATOR, or build it: {INSTALL})");
        return;
    }

    // Two put writers of different sizes below MM after a crash, a healthy counterparty and
    // liquidator, on the bank.
    let mut t = TestContext::builder().start().await;
    let k = Book::new(&mut t, 5_500 * USDC, 100).await;
    let (xavier, x) = t.trader(20_000 * USDC as u64, 2_000 * USDC as u64).await;
    t.trade(
        &k.put,
        (&k.bob, &k.b),
        (&xavier, &x),
        30,
        9 * USDC,
        &[&k.btc],
    )
    .await
    .unwrap();
    k.publish_iv(&mut t, 10_000).await;
    crash(&mut t, &k.btc, 60_000, 57_000, 2).await;
    let now = t.now().await;
    let mut oracles = OracleDirectory::default();
    oracles.overrides.insert(k.btc.key, k.btc.oracle);
    let policy = Policy {
        liquidator_account: Some(k.l),
        ..Policy::default()
    };
    let bank = t.chain(&k.larry.kp);
    let bank_snap = Snapshot::load(&bank, &oracles).await.unwrap();
    let bank_plan = plan(&bank_snap, now, &policy);
    assert_eq!(bank_plan.liquidatable.len(), 2, "two accounts to rank");

    // Every account the bank knows that the keeper reads: Keel's, and the oracle.
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = Vec::new();
    let mut keys = t.known.all();
    keys.push(k.btc.oracle);
    let accounts = bank.accounts(&keys).await.unwrap();
    let mut n = 0;
    for (key, acc) in keys.iter().zip(accounts) {
        let Some(acc) = acc else { continue };
        if acc.owner != keel::ID && *key != k.btc.oracle {
            continue;
        }
        let f = dir.path().join(format!("{key}.json"));
        std::fs::write(&f, account_json(key, &acc)).unwrap();
        args.extend(["--account".into(), key.to_string(), f.display().to_string()]);
        n += 1;
    }
    let start = Instant::now();
    let v = LocalValidator::start(dir.path(), &args).await.unwrap();
    let rpc = RpcChain::new(
        &v.rpc_url,
        solana_commitment_config::CommitmentConfig::confirmed(),
        k.larry.kp.insecure_clone(),
        keel::ID,
    );
    println!(
        "validator up in {:.1} s with {n} preloaded accounts",
        start.elapsed().as_secs_f64()
    );

    let rpc_snap = Snapshot::load(&rpc, &oracles).await.unwrap();
    assert_eq!(rpc_snap.exchange, bank_snap.exchange);
    assert_eq!(
        rpc_snap.accounts, bank_snap.accounts,
        "margin accounts decode the same"
    );
    assert_eq!(rpc_snap.series, bank_snap.series);
    assert_eq!(rpc_snap.correlations, bank_snap.correlations);
    assert_eq!(
        rpc_snap.markets.keys().collect::<Vec<_>>(),
        bank_snap.markets.keys().collect::<Vec<_>>()
    );
    for (key, m) in &rpc_snap.markets {
        let b = &bank_snap.markets[key];
        assert_eq!(m.market, b.market);
        assert_eq!(
            m.oracle.as_ref().map(|a| &a.data),
            b.oracle.as_ref().map(|a| &a.data)
        );
    }
    // The same decision at the same moment: the same candidates in the same order, with the
    // same equity, MM and IM to the unit, and the same actions.
    let rpc_plan = plan(&rpc_snap, now, &policy);
    assert_eq!(rpc_plan.watched, bank_plan.watched);
    assert_eq!(rpc_plan.liquidatable, bank_plan.liquidatable);
    assert_eq!(rpc_plan.actions, bank_plan.actions);
    assert!(rpc_plan.liquidatable[0].shortfall() >= rpc_plan.liquidatable[1].shortfall());
}
