//! The instruction-sequence fuzzer (`keel_scenario::fuzz`: actions, invariants, docs/security.md
//! §7) on the bank, the program registered natively: what the `keel-fuzz` runner (long seeded
//! runs), cargo-fuzz (`fuzz/cargo-fuzz`) and the CI slice (`tests/slice.rs`) call. The same
//! harness runs against `keel.so` in LiteSVM (tests/sbf).

pub use keel_scenario::fuzz::{decode, encode, seeded_bytes, Action, Stats, KINDS};
use keel_tests::backend::BankBackend;

/// Decodes `data` into up to `max_steps` actions and runs them on a fresh exchange on the
/// bank; returns what the run did. Panics on a violated invariant.
pub fn run_bytes(data: &[u8], max_steps: usize) -> Stats {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        keel_scenario::fuzz::run_bytes(BankBackend::new().await, data, max_steps)
            .await
            .stats
    })
}
