//! What a scenario needs from a chain. Accounts cross it as plain bytes ([`RawAccount`]) so the
//! trait names no `solana-account`/`solana-transaction` version: the bank (Solana 3.x crates)
//! and LiteSVM (agave 4.x) implement it with their own types. `Instruction`, `Pubkey` and
//! `Keypair` are the same types on both graphs.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_keypair::Keypair;

/// An account as written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAccount {
    pub lamports: u64,
    pub owner: Pubkey,
    pub data: Vec<u8>,
}

/// A transaction that succeeded.
#[derive(Clone, Debug)]
pub struct Sent {
    pub logs: Vec<String>,
}

/// A transaction that failed.
#[derive(Clone, Debug)]
pub struct Failed {
    /// The custom program error code, if that is what failed.
    pub code: Option<u32>,
    /// The error, printed.
    pub error: String,
    pub logs: Vec<String>,
}

/// A chain a scenario runs on. Every transaction is paid by the backend's funded payer, carries
/// a 1.4M compute-unit limit, and is distinct from any earlier one (fresh blockhash or nonce).
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// A short name for messages ("bank", "sbf").
    fn name(&self) -> &'static str;
    /// Signs `ixs` with the payer and `signers`, executes and commits it.
    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Sent, Failed>;
    /// Executes `ixs` as `send` would without committing anything (a simulation).
    async fn simulate(&mut self, ixs: &[Instruction], signers: &[&Keypair])
        -> Result<Sent, Failed>;
    /// The account at `key`, if any.
    async fn account(&mut self, key: &Pubkey) -> Option<RawAccount>;
    /// Writes an account (oracles, mints, token accounts, wallets).
    async fn set_account(&mut self, key: &Pubkey, account: RawAccount);
    /// The clock's unix time.
    async fn now(&mut self) -> i64;
    /// Moves to a later slot with the clock at `unix_ts`.
    async fn set_time(&mut self, unix_ts: i64);
}

/// The VM's charge for the `sol_log_compute_units_` syscall (agave 4.2's syscall base cost): the
/// second of two remaining-units logs includes it.
pub const LOG_COMPUTE_UNITS_COST: u64 = 100;

/// Compute units of the section a `cu-trace` build brackets with two remaining-units logs
/// (`Program consumption: N units remaining`; keel's `cu_trace::log_compute_units`): the
/// difference less the second log's own charge. None unless the transaction has exactly two.
pub fn traced_cu(logs: &[String]) -> Option<u64> {
    let remaining: Vec<u64> = logs
        .iter()
        .filter_map(|l| l.strip_prefix("Program consumption: "))
        .filter_map(|r| r.strip_suffix(" units remaining")?.parse().ok())
        .collect();
    match remaining[..] {
        [before, after] => before
            .checked_sub(after)?
            .checked_sub(LOG_COMPUTE_UNITS_COST),
        _ => None,
    }
}

/// Compute units the Keel program used in a transaction: the sum of its top-level
/// `Program <keel> consumed N of M compute units` log lines (CPIs it makes are inside them).
pub fn program_cu(logs: &[String]) -> Option<u64> {
    let prefix = format!("Program {} consumed ", keel::ID);
    // Invocation depth: "invoke [N]" enters level N, "success"/"failed" leaves it; a program's
    // "consumed" line comes just before its "success", at its own level.
    let mut depth = 0usize;
    let mut total = None;
    for l in logs {
        if let Some(n) = l.strip_suffix(']').and_then(|h| h.rsplit_once(" invoke [")) {
            depth = n.1.parse().unwrap_or(depth);
        } else if let Some(rest) = l.strip_prefix(&prefix) {
            if depth == 1 {
                let n: u64 = rest.split(' ').next()?.parse().ok()?;
                total = Some(total.unwrap_or(0) + n);
            }
        } else if l.ends_with(" success") || l.contains(" failed: ") {
            depth = depth.saturating_sub(1);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traced_section_is_the_difference_less_the_second_log() {
        let logs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let two = logs(&[
            "Program log: Instruction: MarginReport",
            "Program consumption: 1380000 units remaining",
            "Program consumption: 1330000 units remaining",
        ]);
        assert_eq!(traced_cu(&two), Some(49_900));
        assert_eq!(traced_cu(&two[..2]), None, "one log: nothing bracketed");
        let three = logs(&[
            "Program consumption: 3 units remaining",
            "Program consumption: 2 units remaining",
            "Program consumption: 1 units remaining",
        ]);
        assert_eq!(traced_cu(&three), None);
        assert_eq!(traced_cu(&logs(&["Program log: nothing"])), None);
    }
}
