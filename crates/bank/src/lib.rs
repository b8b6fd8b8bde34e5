//! Keel on an in-process chain: solana-program-test's bank — the real Agave runtime with real
//! transactions, signatures, rent and PDAs, and SPL Token / Token-2022 executing as SBF — with
//! the Keel program registered natively (the SBF toolchain cannot be installed on the machines
//! this is developed on; see docs/performance.md). The integration tests, the keeper's tests
//! and `keel demo` all run on it.
//!
//! [`BankChain`] implements keel-client's [`Chain`] over the bank, so the keeper and CLI logic
//! that runs against a real RPC node runs here unchanged.

pub mod token;

use anchor_lang::prelude::{AccountInfo, Clock, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use keel_client::chain::{
    account_keys, compile_for, custom_code, transaction_size, PACKET_DATA_SIZE,
};
use keel_client::lookup::LookupTables;
use keel_client::{Budget, Chain, ChainError, SendError, Sent};
use solana_account::Account;
use solana_banks_client::BanksClient;
use solana_keypair::Keypair;
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Keel's Anchor entrypoint with the lifetimes `processor!` expects.
///
/// Anchor's generated `entry<'info>` ties the accounts slice and the `AccountInfo`s inside it to
/// one lifetime; the runtime's native-program signature has independent ones. The accounts live
/// for the whole call, so unifying the lifetimes is sound; this is the one place it is done.
fn process_instruction<'a, 'b, 'c, 'd>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &'d [u8],
) -> ProgramResult {
    // SAFETY: only lifetimes change; the id, the slice, its accounts and the data all outlive
    // this call.
    let (program_id, accounts, data): (&'c Pubkey, &'c [AccountInfo<'c>], &'c [u8]) =
        unsafe { core::mem::transmute((program_id, accounts, data)) };
    keel::entry(program_id, accounts, data)
}

/// A `ProgramTest` with Keel registered natively (SPL Token, Token-2022, ATA and Memo are loaded
/// by program-test as real SBF programs).
pub fn program_test() -> ProgramTest {
    // solana-program-test logs every instruction at debug level unless told otherwise.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "error");
        }
    });
    let mut pt = ProgramTest::default();
    pt.prefer_bpf(false);
    pt.add_program("keel", keel::ID, processor!(process_instruction));
    pt
}

/// Writes Keel's ProgramData account as the BPF upgradeable loader holds it (header only: slot
/// 0, `authority` as upgrade authority) at its derived address. Keel runs natively in this bank,
/// so no loader wrote one; `init_exchange` accepts only the upgrade authority it names.
pub fn set_upgrade_authority(ctx: &mut ProgramTestContext, authority: &Pubkey) {
    // bincode of `UpgradeableLoaderState::ProgramData { slot, upgrade_authority_address }`:
    // variant 3 (u32), slot (u64), Some (1) + the key.
    let mut data = Vec::with_capacity(45);
    data.extend_from_slice(&3u32.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    data.push(1);
    data.extend_from_slice(authority.as_ref());
    let account = Account {
        lamports: anchor_lang::prelude::Rent::default().minimum_balance(data.len()),
        data,
        owner: anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        executable: false,
        rent_epoch: 0,
    };
    ctx.set_account(&keel_client::pda::program_data(), &account.into());
}

/// The addresses that successful transactions on this bank have referenced: the bank has no
/// `getProgramAccounts`, so [`BankChain`] answers it from these (every Keel account was created
/// by a transaction that named it).
///
/// Each address is classified once by what it held when first read — a Keel account's
/// discriminator, or "not Keel" — and reclassified only after a later transaction names it
/// again (only a transaction can create, close or reassign an account). So a
/// `getProgramAccounts` reads just the accounts of the type asked for.
#[derive(Clone, Debug, Default)]
pub struct KnownAccounts(Arc<Mutex<BTreeMap<Pubkey, Class>>>);

/// What an address held when last classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Named by a transaction since it was last read.
    Unchecked,
    /// A Keel account with this discriminator.
    Keel([u8; 8]),
    /// Anything else (absent, another program's, too short).
    Other,
}

impl KnownAccounts {
    /// Records every account of `keys` (to be classified again).
    pub fn record(&self, keys: &[Pubkey]) {
        let mut map = self.0.lock().expect("known accounts");
        for k in keys {
            map.insert(*k, Class::Unchecked);
        }
    }

    /// Records `key`.
    pub fn insert(&self, key: Pubkey) {
        self.0
            .lock()
            .expect("known accounts")
            .insert(key, Class::Unchecked);
    }

    /// Everything recorded.
    pub fn all(&self) -> Vec<Pubkey> {
        self.0
            .lock()
            .expect("known accounts")
            .keys()
            .copied()
            .collect()
    }

    /// Addresses that may hold a Keel account with `disc`: classified so, or unchecked.
    fn candidates(&self, disc: &[u8; 8]) -> Vec<Pubkey> {
        self.0
            .lock()
            .expect("known accounts")
            .iter()
            .filter(|(_, c)| matches!(c, Class::Unchecked) || **c == Class::Keel(*disc))
            .map(|(k, _)| *k)
            .collect()
    }

    fn classify(&self, key: Pubkey, class: Class) {
        self.0.lock().expect("known accounts").insert(key, class);
    }
}

/// keel-client's [`Chain`] over the bank. Like a node's RPC, it refuses a transaction larger
/// than a packet ([`PACKET_DATA_SIZE`]), which the bank itself would execute.
pub struct BankChain {
    client: BanksClient,
    payer: Keypair,
    known: KnownAccounts,
    nonce: AtomicU32,
    tables: LookupTables,
}

impl BankChain {
    /// A chain on the bank of `client`, paying with `payer`, answering `program_accounts` from
    /// `known`.
    pub fn new(client: BanksClient, payer: Keypair, known: KnownAccounts) -> Self {
        BankChain {
            client,
            payer,
            known,
            nonce: AtomicU32::new(0),
            tables: LookupTables::default(),
        }
    }

    /// The same, compiling against `tables` when a legacy message would not fit.
    pub fn with_lookup_tables(mut self, tables: LookupTables) -> Self {
        self.tables = tables;
        self
    }

    /// The signed transaction. The bank issues a new blockhash only every 400 ms, so two
    /// identical transactions within that time would be one duplicate: the compute-unit limit
    /// is lowered by a per-chain counter (by less than 1 000 units) to keep each one distinct.
    async fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        mut budget: Budget,
    ) -> Result<VersionedTransaction, SendError> {
        let n = self.nonce.fetch_add(1, Ordering::Relaxed) % 1_000;
        budget.cu_limit = budget.cu_limit.saturating_sub(n).max(1);
        let blockhash = self
            .client
            .get_latest_blockhash()
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        compile_for(self, &self.payer, ixs, signers, budget, blockhash).await
    }
}

impl Chain for BankChain {
    fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    async fn accounts(&self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(
                self.client
                    .get_account(*k)
                    .await
                    .map_err(|e| ChainError(e.to_string()))?,
            );
        }
        Ok(out)
    }

    async fn program_accounts(
        &self,
        discriminator: &[u8; 8],
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let keys = self.known.candidates(discriminator);
        let accounts = self.accounts(&keys).await?;
        let mut out = Vec::new();
        for (k, a) in keys.into_iter().zip(accounts) {
            let class = match &a {
                Some(a) if a.owner == keel::ID && a.data.len() >= 8 => {
                    let mut d = [0u8; 8];
                    d.copy_from_slice(&a.data[..8]);
                    Class::Keel(d)
                }
                _ => Class::Other,
            };
            self.known.classify(k, class);
            if class == Class::Keel(*discriminator) {
                out.push((k, a.expect("classified as Keel")));
            }
        }
        Ok(out)
    }

    async fn unix_time(&self) -> Result<i64, ChainError> {
        let c: Clock = self
            .client
            .get_sysvar()
            .await
            .map_err(|e| ChainError(e.to_string()))?;
        Ok(c.unix_timestamp)
    }

    async fn send(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        let tx = self.transaction(ixs, signers, budget).await?;
        self.send_transaction(&tx).await
    }

    async fn latest_blockhash(&self) -> Result<solana_hash::Hash, ChainError> {
        self.client
            .get_latest_blockhash()
            .await
            .map_err(|e| ChainError(e.to_string()))
    }

    async fn send_transaction(&self, tx: &VersionedTransaction) -> Result<Sent, SendError> {
        let size = transaction_size(tx);
        if size > PACKET_DATA_SIZE {
            return Err(SendError::TooLarge { size });
        }
        let tx = tx.clone();
        let sig = tx.signatures[0].to_string();
        let r = self
            .client
            .process_transaction_with_metadata(tx.clone())
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        let (logs, cu) = r
            .metadata
            .map(|m| (m.log_messages, Some(m.compute_units_consumed)))
            .unwrap_or_default();
        match r.result {
            Ok(()) => {
                self.known.record(&account_keys(&tx, Some(&self.tables)));
                Ok(Sent {
                    signature: sig,
                    logs,
                    compute_units: cu,
                })
            }
            Err(e) => Err(SendError::Rejected {
                code: custom_code(&e),
                error: format!("{e:?}"),
                logs,
            }),
        }
    }

    fn lookup_tables(&self) -> Option<&LookupTables> {
        Some(&self.tables)
    }

    async fn lookup_tables_of(
        &self,
        authority: &Pubkey,
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        // Every table was created by a transaction that named it.
        let keys = self.known.all();
        let accounts = self.accounts(&keys).await?;
        Ok(keys
            .into_iter()
            .zip(accounts)
            .filter_map(|(k, a)| {
                let a = a?;
                let at = keel_client::lookup::AUTHORITY_OFFSET;
                (a.owner == keel_client::lookup::PROGRAM
                    && a.data.get(at..at + 32) == Some(authority.as_ref()))
                .then_some((k, a.data))
            })
            .collect())
    }

    async fn simulate(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        let tx = self.transaction(ixs, signers, budget).await?;
        let r = self
            .client
            .simulate_transaction(tx)
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        let (logs, cu) = r
            .simulation_details
            .map(|d| (d.logs, Some(d.units_consumed)))
            .unwrap_or_default();
        match r.result {
            Some(Ok(())) => Ok(Sent {
                signature: String::new(),
                logs,
                compute_units: cu,
            }),
            Some(Err(e)) => Err(SendError::Rejected {
                code: custom_code(&e),
                error: format!("{e:?}"),
                logs,
            }),
            None => Err(SendError::Transport("no simulation result".into())),
        }
    }
}

/// Moves `ctx` to the next slot (`*slot + 1`) and sets the clock to `ts` (the program reads
/// time only from the `Clock` sysvar, so this is how a local chain replays history).
pub async fn set_time(ctx: &mut ProgramTestContext, slot: &mut u64, ts: i64) {
    *slot += 1;
    ctx.warp_to_slot(*slot).expect("warp");
    let mut c: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    c.unix_timestamp = ts;
    ctx.set_sysvar(&c);
}
