//! What every command runs with: a chain, the signing keypair, which oracle account prices each
//! unpinned market, and the compute budget.

use crate::error::{CliError, CliResult};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use keel_client::ix::ExchangeKeys;
use keel_client::view::{OracleDirectory, Snapshot, ViewError};
use keel_client::{Budget, Chain, SendError, Sent};
use keel_risk::RiskError;
use keel_state::{discriminator, read_account, Exchange, MarginAccount, StateError};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::str::FromStr;

/// The associated token account program.
pub const ATA_PROGRAM: Pubkey =
    anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// A command's environment.
pub struct Env<C: Chain> {
    /// The chain (its payer is `keypair`).
    pub chain: C,
    /// The signer: fee payer, account owner, admin.
    pub keypair: Keypair,
    /// Oracle accounts of unpinned pull-oracle markets (`--oracle MARKET=ACCOUNT`).
    pub oracles: OracleDirectory,
    /// Compute budget of every transaction.
    pub budget: Budget,
}

impl<C: Chain> Env<C> {
    /// An environment signing with `keypair` (which must be `chain`'s payer).
    pub fn new(chain: C, keypair: Keypair) -> Self {
        Env {
            chain,
            keypair,
            oracles: OracleDirectory::default(),
            budget: Budget::default(),
        }
    }

    /// The signer's address.
    pub fn me(&self) -> Pubkey {
        self.keypair.pubkey()
    }

    /// Every Keel account, with oracles.
    pub async fn snapshot(&self) -> CliResult<Snapshot> {
        Ok(Snapshot::load(&self.chain, &self.oracles).await?)
    }

    /// The exchange and its keys.
    pub async fn exchange(&self) -> CliResult<(ExchangeKeys, Exchange)> {
        let key = keel_client::pda::exchange();
        let a = keel_client::chain::account(&self.chain, &key)
            .await?
            .ok_or(keel_client::view::ViewError::NoExchange)?;
        let ex = read_account::<Exchange>(&a.data, &discriminator::EXCHANGE)
            .map_err(|e| CliError::Chain(format!("exchange {key}: {e:?}")))?;
        let keys = keel_client::ix::exchange_keys(&ex);
        let shards = self.chain.accounts(&keys.ledgers).await?;
        let datas = shards
            .iter()
            .zip(&keys.ledgers)
            .map(|(a, k)| {
                a.as_ref()
                    .map(|a| a.data.as_slice())
                    .ok_or_else(|| CliError::Chain(format!("ledger shard {k} is missing")))
            })
            .collect::<CliResult<Vec<_>>>()?;
        let ex = keel_client::view::with_ledgers(&ex, datas)?;
        Ok((keys, ex))
    }

    /// A margin account, decoded.
    pub async fn margin_account(&self, key: &Pubkey) -> CliResult<MarginAccount> {
        let a = keel_client::chain::account(&self.chain, key)
            .await?
            .ok_or_else(|| CliError::Chain(format!("no Keel margin account at {key}")))?;
        if a.owner != keel::ID {
            return Err(CliError::Chain(format!(
                "{key} is not a Keel account (owner {})",
                a.owner
            )));
        }
        read_account::<MarginAccount>(&a.data, &discriminator::MARGIN_ACCOUNT)
            .map_err(|e| CliError::Chain(format!("{key} is not a margin account: {e:?}")))
    }

    /// The signer's margin account `id`.
    pub fn my_account(&self, id: u32) -> Pubkey {
        keel_client::pda::margin_account(&keel_client::pda::exchange(), &self.me(), id)
    }

    /// Sends `ixs` signed by the keypair (payer) and `signers`, asking for the compute units a
    /// simulation saw them use plus headroom (`Budget::fitted`: the scheduler charges the
    /// *requested* limit against the per-slot compute cap of every account a transaction writes
    /// — the Exchange for token movements, a ledger shard or a series for the rest;
    /// docs/liquidation.md §6), and again at the full limit if that
    /// runs out. When they are too many accounts for a legacy transaction, puts the shared ones
    /// in the signer's address lookup tables ([`Env::cover`]) and sends a v0 transaction instead.
    pub async fn send(
        &self,
        what: &str,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> CliResult<Sent> {
        let mut all: Vec<&Keypair> = vec![&self.keypair];
        all.extend_from_slice(signers);
        let fitted = keel_client::chain::fitted_budget(&self.chain, ixs, &all, self.budget).await;
        match self.send_at(ixs, &all, fitted).await {
            Err(e)
                if fitted.cu_limit < self.budget.cu_limit
                    && keel_client::chain::ran_out_of_compute(&e) =>
            {
                self.send_at(ixs, &all, self.budget).await
            }
            r => r,
        }
        .map_err(|e| CliError::send(what, e))
    }

    async fn send_at(
        &self,
        ixs: &[Instruction],
        all: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        match self.chain.send(ixs, all, budget).await {
            Err(SendError::TooLarge { .. }) if self.chain.lookup_tables().is_some() => {
                self.cover(ixs)
                    .await
                    .map_err(|e| SendError::Transport(e.to_string()))?;
                self.chain.send(ixs, all, budget).await
            }
            r => r,
        }
    }

    /// Makes the signer's address lookup tables (created and extended as needed; the signer is
    /// their authority and pays their rent) hold every account `ixs` name except signers and
    /// programs, and waits until they can be used (the slot after an extension).
    pub async fn cover(&self, ixs: &[Instruction]) -> CliResult<()> {
        let Some(tables) = self.chain.lookup_tables() else {
            return Ok(());
        };
        if tables.is_empty() {
            keel_client::lookup::load(&self.chain, tables, &self.me()).await?;
        }
        let wanted = lookup_candidates(ixs);
        let done = keel_client::lookup::ensure(&self.chain, tables, &self.keypair, &wanted).await?;
        if done.appended > 0 {
            keel_client::lookup::wait_active(
                &self.chain,
                done.active_after_slot,
                std::time::Duration::from_secs(30),
            )
            .await?;
        }
        Ok(())
    }

    /// Remaining accounts of a margin check of `accounts` (plus the markets and risk-array
    /// pages of `extra_series`, e.g. the series about to be traded).
    pub fn margin_metas(
        &self,
        snap: &Snapshot,
        accounts: &[&MarginAccount],
        extra_series: &[Pubkey],
    ) -> CliResult<Vec<AccountMeta>> {
        Ok(snap.margin_metas(accounts, extra_series)?)
    }
}

/// Whether a margin check failed only because the stored risk arrays cannot serve it now (not
/// priced at the market's current or previous anchor, too old, or the price or a vol moved past
/// their tolerance): `crank_arrays` fixes that.
pub fn arrays_stale(e: &StateError) -> bool {
    matches!(
        e,
        StateError::ArraysNotCranked
            | StateError::Risk(
                RiskError::ArraysExpired | RiskError::ArraysMoved | RiskError::ArraysVolChanged
            )
    )
}

/// The state to show `acc`'s margin from: `snap` itself when its stored risk arrays serve the
/// check, else `snap` as it will be once `crank_arrays` has run (and `true`).
pub fn margin_view(snap: &Snapshot, acc: &MarginAccount, now: i64) -> CliResult<(Snapshot, bool)> {
    match snap.margin(acc, Some(now)) {
        Err(ViewError::State(_, e)) if arrays_stale(&e) => {
            Ok((snap.with_arrays_cranked(now).0, true))
        }
        _ => Ok((snap.clone(), false)),
    }
}

/// The accounts of `ixs` a lookup table can carry: everything but signers and the programs
/// invoked (those must be named in the message itself), each once.
pub fn lookup_candidates(ixs: &[Instruction]) -> Vec<Pubkey> {
    let programs: Vec<Pubkey> = ixs.iter().map(|ix| ix.program_id).collect();
    let mut v: Vec<Pubkey> = Vec::new();
    for ix in ixs {
        for m in &ix.accounts {
            if !m.is_signer && !programs.contains(&m.pubkey) && !v.contains(&m.pubkey) {
                v.push(m.pubkey);
            }
        }
    }
    v
}

/// Parses an address, naming what it is on failure.
pub fn pubkey(s: &str, what: &str) -> CliResult<Pubkey> {
    Pubkey::from_str(s.trim())
        .map_err(|_| CliError::Usage(format!("{what}: `{s}` is not a base58 address")))
}

/// The associated token account of `owner` for `mint` under `token_program`.
pub fn associated_token_account(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[owner.as_ref(), token_program.as_ref(), mint.as_ref()],
        &ATA_PROGRAM,
    )
    .0
}

/// The ATA program's `CreateIdempotent` (creates the account unless it exists).
pub fn create_ata_idempotent(
    payer: &Pubkey,
    owner: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
) -> Instruction {
    Instruction {
        program_id: ATA_PROGRAM,
        accounts: vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(associated_token_account(owner, mint, token_program), false),
            AccountMeta::new_readonly(*owner, false),
            AccountMeta::new_readonly(*mint, false),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
            AccountMeta::new_readonly(*token_program, false),
        ],
        data: vec![1],
    }
}
