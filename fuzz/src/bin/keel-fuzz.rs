//! Long seeded runs of the instruction-sequence fuzzer (what docs/security.md's fuzz record
//! reports), and corpus replay.
//!
//!   keel-fuzz --seed S --sequences N --steps M   N sequences of up to M steps from seed S
//!   keel-fuzz --save DIR ...                     also write each input to DIR (a corpus)
//!   keel-fuzz --replay DIR                       run every input file in DIR
//!   keel-fuzz --print FILE                       print the actions an input decodes to
//!
//! Prints one summary line (and one per 100 sequences): steps, successes, refusals, trades,
//! liquidations, bankruptcies, refusals the spec required, steps whose attacker accounts could
//! not be valued, elapsed seconds (and at the end, per action kind, the steps and those in
//! which an instruction succeeded). A violated
//! invariant panics with the action that broke it; the seed and sequence number are printed
//! before each sequence so it can be replayed.

use keel_fuzz::{decode, run_bytes, seeded_bytes, Stats, KINDS};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let start = Instant::now();
    let mut total = Stats::default();
    if let Some(file) = get("--print") {
        for a in decode(&std::fs::read(&file).expect("input file")) {
            println!("{a:?}");
        }
        return;
    }
    if let Some(dir) = get("--replay") {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("corpus dir")
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            eprintln!("replay {}", f.display());
            total.add(&run_bytes(&data, usize::MAX));
        }
    } else {
        let seed: u64 = get("--seed").map_or(1, |s| s.parse().expect("--seed"));
        let n: u64 = get("--sequences").map_or(10, |s| s.parse().expect("--sequences"));
        let steps: usize = get("--steps").map_or(500, |s| s.parse().expect("--steps"));
        let save = get("--save");
        for i in 0..n {
            let data = seeded_bytes(seed.wrapping_mul(1_000_003).wrapping_add(i), steps * 24);
            if let Some(dir) = &save {
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(format!("{dir}/seed{seed}-{i}.bin"), &data).unwrap();
            }
            eprintln!("seed {seed} sequence {i}");
            total.add(&run_bytes(&data, steps));
            if (i + 1) % 100 == 0 {
                report(&total, start.elapsed().as_secs_f64());
            }
        }
    }
    report(&total, start.elapsed().as_secs_f64());
    for (k, name) in KINDS.iter().enumerate() {
        println!(
            "  {name:<26} steps {:>9}  ok {:>9}",
            total.steps_of[k], total.ok_of[k]
        );
    }
}

fn report(s: &Stats, secs: f64) {
    println!(
        "steps {} succeeded {} refused {} (spec-required refusals {}) trades {} liquidations {} bankruptcies {} unvalued {} in {:.1} s",
        s.steps, s.succeeded, s.refused, s.must_fail_refused, s.trades, s.liquidations, s.bankruptcies, s.unvalued, secs
    );
}
