//! An exchange under test on a [`Backend`]: the quote mint and every token account written
//! directly in SPL Token's layout (so no backend needs a mint authority's transactions), markets
//! on Pyth oracles written in their real layouts, one helper per instruction (keel-client's
//! builders), reads through keel-state, and the compute units of every successful Keel call.
//!
//! Keys are derived from a counter, not drawn at random: both backends see the same addresses,
//! so the same scenario gives byte-identical events on both.

use crate::backend::{program_cu, Backend, Failed, RawAccount, Sent};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use keel::bounds::MarketGuards;
use keel::error::KeelError;
use keel::instructions::*;
use keel_client::ix::{self, ExchangeKeys};
use keel_client::oracle::{self, Quote};
use keel_state::Layout;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// One USDC in native units (the quote mint has 6 decimals).
pub const USDC: i64 = 1_000_000;
/// Seconds per day.
pub const DAY: i64 = 86_400;
/// Classic SPL Token: the quote mint's program.
pub const TOKEN_PROGRAM: Pubkey =
    anchor_lang::pubkey!("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
/// Clock at the start of every scenario (2026-01-01T00:00:00Z).
pub const START_TS: i64 = 1_767_225_600;
/// Size of an SPL Token mint and token account.
const MINT_LEN: usize = 82;
const TOKEN_ACCOUNT_LEN: usize = 165;

/// Guards of every test market.
pub const GUARDS: MarketGuards = MarketGuards {
    max_staleness_secs: 60,
    max_conf_bps: 200,
    min_signatures: 0,
    max_vol_age_secs: 3_600,
    settle_window_secs: 300,
    band_vol_frac_q32: keel_state::TradeBand::DEFAULT.vol_frac.to_bits(),
    band_option_spot_bps: keel_state::TradeBand::DEFAULT.option_spot_bps,
    band_future_bps: keel_state::TradeBand::DEFAULT.future_bps,
};

/// Anchor's custom error code of a Keel error.
pub fn code(e: KeelError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// The compute units one Keel instruction used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    /// Instruction name as in the program (`deposit`, `trade`, ...).
    pub instruction: &'static str,
    /// Series and markets the account(s) involved hold positions in (0 when not applicable).
    pub series: usize,
    pub markets: usize,
    pub cu: u64,
}

/// A wallet with a quote token account.
pub struct User {
    pub kp: Keypair,
    pub tokens: Pubkey,
}

impl User {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

/// A market of the exchange, its oracle and its two risk-array pages (32 option series).
#[derive(Clone, Copy, Debug)]
pub struct MarketHandle {
    pub key: Pubkey,
    pub oracle: Pubkey,
    pub feed_id: [u8; 32],
    pub legacy: bool,
    pub pages: [Pubkey; 2],
}

/// Instructions that compute margin from risk arrays: [`World::call`] cranks the arrays first
/// when `auto_crank` is on.
const CHECKS_MARGIN: [&str; 5] = [
    "trade",
    "trade_both_below_im",
    "withdraw",
    "liquidate",
    "margin_report",
];

/// The exchange under test.
pub struct World<B: Backend> {
    pub b: B,
    pub admin: Keypair,
    pub ex: ExchangeKeys,
    /// Every margin account and series opened so far (what conservation sums over).
    pub accounts: Vec<Pubkey>,
    pub series: Vec<Pubkey>,
    /// CU of every successful Keel instruction sent through [`World::call`].
    pub measured: Vec<Measured>,
    /// Every event the program emitted in a successful call, in order, in hex (the natively
    /// registered program logs them as `Program log: Program data: …`, the VM as `Program
    /// data: …`; keel-client reads both): what the two backends must agree on byte for byte.
    pub events: Vec<String>,
    /// (series, markets) recorded with the next measurements.
    pub shape: (usize, usize),
    /// Failures a scenario recorded and went on past: (instruction, what happened). The runner
    /// reports them and fails.
    pub failures: Vec<(&'static str, String)>,
    /// Every market created.
    pub markets: Vec<MarketHandle>,
    /// Crank every market's risk arrays (`crank_arrays`, measured as such, in transactions of
    /// their own) before an instruction that checks margin, as a keeper keeps them fresh.
    pub auto_crank: bool,
    /// The risk-array pages a series was listed on: the ones a margin check can need (a page
    /// without series holds no arrays; clients pass only the pages of the account's positions).
    pub pages_with_series: Vec<Pubkey>,
    next_key: u32,
}

impl<B: Backend> World<B> {
    /// Writes the quote mint and runs `init_exchange` (taker 5 bps, maker 2 bps).
    pub async fn start(mut b: B) -> World<B> {
        b.set_time(START_TS).await;
        let mut w = World {
            b,
            admin: Keypair::new_from_array([0; 32]),
            ex: ExchangeKeys::new(Pubkey::default(), TOKEN_PROGRAM),
            accounts: vec![],
            series: vec![],
            measured: vec![],
            events: vec![],
            shape: (0, 0),
            failures: vec![],
            markets: vec![],
            pages_with_series: Vec::new(),
            auto_crank: true,
            next_key: 0,
        };
        w.admin = w.keypair();
        let admin = w.admin.pubkey();
        w.fund(&admin).await;
        let mint = w.keypair().pubkey();
        w.write_mint(&mint, 0).await;
        w.ex = ExchangeKeys::new(mint, TOKEN_PROGRAM);
        let args = InitExchangeArgs {
            taker_fee_bps: 5,
            maker_fee_bps: 2,
        };
        w.set_upgrade_authority(&admin).await;
        let ix = ix::init_exchange(&w.ex, &admin, args);
        let admin = w.admin.insecure_clone();
        w.call("init_exchange", &[ix], &[&admin])
            .await
            .expect("init_exchange");
        w
    }

    /// Makes `authority` the program's upgrade authority, as a deployer is: `init_exchange`
    /// accepts only it. The bank runs Keel natively (no ProgramData yet: a header is written);
    /// LiteSVM deploys it under the upgradeable loader with no authority (the header's
    /// authority is set, the program bytes after it are kept).
    async fn set_upgrade_authority(&mut self, authority: &Pubkey) {
        const HEADER: usize = 45; // UpgradeableLoaderState::size_of_programdata_metadata()
        let key = keel_client::pda::program_data();
        let mut acc = self.b.account(&key).await.unwrap_or(RawAccount {
            lamports: 1_000_000_000,
            owner: anchor_lang::solana_program::bpf_loader_upgradeable::ID,
            data: vec![0; HEADER],
        });
        // bincode: variant ProgramData (3, u32), slot (u64, kept), Some(authority).
        acc.data[..4].copy_from_slice(&3u32.to_le_bytes());
        acc.data[12] = 1;
        acc.data[13..HEADER].copy_from_slice(authority.as_ref());
        self.b.set_account(&key, acc).await;
    }

    /// The next deterministic keypair.
    pub fn keypair(&mut self) -> Keypair {
        self.next_key += 1;
        let mut seed = [0x4b; 32];
        seed[..4].copy_from_slice(&self.next_key.to_le_bytes());
        Keypair::new_from_array(seed)
    }

    // ---- transactions ----

    /// Sends `ixs`; on success records its events and the Keel program's CU as `instruction`.
    pub async fn call(
        &mut self,
        instruction: &'static str,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Sent, Failed> {
        if self.auto_crank && CHECKS_MARGIN.contains(&instruction) {
            self.crank_all_arrays().await;
        }
        self.call_raw(instruction, ixs, signers).await
    }

    /// `crank_arrays` on every page of every market (failures are left to the instruction that
    /// follows: a stale oracle fails it with its own error).
    pub async fn crank_all_arrays(&mut self) {
        for m in self.markets.clone() {
            for page in m.pages {
                let ix = ix::crank_arrays(&self.ex, &m.key, &m.oracle, Some(page), 0, 16);
                let _ = self.call_raw("crank_arrays", &[ix], &[]).await;
            }
        }
    }

    /// [`Self::call`] without the automatic crank.
    pub async fn call_raw(
        &mut self,
        instruction: &'static str,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Sent, Failed> {
        let sent = self.b.send(ixs, signers).await?;
        self.events.extend(
            keel_client::events::data_lines(&sent.logs)
                .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        );
        if let Some(cu) = program_cu(&sent.logs) {
            let (series, markets) = self.shape;
            self.measured.push(Measured {
                instruction,
                series,
                markets,
                cu,
            });
        }
        // A `cu-trace` build's margin check, bracketed inside `margin_report`.
        if let Some(cu) = crate::backend::traced_cu(&sent.logs) {
            let (series, markets) = self.shape;
            self.measured.push(Measured {
                instruction: "margin_check",
                series,
                markets,
                cu,
            });
        }
        Ok(sent)
    }

    /// Sends `ixs`, expects Keel error `expected`, and checks none of `watch` changed.
    pub async fn expect_error(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        expected: KeelError,
        watch: &[Pubkey],
    ) -> Failed {
        if self.auto_crank {
            self.crank_all_arrays().await;
        }
        let before = self.snapshot(watch).await;
        let e = match self.b.send(ixs, signers).await {
            Ok(s) => panic!("expected {expected:?}, it succeeded; logs: {:#?}", s.logs),
            Err(e) => e,
        };
        assert_eq!(
            e.code,
            Some(code(expected)),
            "[{}] expected {expected:?} ({}), got {}; logs: {:#?}",
            self.b.name(),
            code(expected),
            e.error,
            e.logs
        );
        assert!(
            before == self.snapshot(watch).await,
            "a failed {expected:?} changed an account"
        );
        e
    }

    pub async fn snapshot(&mut self, keys: &[Pubkey]) -> Vec<Option<RawAccount>> {
        let mut v = Vec::new();
        for k in keys {
            v.push(self.b.account(k).await);
        }
        v
    }

    // ---- time and accounts ----

    pub async fn advance(&mut self, secs: i64) {
        let now = self.b.now().await;
        self.b.set_time(now + secs).await;
    }

    /// A system account with 100 SOL.
    pub async fn fund(&mut self, key: &Pubkey) {
        let acc = RawAccount {
            lamports: 100_000_000_000,
            owner: Pubkey::default(),
            data: vec![],
        };
        self.b.set_account(key, acc).await;
    }

    async fn write_mint(&mut self, mint: &Pubkey, supply: u64) {
        let mut d = vec![0u8; MINT_LEN];
        d[0] = 1; // mint authority: Some
        d[4..36].copy_from_slice(self.admin.pubkey().as_ref());
        d[36..44].copy_from_slice(&supply.to_le_bytes());
        d[44] = 6; // decimals
        d[45] = 1; // initialised
        let acc = RawAccount {
            lamports: 1_000_000_000,
            owner: TOKEN_PROGRAM,
            data: d,
        };
        self.b.set_account(mint, acc).await;
    }

    /// Writes an initialised token account of `mint` owned by `owner` holding `amount`.
    pub async fn write_token_account(
        &mut self,
        key: &Pubkey,
        mint: &Pubkey,
        owner: &Pubkey,
        amount: u64,
    ) {
        let mut d = vec![0u8; TOKEN_ACCOUNT_LEN];
        d[0..32].copy_from_slice(mint.as_ref());
        d[32..64].copy_from_slice(owner.as_ref());
        d[64..72].copy_from_slice(&amount.to_le_bytes());
        d[108] = 1; // state: initialised
        let acc = RawAccount {
            lamports: 10_000_000,
            owner: TOKEN_PROGRAM,
            data: d,
        };
        self.b.set_account(key, acc).await;
    }

    /// Token balance of a token account.
    pub async fn token_balance(&mut self, key: &Pubkey) -> u64 {
        let a = self.b.account(key).await.expect("token account exists");
        u64::from_le_bytes(a.data[64..72].try_into().unwrap())
    }

    /// A funded wallet with `tokens` quote units in its token account.
    pub async fn user(&mut self, tokens: u64) -> User {
        let kp = self.keypair();
        self.fund(&kp.pubkey()).await;
        let acc = self.keypair().pubkey();
        let mint = self.ex.quote_mint;
        self.write_token_account(&acc, &mint, &kp.pubkey(), tokens)
            .await;
        User { kp, tokens: acc }
    }

    /// A Keel account's layout, read through keel-state.
    pub async fn read<T: Layout>(&mut self, key: &Pubkey, disc: &[u8; 8]) -> T {
        let a = self.b.account(key).await.expect("account exists");
        assert_eq!(a.owner, keel::ID, "owned by keel");
        keel_state::read_account(&a.data, disc).expect("layout")
    }

    /// The exchange as its readers see it: its aggregates include every ledger shard's part.
    pub async fn exchange(&mut self) -> keel_state::Exchange {
        let k = self.ex.exchange;
        let ex: keel_state::Exchange = self.read(&k, &keel_state::discriminator::EXCHANGE).await;
        let mut shards = Vec::new();
        for k in self.ex.ledgers {
            shards.push(
                self.read::<keel_state::Ledger>(&k, &keel_state::discriminator::LEDGER)
                    .await,
            );
        }
        keel_state::Totals::sum(&ex, shards.iter())
            .expect("totals fit")
            .folded_into(&ex)
    }

    pub async fn market(&mut self, key: &Pubkey) -> keel_state::Market {
        self.read(key, &keel_state::discriminator::MARKET).await
    }

    pub async fn series_state(&mut self, key: &Pubkey) -> keel_state::Series {
        self.read(key, &keel_state::discriminator::SERIES).await
    }

    /// The trade band of `series` on market `m` now, as the program computes it.
    pub async fn band(
        &mut self,
        m: &MarketHandle,
        series: &Pubkey,
    ) -> keel_state::trade_band::Band {
        let market = self.market(&m.key).await;
        let s = self.series_state(series).await;
        let acc = self.b.account(&m.oracle).await.expect("oracle account");
        let reading = keel_state::oracle::read_identity(
            &market.oracle,
            &m.oracle.to_bytes(),
            &acc.owner.to_bytes(),
            &acc.data,
        )
        .expect("oracle reading");
        let now = self.b.now().await;
        keel_state::trade_band::band(
            &market,
            &reading,
            s.series_kind().expect("kind"),
            s.strike_native,
            s.expiry_ts,
            now,
        )
        .expect("band")
    }

    pub async fn margin_account(&mut self, key: &Pubkey) -> keel_state::MarginAccount {
        self.read(key, &keel_state::discriminator::MARGIN_ACCOUNT)
            .await
    }

    /// The series `acc` holds positions in, in slot order.
    pub async fn held_series(&mut self, acc: &Pubkey) -> Vec<Pubkey> {
        let a = self.margin_account(acc).await;
        a.positions
            .iter()
            .filter(|p| p.series != [0; 32])
            .map(|p| Pubkey::new_from_array(p.series))
            .collect()
    }

    // ---- oracles ----

    /// Writes `q` into `m`'s oracle in its kind's layout (fully verified, trading).
    pub async fn set_price(&mut self, m: &MarketHandle, q: Quote) {
        let (owner, data) = if m.legacy {
            (
                oracle::PYTH_LEGACY_PROGRAM,
                oracle::legacy_price_account(q, 1),
            )
        } else {
            (
                pyth_solana_receiver_sdk::ID,
                oracle::price_update_v2(m.feed_id, q, VerificationLevel::Full),
            )
        };
        let acc = RawAccount {
            lamports: 1_000_000_000,
            owner,
            data,
        };
        self.b.set_account(&m.oracle, acc).await;
    }

    /// `m`'s oracle at `usd`, published now.
    pub async fn set_usd(&mut self, m: &MarketHandle, usd: i64) {
        let now = self.b.now().await;
        self.set_price(m, Quote::usd(usd, 5, now)).await;
    }

    // ---- instructions ----

    /// Creates a market of 0.01 underlying per contract on a fresh oracle at `usd`: a Pyth
    /// `PriceUpdateV2` (feed id = index + 1), or a legacy push account when `legacy`.
    pub async fn create_market(
        &mut self,
        name: &str,
        usd: i64,
        legacy: bool,
        vol_authority: Pubkey,
    ) -> MarketHandle {
        let index = self.exchange().await.market_count;
        let oracle_key = self.keypair().pubkey();
        let feed_id = if legacy {
            [0; 32]
        } else {
            [index as u8 + 1; 32]
        };
        let mut m = MarketHandle {
            key: keel_client::pda::market(&self.ex.exchange, index),
            oracle: oracle_key,
            feed_id,
            legacy,
            pages: [Pubkey::default(); 2],
        };
        self.set_usd(&m, usd).await;
        let mut n = [0u8; 16];
        n[..name.len()].copy_from_slice(name.as_bytes());
        let oracle = if legacy {
            OracleArgs {
                kind: keel_state::market::ORACLE_PYTH_LEGACY,
                account: oracle_key,
                program: oracle::PYTH_LEGACY_PROGRAM,
                feed_id,
            }
        } else {
            OracleArgs {
                kind: keel_state::market::ORACLE_PYTH_PULL,
                account: Pubkey::default(),
                program: pyth_solana_receiver_sdk::ID,
                feed_id,
            }
        };
        let args = CreateMarketArgs {
            name: n,
            oracle,
            contract_size_mantissa: 1,
            contract_size_expo: -2,
            guards: GUARDS,
            vol_authority,
            risk_params: vec![],
        };
        let admin = self.admin.insecure_clone();
        let ix = ix::create_market(&self.ex, &admin.pubkey(), index, &oracle_key, args);
        self.call("create_market", &[ix], &[&admin])
            .await
            .expect("create_market");
        for page in m.pages.iter_mut() {
            *page = self.create_array_page(&m.key).await;
        }
        self.markets.push(m);
        m
    }

    /// `update_market_params` of `m` to `params`, its guards unchanged from creation.
    pub async fn update_market_params(&mut self, m: &MarketHandle, params: &keel_risk::RiskParams) {
        let admin = self.admin.insecure_clone();
        let args = keel::instructions::UpdateMarketParamsArgs {
            risk_params: bytemuck::bytes_of(params).to_vec(),
            guards: GUARDS,
        };
        let ix = ix::update_market_params(&self.ex, &admin.pubkey(), &m.key, args);
        self.call("update_market_params", &[ix], &[&admin])
            .await
            .expect("update_market_params");
    }

    /// Allocates (a fresh deterministic keypair, rent-exempt) and initialises the next
    /// risk-array page of `market`.
    pub async fn create_array_page(&mut self, market: &Pubkey) -> Pubkey {
        let page = self.keypair();
        let admin = self.admin.insecure_clone();
        let space = keel::state::ArrayPage::SPACE as u64;
        // Rent exemption: (128 + space) bytes × 3,480 lamports/byte-year × 2 years.
        let lamports = (128 + space) * 3_480 * 2;
        let ixs = [
            ix::allocate_array_page(&admin.pubkey(), &page.pubkey(), lamports),
            ix::create_array_page(&self.ex, &admin.pubkey(), market, &page.pubkey()),
        ];
        self.call("create_array_page", &ixs, &[&admin, &page])
            .await
            .expect("create_array_page");
        page.pubkey()
    }

    /// Lists a series (0 call, 1 put, 2 future); returns its address.
    pub async fn list_series(
        &mut self,
        m: &MarketHandle,
        kind: u8,
        strike_native: i64,
        expiry_ts: i64,
    ) -> Pubkey {
        let index = self.market(&m.key).await.series_count;
        let admin = self.admin.insecure_clone();
        let args = ListSeriesArgs {
            kind,
            strike_native,
            expiry_ts,
        };
        let page = if kind == 2 {
            None
        } else {
            let mut room = None;
            for p in m.pages {
                let pg: keel_state::ArrayPage =
                    self.read(&p, &keel_state::discriminator::ARRAY_PAGE).await;
                if pg.free_slot().is_some() {
                    room = Some(p);
                    break;
                }
            }
            Some(room.expect("a risk-array page with room"))
        };
        if let Some(p) = page.filter(|p| !self.pages_with_series.contains(p)) {
            self.pages_with_series.push(p);
        }
        let ix = ix::list_series(&self.ex, &admin.pubkey(), &m.key, index, page, args);
        self.call("list_series", &[ix], &[&admin])
            .await
            .expect("list_series");
        let s = keel_client::pda::series(&m.key, index);
        self.series.push(s);
        s
    }

    /// Opens margin account 0 of `user`.
    pub async fn open_account(&mut self, user: &User) -> Pubkey {
        self.open_account_id(user, 0).await
    }

    /// Opens margin account `id` of `user`.
    pub async fn open_account_id(&mut self, user: &User, id: u32) -> Pubkey {
        let ix = ix::open_account(&self.ex, &user.key(), id);
        self.call("open_account", &[ix], &[&user.kp])
            .await
            .expect("open_account");
        let a = keel_client::pda::margin_account(&self.ex.exchange, &user.key(), id);
        self.accounts.push(a);
        a
    }

    /// A user holding `tokens`, with account 0 open and `deposit` of them deposited.
    pub async fn trader(&mut self, tokens: u64, deposit: u64) -> (User, Pubkey) {
        let u = self.user(tokens).await;
        let a = self.open_account(&u).await;
        if deposit > 0 {
            self.deposit(&u, &a, deposit).await.expect("deposit");
        }
        (u, a)
    }

    pub async fn deposit(&mut self, u: &User, acc: &Pubkey, amount: u64) -> Result<Sent, Failed> {
        let ix = ix::deposit(&self.ex, &u.key(), acc, &u.tokens, amount);
        self.call("deposit", &[ix], &[&u.kp]).await
    }

    pub async fn withdraw(
        &mut self,
        u: &User,
        acc: &Pubkey,
        amount: u64,
        markets: &[MarketHandle],
    ) -> Result<Sent, Failed> {
        let ix = ix::withdraw(
            &self.ex,
            &u.key(),
            acc,
            &u.tokens,
            amount,
            &self.metas(markets),
        );
        self.call("withdraw", &[ix], &[&u.kp]).await
    }

    /// `taker` buys `qty` (sells if negative) of `series` from `maker` at `price_native`.
    pub async fn trade(
        &mut self,
        series: &Pubkey,
        taker: (&User, &Pubkey),
        maker: (&User, &Pubkey),
        qty: i64,
        price_native: i64,
        markets: &[MarketHandle],
    ) -> Result<Sent, Failed> {
        let args = TradeArgs {
            qty_contracts: qty,
            price_native,
        };
        let ix = ix::trade(
            &self.ex,
            series,
            taker.1,
            &taker.0.key(),
            maker.1,
            &maker.0.key(),
            args,
            &self.metas(markets),
        );
        self.call("trade", &[ix], &[&taker.0.kp, &maker.0.kp]).await
    }

    /// The vol crank of `m`.
    pub async fn crank(&mut self, m: &MarketHandle) -> Result<Sent, Failed> {
        let ix = ix::update_volatility(&self.ex, &m.key, &m.oracle);
        self.call("update_volatility", &[ix], &[]).await
    }

    /// `m`'s oracle at `usd` now, then the vol crank.
    pub async fn price_and_crank(&mut self, m: &MarketHandle, usd: i64) -> Sent {
        self.set_usd(m, usd).await;
        self.crank(m).await.expect("update_volatility")
    }

    pub async fn publish_iv(&mut self, m: &MarketHandle, authority: &Keypair, bps: u32) {
        let ix = ix::publish_implied_vol(&m.key, &authority.pubkey(), bps);
        self.call("publish_implied_vol", &[ix], &[authority])
            .await
            .expect("publish_implied_vol");
    }

    /// Remaining accounts of a margin check on `markets`, as a client sends them: each market
    /// and its oracle, then the markets' pages that hold series ([`World::pages_with_series`]).
    pub fn metas(&self, markets: &[MarketHandle]) -> Vec<AccountMeta> {
        let pairs: Vec<(Pubkey, Pubkey)> = markets.iter().map(|m| (m.key, m.oracle)).collect();
        let pages: Vec<Pubkey> = markets
            .iter()
            .flat_map(|m| m.pages)
            .filter(|p| self.pages_with_series.contains(p))
            .collect();
        ix::margin_metas(&pairs, &pages, &[])
    }

    /// `margin_report` of `acc`, sent (it changes nothing) so its CU is measured too.
    pub async fn margin_report(
        &mut self,
        acc: &Pubkey,
        markets: &[MarketHandle],
    ) -> keel::events::MarginReport {
        self.try_margin_report(acc, markets)
            .await
            .expect("margin_report")
    }

    pub async fn try_margin_report(
        &mut self,
        acc: &Pubkey,
        markets: &[MarketHandle],
    ) -> Result<keel::events::MarginReport, Failed> {
        let ix = ix::margin_report(&self.ex, acc, &self.metas(markets));
        let sent = self.call("margin_report", &[ix], &[]).await?;
        Ok(one_event(&sent))
    }

    /// Adds `amount` from `u`'s wallet to the insurance fund.
    pub async fn fund_insurance(&mut self, u: &User, amount: u64) -> Result<Sent, Failed> {
        let ix = ix::fund_insurance(&self.ex, &u.key(), &u.tokens, amount);
        self.call("fund_insurance", &[ix], &[&u.kp]).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn liquidate(
        &mut self,
        liquidator: &User,
        liquidator_account: &Pubkey,
        victim: &Pubkey,
        markets: &[MarketHandle],
        series: &[Pubkey],
        max_fraction_bps: u16,
    ) -> Result<Sent, Failed> {
        let mut remaining = self.metas(markets);
        remaining.extend(ix::series_metas(series));
        let ix = ix::liquidate(
            &self.ex,
            victim,
            liquidator_account,
            &liquidator.key(),
            max_fraction_bps,
            &remaining,
        );
        self.call("liquidate", &[ix], &[&liquidator.kp]).await
    }

    /// `resolve_bankruptcy` of `account` (permissionless: the payer alone signs).
    pub async fn resolve_bankruptcy(&mut self, account: &Pubkey) -> Result<Sent, Failed> {
        let ix = keel_client::ix::resolve_bankruptcy(&self.ex, account);
        self.call("resolve_bankruptcy", &[ix], &[]).await
    }

    pub async fn settle_series(
        &mut self,
        m: &MarketHandle,
        series: &Pubkey,
    ) -> Result<Sent, Failed> {
        let payer = self.admin.insecure_clone();
        let st = self.series_state(series).await;
        let page = (st.array_page != keel_state::array_page::NO_PAGE)
            .then(|| m.pages[st.array_page as usize]);
        let ix = ix::settle_series(&self.ex, &payer.pubkey(), &m.key, series, &m.oracle, page);
        self.call("settle_series", &[ix], &[&payer]).await
    }

    pub async fn settle_positions(
        &mut self,
        acc: &Pubkey,
        series: &[Pubkey],
    ) -> Result<Sent, Failed> {
        let ix = ix::settle_positions(&self.ex, acc, series);
        self.call("settle_positions", &[ix], &[]).await
    }

    /// The events and final balances of the run, one per line: the scenario's transcript, which
    /// must be the same on every backend.
    pub async fn transcript(&mut self) -> String {
        let mut out: Vec<String> = self.events.iter().map(|e| format!("event {e}")).collect();
        for a in self.accounts.clone() {
            if self.b.account(&a).await.is_some() {
                let c = self.margin_account(&a).await.collateral_native;
                out.push(format!("collateral {a} {c}"));
            }
        }
        let vault = self.ex.vault;
        out.push(format!("vault {}", self.token_balance(&vault).await));
        out.join("\n") + "\n"
    }

    /// The largest CU measured for `instruction` at the current shape.
    pub fn max_cu(&self, instruction: &str) -> Option<u64> {
        self.measured
            .iter()
            .filter(|m| m.instruction == instruction && (m.series, m.markets) == self.shape)
            .map(|m| m.cu)
            .max()
    }
}

/// Remaining accounts of a margin check on `markets`: (market, oracle) pairs and every
/// risk-array page of those markets.
pub fn metas(markets: &[MarketHandle]) -> Vec<AccountMeta> {
    let pairs: Vec<(Pubkey, Pubkey)> = markets.iter().map(|m| (m.key, m.oracle)).collect();
    let pages: Vec<Pubkey> = markets.iter().flat_map(|m| m.pages).collect();
    ix::margin_metas(&pairs, &pages, &[])
}

/// The `liquidate` instruction: both accounts' markets, then the liquidatee's series.
pub fn liquidate_ix(
    ex: &ExchangeKeys,
    liquidator: &User,
    liquidator_account: &Pubkey,
    victim: &Pubkey,
    markets: &[MarketHandle],
    series: &[Pubkey],
    max_fraction_bps: u16,
) -> Instruction {
    let mut remaining = metas(markets);
    remaining.extend(ix::series_metas(series));
    ix::liquidate(
        ex,
        victim,
        liquidator_account,
        &liquidator.key(),
        max_fraction_bps,
        &remaining,
    )
}

/// Every event of type `E` in a transaction's logs.
pub fn events<E: anchor_lang::AnchorDeserialize + anchor_lang::Discriminator>(s: &Sent) -> Vec<E> {
    keel_client::events::decode(&s.logs).expect("events decode")
}

/// The one event of type `E`.
pub fn one_event<E: anchor_lang::AnchorDeserialize + anchor_lang::Discriminator>(s: &Sent) -> E {
    let mut v = events::<E>(s);
    assert_eq!(v.len(), 1, "expected one event; logs: {:#?}", s.logs);
    v.pop().unwrap()
}
