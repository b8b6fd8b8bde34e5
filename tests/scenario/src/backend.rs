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
