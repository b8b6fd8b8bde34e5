//! keel-scenario's `Backend` on LiteSVM 0.16 (the agave 4.2 runtime, mainnet's feature set)
//! with `keel.so` loaded at Keel's program id and the real SPL programs.

use keel_client::chain::{budget_instructions, Budget};
use keel_client::Pubkey;
use keel_scenario::{Backend, Failed, RawAccount, Sent};
use litesvm::LiteSVM;
use solana_account::Account;
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

pub struct Svm {
    svm: LiteSVM,
    payer: Keypair,
}

impl Svm {
    /// A fresh VM with `elf` deployed as Keel.
    pub fn new(elf: &[u8]) -> Svm {
        let mut svm = LiteSVM::default()
            .with_feature_set(LiteSVM::mainnet_feature_set())
            .with_builtins()
            .with_lamports(1_000_000_000_000_000)
            .with_sysvars()
            .with_feature_accounts()
            .with_default_programs()
            .with_sigverify(true)
            .with_blockhash_check(true)
            // Events of a 32-position account exceed the default 10 kB of logs.
            .with_log_bytes_limit(None);
        svm.add_program(keel::ID, elf)
            .expect("the VM loads keel.so");
        let payer = Keypair::new_from_array([7; 32]);
        svm.airdrop(&payer.pubkey(), 1_000_000_000_000)
            .expect("airdrop");
        Svm { svm, payer }
    }
}

impl Svm {
    /// `ixs` after the compute budget, paid by the payer, signed by it and `signers`, on a new
    /// blockhash (identical transactions would be rejected as duplicates).
    fn transaction(
        &mut self,
        ixs: &[solana_instruction::Instruction],
        signers: &[&Keypair],
    ) -> Transaction {
        let mut all = budget_instructions(Budget::default());
        all.extend_from_slice(ixs);
        let mut keys: Vec<&Keypair> = vec![&self.payer];
        for s in signers {
            if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
                keys.push(s);
            }
        }
        self.svm.expire_blockhash();
        let msg = Message::new(&all, Some(&self.payer.pubkey()));
        Transaction::new(&keys[..], msg, self.svm.latest_blockhash())
    }
}

/// A failed transaction as a scenario sees it.
fn failed(f: litesvm::types::FailedTransactionMetadata) -> Failed {
    Failed {
        code: match &f.err {
            TransactionError::InstructionError(_, InstructionError::Custom(c)) => Some(*c),
            _ => None,
        },
        error: format!("{:?}", f.err),
        logs: f.meta.logs,
    }
}

impl Backend for Svm {
    fn name(&self) -> &'static str {
        "sbf"
    }

    async fn send(
        &mut self,
        ixs: &[solana_instruction::Instruction],
        signers: &[&Keypair],
    ) -> Result<Sent, Failed> {
        let tx = self.transaction(ixs, signers);
        match self.svm.send_transaction(tx) {
            Ok(meta) => Ok(Sent { logs: meta.logs }),
            Err(f) => Err(failed(f)),
        }
    }

    async fn simulate(
        &mut self,
        ixs: &[solana_instruction::Instruction],
        signers: &[&Keypair],
    ) -> Result<Sent, Failed> {
        let tx = self.transaction(ixs, signers);
        match self.svm.simulate_transaction(tx) {
            Ok(info) => Ok(Sent {
                logs: info.meta.logs,
            }),
            Err(f) => Err(failed(f)),
        }
    }

    async fn account(&mut self, key: &Pubkey) -> Option<RawAccount> {
        // LiteSVM keeps closed accounts as empty system accounts: absent, as on a bank.
        self.svm
            .get_account(key)
            .filter(|a| a.lamports > 0)
            .map(|a| RawAccount {
                lamports: a.lamports,
                owner: a.owner,
                data: a.data,
            })
    }

    async fn set_account(&mut self, key: &Pubkey, account: RawAccount) {
        let a = Account {
            lamports: account.lamports,
            data: account.data,
            owner: account.owner,
            executable: false,
            rent_epoch: 0,
        };
        self.svm.set_account(*key, a).expect("set_account");
    }

    async fn now(&mut self) -> i64 {
        self.svm.get_sysvar::<solana_clock::Clock>().unix_timestamp
    }

    async fn set_time(&mut self, unix_ts: i64) {
        let mut c = self.svm.get_sysvar::<solana_clock::Clock>();
        self.svm.warp_to_slot(c.slot + 1);
        c.slot += 1;
        c.unix_timestamp = unix_ts;
        self.svm.set_sysvar(&c);
    }
}
