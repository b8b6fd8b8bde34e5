//! The CI slice of the instruction-sequence fuzzer on the bank: a few seeded sequences and the
//! committed regressions (fuzz/corpus/regression-*.bin), every invariant checked after every
//! step. Long runs: the `keel-fuzz` binary (docs/security.md §7); the same harness runs a slice
//! against keel.so in tests/sbf.

use keel_fuzz::{run_bytes, seeded_bytes, Stats};

#[test]
fn seeded_sequences_keep_every_invariant() {
    let mut total = Stats::default();
    for seed in 0..4u64 {
        total.add(&run_bytes(&seeded_bytes(seed, 150 * 24), 150));
    }
    println!("{total:?}");
    // The slice exercises the paths that matter, not only refusals.
    assert!(total.steps >= 550, "{total:?}");
    assert!(
        total.trades > 0 && total.succeeded > 0 && total.must_fail_refused > 0,
        "{total:?}"
    );
}

/// Each regression is an input that once broke an invariant (docs/security.md §7, "What it
/// found"); the other corpus files are seeds for `keel-fuzz --replay` and cargo-fuzz.
#[test]
fn the_regressions_keep_every_invariant() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("regression-") && name.ends_with(".bin") {
            run_bytes(&std::fs::read(&path).unwrap(), usize::MAX);
            n += 1;
        }
    }
    assert!(n >= 4, "the regressions are missing: {n}");
}
