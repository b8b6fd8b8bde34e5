//! The local chain: solana-program-test's bank with Keel native (keel-bank), its clock under the
//! demo's control, and an oracle account it writes as Pyth's receiver would.

use crate::backend::DemoChain;
use crate::DemoError;
use keel_bank::{BankChain, KnownAccounts};
use keel_client::oracle::{price_update_v2, Quote};
use keel_client::Pubkey;
use keel_migrations::config::{OracleConfig, OracleKind};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::{Account, AccountSharedData};
use solana_keypair::Keypair;
use solana_program_test::ProgramTestContext;
use solana_signer::Signer;

/// The chain and its clock.
pub struct LocalChain {
    /// The bank.
    pub ctx: ProgramTestContext,
    /// What the chain answers `getProgramAccounts` from.
    pub known: KnownAccounts,
    /// keel-client's `Chain` over the bank, paying with the bank's genesis payer.
    pub chain: BankChain,
    slot: u64,
    now: i64,
}

impl LocalChain {
    /// Starts a bank at unix time `ts`.
    pub async fn start(ts: i64) -> Self {
        let ctx = keel_bank::program_test().start_with_context().await;
        let known = KnownAccounts::default();
        let chain = BankChain::new(
            ctx.banks_client.clone(),
            ctx.payer.insecure_clone(),
            known.clone(),
        );
        let mut c = LocalChain {
            ctx,
            known,
            chain,
            slot: 1,
            now: 0,
        };
        c.set_time(ts).await;
        c
    }

    /// The chain's unix time.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Moves to the next slot at unix time `ts`.
    pub async fn set_time(&mut self, ts: i64) {
        keel_bank::set_time(&mut self.ctx, &mut self.slot, ts).await;
        self.now = ts;
    }

    /// Writes a fully verified `PriceUpdateV2` of `feed_id` at `key`: `usd` (8 decimals) with a
    /// confidence of `conf_bps`, published at `publish_time` (the previous update one second
    /// before, so an update at an expiry covers it).
    pub fn write_oracle(
        &mut self,
        key: &Pubkey,
        feed_id: [u8; 32],
        usd: f64,
        conf_bps: u64,
        publish_time: i64,
    ) {
        let price = (usd * 1e8).round() as i64;
        let q = Quote {
            price,
            conf: price as u64 * conf_bps / 10_000,
            expo: -8,
            publish_time,
            prev_publish_time: publish_time - 1,
        };
        let data = price_update_v2(feed_id, q, VerificationLevel::Full);
        let acc = Account {
            lamports: keel_bank::token::RENT_LAMPORTS,
            data,
            owner: pyth_solana_receiver_sdk::ID,
            executable: false,
            rent_epoch: 0,
        };
        self.ctx.set_account(key, &AccountSharedData::from(acc));
        self.known.insert(*key);
    }
}

impl DemoChain for LocalChain {
    type Chain = BankChain;

    fn chain(&self) -> &BankChain {
        &self.chain
    }

    fn chain_for(&self, kp: &Keypair) -> BankChain {
        BankChain::new(
            self.ctx.banks_client.clone(),
            kp.insecure_clone(),
            self.known.clone(),
        )
    }

    async fn deployer(&mut self) -> Result<Keypair, DemoError> {
        let admin = Keypair::new();
        // Keel runs natively here: write the ProgramData account naming the admin.
        keel_bank::set_upgrade_authority(&mut self.ctx, &admin.pubkey());
        let payer = self.payer();
        self.send(
            &[solana_system_interface::instruction::transfer(
                &payer,
                &admin.pubkey(),
                100_000_000_000,
            )],
            &[],
        )
        .await
        .map_err(|e| DemoError(format!("fund the admin: {e}")))?;
        Ok(admin)
    }

    async fn now(&mut self) -> Result<i64, DemoError> {
        Ok(self.now)
    }

    async fn reach(&mut self, ts: i64) {
        if ts != self.now {
            self.set_time(ts).await;
        }
    }

    fn chain_time(&self, ts: i64) -> i64 {
        ts
    }

    async fn create_oracle(&mut self, usd: f64) -> Result<(Pubkey, OracleConfig), DemoError> {
        let oracle = Keypair::new().pubkey();
        let now = self.now;
        self.write_oracle(
            &oracle,
            crate::setup::FEED_ID,
            usd,
            crate::setup::CONF_BPS,
            now,
        );
        Ok((
            oracle,
            OracleConfig {
                kind: OracleKind::PythPull,
                feed_id: Some(keel_migrations::config::to_hex(&crate::setup::FEED_ID)),
                account: Some(oracle.to_string()),
                price_account: None,
                program: None,
            },
        ))
    }

    async fn publish(&mut self, oracle: &Pubkey, usd: f64) -> Result<(), DemoError> {
        let now = self.now;
        self.write_oracle(
            oracle,
            crate::setup::FEED_ID,
            usd,
            crate::setup::CONF_BPS,
            now,
        );
        Ok(())
    }

    fn risk_params(&self) -> toml::Table {
        toml::Table::new()
    }

    fn describe(&self) -> String {
        "in-process bank (solana-program-test, Keel native), its clock replaying history".into()
    }
}
