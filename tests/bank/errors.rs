//! Every named error is produced by some test, or is listed below with the reason no
//! instruction sequence can reach it.
//!
//! "Produced" is checked where it is asserted: `TestContext::expect_error` fails unless the
//! transaction fails with exactly the expected code (and changes nothing), so a variant named as
//! the expected error of an `expect_error(…)` call in this suite is produced whenever the suite
//! runs. This test reads the error enum from the program's source and the suite's calls from
//! its source files, so adding a variant without a test (or deleting the only test of one)
//! fails here.

use std::collections::BTreeSet;
use std::path::Path;

/// Variants no instruction sequence can produce, and why. Codes are positional (Anchor numbers
/// the enum), so an unreachable variant stays in the enum rather than renumbering the rest.
const UNREACHABLE: &[(&str, &str)] = &[
    (
        "WrongExchange",
        "one exchange per deployment (the PDA [\"exchange\"]); every Keel account names it. \
         Kept as a defence in depth should a second exchange ever exist",
    ),
    (
        "ConservationViolated",
        "an invariant checked after every token movement: reaching it needs a bug in the program",
    ),
    (
        "AccountBeingLiquidated",
        "never returned: trading during an episode follows the below-IM reduce-only rule instead",
    ),
    (
        "CorruptPosition",
        "position slots and kinds are written only by the program's ledger",
    ),
    (
        "UnknownLayoutVersion",
        "every account is created at LAYOUT_VERSION; reachable only after a layout migration",
    ),
    (
        "LiquidationDidNotImprove",
        "a safety net: a step at the mark that lowers MM by more than its bonus always improves \
         health (keel-risk's liquidation tests)",
    ),
    (
        "RiskTooManyPositions",
        "an account holds at most MAX_POSITIONS, the engine's own limit",
    ),
    (
        "RiskBadMarketIndex",
        "engine inputs are built by keel-state from the account's own market slots",
    ),
    (
        "RiskNonPositivePrice",
        "oracle prices are checked positive first (OracleNonPositivePrice)",
    ),
    (
        "RiskParamOutOfBounds",
        "parameters are validated when set (ParamOutOfBounds), before the engine sees them",
    ),
    (
        "RiskBadCorrelation",
        "correlation state is written only by the program's own crank",
    ),
    (
        "RiskNotLiquidatable",
        "liquidate checks the account is below MM (NotLiquidatable) before sizing a plan",
    ),
    (
        "RiskOverflow",
        "bounded parameters, prices and quantities keep the engine inside its domain; its error \
         paths are exercised by the keel-risk tests and cargo-fuzz targets",
    ),
    (
        "RiskDivisionByZero",
        "as RiskOverflow: divisors are bounded away from zero by the parameter bounds",
    ),
    ("RiskDomain", "as RiskOverflow"),
];

fn variants(error_rs: &str) -> Vec<String> {
    let start = error_rs.find("pub enum KeelError").expect("the enum");
    let body = &error_rs[start..];
    let end = body.find("\n}\n").expect("its end");
    body[..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let name = l.strip_suffix(',')?;
            (name.chars().next()?.is_ascii_uppercase()
                && name.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| name.to_string())
        })
        .collect()
}

/// The span of the call starting at `open` (the index of its `(`), parentheses balanced.
fn call_span(s: &str, open: usize) -> &str {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[open..open + i];
                }
            }
            _ => {}
        }
    }
    &s[open..]
}

/// `E::Name` / `KeelError::Name` inside `expect_error(…)` calls and `code(…)` comparisons, and
/// in the tables of `(input, E::Name)` cases that a test feeds to `expect_error`.
fn asserted(src: &str, out: &mut BTreeSet<String>) {
    let mut spans: Vec<&str> = Vec::new();
    for pat in ["expect_error(", "code("] {
        for (i, _) in src.match_indices(pat) {
            spans.push(call_span(src, i + pat.len() - 1));
        }
    }
    if src.contains("expect_error(") {
        spans.extend(src.lines().filter(|l| l.trim_end().ends_with("),")));
    }
    for span in spans {
        {
            for prefix in ["E::", "KeelError::"] {
                for (j, _) in span.match_indices(prefix) {
                    if j > 0 && span.as_bytes()[j - 1].is_ascii_alphanumeric() {
                        continue;
                    }
                    let name: String = span[j + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    out.insert(name);
                }
            }
        }
    }
}

#[test]
fn every_error_is_produced_by_a_test_or_explained() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let all = variants(&std::fs::read_to_string(root.join("programs/keel/src/error.rs")).unwrap());
    assert!(all.len() > 80, "parsed {} variants", all.len());
    let mut seen = BTreeSet::new();
    for dir in ["tests/bank"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("errors.rs") {
                asserted(&std::fs::read_to_string(&path).unwrap(), &mut seen);
            }
        }
    }
    let unreachable: BTreeSet<&str> = UNREACHABLE.iter().map(|(n, _)| *n).collect();
    for name in &unreachable {
        assert!(all.iter().any(|v| v == name), "{name} is not a KeelError");
        assert!(
            !seen.contains(*name),
            "{name} is listed as unreachable but a test produces it"
        );
    }
    let missing: Vec<&String> = all
        .iter()
        .filter(|v| !seen.contains(*v) && !unreachable.contains(v.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "errors no test produces (write the test, or explain in UNREACHABLE): {missing:?}"
    );
    // docs/security.md §6 states these counts.
    assert_eq!((all.len(), UNREACHABLE.len()), (92, 15));
    println!(
        "{} errors: {} produced by tests, {} unreachable",
        all.len(),
        all.len() - unreachable.len(),
        unreachable.len()
    );
}
