//! The one small trait through which the keeper and the CLI reach a chain, so the same logic
//! runs against a real RPC node ([`crate::rpc::RpcChain`]) and against the in-process bank
//! (`keel-bank`'s `BankChain`) in tests and the demo.

use crate::lookup::LookupTables;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_transaction::versioned::VersionedTransaction;

/// The largest serialized transaction a Solana node accepts (an IPv6 MTU minus headers:
/// `solana_packet::PACKET_DATA_SIZE`).
pub const PACKET_DATA_SIZE: usize = 1232;

/// Compute budget of a transaction: the implementation adds the compute-budget instructions
/// (callers never include them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Compute-unit limit.
    pub cu_limit: u32,
    /// Priority fee, micro-lamports per compute unit (0: none).
    pub cu_price_micro_lamports: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            cu_limit: Budget::MAX_CU_LIMIT,
            cu_price_micro_lamports: 0,
        }
    }
}

impl Budget {
    /// Solana's largest compute-unit limit per transaction.
    pub const MAX_CU_LIMIT: u32 = 1_400_000;
    /// Headroom over a simulation's consumption, per mille (state may change before landing).
    pub const FIT_HEADROOM_PER_MILLE: u64 = 200;
    /// … plus this many units.
    pub const FIT_HEADROOM_UNITS: u64 = 10_000;

    /// This budget with the limit fitted to a transaction a simulation saw consume `consumed`
    /// units: consumed + 20% + 10,000, at most [`Budget::MAX_CU_LIMIT`]. The block scheduler
    /// charges the *requested* limit against the block's and each written account's CU caps
    /// until the transaction has run, so asking for 1.4M for an 80k liquidation takes 17 times
    /// its share of a slot (docs/liquidation.md, "Throughput").
    pub fn fitted(self, consumed: u64) -> Budget {
        let with_headroom = consumed
            .saturating_add(
                consumed
                    .saturating_mul(Self::FIT_HEADROOM_PER_MILLE)
                    .div_ceil(1000),
            )
            .saturating_add(Self::FIT_HEADROOM_UNITS);
        Budget {
            cu_limit: with_headroom.min(Self::MAX_CU_LIMIT as u64) as u32,
            ..self
        }
    }
}

/// A transaction the chain accepted (or a simulation that succeeded).
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Its signature (base58); empty for simulations.
    pub signature: String,
    /// Its log messages (where the chain returns them).
    pub logs: Vec<String>,
    /// Compute units consumed (where known).
    pub compute_units: Option<u64>,
}

/// Why a transaction did not land.
#[derive(Clone, Debug)]
pub enum SendError {
    /// The chain executed or pre-flighted it and it failed: retrying the same thing will fail
    /// the same way unless the state changes.
    Rejected {
        /// The custom program error code, if that is what failed.
        code: Option<u32>,
        /// The error, printed.
        error: String,
        /// Log messages.
        logs: Vec<String>,
    },
    /// It may not have reached the chain (network, timeout, blockhash expiry): worth retrying.
    Transport(String),
    /// Its serialized form exceeds [`PACKET_DATA_SIZE`] (with the lookup tables usable now):
    /// no node accepts it. Retrying helps only once more of its accounts are in usable tables.
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
}

impl SendError {
    /// The custom program error code, if any.
    pub fn code(&self) -> Option<u32> {
        match self {
            SendError::Rejected { code, .. } => *code,
            SendError::Transport(_) | SendError::TooLarge { .. } => None,
        }
    }

    /// Whether retrying could help.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transport(_))
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Rejected {
                code: Some(c),
                error,
                ..
            } => match crate::errors::describe(*c) {
                Some(d) => write!(f, "{d}"),
                None => write!(f, "transaction failed: {error}"),
            },
            SendError::Rejected { error, .. } => write!(f, "transaction failed: {error}"),
            SendError::Transport(e) => write!(f, "could not reach the chain: {e}"),
            SendError::TooLarge { size } => write!(
                f,
                "transaction too large: {size} bytes, a node accepts at most {PACKET_DATA_SIZE} (its accounts do not fit even through the address lookup tables usable now)"
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// A read that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainError(pub String);

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChainError {}

/// What Keel's off-chain programs need from a chain.
///
/// `async fn` in a public trait: both implementations' futures are `Send`, but callers here
/// run them on one task, so no `Send` bound is spelled out.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// The fee payer of every transaction sent through this chain.
    fn payer(&self) -> Pubkey;

    /// The accounts at `keys`, in order (`None`: no such account).
    async fn accounts(&self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError>;

    /// Every account owned by the Keel program whose data starts with `discriminator`
    /// (getProgramAccounts with a memcmp filter at offset 0).
    async fn program_accounts(
        &self,
        discriminator: &[u8; 8],
    ) -> Result<Vec<(Pubkey, Account)>, ChainError>;

    /// The cluster's unix time (the `Clock` sysvar: what the program sees).
    async fn unix_time(&self) -> Result<i64, ChainError>;

    /// Signs `ixs` with the payer and `signers` and sends it, waiting for confirmation.
    async fn send(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError>;

    /// Simulates `ixs` (nothing is committed) and returns the logs.
    async fn simulate(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError>;

    /// A recent blockhash, for transactions signed by several parties in turn (the CLI's
    /// two-step `trade`: the maker signs over it, the taker signs and sends later).
    ///
    /// The default says the chain cannot do it, so implementations written before this method
    /// existed keep compiling.
    async fn latest_blockhash(&self) -> Result<solana_hash::Hash, ChainError> {
        Err(ChainError(
            "this chain does not hand out blockhashes for externally signed transactions".into(),
        ))
    }

    /// Sends a transaction that is already fully signed (by parties other than this chain's
    /// payer, possibly) and waits for confirmation.
    ///
    /// The default says the chain cannot do it (see [`Chain::latest_blockhash`]).
    async fn send_transaction(&self, tx: &VersionedTransaction) -> Result<Sent, SendError> {
        let _ = tx;
        Err(SendError::Transport(
            "this chain does not send externally signed transactions".into(),
        ))
    }

    /// The address lookup tables this chain compiles transactions against when a legacy
    /// message would not fit ([`compile`]); `None`: this chain only sends legacy transactions.
    fn lookup_tables(&self) -> Option<&LookupTables> {
        None
    }

    /// The current slot (the `Clock` sysvar's).
    async fn slot(&self) -> Result<u64, ChainError> {
        let clock =
            <anchor_lang::prelude::Clock as anchor_lang::solana_program::sysvar::SysvarId>::id();
        let a = self
            .accounts(&[clock])
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| ChainError("no Clock sysvar".into()))?;
        a.data
            .get(0..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| ChainError("Clock sysvar too short".into()))
    }

    /// Every address lookup table whose authority is `authority`: (address, account data).
    ///
    /// The default finds none.
    async fn lookup_tables_of(
        &self,
        authority: &Pubkey,
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        let _ = authority;
        Ok(Vec::new())
    }
}

/// The message of `all` (compute-budget instructions included) paid by `payer` on `blockhash`:
/// legacy when the signed transaction fits in [`PACKET_DATA_SIZE`] bytes, else v0 naming what it
/// can through `tables` (pass only addresses usable now: `LookupTables::active`). Refused
/// ([`SendError::TooLarge`]) when even that does not fit: a node would drop it.
pub fn message(
    payer: &Pubkey,
    all: &[Instruction],
    blockhash: solana_hash::Hash,
    tables: &[AddressLookupTableAccount],
) -> Result<VersionedMessage, SendError> {
    let legacy = VersionedMessage::Legacy(solana_message::Message::new_with_blockhash(
        all,
        Some(payer),
        &blockhash,
    ));
    let size = signed_size(&legacy);
    if size <= PACKET_DATA_SIZE {
        return Ok(legacy);
    }
    if tables.is_empty() {
        return Err(SendError::TooLarge { size });
    }
    let v0 = v0::Message::try_compile(payer, all, tables, blockhash).map_err(|e| {
        SendError::Rejected {
            code: None,
            error: format!("compiling a v0 message: {e}"),
            logs: vec![],
        }
    })?;
    let msg = VersionedMessage::V0(v0);
    let size = signed_size(&msg);
    if size > PACKET_DATA_SIZE {
        return Err(SendError::TooLarge { size });
    }
    Ok(msg)
}

/// The serialized size of a transaction carrying `msg` and its signatures.
pub fn signed_size(msg: &VersionedMessage) -> usize {
    let n = msg.header().num_required_signatures as usize;
    // The signature count is a compact-u16: one byte below 128.
    1 + 64 * n + msg.serialize().len()
}

/// `ixs` behind the compute-budget instructions of `budget`, paid by `payer`, signed by it and
/// every distinct key of `signers`, on `blockhash`: [`message`] (legacy if it fits, else v0
/// through `tables`), signed.
pub fn compile(
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
    budget: Budget,
    blockhash: solana_hash::Hash,
    tables: &[AddressLookupTableAccount],
) -> Result<VersionedTransaction, SendError> {
    use solana_signer::Signer;
    let mut all = budget_instructions(budget);
    all.extend_from_slice(ixs);
    let mut keys: Vec<&Keypair> = vec![payer];
    for s in signers {
        if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
            keys.push(s);
        }
    }
    let msg = message(&payer.pubkey(), &all, blockhash, tables)?;
    let tx = VersionedTransaction::try_new(msg, &keys).map_err(|e| SendError::Rejected {
        code: None,
        error: format!("signing: {e}"),
        logs: vec![],
    })?;
    fits(tx)
}

/// The transaction if it fits in a packet, else the error a node would give.
fn fits(tx: VersionedTransaction) -> Result<VersionedTransaction, SendError> {
    let size = transaction_size(&tx);
    if size > PACKET_DATA_SIZE {
        return Err(SendError::TooLarge { size });
    }
    Ok(tx)
}

/// The serialized size of `tx` (what travels in the packet).
pub fn transaction_size(tx: &VersionedTransaction) -> usize {
    bincode::serialized_size(tx).map_or(usize::MAX, |n| n as usize)
}

/// Builds what `chain` sends for `ixs`: [`compile`] against the chain's lookup tables at its
/// current slot (read only when the legacy form does not fit).
pub async fn compile_for(
    chain: &impl Chain,
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
    budget: Budget,
    blockhash: solana_hash::Hash,
) -> Result<VersionedTransaction, SendError> {
    match compile(payer, ixs, signers, budget, blockhash, &[]) {
        Err(SendError::TooLarge { .. }) if chain.lookup_tables().is_some_and(|t| !t.is_empty()) => {
            let slot = chain.slot().await.map_err(|e| SendError::Transport(e.0))?;
            let tables = chain.lookup_tables().expect("checked").active(slot);
            compile(payer, ixs, signers, budget, blockhash, &tables)
        }
        r => r,
    }
}

/// The signer's signature over `tx`'s message, put at its place (for transactions signed by
/// several parties in turn). Fails when `kp` is not a required signer.
pub fn partial_sign(tx: &mut VersionedTransaction, kp: &Keypair) -> Result<(), String> {
    use solana_signer::Signer;
    let n = tx.message.header().num_required_signatures as usize;
    let keys = tx.message.static_account_keys();
    let at = keys[..n.min(keys.len())]
        .iter()
        .position(|k| *k == kp.pubkey())
        .ok_or_else(|| format!("{} is not a signer of this transaction", kp.pubkey()))?;
    if tx.signatures.len() != n {
        tx.signatures
            .resize(n, solana_signature::Signature::default());
    }
    tx.signatures[at] = kp.sign_message(&tx.message.serialize());
    Ok(())
}

/// Every account a transaction names: its static keys, its lookup tables, and the addresses
/// its lookups resolve to through `tables` (those not found there are left out).
pub fn account_keys(tx: &VersionedTransaction, tables: Option<&LookupTables>) -> Vec<Pubkey> {
    let mut v = tx.message.static_account_keys().to_vec();
    if let (Some(lookups), Some(t)) = (tx.message.address_table_lookups(), tables) {
        for l in lookups {
            v.push(l.account_key);
            for i in l.writable_indexes.iter().chain(&l.readonly_indexes) {
                v.extend(t.resolve(&l.account_key, *i));
            }
        }
    }
    v
}

/// `budget` with its limit fitted to a simulation of `ixs` ([`Budget::fitted`]); `budget` itself
/// when the simulation fails or reports no consumption (the send then says why, at the limit
/// asked for).
pub async fn fitted_budget(
    chain: &impl Chain,
    ixs: &[Instruction],
    signers: &[&Keypair],
    budget: Budget,
) -> Budget {
    match chain.simulate(ixs, signers, budget).await {
        Ok(Sent {
            compute_units: Some(consumed),
            ..
        }) => budget.fitted(consumed),
        _ => budget,
    }
}

/// Whether a send failed because the transaction exhausted its compute-unit limit (a fitted
/// limit that the state, changed since the simulation, no longer covers: send it again at the
/// full limit).
pub fn ran_out_of_compute(e: &SendError) -> bool {
    match e {
        SendError::Rejected { error, logs, .. } => {
            error.contains("ComputationalBudgetExceeded")
                || logs.iter().any(|l| l.contains("exceeded CUs meter"))
        }
        _ => false,
    }
}

/// The compute-budget instructions for `budget`.
pub fn budget_instructions(budget: Budget) -> Vec<Instruction> {
    use solana_compute_budget_interface::ComputeBudgetInstruction as Cb;
    let mut v = vec![Cb::set_compute_unit_limit(budget.cu_limit)];
    if budget.cu_price_micro_lamports > 0 {
        v.push(Cb::set_compute_unit_price(budget.cu_price_micro_lamports));
    }
    v
}

/// The custom program error code inside a transaction error, if that is what it is.
pub fn custom_code(e: &solana_transaction_error::TransactionError) -> Option<u32> {
    use solana_instruction_error::InstructionError;
    match e {
        solana_transaction_error::TransactionError::InstructionError(
            _,
            InstructionError::Custom(c),
        ) => Some(*c),
        _ => None,
    }
}

/// Fetches one account (`None`: absent).
pub async fn account(chain: &impl Chain, key: &Pubkey) -> Result<Option<Account>, ChainError> {
    Ok(chain.accounts(&[*key]).await?.pop().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::solana_program::instruction::AccountMeta;
    use solana_signer::Signer;

    /// A Keel instruction naming `n` writable accounts (as `liquidate` names the series).
    fn wide(n: usize) -> (Instruction, Vec<Pubkey>) {
        let keys: Vec<Pubkey> = (0..n).map(|_| Pubkey::new_unique()).collect();
        let ix = Instruction {
            program_id: keel::ID,
            accounts: keys.iter().map(|k| AccountMeta::new(*k, false)).collect(),
            data: vec![1; 10],
        };
        (ix, keys)
    }

    #[test]
    fn a_fitted_budget_is_the_consumption_plus_headroom_capped_at_the_maximum() {
        let b = Budget {
            cu_limit: 123,
            cu_price_micro_lamports: 7,
        };
        assert_eq!(b.fitted(0).cu_limit, 10_000);
        assert_eq!(b.fitted(80_000).cu_limit, 106_000);
        // Rounded up: 20% of 80,001 is 16,000.2.
        assert_eq!(b.fitted(80_001).cu_limit, 106_002);
        assert_eq!(b.fitted(80_000).cu_price_micro_lamports, 7);
        // The one-series liquidate budget (tests/sbf/budgets.toml) fits to what
        // docs/liquidation.md §6 and the backtest's chain model use (and the budgets before the
        // three rounds of the engine's compute cuts; the throughput study ran at the first).
        assert_eq!(b.fitted(36_700).cu_limit, 54_040);
        assert_eq!(b.fitted(40_400).cu_limit, 58_480);
        assert_eq!(b.fitted(58_400).cu_limit, 80_080);
        assert_eq!(b.fitted(78_400).cu_limit, 104_080);
        // 1,158,333 + 231,667 + 10,000 = 1,400,000 exactly; one more unit is capped.
        assert_eq!(b.fitted(1_158_333).cu_limit, 1_400_000);
        assert_eq!(b.fitted(1_158_334).cu_limit, Budget::MAX_CU_LIMIT);
        assert_eq!(b.fitted(u64::MAX).cu_limit, Budget::MAX_CU_LIMIT);
    }

    #[test]
    fn legacy_when_it_fits_v0_through_tables_when_not() {
        let payer = Keypair::new();
        let bh = solana_hash::Hash::new_unique();
        let b = Budget::default();
        let (small, _) = wide(20);
        let tx = compile(&payer, &[small], &[], b, bh, &[]).unwrap();
        assert!(matches!(tx.message, VersionedMessage::Legacy(_)));

        let (big, keys) = wide(50);
        let e = compile(&payer, std::slice::from_ref(&big), &[], b, bh, &[]).unwrap_err();
        assert!(
            matches!(e, SendError::TooLarge { size } if size > PACKET_DATA_SIZE),
            "{e:?}"
        );
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: keys.clone(),
        };
        let tx = compile(&payer, &[big], &[], b, bh, std::slice::from_ref(&table)).unwrap();
        assert!(matches!(tx.message, VersionedMessage::V0(_)));
        assert!(transaction_size(&tx) <= PACKET_DATA_SIZE);
        assert_eq!(
            signed_size(&tx.message),
            transaction_size(&tx),
            "the size estimate is exact"
        );
        assert!(tx.verify_with_results().iter().all(|ok| *ok));
        // Every account resolves back, the table's address included.
        let set = LookupTables::default();
        set.insert(crate::lookup::Table {
            key: table.key,
            authority: None,
            addresses: keys.clone(),
            last_extended_slot: 0,
            last_extended_start: 0,
            deactivation_slot: u64::MAX,
        });
        let named = account_keys(&tx, Some(&set));
        assert!(keys.iter().all(|k| named.contains(k)));
        assert!(named.contains(&table.key) && named.contains(&payer.pubkey()));
    }

    #[test]
    fn partial_signatures_add_up() {
        let (a, b) = (Keypair::new(), Keypair::new());
        let (mut ix, _) = wide(3);
        ix.accounts
            .push(AccountMeta::new_readonly(b.pubkey(), true));
        let msg = message(&a.pubkey(), &[ix], solana_hash::Hash::new_unique(), &[]).unwrap();
        let mut tx = VersionedTransaction {
            signatures: vec![],
            message: msg,
        };
        partial_sign(&mut tx, &b).unwrap();
        assert_eq!(tx.verify_with_results(), vec![false, true]);
        partial_sign(&mut tx, &a).unwrap();
        assert_eq!(tx.verify_with_results(), vec![true, true]);
        assert!(partial_sign(&mut tx, &Keypair::new()).is_err());
    }
}
