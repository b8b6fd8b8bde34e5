//! One helper per instruction on [`TestContext`]: builds the instruction with its accounts
//! derived, sends it, returns the outcome. Negative tests use the `ix` builders directly with
//! `expect_error`.

use crate::context::{MarketHandle, TestContext, TxErr, TxOk, User};
use crate::ix;
use crate::oracle::{Quote, PYTH_LEGACY_PROGRAM};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::AccountMeta;
use keel::events::MarginReport;
use keel::instructions::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Guards used by default in tests (the shared scenarios' own).
pub use keel_scenario::world::GUARDS;

/// BTC-like market: 0.01 BTC per contract, quote with 6 decimals.
pub fn btc_market_args(feed_id: [u8; 32], legacy_oracle: Option<Pubkey>) -> CreateMarketArgs {
    let mut name = [0u8; 16];
    name[..7].copy_from_slice(b"BTC/USD");
    let oracle = match legacy_oracle {
        None => OracleArgs {
            kind: keel_state::market::ORACLE_PYTH_PULL,
            account: Pubkey::default(),
            program: pyth_solana_receiver_sdk::ID,
            feed_id,
        },
        Some(acc) => OracleArgs {
            kind: keel_state::market::ORACLE_PYTH_LEGACY,
            account: acc,
            program: PYTH_LEGACY_PROGRAM,
            feed_id: [0; 32],
        },
    };
    CreateMarketArgs {
        name,
        oracle,
        contract_size_mantissa: 1,
        contract_size_expo: -2,
        guards: GUARDS,
        vol_authority: Pubkey::default(),
        risk_params: vec![],
    }
}

impl TestContext {
    /// The trade band of `series` (on market `m`) as the program computes it now
    /// (`keel_state::trade_band::band` on the chain's market, oracle, series and clock).
    pub async fn band(
        &mut self,
        m: &MarketHandle,
        series: &Pubkey,
    ) -> keel_state::trade_band::Band {
        let market = self.market(&m.key).await;
        let s = self.series(series).await;
        let acc = self
            .pt
            .banks_client
            .get_account(m.oracle)
            .await
            .unwrap()
            .expect("oracle account");
        let reading = keel_state::oracle::read_identity(
            &market.oracle,
            &m.oracle.to_bytes(),
            &acc.owner.to_bytes(),
            &acc.data,
        )
        .expect("oracle reading");
        let now = self.now().await;
        keel_state::trade_band::band(
            &market,
            &reading,
            s.series_kind().expect("series kind"),
            s.strike_native,
            s.expiry_ts,
            now,
        )
        .expect("band")
    }

    /// Writes the oracle at `usd` and creates a market on it with `args` (index = next).
    pub async fn create_market_with(
        &mut self,
        args: CreateMarketArgs,
        oracle: Pubkey,
        usd: i64,
    ) -> Result<MarketHandle, TxErr> {
        let index = self.exchange().await.market_count;
        let legacy = args.oracle.kind == keel_state::market::ORACLE_PYTH_LEGACY;
        let feed_id = args.oracle.feed_id;
        let now = self.now().await;
        let mut m = MarketHandle {
            key: crate::pda::market(&self.ex.exchange, index),
            oracle,
            feed_id,
            index,
            legacy,
            pages: [Pubkey::default(); 2],
        };
        self.set_price(&m, Quote::usd(usd, 5, now)).await;
        let admin = self.admin.insecure_clone();
        let ix = ix::create_market(&self.ex, &admin.pubkey(), index, &oracle, args);
        self.send(&[ix], &[&admin]).await?;
        for page in m.pages.iter_mut() {
            *page = self.create_array_page(&m.key).await;
        }
        self.markets.push(m);
        Ok(m)
    }

    /// Allocates and initialises the next risk-array page of `market`; returns its address.
    pub async fn create_array_page(&mut self, market: &Pubkey) -> Pubkey {
        let admin = self.admin.insecure_clone();
        let page = Keypair::new();
        let space = keel::state::ArrayPage::SPACE;
        let rent = self.pt.banks_client.get_rent().await.expect("rent");
        let ixs = [
            ix::allocate_array_page(&self.payer(), &page.pubkey(), rent.minimum_balance(space)),
            ix::create_array_page(&self.ex, &admin.pubkey(), market, &page.pubkey()),
        ];
        self.send(&ixs, &[&admin, &page])
            .await
            .expect("create_array_page");
        page.pubkey()
    }

    /// The page of `m` an option should be listed on: the first with a free slot.
    pub async fn page_with_room(&mut self, m: &MarketHandle) -> Pubkey {
        for page in m.pages {
            let p: keel_state::ArrayPage = self
                .read(&page, &keel_state::discriminator::ARRAY_PAGE)
                .await
                .expect("array page");
            if p.free_slot().is_some() {
                return page;
            }
        }
        panic!("both risk-array pages of the market are full");
    }

    /// Runs `crank_arrays` on every page of `m` (errors returned: the first one).
    pub async fn crank_arrays(&mut self, m: &MarketHandle) -> Result<TxOk, TxErr> {
        let mut last = None;
        for page in m.pages {
            let ix = ix::crank_arrays(&self.ex, &m.key, &m.oracle, Some(page), 0, 16);
            last = Some(self.send_raw(&[ix], &[]).await?);
        }
        Ok(last.expect("two pages"))
    }

    /// A BTC market on a pull oracle (feed id `[index+1; 32]`) at `usd`.
    pub async fn create_btc_market(&mut self, usd: i64) -> MarketHandle {
        let index = self.exchange().await.market_count;
        let feed = [index as u8 + 1; 32];
        let oracle = Keypair::new().pubkey();
        self.create_market_with(btc_market_args(feed, None), oracle, usd)
            .await
            .expect("create_market")
    }

    /// [`Self::create_btc_market`] with `authority` as its vol authority (its implied vol is
    /// published, not taken from its fills).
    pub async fn create_btc_market_with_vol_authority(
        &mut self,
        authority: &Pubkey,
        usd: i64,
    ) -> MarketHandle {
        let index = self.exchange().await.market_count;
        let mut args = btc_market_args([index as u8 + 1; 32], None);
        args.vol_authority = *authority;
        let oracle = Keypair::new().pubkey();
        self.create_market_with(args, oracle, usd)
            .await
            .expect("create_market")
    }

    /// A BTC market on a legacy Pyth push account at `usd`.
    pub async fn create_legacy_market(&mut self, usd: i64) -> MarketHandle {
        let oracle = Keypair::new().pubkey();
        self.create_market_with(btc_market_args([0; 32], Some(oracle)), oracle, usd)
            .await
            .expect("create_market (legacy)")
    }

    /// Lists a series; returns its address.
    pub async fn list_series(
        &mut self,
        m: &MarketHandle,
        kind: u8,
        strike_native: i64,
        expiry_ts: i64,
    ) -> Pubkey {
        let index = self.market(&m.key).await.series_count;
        let admin = self.admin.insecure_clone();
        let page = if kind == 2 {
            None
        } else {
            Some(self.page_with_room(m).await)
        };
        let ix = ix::list_series(
            &self.ex,
            &admin.pubkey(),
            &m.key,
            index,
            page,
            ListSeriesArgs {
                kind,
                strike_native,
                expiry_ts,
            },
        );
        self.send(&[ix], &[&admin]).await.expect("list_series");
        crate::pda::series(&m.key, index)
    }

    /// Opens margin account `id` of `user`; returns its address.
    pub async fn open_account(&mut self, user: &User, id: u32) -> Pubkey {
        let ix = ix::open_account(&self.ex, &user.key(), id);
        self.send(&[ix], &[&user.kp]).await.expect("open_account");
        crate::pda::margin_account(&self.ex.exchange, &user.key(), id)
    }

    /// A user with `tokens` in the wallet, an open account 0, and `deposit` of them deposited.
    pub async fn trader(&mut self, tokens: u64, deposit: u64) -> (User, Pubkey) {
        let u = self.user(tokens).await;
        let a = self.open_account(&u, 0).await;
        if deposit > 0 {
            self.deposit(&u, &a, deposit).await.expect("deposit");
        }
        (u, a)
    }

    pub async fn deposit(
        &mut self,
        user: &User,
        account: &Pubkey,
        amount: u64,
    ) -> Result<TxOk, TxErr> {
        let ix = ix::deposit(&self.ex, &user.key(), account, &user.tokens, amount);
        self.send(&[ix], &[&user.kp]).await
    }

    pub async fn withdraw(
        &mut self,
        user: &User,
        account: &Pubkey,
        amount: u64,
        markets: &[&MarketHandle],
    ) -> Result<TxOk, TxErr> {
        let ix = ix::withdraw(
            &self.ex,
            &user.key(),
            account,
            &user.tokens,
            amount,
            &metas(markets),
        );
        self.send(&[ix], &[&user.kp]).await
    }

    /// `taker` buys `qty` (sells if negative) of `series` from `maker` at `price_native`.
    #[allow(clippy::too_many_arguments)]
    pub async fn trade(
        &mut self,
        series: &Pubkey,
        taker: (&User, &Pubkey),
        maker: (&User, &Pubkey),
        qty: i64,
        price_native: i64,
        markets: &[&MarketHandle],
    ) -> Result<TxOk, TxErr> {
        let ix = ix::trade(
            &self.ex,
            series,
            taker.1,
            &taker.0.key(),
            maker.1,
            &maker.0.key(),
            TradeArgs {
                qty_contracts: qty,
                price_native,
            },
            &metas(markets),
        );
        let (tk, mk) = (taker.0.kp.insecure_clone(), maker.0.kp.insecure_clone());
        self.send(&[ix], &[&tk, &mk]).await
    }

    /// Runs the vol crank of `m`.
    pub async fn crank(&mut self, m: &MarketHandle) -> Result<TxOk, TxErr> {
        let ix = ix::update_volatility(&self.ex, &m.key, &m.oracle);
        self.send(&[ix], &[]).await
    }

    /// Sets `m`'s oracle to `usd` published now and runs the vol crank.
    pub async fn price_and_crank(&mut self, m: &MarketHandle, usd: i64) -> TxOk {
        let now = self.now().await;
        self.set_price(m, Quote::usd(usd, 5, now)).await;
        self.crank(m).await.expect("update_volatility")
    }

    pub async fn settle_series(
        &mut self,
        m: &MarketHandle,
        series: &Pubkey,
    ) -> Result<TxOk, TxErr> {
        let payer = self.pt.payer.insecure_clone();
        let page = self.page_of(m, series).await;
        let ix = ix::settle_series(&self.ex, &payer.pubkey(), &m.key, series, &m.oracle, page);
        self.send(&[ix], &[]).await
    }

    /// The risk-array page of `series` (on market `m`), `None` for a future.
    pub async fn page_of(&mut self, m: &MarketHandle, series: &Pubkey) -> Option<Pubkey> {
        let s = self.series(series).await;
        (s.array_page != keel_state::array_page::NO_PAGE).then(|| m.pages[s.array_page as usize])
    }

    pub async fn settle_positions(
        &mut self,
        account: &Pubkey,
        series: &[Pubkey],
    ) -> Result<TxOk, TxErr> {
        let ix = ix::settle_positions(&self.ex, account, series);
        self.send(&[ix], &[]).await
    }

    /// Simulates `margin_report` and returns the event.
    pub async fn margin_report(
        &mut self,
        account: &Pubkey,
        markets: &[&MarketHandle],
    ) -> MarginReport {
        let ix = ix::margin_report(&self.ex, account, &metas(markets));
        let ok = self.simulate(&[ix], &[]).await.expect("margin_report");
        ok.event::<MarginReport>()
    }
}

impl TestContext {
    /// Adds `amount` from `user`'s wallet to the insurance fund.
    pub async fn fund_insurance(&mut self, user: &User, amount: u64) -> Result<TxOk, TxErr> {
        let ix = ix::fund_insurance(&self.ex, &user.key(), &user.tokens, amount);
        self.send(&[ix], &[&user.kp]).await
    }

    /// `liquidator` (owner of `liquidator_account`) liquidates `victim`; `markets` must cover
    /// both accounts, `series` the victim's positions.
    pub async fn liquidate(
        &mut self,
        liquidator: &User,
        liquidator_account: &Pubkey,
        victim: &Pubkey,
        markets: &[&MarketHandle],
        series: &[Pubkey],
        max_fraction_bps: u16,
    ) -> Result<TxOk, TxErr> {
        let ix = liquidate_ix(
            self,
            liquidator,
            liquidator_account,
            victim,
            markets,
            series,
            max_fraction_bps,
        );
        let kp = liquidator.kp.insecure_clone();
        self.send(&[ix], &[&kp]).await
    }

    /// `resolve_bankruptcy` of `account` (permissionless: the test's payer alone signs).
    pub async fn resolve_bankruptcy(&mut self, account: &Pubkey) -> Result<TxOk, TxErr> {
        let ix = ix::resolve_bankruptcy(&self.ex, account);
        self.send(&[ix], &[]).await
    }
}

/// The `liquidate` instruction of [`TestContext::liquidate`].
pub fn liquidate_ix(
    t: &TestContext,
    liquidator: &User,
    liquidator_account: &Pubkey,
    victim: &Pubkey,
    markets: &[&MarketHandle],
    series: &[Pubkey],
    max_fraction_bps: u16,
) -> anchor_lang::solana_program::instruction::Instruction {
    let mut remaining = metas(markets);
    remaining.extend(ix::series_metas(series));
    ix::liquidate(
        &t.ex,
        victim,
        liquidator_account,
        &liquidator.key(),
        max_fraction_bps,
        &remaining,
    )
}

/// Remaining accounts of a margin check on `markets`: (market, oracle) pairs and every risk-array
/// page of those markets.
pub fn metas(markets: &[&MarketHandle]) -> Vec<AccountMeta> {
    let pairs: Vec<(Pubkey, Pubkey)> = markets.iter().map(|m| (m.key, m.oracle)).collect();
    let pages: Vec<Pubkey> = markets.iter().flat_map(|m| m.pages).collect();
    ix::margin_metas(&pairs, &pages, &[])
}
