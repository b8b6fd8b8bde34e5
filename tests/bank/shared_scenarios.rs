//! keel-scenario's scenarios on the bank: the same steps tests/sbf runs against `keel.so` in the
//! SBF VM, here on the program registered natively. With `KEEL_SBF_TRANSCRIPTS` set to the
//! directory the SBF run wrote its transcripts to (`scripts/test-sbf.sh` does both), each run's
//! events and final balances must equal the bytecode's byte for byte.

use keel_scenario::{bankruptcy, fuzz, lifecycle, pump, random, sweep, World};
use keel_tests::backend::BankBackend;

/// Compares `w`'s transcript with the SBF run's `<name>.txt`, when one was given.
async fn same_as_sbf(name: &str, w: &mut World<BankBackend>) {
    let bank = w.transcript().await;
    same_transcript(name, bank);
}

/// Compares the bank's transcript of `name` with the SBF run's, when one was given.
fn same_transcript(name: &str, bank: String) {
    let Some(dir) = std::env::var_os("KEEL_SBF_TRANSCRIPTS") else {
        return;
    };
    let path = std::path::Path::new(&dir).join(format!("{name}.txt"));
    let sbf = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("KEEL_SBF_TRANSCRIPTS set but {}: {e}", path.display()));
    let first = bank.lines().zip(sbf.lines()).position(|(a, b)| a != b);
    assert!(
        bank == sbf,
        "{name}: the bank and the SBF bytecode differ (first at line {first:?}: bank {:?}, sbf {:?})",
        first.and_then(|i| bank.lines().nth(i)),
        first.and_then(|i| sbf.lines().nth(i))
    );
}

#[tokio::test]
async fn lifecycle_on_the_bank() {
    let mut w = lifecycle::run(BankBackend::new().await).await;
    same_as_sbf("lifecycle", &mut w).await;
}

#[tokio::test]
async fn bankruptcy_on_the_bank() {
    let mut w = bankruptcy::run(BankBackend::new().await).await;
    same_as_sbf("bankruptcy", &mut w).await;
}

#[tokio::test]
async fn pump_on_the_bank() {
    let mut w = pump::run(BankBackend::new().await).await;
    same_as_sbf("pump", &mut w).await;
}

#[tokio::test]
async fn random_sequence_on_the_bank() {
    let mut w = random::run(BankBackend::new().await, random::SEED).await;
    same_as_sbf("random", &mut w).await;
}

#[tokio::test]
async fn sweep_8_series_1_market_on_the_bank() {
    let mut w = sweep::run(BankBackend::new().await, 8, 1).await;
    assert!(w.failures.is_empty(), "{:?}", w.failures);
    same_as_sbf("8x1", &mut w).await;
}

#[tokio::test]
async fn sweep_8_series_4_markets_on_the_bank() {
    let mut w = sweep::run(BankBackend::new().await, 8, 4).await;
    assert!(w.failures.is_empty(), "{:?}", w.failures);
    same_as_sbf("8x4", &mut w).await;
}

/// The fuzzer's deterministic slice (tests/sbf runs it against `keel.so`): every invariant
/// after every step, and the same outcome of every instruction as the bytecode's.
#[tokio::test]
async fn fuzz_slice_on_the_bank() {
    for seed in fuzz::SLICE_SEEDS {
        let mut h = fuzz::slice(BankBackend::new().await, seed).await;
        assert!(
            h.stats.trades > 0 && h.stats.must_fail_refused > 0,
            "{:?}",
            h.stats
        );
        let bank = h.transcript().await;
        same_transcript(&format!("fuzz-{seed}"), bank);
    }
}
