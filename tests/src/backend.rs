//! keel-scenario's `Backend` on the bank: solana-program-test with Keel registered natively, so
//! the scenarios tests/sbf runs against `keel.so` in the VM run here on the same source.

use crate::context::TestContext;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use keel_scenario::{Backend, Failed, RawAccount, Sent};
use solana_account::{Account, AccountSharedData};
use solana_keypair::Keypair;

/// A bank with nothing on it but the programs: the scenario writes its own mint and accounts.
pub struct BankBackend {
    t: TestContext,
}

impl BankBackend {
    pub async fn new() -> BankBackend {
        // start_bank's mint and admin go unused: the scenario makes its own.
        BankBackend {
            t: TestContext::builder().start_bank().await,
        }
    }
}

impl Backend for BankBackend {
    fn name(&self) -> &'static str {
        "bank"
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Sent, Failed> {
        match self.t.send(ixs, signers).await {
            Ok(ok) => Ok(Sent { logs: ok.logs }),
            Err(e) => Err(Failed {
                code: e.code,
                error: e.error,
                logs: e.logs,
            }),
        }
    }

    async fn simulate(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Sent, Failed> {
        match self.t.simulate(ixs, signers).await {
            Ok(ok) => Ok(Sent { logs: ok.logs }),
            Err(e) => Err(Failed {
                code: e.code,
                error: e.error,
                logs: e.logs,
            }),
        }
    }

    async fn account(&mut self, key: &Pubkey) -> Option<RawAccount> {
        let a = self.t.snapshot(&[*key]).await.pop().flatten()?;
        Some(RawAccount {
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
        self.t.pt.set_account(key, &AccountSharedData::from(a));
    }

    async fn now(&mut self) -> i64 {
        self.t.now().await
    }

    async fn set_time(&mut self, unix_ts: i64) {
        self.t.set_time(unix_ts).await;
    }
}
