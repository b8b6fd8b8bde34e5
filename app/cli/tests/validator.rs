//! The real program on a real node: keel.so (built here, scripts/build-program-sbf.sh) loaded
//! upgradeable into `solana-test-validator` 4.2.2 with a known upgrade authority
//! (scripts/local-validator.sh), driven over JSON-RPC and websockets by the project's own `keel`
//! binary and keeper:
//!
//! bootstrap (migrations, idempotent on a re-run) → accounts and deposits → two bilateral trades
//! (`trade make` / `trade take`) → a volatility crank → `keel verify` (the program's
//! `margin_report`, simulated in the VM, equal to keel-risk off-chain) → a price crash published
//! through the local push oracle → the keeper, reacting to its subscriptions, cranks and
//! liquidates the short-put writer (the time from the crash to the liquidation being sent is
//! printed, not judged; the 25% gap in one update, read by the vol estimate as seconds-apart
//! moves, leaves her equity below zero, so the call takes her whole book and, with no insurance
//! fund here, the shortfall is socialised) → expiry → the keeper settles the series and the
//! positions, each account paying its share of the socialised loss at that touch → withdrawals;
//! after every stage the vault holds exactly what the exchange owes.
//!
//! Oracle: the market is a legacy Pyth market whose price account is owned by the local push
//! oracle (localnet/oracle) — the one path Keel's oracle module accepts from a program other than
//! Pyth's (a legacy market names its owner program), so the crash is a real transaction the
//! program judges like any update.
//!
//! Skipped, with a message, only when the validator binary is absent (install:
//! keel_client::localnet::INSTALL); keel.so and the oracle are built when missing.

use keel::events::{Bankrupt, Liquidated, PositionSettled, SocialLossCharged};
use keel_client::localnet::{validator_binary, LocalValidator, INSTALL};
use keel_client::oracle::Quote;
use keel_client::rpc::RpcChain;
use keel_client::view::{OracleDirectory, Snapshot};
use keel_client::{local_oracle, Budget, Chain, Pubkey};
use keel_keeper::feed::Feed;
use keel_keeper::reactive::{self, Reactive};
use keel_keeper::{Action, Keeper, KeeperConfig};
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const USDC: i64 = 1_000_000;

fn rpc(url: &str, payer: &Keypair) -> RpcChain {
    RpcChain::new(
        url,
        CommitmentConfig::confirmed(),
        payer.insecure_clone(),
        keel::ID,
    )
}

/// The `keel` binary against the validator, as a person runs it (`--output json` parsed).
struct Cli {
    url: String,
    dir: PathBuf,
}

impl Cli {
    fn keypair_file(&self, kp: &Keypair) -> PathBuf {
        let f = self.dir.join(format!("{}.json", kp.pubkey()));
        if !f.exists() {
            solana_keypair::write_keypair_file(kp, &f).unwrap();
        }
        f
    }

    fn run(&self, who: &Keypair, args: &[&str]) -> Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["--url", &self.url, "--output", "json", "--keypair"])
            .arg(self.keypair_file(who))
            .args(["-C", "/nonexistent/keel-test-solana-config.yml"])
            .args(args)
            .output()
            .expect("run keel");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "keel {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "keel {args:?}: {e}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

/// The local push oracle's price account for BTC, republished every few seconds (a live
/// oracle) unless frozen.
struct Publisher {
    account: Keypair,
    chain: RpcChain,
    usd: i64,
    last: i64,
    frozen: bool,
}

impl Publisher {
    /// Publishes `usd` at the cluster's time (`prev_publish_time`: the previous update's, as
    /// Pyth's legacy accounts carry it); returns the publish time.
    async fn publish(&mut self, usd: i64) -> i64 {
        let now = self.chain.unix_time().await.unwrap().max(self.last);
        let q = Quote {
            prev_publish_time: self.last,
            ..Quote::usd(usd, 5, now)
        };
        self.chain
            .send(
                &[local_oracle::publish(&self.account.pubkey(), q)],
                &[&self.account],
                Budget::default(),
            )
            .await
            .expect("publish");
        self.usd = usd;
        self.last = now;
        now
    }
}

async fn token_balance(c: &RpcChain, key: &Pubkey) -> u64 {
    let a = keel_client::chain::account(c, key).await.unwrap().unwrap();
    keel_bank::token::amount(&a.data).unwrap()
}

/// The vault holds exactly what the exchange owes, and the accounts' collateral adds up.
async fn assert_conservation(c: &RpcChain, vault: &Pubkey, stage: &str) -> Snapshot {
    let s = Snapshot::load(c, &OracleDirectory::default())
        .await
        .unwrap();
    let vault_amount = token_balance(c, vault).await as i64;
    assert_eq!(
        s.exchange.liabilities_native(),
        Some(vault_amount),
        "{stage}: vault {vault_amount} vs liabilities {:?}",
        s.exchange
    );
    let sum: i64 = s.accounts.values().map(|a| a.collateral_native).sum();
    assert_eq!(
        sum, s.exchange.total_collateral_native,
        "{stage}: Σ collateral"
    );
    s
}

/// What the keeper sent, as the test reads it from a pass's report.
struct Seen {
    action: Action,
    sent_at: Instant,
    liquidated: Option<Liquidated>,
    ok: bool,
    logs: Vec<String>,
    compute_units: Option<u64>,
}

fn decimal(native: i64) -> String {
    let sign = if native < 0 { "-" } else { "" };
    let n = native.unsigned_abs();
    format!("{sign}{}.{:06}", n / USDC as u64, n % USDC as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_keeper_end_to_end_on_a_real_validator() {
    if validator_binary().is_none() {
        println!("skipped: solana-test-validator not found (set KEEL_TEST_VALIDATOR, or build it: {INSTALL})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = LocalValidator::start(dir.path(), &[]).await.unwrap();
    println!("validator at {} (ledger {})", v.rpc_url, v.ledger.display());
    let admin = v.authority.insecure_clone();
    let chain = rpc(&v.rpc_url, &admin);
    let cli = Cli {
        url: v.rpc_url.clone(),
        dir: dir.path().to_path_buf(),
    };

    // Wallets with SOL and quote tokens (the admin holds the genesis SOL and the mint).
    let [alice, bob, carol, kim] = [(); 4].map(|_| Keypair::new());
    let mint = Keypair::new();
    let spl = keel_bank::token::SPL_TOKEN;
    let mut ixs =
        keel_bank::token::create_mint(&admin.pubkey(), &mint.pubkey(), &admin.pubkey(), 6, &spl);
    for w in [&alice, &bob, &carol, &kim] {
        ixs.push(solana_system_interface::instruction::transfer(
            &admin.pubkey(),
            &w.pubkey(),
            10_000_000_000,
        ));
    }
    chain.send(&ixs, &[&mint], Budget::default()).await.unwrap();
    let mut tokens = Vec::new();
    for (w, usdc) in [
        (&alice, 10_000),
        (&bob, 100_000),
        (&carol, 100_000),
        (&kim, 100_000),
    ] {
        let t = Keypair::new();
        let mut ixs = keel_bank::token::create_token_account(
            &admin.pubkey(),
            &t.pubkey(),
            &mint.pubkey(),
            &w.pubkey(),
            &spl,
        );
        ixs.push(keel_bank::token::mint_to(
            &mint.pubkey(),
            &t.pubkey(),
            &admin.pubkey(),
            (usdc * USDC) as u64,
            &spl,
        ));
        chain.send(&ixs, &[&t], Budget::default()).await.unwrap();
        tokens.push(t.pubkey());
    }
    let [t_alice, t_bob, t_carol, t_kim] = [tokens[0], tokens[1], tokens[2], tokens[3]];

    // The BTC price account of the local push oracle, at 60 000.
    let price = Keypair::new();
    let lamports = chain
        .rpc
        .get_minimum_balance_for_rent_exemption(local_oracle::ACCOUNT_SIZE)
        .await
        .unwrap();
    chain
        .send(
            &[local_oracle::create(
                &admin.pubkey(),
                &price.pubkey(),
                lamports,
            )],
            &[&price],
            Budget::default(),
        )
        .await
        .unwrap();
    let publisher = Arc::new(Mutex::new(Publisher {
        account: price.insecure_clone(),
        chain: rpc(&v.rpc_url, &admin),
        usd: 60_000,
        last: 0,
        frozen: false,
    }));
    publisher.lock().await.publish(60_000).await;
    // A live oracle: a fresh update every 3 s (the market refuses prices older than 60 s).
    let refresher = {
        let p = publisher.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(3)).await;
                let mut p = p.lock().await;
                if !p.frozen {
                    let usd = p.usd;
                    p.publish(usd).await;
                }
            }
        })
    };

    // Bootstrap from a config file, as an operator does: the exchange, the BTC market on the
    // local oracle, a 2-minute put (settled below) and a 30-day put (liquidated below).
    let now = chain.unix_time().await.unwrap();
    let (short_expiry, long_expiry) = (now + 150, now + 30 * 86_400);
    let config = dir.path().join("bootstrap.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[exchange]
quote_mint = "{mint}"
taker_fee_bps = 5
maker_fee_bps = 2

[[markets]]
name = "BTC/USD"
contract_size = "0.01"
oracle = {{ kind = "pyth-legacy", account = "{oracle}", program = "{program}" }}
guards = {{ max_staleness_secs = 60, max_conf_bps = 200, max_vol_age_secs = 3600, settle_window_secs = 300 }}
risk_params = {{ min_obs_interval_secs = 2 }}

[[markets.series]]
kind = "put"
strike = "58000"
expiry = {short_expiry}

[[markets.series]]
kind = "put"
strike = "55000"
expiry = {long_expiry}
"#,
            mint = mint.pubkey(),
            oracle = price.pubkey(),
            program = local_oracle::PROGRAM,
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let first = cli.run(&admin, &["bootstrap", "--config", &config]);
    assert_eq!(first["mismatches"], 0, "{first}");
    assert!(!first["sent"].as_array().unwrap().is_empty());
    let again = cli.run(&admin, &["bootstrap", "--config", &config]);
    assert_eq!(
        again["sent"].as_array().unwrap().len(),
        0,
        "a re-run sends nothing: {again}"
    );
    assert_eq!(again["mismatches"], 0);
    let series = cli.run(&admin, &["series"]);
    let find = |expiry: i64| -> (Pubkey, i64, i64) {
        let s = series["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["expiry_ts"] == expiry)
            .unwrap_or_else(|| panic!("series expiring {expiry}: {series}"));
        (
            s["address"].as_str().unwrap().parse().unwrap(),
            s["band_native"][1].as_i64().unwrap(),
            s["strike_native"].as_i64().unwrap(),
        )
    };
    let (short_put, short_mark, short_strike) = find(short_expiry);
    let (long_put, long_mark, _) = find(long_expiry);

    // Accounts and deposits through the CLI.
    for (w, t, usdc) in [
        (&alice, t_alice, "5000"),
        (&bob, t_bob, "50000"),
        (&carol, t_carol, "20000"),
        (&kim, t_kim, "50000"),
    ] {
        cli.run(w, &["account", "open"]);
        let d = cli.run(w, &["deposit", usdc, "--from", &t.to_string()]);
        assert_eq!(d["collateral_native"], d["amount_native"]);
    }
    let ex = assert_conservation(
        &chain,
        &keel_client::pda::vault(&keel_client::pda::exchange()),
        "deposits",
    )
    .await;
    let vault = Pubkey::new_from_array(ex.exchange.quote_vault);
    let account = |w: &Keypair| {
        keel_client::pda::margin_account(&keel_client::pda::exchange(), &w.pubkey(), 0)
    };

    // Two trades, maker signs, taker checks and sends: Bob buys 20 long puts from Alice and 5
    // short-dated puts from Carol, each at its mark.
    let trade = |maker: &Keypair, taker: &Keypair, series: Pubkey, qty: i64, mark: i64| {
        let offer = dir.path().join(format!("offer-{series}.json"));
        let p = decimal(mark);
        let made = cli.run(
            maker,
            &[
                "trade",
                "make",
                "--series",
                &series.to_string(),
                "--qty",
                &qty.to_string(),
                "--price",
                &p,
                "--taker",
                &taker.pubkey().to_string(),
                "--out",
                offer.to_str().unwrap(),
            ],
        );
        // The offer on stdout (JSON asked for) is the file the taker receives.
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&offer).unwrap()).unwrap();
        assert_eq!(made, written);
        let taken = cli.run(
            taker,
            &[
                "trade",
                "take",
                "--in",
                offer.to_str().unwrap(),
                "--expect-qty",
                &qty.to_string(),
                "--expect-price",
                &p,
                "--yes",
            ],
        );
        assert_eq!(taken["taker_qty_after"], qty, "{taken}");
    };
    trade(&alice, &bob, long_put, 20, long_mark);
    trade(&carol, &bob, short_put, 5, short_mark);
    assert_conservation(&chain, &vault, "trades").await;

    // The volatility crank through the CLI (a new oracle observation since the market's).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cranked = cli.run(&kim, &["crank", "BTC/USD"]);
    println!("crank: {cranked}");
    // The program's margin_report, run in the VM, equals keel-risk's off-chain figures.
    let verified = cli.run(&alice, &["verify"]);
    assert_eq!(verified["ok"], true, "{verified}");
    // Alice withdraws down to her initial margin: any fall puts her below maintenance.
    let w = cli.run(&alice, &["withdraw", "max", "--to", &t_alice.to_string()]);
    assert!(w["amount_native"].as_u64().unwrap() > 0, "{w}");
    let m = cli.run(&alice, &["margin"]);
    assert_eq!(m["liquidatable"], false, "{m}");
    assert_conservation(&chain, &vault, "withdraw to IM").await;

    // The keeper (Kim's account liquidates), reacting to its subscriptions.
    let kim_chain = Arc::new(rpc(&v.rpc_url, &kim));
    let feed = Feed::start(&v.ws_url, keel::ID, CommitmentConfig::confirmed())
        .await
        .unwrap();
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let keeper_task = {
        let (c, f, stop) = (kim_chain.clone(), feed.clone(), stop.clone());
        let kp = kim.insecure_clone();
        tokio::spawn(async move {
            let mut keeper = Keeper::for_account(KeeperConfig::default(), kp, 0);
            let timing = Reactive {
                resync_every: Duration::from_secs(20),
                idle_pass: Duration::from_secs(2),
            };
            reactive::run(&mut keeper, c.as_ref(), &f, timing, |r| {
                let sent: Vec<Seen> = r
                    .outcomes
                    .iter()
                    .map(|o| {
                        let (logs, compute_units) = o
                            .result
                            .as_ref()
                            .map(|s| (s.logs.clone(), s.compute_units))
                            .unwrap_or_default();
                        Seen {
                            action: o.action.clone(),
                            sent_at: o.sent_at,
                            liquidated: o.liquidated.clone(),
                            ok: o.result.is_ok(),
                            logs,
                            compute_units,
                        }
                    })
                    .collect();
                if !sent.is_empty() {
                    let _ = tx.send(sent);
                }
                !stop.load(std::sync::atomic::Ordering::Relaxed)
            })
            .await
            .unwrap();
            keeper.metrics.render()
        })
    };
    // Let the keeper settle into its subscriptions (its first passes crank nothing new).
    tokio::time::sleep(Duration::from_secs(4)).await;
    while reports.try_recv().is_ok() {}

    // The crash: BTC 60 000 → 45 000 in one update.
    let crash_sent = Instant::now();
    publisher.lock().await.publish(45_000).await;
    let crash_confirmed = Instant::now();
    let mut liquidations: Vec<Liquidated> = Vec::new();
    let (mut crank_sent, mut first_liquidation_sent) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let batch = tokio::time::timeout_at(deadline.into(), reports.recv())
            .await
            .expect("the keeper liquidates within 90 s")
            .unwrap();
        for x in batch {
            match x.action {
                Action::Crank { .. } if x.ok && crank_sent.is_none() => {
                    crank_sent = Some(x.sent_at)
                }
                Action::Liquidate { account: a, .. } if x.ok => {
                    assert_eq!(a, account(&alice));
                    first_liquidation_sent.get_or_insert(x.sent_at);
                    let ev = x
                        .liquidated
                        .unwrap_or_else(|| panic!("a Liquidated event in {:#?}", x.logs));
                    let bankrupt = keel_client::events::decode::<Bankrupt>(&x.logs).unwrap();
                    println!(
                        "liquidate: {:?} CU; fraction {:.3}, equity {} -> {} (MM {}, trigger {}), collateral after {}; bankrupt: {:?}",
                        x.compute_units,
                        ev.fraction_q32 as f64 / 2f64.powi(32),
                        decimal(ev.equity_mm_before),
                        decimal(ev.equity_mm_after),
                        decimal(ev.mm_before),
                        decimal(ev.trigger_level),
                        decimal(ev.liquidatee_collateral_native),
                        bankrupt.iter().map(|b| (decimal(b.shortfall_native), decimal(b.socialised_native))).collect::<Vec<_>>()
                    );
                    liquidations.push(ev);
                }
                _ => {}
            }
        }
        let s = Snapshot::load(kim_chain.as_ref(), &OracleDirectory::default())
            .await
            .unwrap();
        // The program's test (below MM, or below the trigger raised by high vol).
        if !liquidations.is_empty()
            && !s
                .margin_report(&account(&alice), None)
                .unwrap()
                .liquidatable
        {
            break;
        }
    }
    let first = first_liquidation_sent.unwrap();
    println!(
        "oracle crash → liquidate sent: {:.0} ms after the update was confirmed ({:.0} ms after it was sent; crank sent at {:.0} ms); {} liquidation call(s)",
        first.duration_since(crash_confirmed).as_secs_f64() * 1e3,
        first.duration_since(crash_sent).as_secs_f64() * 1e3,
        crank_sent.map_or(f64::NAN, |c| c.saturating_duration_since(crash_confirmed).as_secs_f64() * 1e3),
        liquidations.len(),
    );
    assert!(liquidations.iter().all(|l| l.fraction_q32 > 0));
    let s = assert_conservation(&chain, &vault, "liquidation").await;
    let a = &s.accounts[&account(&alice)];
    assert_eq!(a.liquidations as usize, liquidations.len());
    let kim_acc = &s.accounts[&account(&kim)];
    let taken: i64 = kim_acc
        .active_positions()
        .filter(|p| Pubkey::new_from_array(p.series) == long_put)
        .map(|p| p.qty_contracts)
        .sum();
    let transferred: i64 = liquidations
        .iter()
        .flat_map(|l| l.transfers.iter())
        .map(|t| t.qty_contracts)
        .sum();
    assert!(taken != 0, "the keeper took over part of Alice's book");
    assert_eq!(
        taken.abs(),
        transferred.abs(),
        "what the events say moved is what Kim holds"
    );

    // Expiry of the short-dated put: the live updates stop just before it (else the refresher's
    // first update after expiry, at the old price, is the one settlement reads), then the
    // oracle's first update after it covers the expiry and is kept until the keeper has settled.
    let wait_until = |t: i64| {
        let chain = &kim_chain;
        async move {
            let left = t - chain.unix_time().await.unwrap();
            if left > 0 {
                tokio::time::sleep(Duration::from_secs(left as u64)).await;
            }
        }
    };
    let left = short_expiry - kim_chain.unix_time().await.unwrap();
    assert!(
        left > 5,
        "the stages before expiry took too long: {left} s left to the short put's expiry"
    );
    println!("{left} s left to the short put's expiry after the liquidation");
    wait_until(short_expiry - 5).await;
    publisher.lock().await.frozen = true;
    wait_until(short_expiry + 2).await;
    {
        let mut p = publisher.lock().await;
        let t = p.publish(45_000).await;
        assert!(p.last >= short_expiry && t >= short_expiry);
    }
    let before = Snapshot::load(&chain, &OracleDirectory::default())
        .await
        .unwrap();
    let (bob_before, carol_before) = (
        before.accounts[&account(&bob)].collateral_native,
        before.accounts[&account(&carol)].collateral_native,
    );
    let mut settled: Vec<PositionSettled> = Vec::new();
    // Alice's crash loss beyond her collateral is socialised (no insurance fund here): each
    // account pays its share when next touched, here by the settlement.
    let mut charged: Vec<SocialLossCharged> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while settled.len() < 2 {
        let batch = tokio::time::timeout_at(deadline.into(), reports.recv())
            .await
            .expect("the keeper settles within 60 s")
            .unwrap();
        for x in batch {
            if matches!(x.action, Action::SettlePositions { .. }) && x.ok {
                settled.extend(keel_client::events::decode::<PositionSettled>(&x.logs).unwrap());
                charged.extend(keel_client::events::decode::<SocialLossCharged>(&x.logs).unwrap());
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    publisher.lock().await.frozen = false;
    let s = assert_conservation(&chain, &vault, "settlement").await;
    let series = &s.series[&short_put];
    assert_eq!(series.status, keel_state::series::SERIES_SETTLED);
    let per = series
        .payoff_per_contract(series.settlement_price_native)
        .unwrap();
    assert_eq!(
        per,
        short_strike - 450 * USDC,
        "58 000 − 45 000 per 0.01 BTC"
    );
    let payout = |w: &Keypair| -> i64 {
        settled
            .iter()
            .filter(|e| e.account == account(w))
            .map(|e| e.payout_native)
            .sum()
    };
    let social = |w: &Keypair| -> i64 {
        charged
            .iter()
            .filter(|e| e.account == account(w))
            .map(|e| e.amount_native)
            .sum()
    };
    println!(
        "settlement: payout Bob {} Carol {}; socialised loss charged Bob {} Carol {}",
        payout(&bob),
        payout(&carol),
        social(&bob),
        social(&carol)
    );
    assert_eq!(payout(&bob), 5 * per);
    assert_eq!(payout(&carol), -5 * per);
    assert_eq!(
        s.accounts[&account(&bob)].collateral_native - bob_before,
        payout(&bob) - social(&bob)
    );
    assert_eq!(
        s.accounts[&account(&carol)].collateral_native - carol_before,
        payout(&carol) - social(&carol)
    );

    // Withdrawals back to the wallets.
    let before = token_balance(&chain, &t_carol).await;
    let w = cli.run(&carol, &["withdraw", "max", "--to", &t_carol.to_string()]);
    assert_eq!(
        token_balance(&chain, &t_carol).await - before,
        w["amount_native"].as_u64().unwrap()
    );
    assert_conservation(&chain, &vault, "withdraw").await;

    let metrics = keeper_task.await.unwrap();
    for line in metrics.lines().filter(|l| {
        l.starts_with("keel_keeper_queue_length")
            || l.starts_with("keel_keeper_update_to_send_seconds_sum")
            || l.starts_with("keel_keeper_update_to_send_seconds_count")
            || l.starts_with("keel_keeper_notifications_total")
            || l.starts_with("keel_keeper_liquidations_confirmed_total")
    }) {
        println!("{line}");
    }
    refresher.abort();
}
