//! The CI slice of the instruction-sequence fuzzer: a few seeded sequences and the committed
//! corpus (fuzz/corpus), every invariant checked after every step. Long runs: the `keel-fuzz`
//! binary (docs/security.md).

use keel_fuzz::{run_bytes, seeded_bytes, Stats};

#[test]
fn seeded_sequences_keep_every_invariant() {
    let mut total = Stats::default();
    for seed in 0..4u64 {
        total.add(&run_bytes(&seeded_bytes(seed, 200 * 24), 200));
    }
    println!("{total:?}");
    // The slice exercises the paths that matter, not only refusals.
    assert!(total.steps >= 600, "{total:?}");
    assert!(
        total.trades > 0 && total.succeeded > 0 && total.must_fail_refused > 0,
        "{total:?}"
    );
}

#[test]
fn the_corpus_keeps_every_invariant() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "bin") {
            run_bytes(&std::fs::read(&path).unwrap(), usize::MAX);
            n += 1;
        }
    }
    assert!(n > 0, "the corpus is empty");
}
