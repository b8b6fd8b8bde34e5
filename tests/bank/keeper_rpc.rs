//! The keeper's RPC side against a real node: the same Keel accounts loaded into the bank and,
//! at genesis (`--account`), into a real `solana-test-validator`; the keeper's JSON-RPC
//! `Chain` (getProgramAccounts with a discriminator filter, getMultipleAccounts, the Clock
//! sysvar) must find, decode and rank them exactly as its bank `Chain` does.
//!
//! Skipped, with a message, when the `solana-test-validator` binary is absent (it takes ~20
//! minutes to build: `cargo install agave-validator --version 3.1.12 --locked --bin
//! solana-test-validator`, see ../shared/notes/sbf-build.md). Set `KEEL_TEST_VALIDATOR` to its
//! path if it is not on `PATH`. Only reads are compared: the Keel program itself cannot be built
//! to SBF here, so the validator holds its accounts but not its code.

use base64::Engine;
use keel_client::rpc::RpcChain;
use keel_client::view::{OracleDirectory, Snapshot};
use keel_client::{Chain, Pubkey};
use keel_keeper::plan::plan;
use keel_keeper::Policy;
use keel_tests::book::{crash, Book};
use keel_tests::scenario::USDC;
use keel_tests::TestContext;
use solana_account::Account;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn validator_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KEEL_TEST_VALIDATOR") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("solana-test-validator"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `len` consecutive ports, each free for TCP and UDP now and not in `taken` (ports already
/// handed to the validator, released until it binds them), for its dynamic range (it binds
/// sockets of both kinds there; 3.1 refuses a range of fewer than 26).
fn free_range(len: u16, taken: &[u16]) -> u16 {
    let free = |p: u16| {
        !taken.contains(&p)
            && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
    };
    // Start somewhere that depends on this process, so parallel runs rarely probe the same ports.
    let offset = (std::process::id() % 500) as u16 * 40;
    (0..1_000u16)
        .map(|i| 20_000 + (offset + i * 40) % 20_000)
        .find(|&base| (base..base + len).all(free))
        .expect("a free range of ports for the validator")
}

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

struct Validator(Child);

impl Drop for Validator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn rpc_chain_finds_decodes_and_ranks_like_the_bank() {
    let Some(bin) = validator_binary() else {
        println!(
            "skipped: solana-test-validator not found (set KEEL_TEST_VALIDATOR or build it with \
             `cargo install agave-validator --version 3.1.12 --locked --bin solana-test-validator`)"
        );
        return;
    };

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
    let (rpc_port, faucet_port) = (free_port(), free_port());
    let gossip = free_port();
    // The validator serves websockets on rpc_port + 1.
    let range = free_range(
        33,
        &[rpc_port, rpc_port.saturating_add(1), faucet_port, gossip],
    );
    let child = Command::new(&bin)
        .arg("--ledger")
        .arg(dir.path().join("ledger"))
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--faucet-port", &faucet_port.to_string()])
        .args(["--gossip-port", &gossip.to_string()])
        .args(["--dynamic-port-range", &format!("{range}-{}", range + 32)])
        .args(["--bind-address", "127.0.0.1", "--quiet", "--reset"])
        .args(&args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("validator.err")).unwrap())
        .spawn()
        .expect("start solana-test-validator");
    let mut guard = Validator(child);
    let url = format!("http://127.0.0.1:{rpc_port}");
    let rpc = RpcChain::new(
        &url,
        solana_commitment_config::CommitmentConfig::confirmed(),
        k.larry.kp.insecure_clone(),
        keel::ID,
    );
    let start = Instant::now();
    loop {
        if rpc.rpc.get_health().await.is_ok() && rpc.unix_time().await.is_ok() {
            break;
        }
        let exited = guard.0.try_wait().ok().flatten();
        if exited.is_some() || start.elapsed() > Duration::from_secs(120) {
            let err = std::fs::read_to_string(dir.path().join("validator.err")).unwrap_or_default();
            let log = std::fs::read_to_string(dir.path().join("ledger/validator.log"))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            panic!(
                "the validator did not start ({exited:?}): {err}\n{}",
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
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
