//! Where the demo replays history: the in-process bank ([`crate::local::LocalChain`]: its clock
//! set to each moment of history, the oracle account written directly) or a local
//! `solana-test-validator` running keel.so ([`crate::validator::ValidatorChain`]: real time,
//! the oracle published by transactions to the local push oracle). The replay, the book, the
//! keeper and the summary are the same code on both.

use crate::DemoError;
use keel_client::{Budget, Chain, Pubkey, SendError, Sent};
use keel_migrations::config::OracleConfig;
use solana_keypair::Keypair;

/// A chain the demo can replay on.
#[allow(async_fn_in_trait)]
pub trait DemoChain {
    /// keel-client's chain over it.
    type Chain: Chain;

    /// The chain, paying with the demo's funded payer.
    fn chain(&self) -> &Self::Chain;

    /// The chain paying with `kp` (the admin runs the bootstrap).
    fn chain_for(&self, kp: &Keypair) -> Self::Chain;

    /// A funded keypair that is the Keel program's upgrade authority (only it may initialise
    /// the exchange).
    async fn deployer(&mut self) -> Result<Keypair, DemoError>;

    /// The chain's unix time.
    async fn now(&mut self) -> Result<i64, DemoError>;

    /// History has reached `ts`: the bank moves its clock there; a validator's clock runs on its
    /// own.
    async fn reach(&mut self, ts: i64);

    /// The chain time of historical moment `ts` (series expiries): the same on the bank; on a
    /// validator, the same distance from the replay's start.
    fn chain_time(&self, ts: i64) -> i64;

    /// Creates the market's oracle account at `usd` and says how the market reads it.
    async fn create_oracle(&mut self, usd: f64) -> Result<(Pubkey, OracleConfig), DemoError>;

    /// Publishes `usd` to `oracle`, at the chain's time.
    async fn publish(&mut self, oracle: &Pubkey, usd: f64) -> Result<(), DemoError>;

    /// The market's risk parameters that differ from the defaults (bootstrap config form).
    fn risk_params(&self) -> toml::Table;

    /// What this chain is, and what of history it does and does not replay (the summary).
    fn describe(&self) -> String;

    /// Sends `ixs` paid by the demo's payer and signed by `signers`.
    async fn send(
        &self,
        ixs: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&Keypair],
    ) -> Result<Sent, SendError> {
        self.chain().send(ixs, signers, Budget::default()).await
    }

    /// The payer's address.
    fn payer(&self) -> Pubkey {
        self.chain().payer()
    }
}
