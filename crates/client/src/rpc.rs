//! [`Chain`] over Solana's JSON-RPC (`solana-rpc-client`, nonblocking), with the Solana CLI's
//! URL monikers.

use crate::chain::{compile_for, custom_code, Budget, Chain, ChainError, SendError, Sent};
use crate::lookup::LookupTables;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account::Account;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_types::config::{
    RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSimulateTransactionConfig,
    RpcTransactionConfig,
};
use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_status_client_types::UiTransactionEncoding;

/// The Solana CLI's monikers (`mainnet-beta`, `devnet`, `testnet`, `localhost`, and their
/// one-letter forms) to RPC URLs; anything else is taken as a URL.
pub fn resolve_url(url_or_moniker: &str) -> String {
    match url_or_moniker {
        "m" | "mainnet-beta" => "https://api.mainnet-beta.solana.com".into(),
        "d" | "devnet" => "https://api.devnet.solana.com".into(),
        "t" | "testnet" => "https://api.testnet.solana.com".into(),
        "l" | "localhost" => "http://localhost:8899".into(),
        other => other.into(),
    }
}

/// A chain reached over JSON-RPC.
pub struct RpcChain {
    /// The client.
    pub rpc: RpcClient,
    payer: Keypair,
    program: Pubkey,
    tables: LookupTables,
}

impl RpcChain {
    /// A chain at `url` (or moniker) with `commitment`, paying fees with `payer`, for the Keel
    /// program at its `declare_id!` address (`keel::ID`).
    pub fn keel(url: &str, commitment: CommitmentConfig, payer: Keypair) -> Self {
        Self::new(url, commitment, payer, keel::ID)
    }

    /// A chain at `url` (or moniker) with `commitment`, paying fees with `payer`, for the Keel
    /// program at `program` (a deployment at another address).
    pub fn new(url: &str, commitment: CommitmentConfig, payer: Keypair, program: Pubkey) -> Self {
        RpcChain {
            rpc: RpcClient::new_with_commitment(resolve_url(url), commitment),
            payer,
            program,
            tables: LookupTables::default(),
        }
    }

    /// The same, compiling against `tables` when a legacy message would not fit.
    pub fn with_lookup_tables(mut self, tables: LookupTables) -> Self {
        self.tables = tables;
        self
    }

    async fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<VersionedTransaction, SendError> {
        let blockhash = self
            .rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        compile_for(self, &self.payer, ixs, signers, budget, blockhash).await
    }

    /// Sends `tx`, waits for confirmation, then reads its log messages and compute units back
    /// (getTransaction): what the program said, events included.
    async fn send_confirmed(&self, tx: &VersionedTransaction) -> Result<Sent, SendError> {
        let sig = self
            .rpc
            .send_and_confirm_transaction(tx)
            .await
            .map_err(rejected_or_transport)?;
        let (logs, compute_units) = self.transaction_logs(&sig).await;
        Ok(Sent {
            signature: sig.to_string(),
            logs,
            compute_units,
        })
    }

    /// The logs and compute units of a confirmed transaction (empty when the node does not
    /// return them within a few tries: the transaction landed either way).
    async fn transaction_logs(&self, sig: &Signature) -> (Vec<String>, Option<u64>) {
        let commitment = if self.rpc.commitment().is_at_least_confirmed() {
            self.rpc.commitment()
        } else {
            CommitmentConfig::confirmed()
        };
        let config = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            commitment: Some(commitment),
            max_supported_transaction_version: Some(0),
        };
        for _ in 0..10 {
            if let Ok(t) = self.rpc.get_transaction_with_config(sig, config).await {
                if let Some(meta) = t.transaction.meta {
                    let logs: Option<Vec<String>> = meta.log_messages.into();
                    let cu: Option<u64> = meta.compute_units_consumed.into();
                    return (logs.unwrap_or_default(), cu);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        (Vec::new(), None)
    }
}

fn rejected_or_transport(e: solana_rpc_client_api::client_error::Error) -> SendError {
    match e.get_transaction_error() {
        Some(te) => SendError::Rejected {
            code: custom_code(&te),
            error: format!("{te:?}"),
            logs: vec![],
        },
        None => SendError::Transport(e.to_string()),
    }
}

impl Chain for RpcChain {
    fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    async fn accounts(&self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        let mut out = Vec::with_capacity(keys.len());
        // getMultipleAccounts takes at most 100 keys.
        for chunk in keys.chunks(100) {
            out.extend(
                self.rpc
                    .get_multiple_accounts(chunk)
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
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                0,
                discriminator.to_vec(),
            ))]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.rpc.commitment()),
                ..Default::default()
            },
            ..Default::default()
        };
        let accounts = self
            .rpc
            .get_program_ui_accounts_with_config(&self.program, config)
            .await
            .map_err(|e| ChainError(e.to_string()))?;
        accounts
            .into_iter()
            .map(|(k, ui)| {
                ui.decode::<Account>()
                    .map(|a| (k, a))
                    .ok_or_else(|| ChainError(format!("account {k} did not decode")))
            })
            .collect()
    }

    async fn unix_time(&self) -> Result<i64, ChainError> {
        let clock =
            <anchor_lang::prelude::Clock as anchor_lang::solana_program::sysvar::SysvarId>::id();
        let a = self
            .rpc
            .get_account(&clock)
            .await
            .map_err(|e| ChainError(e.to_string()))?;
        clock_unix_timestamp(&a.data).ok_or_else(|| ChainError("Clock sysvar too short".into()))
    }

    async fn send(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        let tx = self.transaction(ixs, signers, budget).await?;
        self.send_confirmed(&tx).await
    }

    async fn latest_blockhash(&self) -> Result<solana_hash::Hash, ChainError> {
        self.rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| ChainError(e.to_string()))
    }

    async fn send_transaction(&self, tx: &VersionedTransaction) -> Result<Sent, SendError> {
        self.send_confirmed(tx).await
    }

    fn lookup_tables(&self) -> Option<&LookupTables> {
        Some(&self.tables)
    }

    async fn slot(&self) -> Result<u64, ChainError> {
        self.rpc
            .get_slot()
            .await
            .map_err(|e| ChainError(e.to_string()))
    }

    async fn lookup_tables_of(
        &self,
        authority: &Pubkey,
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                crate::lookup::AUTHORITY_OFFSET,
                authority.to_bytes().to_vec(),
            ))]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.rpc.commitment()),
                ..Default::default()
            },
            ..Default::default()
        };
        let accounts = self
            .rpc
            .get_program_ui_accounts_with_config(&crate::lookup::PROGRAM, config)
            .await
            .map_err(|e| ChainError(e.to_string()))?;
        Ok(accounts
            .into_iter()
            .filter_map(|(k, ui)| ui.decode::<Account>().map(|a| (k, a.data)))
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
            .rpc
            .simulate_transaction_with_config(
                &tx,
                RpcSimulateTransactionConfig {
                    sig_verify: false,
                    replace_recent_blockhash: true,
                    commitment: Some(self.rpc.commitment()),
                    ..Default::default()
                },
            )
            .await
            .map_err(rejected_or_transport)?
            .value;
        let logs = r.logs.unwrap_or_default();
        match r.err {
            None => Ok(Sent {
                signature: String::new(),
                logs,
                compute_units: r.units_consumed,
            }),
            Some(e) => {
                let te: solana_transaction_error::TransactionError = e.into();
                Err(SendError::Rejected {
                    code: custom_code(&te),
                    error: format!("{te:?}"),
                    logs,
                })
            }
        }
    }
}

/// `Clock::unix_timestamp` from the sysvar's data (slot, epoch start, epoch, leader schedule
/// epoch, unix timestamp: five little-endian 8-byte fields).
pub fn clock_unix_timestamp(data: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(data.get(32..40)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers() {
        assert_eq!(resolve_url("devnet"), "https://api.devnet.solana.com");
        assert_eq!(resolve_url("l"), "http://localhost:8899");
        assert_eq!(resolve_url("http://10.0.0.1:8899"), "http://10.0.0.1:8899");
    }

    #[test]
    fn clock_layout() {
        let c = anchor_lang::prelude::Clock {
            slot: 1,
            epoch_start_timestamp: 2,
            epoch: 3,
            leader_schedule_epoch: 4,
            unix_timestamp: 1_767_225_600,
        };
        let bytes = bincode_like(&c);
        assert_eq!(clock_unix_timestamp(&bytes), Some(1_767_225_600));
    }

    /// The sysvar's wire form (it is `repr(C)` of five 8-byte fields).
    fn bincode_like(c: &anchor_lang::prelude::Clock) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(c.slot.to_le_bytes());
        v.extend(c.epoch_start_timestamp.to_le_bytes());
        v.extend(c.epoch.to_le_bytes());
        v.extend(c.leader_schedule_epoch.to_le_bytes());
        v.extend(c.unix_timestamp.to_le_bytes());
        v
    }
}
