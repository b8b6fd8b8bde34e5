//! The demo on a local `solana-test-validator` running keel.so (`keel demo --validator`): the
//! same exchange, book, keeper and summary as in-process, over JSON-RPC, with the market's
//! price published by transactions to the local push oracle (a legacy Pyth market owned by
//! `localnet/oracle`).
//!
//! What differs, and why: a validator's clock is the wall clock (it cannot be set), so the
//! history is replayed in real time as fast as the chain confirms. Prices and the implied vol
//! follow history bar by bar; time-driven effects do not advance with history: series keep the
//! time to expiry they had at the first bar (they expire days after the replay ends, so nothing
//! is settled), and the anti-procyclicality release and the stable price's growth move by the
//! replay's minutes, not history's days. The program's own volatility estimate would read
//! 2-hour moves arriving seconds apart as an enormous volatility, so the market weights the
//! published implied vol fully (`iv_weight = 1`, the vol authority publishing the bars'
//! realised vol exactly as in-process) and accepts an observation every second.

use crate::backend::DemoChain;
use crate::DemoError;
use keel_client::localnet::LocalValidator;
use keel_client::oracle::Quote;
use keel_client::rpc::RpcChain;
use keel_client::{local_oracle, Budget, Chain, Pubkey};
use keel_migrations::config::{OracleConfig, OracleKind};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::path::Path;

/// Which validator.
pub enum Target {
    /// Start one (scripts/local-validator.sh), its ledger under the demo's output directory;
    /// stopped when the demo ends.
    Start,
    /// A running one at `url`, started by scripts/local-validator.sh with no exchange on it
    /// yet; `authority` is the Keel program's upgrade authority (the script's `authority`
    /// keypair), which pays for everything.
    Url {
        /// Its JSON-RPC URL.
        url: String,
        /// The upgrade authority.
        authority: Box<Keypair>,
    },
}

/// A validator the demo replays on.
pub struct ValidatorChain {
    _validator: Option<LocalValidator>,
    url: String,
    authority: Keypair,
    chain: RpcChain,
    /// Chain time minus history's time at the first bar.
    offset: i64,
    /// Price accounts this demo created, by address (their keypairs sign updates).
    oracles: Vec<Keypair>,
    last_publish: i64,
}

fn rpc(url: &str, payer: &Keypair) -> RpcChain {
    RpcChain::new(
        url,
        CommitmentConfig::confirmed(),
        payer.insecure_clone(),
        keel::ID,
    )
}

impl ValidatorChain {
    /// Starts or reaches the validator; history's `first_ts` maps to the chain's time now.
    pub async fn connect(target: Target, first_ts: i64, out_dir: &Path) -> Result<Self, DemoError> {
        let (validator, url, authority) = match target {
            Target::Start => {
                let dir = out_dir.join("validator");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| DemoError(format!("{}: {e}", dir.display())))?;
                let v = LocalValidator::start(&dir, &[]).await.map_err(DemoError)?;
                let (url, kp) = (v.rpc_url.clone(), v.authority.insecure_clone());
                (Some(v), url, kp)
            }
            Target::Url { url, authority } => (None, url, *authority),
        };
        let chain = rpc(&url, &authority);
        let now = chain
            .unix_time()
            .await
            .map_err(|e| DemoError(format!("{url}: {e}")))?;
        Ok(ValidatorChain {
            _validator: validator,
            url,
            authority,
            chain,
            offset: now - first_ts,
            oracles: Vec::new(),
            last_publish: 0,
        })
    }
}

impl DemoChain for ValidatorChain {
    type Chain = RpcChain;

    fn chain(&self) -> &RpcChain {
        &self.chain
    }

    fn chain_for(&self, kp: &Keypair) -> RpcChain {
        rpc(&self.url, kp)
    }

    async fn deployer(&mut self) -> Result<Keypair, DemoError> {
        // scripts/local-validator.sh funds the upgrade authority at genesis.
        Ok(self.authority.insecure_clone())
    }

    async fn now(&mut self) -> Result<i64, DemoError> {
        self.chain
            .unix_time()
            .await
            .map_err(|e| DemoError(format!("read the clock: {e}")))
    }

    async fn reach(&mut self, _ts: i64) {}

    fn chain_time(&self, ts: i64) -> i64 {
        ts + self.offset
    }

    async fn create_oracle(&mut self, usd: f64) -> Result<(Pubkey, OracleConfig), DemoError> {
        let price = Keypair::new();
        let lamports = self
            .chain
            .rpc
            .get_minimum_balance_for_rent_exemption(local_oracle::ACCOUNT_SIZE)
            .await
            .map_err(|e| DemoError(format!("rent: {e}")))?;
        self.chain
            .send(
                &[local_oracle::create(
                    &self.authority.pubkey(),
                    &price.pubkey(),
                    lamports,
                )],
                &[&price],
                Budget::default(),
            )
            .await
            .map_err(|e| DemoError(format!("create the price account: {e}")))?;
        let key = price.pubkey();
        self.oracles.push(price);
        self.publish(&key, usd).await?;
        Ok((
            key,
            OracleConfig {
                kind: OracleKind::PythLegacy,
                feed_id: None,
                account: Some(key.to_string()),
                price_account: None,
                program: Some(local_oracle::PROGRAM.to_string()),
            },
        ))
    }

    async fn publish(&mut self, oracle: &Pubkey, usd: f64) -> Result<(), DemoError> {
        let kp = self
            .oracles
            .iter()
            .find(|k| k.pubkey() == *oracle)
            .ok_or_else(|| DemoError(format!("{oracle} is not a price account of this demo")))?;
        let now = self.chain.unix_time().await.unwrap_or(self.last_publish);
        let now = now.max(self.last_publish);
        let price = (usd * 1e8).round() as i64;
        let q = Quote {
            price,
            conf: price as u64 * crate::setup::CONF_BPS / 10_000,
            expo: -8,
            publish_time: now,
            prev_publish_time: self.last_publish,
        };
        self.chain
            .send(
                &[local_oracle::publish(oracle, q)],
                &[kp],
                Budget::default(),
            )
            .await
            .map_err(|e| DemoError(format!("publish the price: {e}")))?;
        self.last_publish = now;
        Ok(())
    }

    fn risk_params(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert("iv_weight".into(), toml::Value::String("1".into()));
        t.insert("min_obs_interval_secs".into(), toml::Value::Integer(1));
        t
    }

    fn describe(&self) -> String {
        format!(
            "solana-test-validator at {} running keel.so, in real time: prices and implied vol \
             follow history; expiries, the APC release and the stable price do not advance with \
             it (series expire after the replay, so nothing is settled); the market weights the \
             published implied vol fully",
            self.url
        )
    }
}
