//! The IDL of the Keel program, generated without the Anchor CLI: Anchor's own `IdlBuilder`
//! compiles the program with its `idl-build` feature and assembles the JSON, exactly what
//! `anchor idl build` does; then the seeds Anchor's generator cannot read are corrected
//! ([`ACCOUNT_FIELD_SEEDS`]) and the TypeScript types are written as `anchor build` writes
//! `target/types/keel.ts`.
//!
//! - Regenerate everything: `cargo run -p keel-tests --bin keel-idl` writes `idl/keel.json`,
//!   its copy in the TypeScript SDK (`sdk/ts/src/idl/keel.json`), the SDK's types
//!   (`sdk/ts/src/idl/keel.ts`) and its error hints (`sdk/ts/src/idl/hints.json`, keel-client's).
//! - Check: `cargo run -p keel-tests --bin keel-idl -- --check`, and the test in `idl/tests.rs`,
//!   fail when a committed file differs from what the code generates.
//!
//! The nested build uses its own target directory (`target/idl`, or `KEEL_IDL_TARGET_DIR`) so
//! it never waits on the lock of the build that runs it; the first run compiles Anchor with
//! `idl-build` (a few minutes), later runs take seconds.

use anchor_lang_idl::build::IdlBuilder;
use anchor_lang_idl::types::{Idl, IdlInstructionAccountItem, IdlSeed, IdlSeedAccount};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where the committed IDL lives.
pub fn idl_path() -> PathBuf {
    workspace_root().join("idl").join("keel.json")
}

/// Seeds that Anchor's IDL generator cannot read. It stops reading a seed expression at the
/// first call, so `&exchange.load()?.market_count.to_le_bytes()` (a zero-copy account's field)
/// is emitted as the exchange's address, and a client deriving the PDA from the IDL gets a
/// wrong address. Each entry: instruction, account, seed position, the account field the
/// program really uses, and that account's type (Anchor's resolver fetches the account, reads
/// the field and encodes it by its IDL type: `u16`/`u32` little-endian, as the program does).
pub const ACCOUNT_FIELD_SEEDS: &[(&str, &str, usize, &str, &str)] = &[
    (
        "create_market",
        "market",
        2,
        "exchange.market_count",
        "Exchange",
    ),
    ("list_series", "series", 2, "market.series_count", "Market"),
];

/// Replaces the seeds of [`ACCOUNT_FIELD_SEEDS`], checking first that the generator emitted
/// the known wrong seed there (so a change in the program or in Anchor is noticed, not
/// overwritten).
pub fn fix_account_field_seeds(idl: &mut Idl) -> Result<(), String> {
    for &(ix, account, index, path, ty) in ACCOUNT_FIELD_SEEDS {
        let instruction = idl
            .instructions
            .iter_mut()
            .find(|i| i.name == ix)
            .ok_or_else(|| format!("seed fix: no instruction `{ix}` in the IDL"))?;
        let acc = instruction
            .accounts
            .iter_mut()
            .find_map(|a| match a {
                IdlInstructionAccountItem::Single(a) if a.name == account => Some(a),
                _ => None,
            })
            .ok_or_else(|| format!("seed fix: no account `{ix}.{account}`"))?;
        let seed = acc
            .pda
            .as_mut()
            .and_then(|p| p.seeds.get_mut(index))
            .ok_or_else(|| format!("seed fix: `{ix}.{account}` has no seed {index}"))?;
        let owner = path.split('.').next().unwrap_or_default();
        let emitted = IdlSeed::Account(IdlSeedAccount {
            path: owner.into(),
            account: None,
        });
        if *seed != emitted {
            return Err(format!(
                "seed fix: `{ix}.{account}` seed {index} is {seed:?}, not what Anchor's generator \
                 used to emit for `{path}`: check the program's seeds and update \
                 ACCOUNT_FIELD_SEEDS in tests/src/idl.rs"
            ));
        }
        *seed = IdlSeed::Account(IdlSeedAccount {
            path: path.into(),
            account: Some(ty.into()),
        });
    }
    Ok(())
}

/// Builds the IDL with Anchor's `IdlBuilder` and corrects its seeds.
pub fn build() -> Result<Idl, String> {
    let root = workspace_root();
    let target = std::env::var_os("KEEL_IDL_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("idl"));
    // anchor-lang-idl 0.1.4 turns a set RUSTUP_TOOLCHAIN into a literal `+{toolchain}` argument;
    // the toolchain comes from rust-toolchain.toml anyway.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let mut idl = IdlBuilder::new()
        .program_path(root.join("programs").join("keel"))
        .cargo_args(vec![
            "--target-dir".into(),
            target.to_string_lossy().into_owned(),
        ])
        .build()
        .map_err(|e| e.to_string())?;
    fix_account_field_seeds(&mut idl)?;
    Ok(idl)
}

/// The IDL JSON (pretty-printed, with a trailing newline).
pub fn render_json(idl: &Idl) -> String {
    let mut json = serde_json::to_string_pretty(idl).expect("IDL serialises");
    json.push('\n');
    json
}

/// `lowerCamelCase` as Anchor's TypeScript client computes it (`toCamelCase` in
/// `@anchor-lang/core`, itself `heck`'s rule): words split at non-alphanumerics, at a lowercase
/// letter (and digits) followed by an uppercase one, and before the last capital of a capital
/// run followed by a lowercase letter; digits do not start a word.
pub fn lower_camel_case(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for i in 0..c.len() {
        if !c[i].is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c[i].is_ascii_uppercase() && !cur.is_empty() {
            // Back over digits: a lowercase letter there ends a word.
            let mut j = i;
            while j > 0 && c[j - 1].is_ascii_digit() {
                j -= 1;
            }
            let after_lower = j > 0 && c[j - 1].is_ascii_lowercase();
            // Back over capitals and digits: a capital there, and a lowercase letter next.
            let mut k = i;
            let mut capital = false;
            while k > 0 && (c[k - 1].is_ascii_uppercase() || c[k - 1].is_ascii_digit()) {
                capital |= c[k - 1].is_ascii_uppercase();
                k -= 1;
            }
            let run_end = capital && c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if after_lower || run_end {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c[i]);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_ascii_lowercase();
            if i == 0 {
                lower
            } else {
                let mut ch = lower.chars();
                let first = ch.next().map(|f| f.to_ascii_uppercase());
                first.into_iter().chain(ch).collect()
            }
        })
        .collect()
}

/// The keys whose values Anchor's TypeScript client converts to camelCase when it loads an IDL
/// (`convertIdlToCamelCase`): a `path` segment by segment.
const CAMEL_KEYS: [&str; 5] = ["name", "path", "account", "relations", "generic"];

fn camel_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(
            s.split('.')
                .map(lower_camel_case)
                .collect::<Vec<_>>()
                .join("."),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel_value).collect()),
        other => other.clone(),
    }
}

fn to_camel(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if CAMEL_KEYS.contains(&k.as_str()) && !val.is_object() {
                    *val = camel_value(val);
                } else {
                    to_camel(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(to_camel),
        _ => {}
    }
}

/// The TypeScript type of the IDL, as `anchor build` writes `target/types/keel.ts`: the IDL with
/// the names Anchor's client uses at run time (camelCase), as a type literal.
pub fn render_ts(idl: &Idl) -> String {
    let mut v = serde_json::to_value(idl).expect("IDL serialises");
    to_camel(&mut v);
    let body = serde_json::to_string_pretty(&v).expect("JSON");
    format!(
        "/**\n * Program IDL in camelCase format in order to be used in JS/TS.\n *\n * Note that \
         this is only a type helper and is not the actual IDL. The original\n * IDL is \
         `idl/keel.json` (copied to `src/idl/keel.json`). Generated by\n * `cargo run -p \
         keel-tests --bin keel-idl`: do not edit.\n */\nexport type Keel = {body};\n"
    )
}

/// What to do about each Keel error that has a hint (keel-client's table, which the CLI
/// prints), by error name, as JSON for the TypeScript SDK.
pub fn render_hints(idl: &Idl) -> String {
    let map: serde_json::Map<String, Value> = idl
        .errors
        .iter()
        .filter_map(|e| {
            keel_client::errors::hint(&e.name).map(|h| (e.name.clone(), Value::from(h)))
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&map).expect("JSON");
    json.push('\n');
    json
}

/// Every generated file and its content: the IDL, its copy in the TypeScript SDK, the SDK's
/// types and its error hints.
pub fn outputs(idl: &Idl) -> Vec<(PathBuf, String)> {
    let root = workspace_root();
    let json = render_json(idl);
    let sdk = root.join("sdk").join("ts").join("src").join("idl");
    vec![
        (idl_path(), json.clone()),
        (sdk.join("keel.json"), json),
        (sdk.join("keel.ts"), render_ts(idl)),
        (sdk.join("hints.json"), render_hints(idl)),
    ]
}

/// The generated files that differ from the committed ones.
pub fn stale(outputs: &[(PathBuf, String)]) -> Vec<PathBuf> {
    outputs
        .iter()
        .filter(|(p, s)| std::fs::read_to_string(p).ok().as_deref() != Some(s.as_str()))
        .map(|(p, _)| p.clone())
        .collect()
}

#[cfg(test)]
mod tests;
