//! The docs name only code that exists: every `path::item` and every long snake_case name
//! (a test, function, field or parameter) that a Markdown file cites in backticks must appear
//! in the repository's code. Docs drifted before: risk-model.md kept describing the pointwise
//! grid's `margin::between` and its tests after the risk arrays replaced them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Names a doc may cite without them being in this repository's code, with the reason.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "docs/performance.md",
        "test_health_compute_perp",
        "Mango v4's test, quoted for comparison",
    ),
    (
        "docs/performance.md",
        "increase_tx_account_lock_limit",
        "an Agave feature gate (agave-feature-set 4.2.2), not Keel code",
    ),
    (
        "docs/liquidation.md",
        "update_execution_cost",
        "Agave's cost tracker (solana-cost-model 4.2.2), not Keel code",
    ),
    (
        "docs/performance.md",
        "VOL_RUNS",
        "the pointwise engine's record (before the risk arrays)",
    ),
    (
        "docs/performance.md",
        "scenario_pnl",
        "the pointwise engine's record (before the risk arrays)",
    ),
    (
        "docs/performance.md",
        "pnl_is_exact",
        "the pointwise engine's record (before the risk arrays)",
    ),
];

/// Code files whose identifiers count as "in the code".
const CODE_EXTENSIONS: &[&str] = &["rs", "ts", "toml", "sh", "js", "json", "py", "yml"];

fn skipped_dir(name: &str) -> bool {
    name == "node_modules" || name.starts_with("target") || (name.starts_with('.') && name != ".ci")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !skipped_dir(&name) {
                walk(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every identifier-like word of `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_ident_char(c))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

/// The names a Markdown text cites in backticks that must exist in code: the item after every
/// `::`, and every lower-case snake_case word of four or more parts.
fn cited(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, span) in markdown.split('`').enumerate() {
        // Odd pieces are inside backticks; a blank line means the backtick was unpaired.
        if i % 2 == 0 || span.contains("\n\n") {
            continue;
        }
        for (j, part) in span.split("::").enumerate() {
            if j > 0 {
                if let Some(w) = words(part).next().filter(|w| part.starts_with(*w)) {
                    out.insert(w.to_string());
                }
            }
        }
        for w in words(span) {
            let snake = w.starts_with(|c: char| c.is_ascii_lowercase())
                && !w.contains("__")
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if snake && w.split('_').filter(|p| !p.is_empty()).count() >= 4 {
                out.insert(w.to_string());
            }
        }
    }
    out
}

#[test]
fn the_checker_finds_paths_and_long_names_and_nothing_else() {
    let doc =
        "Prose `margin::value_position` and `src/x/tests.rs::{a_test_with_four_parts,\nshort}`, \
               `keel_risk::compute`, a `plain_two` name and `Fx::ONE`.";
    let got: Vec<String> = cited(doc).into_iter().collect();
    assert_eq!(
        got,
        ["ONE", "a_test_with_four_parts", "compute", "value_position"]
    );
}

#[test]
fn every_name_the_docs_cite_exists_in_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut known = BTreeSet::new();
    let mut docs = Vec::new();
    for f in &files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == "md" {
            docs.push(f.clone());
        } else if CODE_EXTENSIONS.contains(&ext) {
            if let Ok(text) = fs::read_to_string(f) {
                known.extend(words(&text).map(str::to_string));
            }
        }
    }
    assert!(
        known.contains("compute_with_arrays") && docs.len() >= 10,
        "the walk found the code ({} names) and the docs ({} files)",
        known.len(),
        docs.len()
    );
    let mut missing = Vec::new();
    for d in &docs {
        let rel = d
            .strip_prefix(&root)
            .unwrap_or(d)
            .to_string_lossy()
            .into_owned();
        let text = fs::read_to_string(d).expect("a doc is UTF-8");
        for name in cited(&text) {
            let allowed = ALLOWED.iter().any(|(f, n, _)| *f == rel && *n == name);
            if !known.contains(&name) && !allowed {
                missing.push(format!("{rel}: `{name}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "names the docs cite that no code file contains:\n{}",
        missing.join("\n")
    );
}
