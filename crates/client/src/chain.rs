//! The one small trait through which the keeper and the CLI reach a chain, so the same logic
//! runs against a real RPC node ([`crate::rpc::RpcChain`]) and against the in-process bank
//! (`keel-bank`'s `BankChain`) in tests and the demo.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_transaction::Transaction;

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
            cu_limit: 1_400_000,
            cu_price_micro_lamports: 0,
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
}

impl SendError {
    /// The custom program error code, if any.
    pub fn code(&self) -> Option<u32> {
        match self {
            SendError::Rejected { code, .. } => *code,
            SendError::Transport(_) => None,
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
    async fn send_transaction(&self, tx: &Transaction) -> Result<Sent, SendError> {
        let _ = tx;
        Err(SendError::Transport(
            "this chain does not send externally signed transactions".into(),
        ))
    }
}

/// `ixs` behind the compute-budget instructions of `budget`, paid by `payer`, signed by it and
/// every distinct key of `signers`, on `blockhash`: how both chains build what they send.
pub fn signed_transaction(
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
    budget: Budget,
    blockhash: solana_hash::Hash,
) -> Result<solana_transaction::Transaction, SendError> {
    use solana_signer::Signer;
    let mut all = budget_instructions(budget);
    all.extend_from_slice(ixs);
    let mut keys: Vec<&Keypair> = vec![payer];
    for s in signers {
        if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
            keys.push(s);
        }
    }
    let mut tx = solana_transaction::Transaction::new_with_payer(&all, Some(&payer.pubkey()));
    tx.try_sign(&keys, blockhash)
        .map_err(|e| SendError::Rejected {
            code: None,
            error: format!("signing: {e}"),
            logs: vec![],
        })?;
    Ok(tx)
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
