//! The test bank: solana-program-test with Keel registered natively (real SPL Token and
//! Token-2022 run as SBF programs), a `TestContext` that owns it, and `send`, time travel,
//! oracle writing, token set-up, state reading, event decoding and the conservation check.

use crate::ix::{self, ExchangeKeys};
use crate::oracle::{self, Quote};
use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::{AnchorDeserialize, Discriminator};
use anchor_spl::token_2022::spl_token_2022;
use keel_bank::{BankChain, KnownAccounts};
use keel_state::{Layout, StateError};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::{Account, AccountSharedData, ReadableAccount};
use solana_keypair::Keypair;
use solana_program_test::ProgramTestContext;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// Anchor's custom error code of a Keel error.
pub fn code(e: keel::error::KeelError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// A transaction that succeeded.
#[derive(Debug, Clone)]
pub struct TxOk {
    pub logs: Vec<String>,
    pub compute_units: u64,
}

/// A transaction that failed.
#[derive(Debug, Clone)]
pub struct TxErr {
    /// The custom program error code, if the failure was one.
    pub code: Option<u32>,
    /// The transaction error, printed.
    pub error: String,
    pub logs: Vec<String>,
}

impl TxOk {
    /// Every event of type `E` in the logs, in order.
    pub fn events<E: AnchorDeserialize + Discriminator>(&self) -> Vec<E> {
        decode_events(&self.logs)
    }

    /// The one event of type `E`.
    pub fn event<E: AnchorDeserialize + Discriminator>(&self) -> E {
        let mut v = self.events::<E>();
        assert_eq!(
            v.len(),
            1,
            "expected exactly one event; logs: {:#?}",
            self.logs
        );
        v.pop().unwrap()
    }
}

/// Decodes Anchor events of type `E` from logs (keel-client's decoder; panics on a malformed one).
pub fn decode_events<E: AnchorDeserialize + Discriminator>(logs: &[String]) -> Vec<E> {
    keel_client::events::decode(logs).expect("events decode")
}

/// Which token program the quote mint lives under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteToken {
    SplToken,
    Token2022,
}

/// A funded wallet with a quote token account.
pub struct User {
    pub kp: Keypair,
    pub tokens: Pubkey,
}

impl User {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

/// A market created in the test exchange.
#[derive(Clone, Copy, Debug)]
pub struct MarketHandle {
    pub key: Pubkey,
    pub oracle: Pubkey,
    pub feed_id: [u8; 32],
    pub index: u16,
    pub legacy: bool,
    /// Its risk-array pages (index 0 and 1: 32 option series), created with the market.
    pub pages: [Pubkey; 2],
}

/// Builder of a [`TestContext`].
pub struct TestContextBuilder {
    quote: QuoteToken,
    decimals: u8,
    taker_fee_bps: u16,
    maker_fee_bps: u16,
    start_ts: i64,
}

impl Default for TestContextBuilder {
    fn default() -> Self {
        TestContextBuilder {
            quote: QuoteToken::SplToken,
            decimals: 6,
            taker_fee_bps: 5,
            maker_fee_bps: 2,
            start_ts: 1_767_225_600, // 2026-01-01T00:00:00Z
        }
    }
}

impl TestContextBuilder {
    pub fn quote(mut self, q: QuoteToken) -> Self {
        self.quote = q;
        self
    }

    pub fn fees(mut self, taker_bps: u16, maker_bps: u16) -> Self {
        self.taker_fee_bps = taker_bps;
        self.maker_fee_bps = maker_bps;
        self
    }

    /// Starts the bank and creates the quote mint; `init_exchange` is left to [`Self::start`].
    pub async fn start_bank(self) -> TestContext {
        let ctx = keel_bank::program_test().start_with_context().await;
        let token_program = match self.quote {
            QuoteToken::SplToken => anchor_spl::token::ID,
            QuoteToken::Token2022 => anchor_spl::token_2022::ID,
        };
        let mut t = TestContext {
            pt: ctx,
            admin: Keypair::new(),
            mint_authority: Keypair::new(),
            ex: ExchangeKeys::new(Pubkey::default(), token_program),
            decimals: self.decimals,
            known: KnownAccounts::default(),
            slot: 1,
            nonce: 0,
            markets: vec![],
            auto_crank: true,
        };
        t.set_time(self.start_ts).await;
        let admin = t.admin.pubkey();
        keel_bank::set_upgrade_authority(&mut t.pt, &admin);
        t.airdrop(&admin, 100_000_000_000).await;
        let mint = t.create_mint(token_program, &[]).await;
        t.ex = ExchangeKeys::new(mint, token_program);
        t
    }

    /// Starts the bank and initialises the exchange.
    pub async fn start(self) -> TestContext {
        let (taker, maker) = (self.taker_fee_bps, self.maker_fee_bps);
        let mut t = self.start_bank().await;
        let admin = t.admin.insecure_clone();
        t.send(
            &[ix::init_exchange(
                &t.ex,
                &admin.pubkey(),
                keel::instructions::InitExchangeArgs {
                    taker_fee_bps: taker,
                    maker_fee_bps: maker,
                },
            )],
            &[&admin],
        )
        .await
        .expect("init_exchange");
        t
    }
}

/// The running bank and the exchange under test.
pub struct TestContext {
    pub pt: ProgramTestContext,
    pub admin: Keypair,
    pub mint_authority: Keypair,
    pub ex: ExchangeKeys,
    pub decimals: u8,
    /// Accounts referenced by successful transactions (what `chain()` lists as program accounts).
    pub known: KnownAccounts,
    slot: u64,
    nonce: u32,
    /// Every market created through the helpers.
    pub markets: Vec<MarketHandle>,
    /// Before a transaction that checks margin (`trade`, `withdraw`, `liquidate`,
    /// `margin_report`), run `crank_arrays` on every page of every market first, in transactions
    /// of their own whose failures are ignored (a stale oracle fails the instruction under test
    /// with its own error): tests about something else see fresh risk arrays, as a keeper keeps
    /// them. Tests about the arrays themselves turn it off.
    pub auto_crank: bool,
}

/// Whether `ixs` contains a Keel instruction that computes margin from risk arrays.
fn checks_margin(ixs: &[Instruction]) -> bool {
    use anchor_lang::Discriminator;
    let margin = [
        keel::instruction::Trade::DISCRIMINATOR,
        keel::instruction::Withdraw::DISCRIMINATOR,
        keel::instruction::Liquidate::DISCRIMINATOR,
        keel::instruction::MarginReport::DISCRIMINATOR,
    ];
    ixs.iter()
        .any(|i| i.program_id == keel::ID && i.data.len() >= 8 && margin.contains(&&i.data[..8]))
}

impl TestContext {
    pub fn builder() -> TestContextBuilder {
        TestContextBuilder::default()
    }

    pub fn payer(&self) -> Pubkey {
        self.pt.payer.pubkey()
    }

    /// keel-client's `Chain` over this bank, paying with `payer` (what the keeper runs on).
    pub fn chain(&self, payer: &Keypair) -> BankChain {
        BankChain::new(
            self.pt.banks_client.clone(),
            payer.insecure_clone(),
            self.known.clone(),
        )
    }

    // ---- transactions ----

    /// Sends `ixs` signed by the fee payer and `signers`. A compute-budget instruction with a
    /// per-transaction value keeps otherwise identical transactions distinct.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOk, TxErr> {
        if self.auto_crank && checks_margin(ixs) {
            self.crank_all_arrays().await;
        }
        self.send_raw(ixs, signers).await
    }

    /// Runs `crank_arrays` on every page of every market (each in its own transaction, failures
    /// ignored).
    pub async fn crank_all_arrays(&mut self) {
        for m in self.markets.clone() {
            for page in m.pages {
                let ix = ix::crank_arrays(&self.ex, &m.key, &m.oracle, Some(page), 0, 16);
                let _ = self.send_raw(&[ix], &[]).await;
            }
        }
    }

    /// [`Self::send`] without the automatic crank.
    pub async fn send_raw(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<TxOk, TxErr> {
        let tx = self.transaction(ixs, signers).await;
        let r = self
            .pt
            .banks_client
            .process_transaction_with_metadata(tx.clone())
            .await
            .expect("banks client");
        if r.result.is_ok() {
            self.known.record(&tx.message.account_keys);
        }
        let (logs, cu) = r
            .metadata
            .map(|m| (m.log_messages, m.compute_units_consumed))
            .unwrap_or_default();
        match r.result {
            Ok(()) => Ok(TxOk {
                logs,
                compute_units: cu,
            }),
            Err(e) => Err(tx_err(e, logs)),
        }
    }

    /// Simulates `ixs` (nothing is committed) and returns the logs.
    pub async fn simulate(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<TxOk, TxErr> {
        if self.auto_crank && checks_margin(ixs) {
            self.crank_all_arrays().await;
        }
        let tx = self.transaction(ixs, signers).await;
        let r = self
            .pt
            .banks_client
            .simulate_transaction(tx)
            .await
            .expect("banks client");
        let details = r.simulation_details.expect("simulation details");
        match r.result.expect("simulation result") {
            Ok(()) => Ok(TxOk {
                logs: details.logs,
                compute_units: details.units_consumed,
            }),
            Err(e) => Err(tx_err(e, details.logs)),
        }
    }

    async fn transaction(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Transaction {
        self.nonce = self.nonce.wrapping_add(1);
        let mut all = vec![
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(
                1_400_000 - (self.nonce % 100_000),
            ),
        ];
        all.extend_from_slice(ixs);
        let blockhash = self
            .pt
            .banks_client
            .get_latest_blockhash()
            .await
            .expect("blockhash");
        let mut keys: Vec<&Keypair> = vec![&self.pt.payer];
        for s in signers {
            if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
                keys.push(s);
            }
        }
        Transaction::new_signed_with_payer(&all, Some(&self.pt.payer.pubkey()), &keys, blockhash)
    }

    /// Sends `ixs`, expects them to fail with `expected`, and checks that none of `watch`
    /// changed (lamports, owner or a single byte of data).
    pub async fn expect_error(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        expected: keel::error::KeelError,
        watch: &[Pubkey],
    ) -> TxErr {
        if self.auto_crank && checks_margin(ixs) {
            self.crank_all_arrays().await;
        }
        let before = self.snapshot(watch).await;
        let e = self
            .send_raw(ixs, signers)
            .await
            .expect_err(&format!("expected {expected:?}"));
        assert_eq!(
            e.code,
            Some(code(expected)),
            "expected {expected:?} ({}), got {}; logs: {:#?}",
            code(expected),
            e.error,
            e.logs
        );
        let after = self.snapshot(watch).await;
        assert!(before == after, "a failed {expected:?} changed an account");
        e
    }

    /// Sends `ixs`, expects any failure (a runtime or Anchor error), and checks `watch`.
    pub async fn expect_failure(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        watch: &[Pubkey],
    ) -> TxErr {
        if self.auto_crank && checks_margin(ixs) {
            self.crank_all_arrays().await;
        }
        let before = self.snapshot(watch).await;
        let e = self
            .send_raw(ixs, signers)
            .await
            .expect_err("expected a failure");
        let after = self.snapshot(watch).await;
        assert!(before == after, "a failed transaction changed an account");
        e
    }

    /// Raw accounts (for the "changes nothing" checks).
    pub async fn snapshot(&mut self, keys: &[Pubkey]) -> Vec<Option<Account>> {
        let mut v = Vec::new();
        for k in keys {
            v.push(
                self.pt
                    .banks_client
                    .get_account(*k)
                    .await
                    .expect("get_account"),
            );
        }
        v
    }

    // ---- time ----

    /// The bank's unix time.
    pub async fn now(&mut self) -> i64 {
        let c: Clock = self.pt.banks_client.get_sysvar().await.expect("clock");
        c.unix_timestamp
    }

    /// Moves to a new slot and sets the clock to `ts`.
    pub async fn set_time(&mut self, ts: i64) {
        keel_bank::set_time(&mut self.pt, &mut self.slot, ts).await;
    }

    /// Advances the clock by `secs`.
    pub async fn advance(&mut self, secs: i64) {
        let now = self.now().await;
        self.set_time(now + secs).await;
    }

    // ---- accounts and tokens ----

    pub async fn set_account(&mut self, key: &Pubkey, owner: &Pubkey, data: Vec<u8>) {
        let rent = 1_000_000_000 + 10 * data.len() as u64;
        let acc = Account {
            lamports: rent,
            data,
            owner: *owner,
            executable: false,
            rent_epoch: 0,
        };
        self.pt.set_account(key, &AccountSharedData::from(acc));
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let ix = solana_system_interface::instruction::transfer(&self.payer(), to, lamports);
        self.send(&[ix], &[]).await.expect("airdrop");
    }

    /// A new mint of the quote's token program with `extensions` (Token-2022 only) initialised
    /// by `init` instructions the caller provides through [`Self::create_mint_with`].
    pub async fn create_mint(
        &mut self,
        token_program: Pubkey,
        extensions: &[spl_token_2022::extension::ExtensionType],
    ) -> Pubkey {
        self.create_mint_with(token_program, extensions, |_| vec![])
            .await
    }

    /// A new mint; `init_extensions(mint)` returns the extension initialisers to run before
    /// `initialize_mint2`.
    pub async fn create_mint_with(
        &mut self,
        token_program: Pubkey,
        extensions: &[spl_token_2022::extension::ExtensionType],
        init_extensions: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    ) -> Pubkey {
        let mint = Keypair::new();
        let space = if extensions.is_empty() {
            spl_token_2022::state::Mint::LEN
        } else {
            spl_token_2022::extension::ExtensionType::try_calculate_account_len::<
                spl_token_2022::state::Mint,
            >(extensions)
            .unwrap()
        };
        let mut ixs = vec![solana_system_interface::instruction::create_account(
            &self.payer(),
            &mint.pubkey(),
            1_000_000_000,
            space as u64,
            &token_program,
        )];
        ixs.extend(init_extensions(&mint.pubkey()));
        ixs.push(
            spl_token_2022::instruction::initialize_mint2(
                &token_program,
                &mint.pubkey(),
                &self.mint_authority.pubkey(),
                None,
                self.decimals,
            )
            .unwrap(),
        );
        self.send(&ixs, &[&mint]).await.expect("create mint");
        mint.pubkey()
    }

    /// A new token account of `mint` (under `token_program`) owned by `owner`.
    pub async fn token_account(
        &mut self,
        mint: &Pubkey,
        token_program: &Pubkey,
        owner: &Pubkey,
    ) -> Pubkey {
        let acc = Keypair::new();
        let space = if *token_program == anchor_spl::token_2022::ID {
            spl_token_2022::extension::ExtensionType::try_calculate_account_len::<
                spl_token_2022::state::Account,
            >(&[])
            .unwrap()
        } else {
            spl_token_2022::state::Account::LEN
        };
        let ixs = vec![
            solana_system_interface::instruction::create_account(
                &self.payer(),
                &acc.pubkey(),
                1_000_000_000,
                space as u64,
                token_program,
            ),
            spl_token_2022::instruction::initialize_account3(
                token_program,
                &acc.pubkey(),
                mint,
                owner,
            )
            .unwrap(),
        ];
        self.send(&ixs, &[&acc])
            .await
            .expect("create token account");
        acc.pubkey()
    }

    /// Mints `amount` quote tokens to `account`.
    pub async fn mint_to(&mut self, account: &Pubkey, amount: u64) {
        let auth = self.mint_authority.insecure_clone();
        let ix = spl_token_2022::instruction::mint_to(
            &self.ex.token_program,
            &self.ex.quote_mint,
            account,
            &auth.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        self.send(&[ix], &[&auth]).await.expect("mint_to");
    }

    /// A funded wallet holding `tokens` quote native units.
    pub async fn user(&mut self, tokens: u64) -> User {
        let kp = Keypair::new();
        self.airdrop(&kp.pubkey(), 10_000_000_000).await;
        let (mint, tp) = (self.ex.quote_mint, self.ex.token_program);
        let acc = self.token_account(&mint, &tp, &kp.pubkey()).await;
        if tokens > 0 {
            self.mint_to(&acc, tokens).await;
        }
        User { kp, tokens: acc }
    }

    /// Token balance of a token account.
    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        let a = self
            .pt
            .banks_client
            .get_account(*account)
            .await
            .unwrap()
            .expect("token account exists");
        let state = spl_token_2022::extension::StateWithExtensions::<spl_token_2022::state::Account>::unpack(a.data())
            .expect("token account");
        state.base.amount
    }

    /// A Keel account's layout, read through keel-state (as a keeper would).
    pub async fn read<T: Layout>(&mut self, key: &Pubkey, disc: &[u8; 8]) -> Result<T, StateError> {
        let a = self
            .pt
            .banks_client
            .get_account(*key)
            .await
            .unwrap()
            .ok_or(StateError::AccountTooSmall)?;
        assert_eq!(a.owner, keel::ID, "owned by keel");
        keel_state::read_account(a.data(), disc)
    }

    /// The exchange as its readers see it: its aggregates include every ledger shard's part.
    pub async fn exchange(&mut self) -> keel_state::Exchange {
        let ex = self.exchange_account().await;
        let mut shards = Vec::new();
        for k in self.ex.ledgers {
            shards.push(self.ledger(&k).await);
        }
        keel_state::Totals::sum(&ex, shards.iter())
            .expect("totals fit")
            .folded_into(&ex)
    }

    /// The Exchange account's own fields (without its ledger shards).
    pub async fn exchange_account(&mut self) -> keel_state::Exchange {
        let k = self.ex.exchange;
        self.read(&k, &keel_state::discriminator::EXCHANGE)
            .await
            .unwrap()
    }

    /// A ledger shard.
    pub async fn ledger(&mut self, key: &Pubkey) -> keel_state::Ledger {
        self.read(key, &keel_state::discriminator::LEDGER)
            .await
            .unwrap()
    }

    pub async fn market(&mut self, key: &Pubkey) -> keel_state::Market {
        self.read(key, &keel_state::discriminator::MARKET)
            .await
            .unwrap()
    }

    pub async fn series(&mut self, key: &Pubkey) -> keel_state::Series {
        self.read(key, &keel_state::discriminator::SERIES)
            .await
            .unwrap()
    }

    pub async fn margin_account(&mut self, key: &Pubkey) -> keel_state::MarginAccount {
        self.read(key, &keel_state::discriminator::MARGIN_ACCOUNT)
            .await
            .unwrap()
    }

    /// Every account of the program with discriminator `disc` (a keeper's getProgramAccounts).
    pub async fn program_accounts(&mut self, keys: &[Pubkey]) -> Vec<(Pubkey, Account)> {
        let mut v = Vec::new();
        for k in keys {
            if let Some(a) = self.pt.banks_client.get_account(*k).await.unwrap() {
                v.push((*k, a));
            }
        }
        v
    }

    // ---- oracles ----

    /// Writes a `PriceUpdateV2` (owned by the Pyth receiver) at `key`.
    pub async fn set_pull_oracle(
        &mut self,
        key: &Pubkey,
        feed_id: [u8; 32],
        q: Quote,
        level: VerificationLevel,
    ) {
        let data = oracle::price_update_v2(feed_id, q, level);
        self.set_account(key, &pyth_solana_receiver_sdk::ID, data)
            .await;
    }

    /// Writes a legacy Pyth price account (owned by the legacy Pyth program) at `key`.
    pub async fn set_legacy_oracle(&mut self, key: &Pubkey, q: Quote, status: u32) {
        let data = oracle::legacy_price_account(q, status);
        self.set_account(key, &oracle::PYTH_LEGACY_PROGRAM, data)
            .await;
    }

    /// Overwrites a market account's bytes (for bounds no instruction sequence can reach in a
    /// test, such as 65,534 risk-array pages).
    pub async fn write_market(&mut self, key: &Pubkey, m: &keel_state::Market) {
        let mut data = keel_state::discriminator::MARKET.to_vec();
        data.extend_from_slice(bytemuck::bytes_of(m));
        self.set_account(key, &keel::ID, data).await;
    }

    /// Writes `q` into `m`'s oracle in its kind's layout (fully verified, trading).
    pub async fn set_price(&mut self, m: &MarketHandle, q: Quote) {
        if m.legacy {
            self.set_legacy_oracle(&m.oracle, q, 1).await;
        } else {
            self.set_pull_oracle(&m.oracle, m.feed_id, q, VerificationLevel::Full)
                .await;
        }
    }

    // ---- conservation ----

    /// Asserts `vault == Σ collateral + insurance + fees + Σ settlement pools − pending social
    /// loss`, with the sums
    /// recomputed from every margin account and series in `accounts` / `series`, and that the
    /// exchange's running totals equal those sums.
    pub async fn assert_conservation(&mut self, accounts: &[Pubkey], series: &[Pubkey]) {
        let vault_key = self.ex.vault;
        let vault = self.token_balance(&vault_key).await as i128;
        let ex = self.exchange().await;
        let mut collateral = 0i128;
        for a in accounts {
            if let Ok(acc) = self
                .read::<keel_state::MarginAccount>(a, &keel_state::discriminator::MARGIN_ACCOUNT)
                .await
            {
                collateral += acc.collateral_native as i128;
            }
        }
        let mut pools = 0i128;
        for s in series {
            let s = self.series(s).await;
            assert!(
                s.settlement_pool_native >= 0,
                "a settlement pool went negative"
            );
            pools += s.settlement_pool_native as i128;
        }
        assert_eq!(
            collateral, ex.total_collateral_native as i128,
            "Σ collateral vs exchange total"
        );
        assert_eq!(
            pools, ex.settlement_pools_native as i128,
            "Σ pools vs exchange total"
        );
        // Charges round up: until an instruction that writes the Exchange sweeps it into the
        // insurance fund, the pending total may sit below zero by at most one unit per account
        // and socialised loss (`ledger::charge_social_loss`).
        let over = accounts.len() as i64 * ex.socialisation_count as i64;
        assert!(
            ex.social_loss_pending_native >= -over,
            "pending social loss {} below −{over}",
            ex.social_loss_pending_native
        );
        assert_eq!(
            vault,
            collateral + ex.insurance_fund_native as i128 + ex.fees_native as i128 + pools
                - ex.social_loss_pending_native as i128,
            "conservation: vault {vault} != collateral {collateral} + insurance {} + fees {} + pools {pools} - pending social loss {}",
            ex.insurance_fund_native,
            ex.fees_native,
            ex.social_loss_pending_native
        );
    }
}

fn tx_err(e: solana_transaction::TransactionError, logs: Vec<String>) -> TxErr {
    use solana_instruction_error::InstructionError;
    let code = match &e {
        solana_transaction::TransactionError::InstructionError(_, InstructionError::Custom(c)) => {
            Some(*c)
        }
        _ => None,
    };
    TxErr {
        code,
        error: format!("{e:?}"),
        logs,
    }
}
