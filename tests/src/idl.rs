//! The IDL of the Keel program, generated without the Anchor CLI: Anchor's own `IdlBuilder`
//! compiles the program with its `idl-build` feature and assembles the JSON, exactly what
//! `anchor idl build` does. The committed copy is `idl/keel.json`.
//!
//! - Regenerate: `cargo run -p keel-tests --bin keel-idl` (writes `idl/keel.json`).
//! - Check: `cargo run -p keel-tests --bin keel-idl -- --check`, and the test below, fail when
//!   the committed file differs from what the code generates.
//!
//! The nested build uses its own target directory (`target/idl`, or `KEEL_IDL_TARGET_DIR`) so
//! it never waits on the lock of the build that runs it; the first run compiles Anchor with
//! `idl-build` (a few minutes), later runs take seconds.

use anchor_lang_idl::build::IdlBuilder;
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

/// Generates the IDL JSON (pretty-printed, with a trailing newline).
pub fn generate() -> anyhow_like::Result<String> {
    let root = workspace_root();
    let target = std::env::var_os("KEEL_IDL_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("idl"));
    // anchor-lang-idl 0.1.4 turns a set RUSTUP_TOOLCHAIN into a literal `+{toolchain}` argument;
    // the toolchain comes from rust-toolchain.toml anyway.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let idl = IdlBuilder::new()
        .program_path(root.join("programs").join("keel"))
        .cargo_args(vec![
            "--target-dir".into(),
            target.to_string_lossy().into_owned(),
        ])
        .build()
        .map_err(|e| e.to_string())?;
    let mut json = serde_json::to_string_pretty(&idl).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(json)
}

/// A string error is all the generator needs.
pub mod anyhow_like {
    /// `Result` with a printable error.
    pub type Result<T> = std::result::Result<T, String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_idl_is_up_to_date() {
        let generated = generate().expect("IDL generation");
        let committed = std::fs::read_to_string(idl_path()).unwrap_or_default();
        assert!(
            generated == committed,
            "idl/keel.json is stale: regenerate it with `cargo run -p keel-tests --bin keel-idl`"
        );
        // It describes what clients need.
        let idl: serde_json::Value = serde_json::from_str(&generated).unwrap();
        let names = |k: &str| -> Vec<String> {
            idl[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(idl["address"], keel::ID.to_string());
        for a in [
            "Exchange",
            "Market",
            "Series",
            "MarginAccount",
            "Correlation",
        ] {
            assert!(names("accounts").contains(&a.to_string()), "{a}");
        }
        assert_eq!(names("instructions").len(), 22);
        assert!(names("events").contains(&"MarginReport".to_string()));
        assert_eq!(
            idl["errors"].as_array().unwrap().len(),
            keel::error::KeelError::InvalidTradeBand as usize + 1
        );
    }
}
