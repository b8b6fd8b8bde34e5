//! The Solana CLI's conventions: its config file (`~/.config/solana/cli/config.yml`), its
//! default keypair, and its commitment names.

use std::path::{Path, PathBuf};

/// What the Solana CLI config file says (fields absent from the file are `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SolanaConfig {
    /// `json_rpc_url`.
    pub json_rpc_url: Option<String>,
    /// `keypair_path`.
    pub keypair_path: Option<String>,
    /// `commitment`.
    pub commitment: Option<String>,
}

/// `$HOME`.
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The Solana CLI's default config file.
pub fn default_config_path() -> Option<PathBuf> {
    home().map(|h| h.join(".config/solana/cli/config.yml"))
}

/// The Solana CLI's default keypair.
pub fn default_keypair_path() -> Option<PathBuf> {
    home().map(|h| h.join(".config/solana/id.json"))
}

impl SolanaConfig {
    /// Parses the config file's top-level `key: value` lines. The file is YAML written by the
    /// Solana CLI; the three scalars read here are all this needs, so a full YAML parser is not
    /// pulled in (nested maps such as `address_labels` are skipped).
    pub fn parse(text: &str) -> SolanaConfig {
        let mut c = SolanaConfig::default();
        for line in text.lines() {
            if line.starts_with([' ', '\t', '-', '#']) {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            if v.is_empty() {
                continue;
            }
            match k.trim() {
                "json_rpc_url" => c.json_rpc_url = Some(v.to_string()),
                "keypair_path" => c.keypair_path = Some(v.to_string()),
                "commitment" => c.commitment = Some(v.to_string()),
                _ => {}
            }
        }
        c
    }

    /// Reads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<SolanaConfig, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(Self::parse(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SolanaConfig::default()),
            Err(e) => Err(format!("reading {}: {e}", path.display())),
        }
    }
}

/// Expands a leading `~/`.
pub fn expand_tilde(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), home()) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(p),
    }
}

/// A commitment level by its Solana CLI name.
pub fn commitment(name: &str) -> Result<solana_commitment_config::CommitmentConfig, String> {
    use solana_commitment_config::CommitmentConfig as C;
    match name {
        "processed" => Ok(C::processed()),
        "confirmed" => Ok(C::confirmed()),
        "finalized" => Ok(C::finalized()),
        other => Err(format!(
            "unknown commitment `{other}` (processed, confirmed or finalized)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_solana_cli_config() {
        let text = "---\njson_rpc_url: \"https://api.devnet.solana.com\"\nwebsocket_url: \"\"\nkeypair_path: /home/me/.config/solana/id.json\naddress_labels:\n  \"11111111111111111111111111111111\": System Program\ncommitment: confirmed\n";
        let c = SolanaConfig::parse(text);
        assert_eq!(
            c.json_rpc_url.as_deref(),
            Some("https://api.devnet.solana.com")
        );
        assert_eq!(
            c.keypair_path.as_deref(),
            Some("/home/me/.config/solana/id.json")
        );
        assert_eq!(c.commitment.as_deref(), Some("confirmed"));
        assert_eq!(
            SolanaConfig::parse("json_rpc_url: ''\n"),
            SolanaConfig::default()
        );
        assert!(commitment("finalized").is_ok());
        assert!(commitment("max").is_err());
    }
}
