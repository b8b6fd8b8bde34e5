//! `keel demo --validator`: the demo's replay on a real `solana-test-validator` running keel.so
//! (started here through scripts/local-validator.sh), over JSON-RPC: the crash afternoon of
//! 2020-03-12, the keeper liquidating through it, the summary balancing to the unit against the
//! vault's real token balance. Skipped, with a message, when the validator binary or the market
//! history is absent.

use keel_client::localnet::{validator_binary, INSTALL};
use keel_demo::{run_on_validator, validator::Target, DemoConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crash_afternoon_on_a_real_validator_balances_to_the_unit() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let cfg = DemoConfig {
        from: "2020-03-12 08:00".into(),
        to: "2020-03-12 22:00".into(),
        out_dir: out.path().to_path_buf(),
        ..DemoConfig::default_at(&root)
    };
    if validator_binary().is_none() {
        println!("skipped: solana-test-validator not found (set KEEL_TEST_VALIDATOR, or build it: {INSTALL})");
        return;
    }
    if !cfg.prices.is_file() {
        println!(
            "skipped: {} not present (set KEEL_SHARED_DATA to the market history's folder)",
            cfg.prices.display()
        );
        return;
    }
    let s = run_on_validator(&cfg, Target::Start, |_, _| {})
        .await
        .unwrap();
    println!("{}", s.table());
    assert!(s.chain.starts_with("solana-test-validator"), "{}", s.chain);
    assert_eq!(s.bars, 8);
    assert!(s.keeper_errors.is_empty(), "{:?}", s.keeper_errors);
    assert!(s.bootstrap_transactions > 0);
    // The vault's token balance, read from the validator, is exactly what the exchange owes.
    let y = &s.system;
    assert!(y.conservation_holds);
    assert_eq!(
        y.vault_native as i64,
        y.total_collateral_native
            + y.insurance_fund_native
            + y.fees_native
            + y.settlement_pools_native
            - y.social_loss_pending_native
    );
    // BTC falls by a quarter that afternoon: the most leveraged book is liquidated, in steps
    // the program decided (its Liquidated events, read back from the validator's logs).
    assert!(y.liquidation_calls > 0, "{y:?}");
    assert!(s
        .liquidations
        .iter()
        .all(|l| l.fraction > 0.0 && l.price > 0.0));
    assert!(y.cranks > 0);
    assert_eq!(
        y.settlements, 0,
        "nothing expires during a real-time replay"
    );
}
