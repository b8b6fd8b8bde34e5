//! Every named error is produced by some test, or is listed below with the reason no
//! instruction sequence can reach it.
//!
//! "Produced" is checked where it is asserted: `expect_error` (`TestContext::expect_error` on
//! the bank, `World::expect_error` in the shared scenarios this suite runs) fails unless the
//! transaction fails with exactly the expected code and changes nothing. So a variant counts as
//! produced only when it is the expected error — the third argument — of an `expect_error(…)`
//! call in a test that runs: written there as `E::Name`, or as the loop variable of a
//! `for (…, err) in [(…, E::Name), …]` table whose tuples end with it. Anything else (a
//! comparison that accepts one of several codes, a name elsewhere on a line) does not count,
//! and `#[ignore]`d tests are skipped. The test reads the error enum from the program's source
//! and the calls from the suite's source files, so adding a variant without a test (or
//! deleting the only test of one) fails here.

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
        "retired (see RETIRED): trading during an episode follows the below-IM reduce-only rule",
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
    (
        "RiskMissingArray",
        "keel-state's margin inputs attach every option position's array from its page or refuse \
         first (ArrayPageMissing, ArraySlotMismatch, ArraysNotCranked): the engine never sees an \
         option without one from the program",
    ),
];

/// Unreachable variants that no program code may name at all: kept only for their position.
const RETIRED: &[&str] = &["AccountBeingLiquidated"];

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
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return &s[open..=open + i];
                }
            }
            _ => {}
        }
    }
    &s[open..]
}

/// The top-level comma-separated arguments of a call span `(a, b, …)`.
fn arguments(span: &str) -> Vec<&str> {
    let inner = &span[1..span.len().saturating_sub(1)];
    let (mut out, mut depth, mut from) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(inner[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    if !inner[from..].trim().is_empty() {
        out.push(inner[from..].trim());
    }
    out
}

/// `Name` if `arg` is exactly `E::Name` or `KeelError::Name`.
fn variant_of(arg: &str) -> Option<String> {
    let name = arg
        .strip_prefix("E::")
        .or_else(|| arg.strip_prefix("KeelError::"))?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric())
        .then(|| name.to_string())
}

/// `src` without the `#[ignore]`d test functions (attribute through the end of the body).
fn without_ignored(src: &str) -> String {
    let mut out = src.to_string();
    while let Some(at) = out.find("#[ignore") {
        let body = out[at..]
            .find('{')
            .map(|b| at + b)
            .expect("an ignored fn has a body");
        let end = at + (body - at) + call_span(&out[body..], 0).len();
        out.replace_range(at..end, "");
    }
    out
}

/// The variants `src` asserts as produced (see the module docs).
fn asserted(src: &str, out: &mut BTreeSet<String>) {
    let src = without_ignored(src);
    for (i, _) in src.match_indices("expect_error(") {
        let args = arguments(call_span(&src, i + "expect_error".len()));
        let Some(expected) = args.get(2) else {
            continue;
        };
        if let Some(name) = variant_of(expected) {
            out.insert(name);
            continue;
        }
        // A loop variable: the enclosing `for (…, var) in [ … ]` table, each tuple's last
        // element.
        let var = *expected;
        let before = &src[..i];
        let Some(f) = before.rfind("for (") else {
            continue;
        };
        let head = &before[f..];
        let Some(in_at) = head.find(" in [") else {
            continue;
        };
        let pattern = arguments(call_span(head, 4));
        if pattern.last() != Some(&var) {
            continue;
        }
        let table = call_span(head, in_at + 4);
        for row in arguments(table) {
            if row.starts_with('(') {
                if let Some(name) = arguments(row).last().and_then(|a| variant_of(a)) {
                    out.insert(name);
                }
            }
        }
    }
}

/// The scanner counts what it should, and only that.
#[test]
fn the_scan_counts_only_expected_errors_of_tests_that_run() {
    let mut seen = BTreeSet::new();
    asserted(
        r#"
        async fn a() {
            t.expect_error(&[ix], &[&k], E::NotOwner, &watch).await;
            w.expect_error(
                &[ix],
                &[&alice.kp],
                KeelError::WithdrawalBelowInitialMargin,
                &watch,
            )
            .await;
            for (a, err) in [
                (args(3, 620 * USDC, now + DAY), E::InvalidSeriesKind),
                (args(0, 0, now + DAY), E::InvalidStrike),
            ] {
                t.expect_error(&[f(a)], &[&admin], err, &watch).await;
            }
            assert!(e.code == Some(code(E::BelowInitialMargin)) || e.code == Some(code(E::PriceOutsideBand)));
            let x = (E::ZeroAmount, 1);
            foo(E::SelfTrade),
        }
        #[ignore]
        #[tokio::test]
        async fn b() {
            t.expect_error(&[ix], &[&k], E::NotAdmin, &watch).await;
        }
        "#,
        &mut seen,
    );
    let want: BTreeSet<String> = [
        "NotOwner",
        "WithdrawalBelowInitialMargin",
        "InvalidSeriesKind",
        "InvalidStrike",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(seen, want);
}

#[test]
fn every_error_is_produced_by_a_test_or_explained() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let all = variants(&std::fs::read_to_string(root.join("programs/keel/src/error.rs")).unwrap());
    assert!(all.len() > 80, "parsed {} variants", all.len());
    let mut seen = BTreeSet::new();
    // The bank suite, and the shared scenarios it runs (tests/bank/shared_scenarios.rs).
    for dir in ["tests/bank", "tests/scenario/src"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("errors.rs") {
                asserted(&std::fs::read_to_string(&path).unwrap(), &mut seen);
            }
        }
    }
    // A retired variant is named nowhere in the program but its declaration.
    for name in RETIRED {
        assert!(
            UNREACHABLE.iter().any(|(n, _)| n == name),
            "{name} not explained"
        );
        for entry in walk(&root.join("programs/keel/src")) {
            let text = std::fs::read_to_string(&entry).unwrap();
            let uses = text.matches(&format!("::{name}")).count();
            assert_eq!(
                uses,
                0,
                "{name} is retired but {} names it",
                entry.display()
            );
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
    assert_eq!((all.len(), UNREACHABLE.len()), (112, 16));
    println!(
        "{} errors: {} produced by tests, {} unreachable",
        all.len(),
        all.len() - unreachable.len(),
        unreachable.len()
    );
}

/// Every `.rs` file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}
