//! Runs Keel's integration scenarios against the SBF bytecode in LiteSVM and checks every
//! instruction's compute units against `budgets.toml`.
//!
//!   keel-sbf-tests --so target/deploy/keel.so [--budgets tests/sbf/budgets.toml]
//!                  [--shapes 1x1,8x1,...] [--record] [--transcripts DIR]
//!   keel-sbf-tests --so target/deploy/keel-cu-trace.so --margin-check 50000 [--shapes ...]
//!
//! The lifecycle scenario runs first (its figures under `["lifecycle"]`), then bankruptcy, pump
//! and random, the fuzzer's deterministic slice (`keel_scenario::fuzz::SLICE_SEEDS`: every
//! invariant after every step; only the ceiling applies to its CU), then the sweep at each
//! shape (series x markets, default every shape in the budget file). `--record` prints the
//! measured figures as a budget file with 5% headroom instead of checking (to update the file
//! after a deliberate change; review the diff). `--transcripts DIR` writes each run's events and
//! final balances to DIR/<run>.txt, which the bank's run of the same scenarios must equal
//! (tests/bank/shared_scenarios.rs). Exits non-zero on any failed assertion (a panic), budget
//! violation, unmeasured budget or unexpected failure. `--margin-check MAX` (with a `cu-trace`
//! build) runs only the sweep and reports the margin check `margin_report` brackets — the
//! program's own loads and checks of markets, oracles and pages and the margin computation — at
//! each shape, failing above MAX.

mod budget;
mod svm;

use budget::{shape_key, worst, Budgets, Problem};
use keel_scenario::{bankruptcy, fuzz, lifecycle, pump, random, sweep, Measured};
use std::future::Future;
use std::process::ExitCode;

/// Runs a future that never waits: every backend call here completes synchronously (LiteSVM
/// executes in place), so one poll finishes it.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("a backend call waited"),
    }
}

/// The runs with a table of their own in the budget file (not sweep shapes).
const SCENARIOS: [&str; 4] = ["lifecycle", "bankruptcy", "pump", "random"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let so = arg("--so").unwrap_or_else(|| "target/deploy/keel.so".into());
    let budgets_path = arg("--budgets").unwrap_or_else(|| "tests/sbf/budgets.toml".into());
    let record = args.iter().any(|a| a == "--record");
    let elf = std::fs::read(&so).unwrap_or_else(|e| panic!("read {so}: {e}"));
    let budgets = if record {
        None
    } else {
        let text = std::fs::read_to_string(&budgets_path)
            .unwrap_or_else(|e| panic!("read {budgets_path}: {e}"));
        Some(Budgets::parse(&text).unwrap_or_else(|e| panic!("{e}")))
    };
    let mut shapes: Vec<(usize, usize)> = match arg("--shapes") {
        Some(s) => s.split(',').map(parse_shape).collect(),
        None => match &budgets {
            Some(b) => b
                .shapes
                .keys()
                .filter(|k| !SCENARIOS.contains(&k.as_str()))
                .map(|k| parse_shape(k))
                .collect(),
            None => vec![(1, 1), (8, 1), (16, 1), (32, 1), (8, 4), (16, 4), (32, 4)],
        },
    };
    shapes.sort_by_key(|&(n, m)| (m, n));

    // A `cu-trace` build (scripts/measure-margin-check.sh): only the sweep, and only the margin
    // check `margin_report` brackets, against issue 18's target.
    if let Some(max) = arg("--margin-check") {
        let max: u64 = max.parse().expect("--margin-check: compute units");
        let mut failures = Vec::new();
        for (n, m) in shapes {
            let w = block_on(sweep::run(svm::Svm::new(&elf), n, m));
            let key = shape_key(n, m);
            match worst(&w.measured)
                .into_iter()
                .find(|(i, _)| *i == "margin_check")
            {
                Some((_, cu)) => {
                    println!("  {key:>9} margin check {cu:>9} CU  (target {max})");
                    if cu > max {
                        failures.push(format!("{key}: margin check {cu} CU above {max}"));
                    }
                }
                None => failures.push(format!(
                    "{key}: no traced margin check (not a cu-trace build?)"
                )),
            }
        }
        for f in &failures {
            eprintln!("FAILED: {f}");
        }
        return if failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    let transcripts = arg("--transcripts");
    let keep = |key: &str, w: &mut keel_scenario::World<svm::Svm>| {
        if let Some(dir) = &transcripts {
            std::fs::create_dir_all(dir).expect("transcripts dir");
            let path = format!("{dir}/{key}.txt");
            std::fs::write(&path, block_on(w.transcript())).expect("write transcript");
        }
    };
    type Run = (String, Vec<Measured>, Vec<(&'static str, String)>);
    let mut runs: Vec<Run> = Vec::new();
    let mut w = block_on(lifecycle::run(svm::Svm::new(&elf)));
    println!("lifecycle: ok (every step conserved, negative checks refused with their errors)");
    keep("lifecycle", &mut w);
    runs.push(("lifecycle".into(), w.measured, w.failures));
    let mut w = block_on(bankruptcy::run(svm::Svm::new(&elf)));
    println!("bankruptcy: ok (insurance fund, then socialised to the unit)");
    keep("bankruptcy", &mut w);
    runs.push(("bankruptcy".into(), w.measured, w.failures));
    let mut w = block_on(pump::run(svm::Svm::new(&elf)));
    println!("pump: ok (a 20x oracle pump leaves at most the documented bound)");
    keep("pump", &mut w);
    runs.push(("pump".into(), w.measured, w.failures));
    let mut w = block_on(random::run(svm::Svm::new(&elf), random::SEED));
    println!("random: ok (300 random operations to settlement, conserved after each)");
    keep("random", &mut w);
    runs.push(("random".into(), w.measured, w.failures));
    // The fuzzer's deterministic slice: every invariant after every step; its transcript
    // (each instruction's outcome, every event, final balances) must equal the bank's, and
    // nothing may exceed the ceiling (no per-instruction budgets: the shapes are random).
    let mut ceiling_runs: Vec<Run> = Vec::new();
    for seed in fuzz::SLICE_SEEDS {
        let mut h = block_on(fuzz::slice(svm::Svm::new(&elf), seed));
        let s = h.stats;
        println!(
            "fuzz slice {seed}: ok ({} steps, {} instructions succeeded, {} refused of which {} as the spec requires; every invariant held)",
            s.steps, s.succeeded, s.refused, s.must_fail_refused
        );
        if let Some(dir) = &transcripts {
            std::fs::create_dir_all(dir).expect("transcripts dir");
            let path = format!("{dir}/fuzz-{seed}.txt");
            std::fs::write(&path, block_on(h.transcript())).expect("write transcript");
        }
        ceiling_runs.push((format!("fuzz-{seed}"), h.w.measured, h.w.failures));
    }
    for (n, m) in shapes {
        let mut w = block_on(sweep::run(svm::Svm::new(&elf), n, m));
        println!("sweep {}: steps done", shape_key(n, m));
        keep(&shape_key(n, m), &mut w);
        runs.push((shape_key(n, m), w.measured, w.failures));
    }

    let mut failures = Vec::new();
    if record {
        println!("# CU each Keel instruction may use in the SBF VM (measured + 5%); see tests/sbf/README.md");
        println!("ceiling = 1200000");
    }
    for (key, measured, failed) in &runs {
        if record {
            println!("\n[\"{key}\"]");
        }
        for (ins, cu) in worst(measured) {
            if record {
                println!("{ins} = {}", (cu * 105 / 100).div_ceil(100) * 100);
            } else {
                let b = budgets
                    .as_ref()
                    .and_then(|b| b.shapes.get(key))
                    .and_then(|t| t.get(ins));
                match b {
                    Some(b) => println!("  {key:>9} {ins:<20} {cu:>9} CU  (budget {b})"),
                    None => println!("  {key:>9} {ins:<20} {cu:>9} CU"),
                }
            }
        }
        let mut problems: Vec<Problem> = failed
            .iter()
            .map(|(i, w)| (i.to_string(), format!("failed: {w}")))
            .collect();
        match &budgets {
            Some(b) => {
                problems.extend(b.check(key, measured));
                let (bad, known) = b.triage(key, &problems);
                failures.extend(bad);
                for k in known {
                    println!("  KNOWN FAILURE (budgets.toml [known_failures]): {k}");
                }
            }
            None => failures.extend(problems.iter().map(|(i, w)| format!("{key}: {i} {w}"))),
        }
    }
    for (key, measured, failed) in &ceiling_runs {
        let problems = failed
            .iter()
            .map(|(i, w)| format!("{key}: {i} failed: {w}"))
            .chain(
                worst(measured)
                    .into_iter()
                    .filter(|(_, cu)| budgets.as_ref().is_some_and(|b| *cu > b.ceiling))
                    .map(|(i, cu)| format!("{key}: {i} used {cu} CU, above the ceiling")),
            );
        failures.extend(problems);
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("FAILED: {f}");
        }
        ExitCode::FAILURE
    }
}

fn parse_shape(s: &str) -> (usize, usize) {
    let (n, m) = s
        .split_once('x')
        .unwrap_or_else(|| panic!("shape {s}: want <series>x<markets>"));
    (n.parse().expect("series"), m.parse().expect("markets"))
}
