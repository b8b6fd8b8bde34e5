//! The exchange under attack and one step of it: the instruction(s) an [`Action`] stands for,
//! sent by the right actor, each checked against what the spec says must fail, then every
//! invariant (listed in [`super`]).

use super::input::{Action, OracleSel, PriceSel, KINDS};
use crate::backend::{Backend, Failed, Sent};
use crate::world::{events, one_event, MarketHandle, User, World, DAY, GUARDS, USDC};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use keel::bounds::{self, MarketGuards};
use keel::events::{Bankrupt, Liquidated, MarginReport};
use keel::instructions::{CreateCorrelationArgs, TradeArgs, UpdateMarketParamsArgs};
use keel_client::ix;
use keel_client::oracle::Quote;
use keel_risk::{Fx, LiquidationParams, RiskParams};
use keel_state::account::FLAG_BANKRUPT;
use keel_state::exchange::{
    PAUSE_ALL, PAUSE_CRANK, PAUSE_DEPOSIT, PAUSE_LIQUIDATE, PAUSE_LISTING, PAUSE_SETTLE,
    PAUSE_TRADE, PAUSE_WITHDRAW,
};
use keel_state::market::MAX_ORACLE_FUTURE_SECS;
use keel_state::series::SERIES_ACTIVE;
use keel_state::{MarginAccount, TradeBand};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Accounts: Alice, Bob, the keeper, Mallory's two, Carol's (Mallory is its delegate at first).
pub const ACCOUNTS: usize = 6;
/// Users: Alice, Bob, the keeper (also BTC's vol authority), Mallory, Carol.
const USERS: usize = 5;
const BOB: usize = 1;
const KEEPER: usize = 2;
const MALLORY: usize = 3;
const CAROL: usize = 4;
/// Which user owns each account, and the account's id.
const OWNER: [usize; ACCOUNTS] = [0, 1, KEEPER, MALLORY, MALLORY, CAROL];
const ACCOUNT_ID: [u32; ACCOUNTS] = [0, 0, 0, 0, 1, 0];
/// What each account is funded with (USDC), at the start and when it rejoins.
const FUNDING: [i64; ACCOUNTS] = [20_000, 20_000, 200_000, 20_000, 20_000, 20_000];
const ATTACKER_ACCOUNTS: [usize; 2] = [3, 4];
/// BTC and ETH, as indices into prices and markets.
const BTC: usize = 0;
const ETH: usize = 1;

/// Counts of what a run did (`succeeded`, `refused`: instructions).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub steps: u64,
    pub succeeded: u64,
    pub refused: u64,
    pub trades: u64,
    pub liquidations: u64,
    pub bankruptcies: u64,
    /// Refusals the spec requires (the harness knew in advance the instruction must fail).
    pub must_fail_refused: u64,
    /// Steps whose attacker accounts could not be valued before (the step was then refused too).
    pub unvalued: u64,
    /// Steps of each action kind, and those in which some instruction succeeded.
    pub steps_of: [u64; KINDS.len()],
    pub ok_of: [u64; KINDS.len()],
}

impl Stats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.succeeded += o.succeeded;
        self.refused += o.refused;
        self.trades += o.trades;
        self.liquidations += o.liquidations;
        self.bankruptcies += o.bankruptcies;
        self.must_fail_refused += o.must_fail_refused;
        self.unvalued += o.unvalued;
        for k in 0..KINDS.len() {
            self.steps_of[k] += o.steps_of[k];
            self.ok_of[k] += o.ok_of[k];
        }
    }
}

/// What a step may add to the attacker's value.
enum Allowance {
    /// Market moves, cranks, admin changes, settlement: not bounded (and not valued).
    Unbounded,
    /// At most this much (a trade's band width, a liquidation's bonus, …; 0: nothing).
    AtMost(i64),
}

/// The exchange under attack.
pub struct Harness<B: Backend> {
    pub w: World<B>,
    markets: [MarketHandle; 2],
    /// BTC read through its second update account.
    alt: MarketHandle,
    /// A third account per feed, for the update covering an expiry (settlement).
    covering: [MarketHandle; 2],
    correlation: Pubkey,
    alt_publish: Option<i64>,
    /// (series, market index, expiry).
    series: Vec<(Pubkey, usize, i64)>,
    users: Vec<User>,
    accounts: [Pubkey; ACCOUNTS],
    open: [bool; ACCOUNTS],
    delegate: [Option<usize>; ACCOUNTS],
    usd: [i64; 2],
    paused: u8,
    params_changed: bool,
    liquidation_params_changed: bool,
    pub stats: Stats,
    /// Whether an instruction of the current step succeeded.
    step_succeeded: bool,
    /// One line per instruction sent: what, and its outcome (the transcript both backends
    /// must agree on).
    pub log: Vec<String>,
}

impl<B: Backend> Harness<B> {
    /// BTC at 60 000 USD and ETH at 3 000 (pull oracles, not pinned) with a correlation; BTC
    /// lists a call, a put and a future expiring in 2 and in 9 days and a put and a future in
    /// 3 hours, ETH a put and a future in 9 days; five users, six accounts, everyone funded;
    /// Mallory is Carol's delegate.
    pub async fn new(b: B) -> Harness<B> {
        let mut w = World::start(b).await;
        let mut users = Vec::new();
        for _ in 0..USERS {
            users.push(w.user(1_000_000 * USDC as u64).await);
        }
        let btc = w
            .create_market("BTC/USD", 60_000, false, users[KEEPER].key())
            .await;
        let eth = w
            .create_market("ETH/USD", 3_000, false, Pubkey::default())
            .await;
        let alt = MarketHandle {
            oracle: w.keypair().pubkey(),
            ..btc
        };
        let covering = [
            MarketHandle {
                oracle: w.keypair().pubkey(),
                ..btc
            },
            MarketHandle {
                oracle: w.keypair().pubkey(),
                ..eth
            },
        ];
        let now = w.b.now().await;
        let mut series = Vec::new();
        let listed = [
            (BTC, 0u8, 620 * USDC, 2 * DAY),
            (BTC, 1, 580 * USDC, 2 * DAY),
            (BTC, 2, 0, 2 * DAY),
            (BTC, 0, 620 * USDC, 9 * DAY),
            (BTC, 1, 580 * USDC, 9 * DAY),
            (BTC, 2, 0, 9 * DAY),
            (ETH, 1, 28 * USDC, 9 * DAY),
            (ETH, 2, 0, 9 * DAY),
            // Short-dated: a sequence reaches their expiry and settles them.
            (BTC, 1, 600 * USDC, 3 * 3_600),
            (BTC, 2, 0, 3 * 3_600),
        ];
        for (m, kind, strike, life) in listed {
            let h = [btc, eth][m];
            let s = w.list_series(&h, kind, strike, now + life).await;
            series.push((s, m, now + life));
        }
        let admin = w.admin.insecure_clone();
        let args = CreateCorrelationArgs {
            tau_secs: DAY,
            min_interval_secs: 60,
            max_sync_secs: 60,
        };
        let c = ix::create_correlation(&w.ex, &admin.pubkey(), &btc.key, &eth.key, args);
        w.call("create_correlation", &[c], &[&admin])
            .await
            .expect("create_correlation");
        let mut accounts = [Pubkey::default(); ACCOUNTS];
        for (i, acc) in accounts.iter_mut().enumerate() {
            let u = &users[OWNER[i]];
            *acc = w.open_account_id(u, ACCOUNT_ID[i]).await;
            let u = &users[OWNER[i]];
            w.deposit(u, acc, (FUNDING[i] * USDC) as u64)
                .await
                .expect("deposit");
        }
        let carol = users[CAROL].kp.insecure_clone();
        let d = ix::set_delegate(&carol.pubkey(), &accounts[5], users[MALLORY].key());
        w.call("set_delegate", &[d], &[&carol])
            .await
            .expect("delegate");
        let mut delegate = [None; ACCOUNTS];
        delegate[5] = Some(MALLORY);
        Harness {
            w,
            markets: [btc, eth],
            alt,
            covering,
            correlation: keel_client::pda::correlation(&btc.key, &eth.key),
            alt_publish: None,
            series,
            users,
            accounts,
            open: [true; ACCOUNTS],
            delegate,
            usd: [60_000, 3_000],
            paused: 0,
            params_changed: false,
            liquidation_params_changed: false,
            stats: Stats::default(),
            step_succeeded: false,
            log: Vec::new(),
        }
    }

    fn kp(&self, user: usize) -> Keypair {
        self.users[user].kp.insecure_clone()
    }

    fn btc_view(&self, o: OracleSel) -> MarketHandle {
        match o {
            OracleSel::Main => self.markets[BTC],
            OracleSel::Alt => self.alt,
        }
    }

    /// The margin remaining accounts: both markets (BTC through `o`) and the correlation.
    fn margin_metas(&self, o: OracleSel) -> Vec<AccountMeta> {
        let b = self.btc_view(o);
        let e = self.markets[ETH];
        let pages: Vec<Pubkey> = b.pages.iter().chain(e.pages.iter()).copied().collect();
        ix::margin_metas(
            &[(b.key, b.oracle), (e.key, e.oracle)],
            &pages,
            &[self.correlation],
        )
    }

    /// Whether `user` may sign for account `i` (owner or delegate).
    fn controls(&self, user: usize, i: usize) -> bool {
        OWNER[i] == user || self.delegate[i] == Some(user)
    }

    fn is_paused(&self, flag: u8) -> bool {
        self.paused & flag != 0
    }

    /// Whether reading BTC through `o` now must be refused: older than the newest update the
    /// market accepted, or dated beyond the tolerance.
    async fn oracle_must_fail(&mut self, o: OracleSel) -> bool {
        let Some(publish) = self.alt_publish.filter(|_| o == OracleSel::Alt) else {
            return false;
        };
        let high_water = self
            .w
            .market(&self.markets[BTC].key)
            .await
            .oracle_high_water_ts;
        let now = self.w.b.now().await;
        publish < high_water || publish > now + MAX_ORACLE_FUTURE_SECS
    }

    async fn publish(&mut self, m: usize, usd: i64) {
        let now = self.w.b.now().await;
        self.usd[m] = usd.clamp(if m == BTC { 1_000 } else { 50 }, 10_000_000);
        let q = Quote::usd(self.usd[m], 5, now);
        let h = self.markets[m];
        self.w.set_price(&h, q).await;
    }

    async fn write_alt(&mut self, usd: i64, publish: i64) {
        self.alt_publish = Some(publish);
        let q = Quote::usd(usd.clamp(1_000, 10_000_000), 5, publish);
        let h = self.alt;
        self.w.set_price(&h, q).await;
    }

    /// Sends `ixs` signed by `signers`, counts it, logs it, and fails the run if it succeeds
    /// although the spec says it `must_fail`.
    async fn send(
        &mut self,
        what: &'static str,
        ixs: &[Instruction],
        signers: &[&Keypair],
        must_fail: bool,
    ) -> Result<Sent, Failed> {
        let r = self.w.call(what, ixs, signers).await;
        match &r {
            Ok(_) => {
                self.stats.succeeded += 1;
                self.step_succeeded = true;
                assert!(!must_fail, "the spec refuses this {what}, but it succeeded");
                self.log.push(format!("{what} ok"));
            }
            Err(e) => {
                self.stats.refused += 1;
                self.stats.must_fail_refused += must_fail as u64;
                if std::env::var_os("KEEL_FUZZ_DEBUG").is_some() {
                    eprintln!("refused {what}: {:?} {}", e.code, e.error);
                }
                // The transcript compares Keel's own codes (Anchor's ≥ 100, Keel's ≥ 6000). A
                // system-program refusal inside a CPI (re-creating an open account:
                // AccountAlreadyInUse, Custom(0) in the VM) reaches the bank's natively
                // registered program as a non-custom error, so codes below 100 are not compared.
                self.log
                    .push(format!("{what} refused {:?}", e.code.filter(|c| *c >= 100)));
            }
        }
        r
    }

    /// The margin report of account `i` read through `o` (simulated: nothing changes), after
    /// the permissionless array crank the step itself gets (`World::call`): an account is
    /// valued on the arrays the step will see, not on arrays any caller may refresh first.
    async fn report(&mut self, i: usize, o: OracleSel) -> Result<MarginReport, Failed> {
        if self.w.auto_crank {
            self.w.crank_all_arrays().await;
        }
        let m = self.margin_metas(o);
        let r = ix::margin_report(&self.w.ex, &self.accounts[i], &m);
        self.w.b.simulate(&[r], &[]).await.map(|s| one_event(&s))
    }

    /// Mallory's wallet plus the equity at the oracle of those of `accounts` that are hers (a
    /// closed one counts 0): what a step touching them may change. Read through the oracle the
    /// step reads, so before and after are valued at the same price.
    async fn attacker_value(&mut self, accounts: &[usize], o: OracleSel) -> Result<i64, Failed> {
        let tokens = self.users[MALLORY].tokens;
        let mut v = self.w.token_balance(&tokens).await as i64;
        for &i in accounts {
            if ATTACKER_ACCOUNTS.contains(&i) && self.open[i] {
                v += self.report(i, o).await?.equity_mm;
            }
        }
        Ok(v)
    }

    /// Every account's state (None: closed).
    async fn account_states(&mut self) -> Vec<Option<MarginAccount>> {
        let mut v = Vec::new();
        for i in 0..ACCOUNTS {
            v.push(if self.open[i] {
                Some(self.w.margin_account(&self.accounts[i]).await)
            } else {
                None
            });
        }
        v
    }

    /// Runs one action and checks every invariant after it.
    pub async fn step(&mut self, a: Action) {
        self.stats.steps += 1;
        self.stats.steps_of[a.kind()] += 1;
        self.log.push(format!("step {:?}", a));
        // Trades and liquidations move positions: valued at the oracle through margin
        // reports. Deposits, withdrawals and leaving move only cash: valued exactly as wallet
        // plus collateral (which needs no fresh oracle).
        let (touched, o, margin_bearing) = match a {
            Action::Deposit { acc, .. }
            | Action::Leave { acc, .. }
            | Action::Withdraw { acc, .. } => {
                (vec![acc as usize % ACCOUNTS], OracleSel::Main, false)
            }
            Action::Trade {
                taker,
                maker,
                oracle,
                ..
            } => (
                vec![taker as usize % ACCOUNTS, maker as usize % ACCOUNTS],
                oracle,
                true,
            ),
            Action::Liquidate {
                by, victim, oracle, ..
            } => (
                vec![by as usize % ACCOUNTS, victim as usize % ACCOUNTS],
                oracle,
                true,
            ),
            _ => (vec![], OracleSel::Main, false),
        };
        let touched: Vec<usize> = touched
            .into_iter()
            .filter(|i| ATTACKER_ACCOUNTS.contains(i))
            .collect();
        // (Her wallet counts in every cash step: a withdrawal signed by Mallory as a delegate
        // would pay into it.)
        let cash_step = matches!(
            a,
            Action::Deposit { .. } | Action::Leave { .. } | Action::Withdraw { .. }
        );
        let v0 = if margin_bearing && !touched.is_empty() {
            Some(self.attacker_value(&touched, o).await)
        } else if cash_step {
            Some(Ok(self.attacker_cash(&touched).await))
        } else {
            None
        };
        let before = self.account_states().await;
        let ex0 = self.w.exchange().await;
        self.step_succeeded = false;
        let (result, allowance) = self.execute(a).await;
        self.stats.ok_of[a.kind()] += self.step_succeeded as u64;
        self.check(&a, result.as_ref(), &before, &ex0).await;
        let (Some(v0), Allowance::AtMost(allow)) = (v0, allowance) else {
            return;
        };
        let succeeded = matches!(result, Some(Ok(_)));
        let v1 = if margin_bearing {
            self.attacker_value(&touched, o).await
        } else {
            Ok(self.attacker_cash(&touched).await)
        };
        match v0 {
            Ok(v0) => match v1 {
                Ok(v1) => {
                    // One USDC of slack for the engine's per-contract rounding allowance.
                    assert!(
                        v1 - v0 <= allow + USDC,
                        "{a:?}: attacker value {v0} -> {v1}, more than the {allow} explained"
                    );
                }
                // Valued before, at the same oracle and time: a step that succeeded with their
                // margin leaves them valuable.
                Err(e) => assert!(
                    !succeeded,
                    "{a:?} succeeded, but the attacker's accounts cannot be valued after it: {e:?}"
                ),
            },
            // The accounts cannot be valued (a stale oracle or vol state, an update out of
            // order, …): the step needs their margin, so it must have been refused too.
            Err(e) => {
                self.stats.unvalued += 1;
                assert!(e.code.is_some(), "{a:?}: margin report failed: {e:?}");
                assert!(
                    !succeeded,
                    "{a:?} succeeded although the margin of its attacker accounts could not be \
                     computed before it: {e:?}"
                );
            }
        }
    }

    /// Mallory's wallet plus the collateral of those of `accounts` that are hers and open:
    /// her value as far as a step that moves only cash can change it.
    async fn attacker_cash(&mut self, accounts: &[usize]) -> i64 {
        let tokens = self.users[MALLORY].tokens;
        let mut v = self.w.token_balance(&tokens).await as i64;
        for &i in accounts {
            if ATTACKER_ACCOUNTS.contains(&i) && self.open[i] {
                v += self
                    .w
                    .margin_account(&self.accounts[i])
                    .await
                    .collateral_native;
            }
        }
        v
    }

    /// The signer of account `i` (the taker's if `taker`) in a trade (`signers`: see
    /// [`Action::Trade`]).
    fn trader(&self, i: usize, signers: u8, taker: bool) -> usize {
        if taker && signers & 0b110 == 0b110 {
            MALLORY
        } else if signers & 1 == 1 {
            self.delegate[i].unwrap_or(OWNER[i])
        } else {
            OWNER[i]
        }
    }

    /// Executes `a`: the result of its main instruction (None: nothing sent, or several) and
    /// what it may add to the attacker's value.
    async fn execute(&mut self, a: Action) -> (Option<Result<Sent, Failed>>, Allowance) {
        let ex = self.w.ex;
        match a {
            Action::Deposit {
                acc,
                usdc,
                with_markets,
            } => {
                let i = acc as usize % ACCOUNTS;
                let u = OWNER[i];
                let amount = (usdc as u64 + 1) * USDC as u64;
                let m = if with_markets {
                    self.margin_metas(OracleSel::Main)
                } else {
                    vec![]
                };
                let (key, tokens) = (self.users[u].key(), self.users[u].tokens);
                let d =
                    ix::deposit_checking_margin(&ex, &key, &self.accounts[i], &tokens, amount, &m);
                let must_fail = self.is_paused(PAUSE_DEPOSIT) || !self.open[i];
                let kp = self.kp(u);
                let r = self.send("deposit", &[d], &[&kp], must_fail).await;
                (Some(r), Allowance::AtMost(0))
            }
            Action::Withdraw {
                acc,
                usdc,
                oracle,
                by_delegate,
            } => {
                let i = acc as usize % ACCOUNTS;
                let u = if by_delegate {
                    self.delegate[i].unwrap_or(MALLORY)
                } else {
                    OWNER[i]
                };
                let amount = (usdc as u64 + 1) * USDC as u64 / 4;
                let must_fail = u != OWNER[i]
                    || self.is_paused(PAUSE_WITHDRAW)
                    || !self.open[i]
                    || self.oracle_must_fail(oracle).await;
                let m = self.margin_metas(oracle);
                let (key, tokens) = (self.users[u].key(), self.users[u].tokens);
                let wd = ix::withdraw(&ex, &key, &self.accounts[i], &tokens, amount, &m);
                let kp = self.kp(u);
                let r = self.send("withdraw", &[wd], &[&kp], must_fail).await;
                (Some(r), Allowance::AtMost(0))
            }
            Action::Trade {
                taker,
                maker,
                series,
                qty,
                price,
                signers,
                oracle,
            } => {
                let (ti, mi) = (taker as usize % ACCOUNTS, maker as usize % ACCOUNTS);
                let (s, market, expiry) = self.series[series as usize % self.series.len()];
                let qty = (qty as i64).clamp(-50, 50);
                let no_alt = oracle == OracleSel::Alt && self.alt_publish.is_none();
                if ti == mi || qty == 0 || no_alt || self.w.b.now().await >= expiry {
                    return (None, Allowance::Unbounded);
                }
                // The band at the price this trade reads.
                let view = if market == BTC {
                    self.btc_view(oracle)
                } else {
                    self.markets[ETH]
                };
                let band = self.w.band(&view, &s).await;
                let p = match price {
                    PriceSel::Mark => band.mark,
                    PriceSel::Low => band.lo,
                    PriceSel::High => band.hi,
                    PriceSel::Inside(n) => band.lo + (band.hi - band.lo) * n as i64 / 255,
                    PriceSel::Under(n) => band.lo - 1 - n as i64,
                    PriceSel::Over(n) => band.hi + 1 + n as i64,
                };
                let (ts, ms) = (
                    self.trader(ti, signers, true),
                    self.trader(mi, signers, false),
                );
                let must_fail = ts == ms
                    || !self.controls(ts, ti)
                    || !self.controls(ms, mi)
                    || !band.contains(p)
                    || self.is_paused(PAUSE_TRADE)
                    || !self.open[ti]
                    || !self.open[mi]
                    || self.oracle_must_fail(oracle).await;
                let (tk, mk) = (self.kp(ts), self.kp(ms));
                let t = ix::trade(
                    &ex,
                    &s,
                    &self.accounts[ti],
                    &tk.pubkey(),
                    &self.accounts[mi],
                    &mk.pubkey(),
                    TradeArgs {
                        qty_contracts: qty,
                        price_native: p,
                    },
                    &self.margin_metas(oracle),
                );
                let r = self.send("trade", &[t], &[&tk, &mk], must_fail).await;
                self.stats.trades += r.is_ok() as u64;
                let width = (band.hi - band.lo).max(0) * qty.abs();
                (Some(r), Allowance::AtMost(width))
            }
            Action::Liquidate {
                by,
                victim,
                bps,
                oracle,
            } => {
                let (li, vi) = (by as usize % ACCOUNTS, victim as usize % ACCOUNTS);
                if li == vi || (oracle == OracleSel::Alt && self.alt_publish.is_none()) {
                    return (None, Allowance::Unbounded);
                }
                let signer = OWNER[li];
                let must_fail = self.controls(signer, vi)
                    || self.is_paused(PAUSE_LIQUIDATE)
                    || !self.open[li]
                    || !self.open[vi]
                    || self.oracle_must_fail(oracle).await;
                let mut remaining = self.margin_metas(oracle);
                let series: Vec<Pubkey> = self.series.iter().map(|s| s.0).collect();
                remaining.extend(ix::series_metas(&series));
                let kp = self.kp(signer);
                let l = ix::liquidate(
                    &ex,
                    &self.accounts[vi],
                    &self.accounts[li],
                    &kp.pubkey(),
                    (bps % 10_000) + 1,
                    &remaining,
                );
                let mut r = self.send("liquidate", &[l], &[&kp], must_fail).await;
                // A liquidatee left without positions and below zero is bankrupt: resolve it
                // (permissionless) and account for both calls as one step.
                if let Ok(sent) = &mut r {
                    let victim = self.accounts[vi];
                    let v = self.w.margin_account(&victim).await;
                    if v.n_positions == 0 && v.collateral_native < 0 {
                        let rb = ix::resolve_bankruptcy(&ex, &victim);
                        let resolved = self
                            .send("resolve_bankruptcy", &[rb], &[], false)
                            .await
                            .unwrap_or_else(|e| panic!("resolve_bankruptcy: {e:?}"));
                        sent.logs.extend(resolved.logs);
                    }
                }
                // Explained: the bonus paid to the liquidator, and — for an attacker liquidatee
                // that goes bankrupt — the shortfall the insurance fund and the other accounts
                // absorb (the documented bankruptcy path: its negative equity is written off).
                let mut explained = 0;
                if let Ok(ok) = &r {
                    self.stats.liquidations += 1;
                    explained = one_event::<Liquidated>(ok).bonus_native;
                    for b in events::<Bankrupt>(ok) {
                        self.stats.bankruptcies += 1;
                        if ATTACKER_ACCOUNTS.contains(&vi) {
                            explained += b.shortfall_native;
                        }
                    }
                }
                (Some(r), Allowance::AtMost(explained))
            }
            Action::Crank { eth, oracle } => {
                let (m, must_fail) = if eth {
                    (self.markets[ETH], self.is_paused(PAUSE_CRANK))
                } else {
                    if oracle == OracleSel::Alt && self.alt_publish.is_none() {
                        return (None, Allowance::Unbounded);
                    }
                    let f = self.oracle_must_fail(oracle).await;
                    (self.btc_view(oracle), f || self.is_paused(PAUSE_CRANK))
                };
                let c = ix::update_volatility(&ex, &m.key, &m.oracle);
                let r = self.send("update_volatility", &[c], &[], must_fail).await;
                (Some(r), Allowance::Unbounded)
            }
            Action::Move { eth, bps } => {
                let m = eth as usize;
                let usd = self.usd[m] + self.usd[m] * (bps as i64 % 2_000) / 10_000;
                self.publish(m, usd).await;
                (None, Allowance::Unbounded)
            }
            Action::Jump { tenths } => {
                let usd = self.usd[BTC] * (tenths as i64 % 200 + 1) / 10;
                self.publish(BTC, usd).await;
                (None, Allowance::Unbounded)
            }
            Action::OlderUpdate { age, bps } => {
                let now = self.w.b.now().await;
                let usd = self.usd[BTC] + self.usd[BTC] * (bps as i64 % 2_000) / 10_000;
                self.write_alt(usd, now - age as i64 - 1).await;
                (None, Allowance::Unbounded)
            }
            Action::FutureUpdate { ahead } => {
                let now = self.w.b.now().await;
                self.write_alt(self.usd[BTC], now + ahead as i64 % 60).await;
                (None, Allowance::Unbounded)
            }
            Action::Warp { secs, stale } => {
                self.w.advance(secs as i64 % 1_800 + 1).await;
                // A quarter of the requested stale warps leave everything as it was.
                if !(stale && secs.is_multiple_of(4)) {
                    self.admin_restores().await;
                    self.publish(BTC, self.usd[BTC]).await;
                    self.publish(ETH, self.usd[ETH]).await;
                    // The keeper cranks (it may be too soon: refused).
                    for m in self.markets {
                        let c = ix::update_volatility(&ex, &m.key, &m.oracle);
                        let _ = self.send("update_volatility", &[c], &[], false).await;
                    }
                    let [b, e] = self.markets;
                    let c = ix::update_correlation(&ex, (&b.key, &b.oracle), (&e.key, &e.oracle));
                    let _ = self.send("update_correlation", &[c], &[], false).await;
                }
                (None, Allowance::Unbounded)
            }
            Action::Settle { by_admin, covering } => {
                self.settle(by_admin, covering).await;
                (None, Allowance::Unbounded)
            }
            Action::FundInsurance { usdc } => {
                let (key, tokens) = (self.users[BOB].key(), self.users[BOB].tokens);
                let f = ix::fund_insurance(&ex, &key, &tokens, usdc as u64 * USDC as u64 + 1);
                let kp = self.kp(BOB);
                let must_fail = self.is_paused(PAUSE_DEPOSIT);
                let r = self.send("fund_insurance", &[f], &[&kp], must_fail).await;
                (Some(r), Allowance::Unbounded)
            }
            Action::SetDelegate {
                acc,
                by_delegate,
                to,
            } => {
                let i = acc as usize % ACCOUNTS;
                let signer = if by_delegate {
                    self.delegate[i].unwrap_or(MALLORY)
                } else {
                    OWNER[i]
                };
                let to = (to as usize % (USERS + 1) < USERS).then_some(to as usize % (USERS + 1));
                let key = to.map_or(Pubkey::default(), |u| self.users[u].key());
                let must_fail = signer != OWNER[i] || !self.open[i];
                let kp = self.kp(signer);
                let d = ix::set_delegate(&kp.pubkey(), &self.accounts[i], key);
                let r = self.send("set_delegate", &[d], &[&kp], must_fail).await;
                if r.is_ok() {
                    self.delegate[i] = to;
                }
                (Some(r), Allowance::Unbounded)
            }
            Action::Leave { acc, rejoin } => {
                let i = acc as usize % ACCOUNTS;
                let r = if rejoin {
                    self.rejoin(i).await
                } else if self.open[i] {
                    self.leave(i).await
                } else {
                    return (None, Allowance::Unbounded);
                };
                (Some(r), Allowance::AtMost(0))
            }
            Action::UpdateCorrelation { oracle } => {
                if oracle == OracleSel::Alt && self.alt_publish.is_none() {
                    return (None, Allowance::Unbounded);
                }
                let must_fail = self.oracle_must_fail(oracle).await || self.is_paused(PAUSE_CRANK);
                let (b, e) = (self.btc_view(oracle), self.markets[ETH]);
                let c = ix::update_correlation(&ex, (&b.key, &b.oracle), (&e.key, &e.oracle));
                let r = self.send("update_correlation", &[c], &[], must_fail).await;
                (Some(r), Allowance::Unbounded)
            }
            Action::PublishIv { bps, by_authority } => {
                let v = bps as u32 * 8;
                let signer = if by_authority { KEEPER } else { MALLORY };
                let must_fail = !by_authority
                    || !(bounds::IMPLIED_VOL_BPS.0..=bounds::IMPLIED_VOL_BPS.1).contains(&v);
                let kp = self.kp(signer);
                let p = ix::publish_implied_vol(&self.markets[BTC].key, &kp.pubkey(), v);
                let r = self
                    .send("publish_implied_vol", &[p], &[&kp], must_fail)
                    .await;
                (Some(r), Allowance::Unbounded)
            }
            Action::UpdateParams {
                field,
                pos,
                outside,
                by_admin,
            } => {
                let r = self.update_params(field, pos, outside, by_admin).await;
                (Some(r), Allowance::Unbounded)
            }
            Action::UpdateLiquidationParams {
                field,
                pos,
                outside,
            } => {
                let mut p = self.w.exchange().await.liquidation_params;
                let f = field as usize % LiquidationParams::FX_BOUNDS.len();
                let (_, lo, hi) = LiquidationParams::FX_BOUNDS[f];
                *p.fx_fields_mut()[f] =
                    Fx::from_bits(pick(lo.to_bits(), hi.to_bits(), pos, outside));
                let must_fail = p.violation().is_some();
                let admin = self.w.admin.insecure_clone();
                let u = ix::update_liquidation_params(&ex, &admin.pubkey(), &p);
                let r = self
                    .send("update_liquidation_params", &[u], &[&admin], must_fail)
                    .await;
                self.liquidation_params_changed |= r.is_ok();
                (Some(r), Allowance::Unbounded)
            }
            Action::Pause { flags, by_admin } => {
                // One instruction family (all of them one time in eight): a pause lasts until
                // the admin lifts it at the next warp.
                let flags = match flags % 8 {
                    7 => PAUSE_ALL,
                    k => 1 << k,
                };
                let kp = if by_admin {
                    self.w.admin.insecure_clone()
                } else {
                    self.kp(MALLORY)
                };
                let p = ix::set_pause(&ex, &kp.pubkey(), flags);
                let r = self.send("set_pause", &[p], &[&kp], !by_admin).await;
                if r.is_ok() {
                    self.paused = flags;
                }
                (Some(r), Allowance::Unbounded)
            }
            Action::WithdrawFees { usdc, by_admin } => {
                // Up to twice the fees collected: half the time more than there is.
                let fees = self.w.exchange().await.fees_native;
                let amount = fees.max(0) * (usdc % 512) as i64 / 256 + 1;
                let (kp, dest) = if by_admin {
                    (self.w.admin.insecure_clone(), self.users[KEEPER].tokens)
                } else {
                    (self.kp(MALLORY), self.users[MALLORY].tokens)
                };
                let must_fail = !by_admin || amount > fees;
                let f = ix::withdraw_fees(&ex, &kp.pubkey(), &dest, amount as u64);
                let r = self.send("withdraw_fees", &[f], &[&kp], must_fail).await;
                (Some(r), Allowance::Unbounded)
            }
        }
    }

    /// The admin undoes its pauses and parameter changes (at each warp, as an operator would).
    async fn admin_restores(&mut self) {
        let ex = self.w.ex;
        let admin = self.w.admin.insecure_clone();
        if self.paused != 0 {
            let p = ix::set_pause(&ex, &admin.pubkey(), 0);
            self.send("set_pause", &[p], &[&admin], false)
                .await
                .expect("unpause");
            self.paused = 0;
        }
        if self.params_changed {
            let args = UpdateMarketParamsArgs {
                risk_params: bytemuck::bytes_of(&RiskParams::DEFAULT).to_vec(),
                guards: GUARDS,
            };
            let u = ix::update_market_params(&ex, &admin.pubkey(), &self.markets[BTC].key, args);
            self.send("update_market_params", &[u], &[&admin], false)
                .await
                .expect("restore the market's parameters");
            self.params_changed = false;
        }
        if self.liquidation_params_changed {
            let u =
                ix::update_liquidation_params(&ex, &admin.pubkey(), &LiquidationParams::DEFAULT);
            self.send("update_liquidation_params", &[u], &[&admin], false)
                .await
                .expect("restore the liquidation parameters");
            self.liquidation_params_changed = false;
        }
    }

    /// One of BTC's risk parameters or guards set inside or just outside its bounds.
    async fn update_params(
        &mut self,
        field: u8,
        pos: u8,
        outside: bool,
        by_admin: bool,
    ) -> Result<Sent, Failed> {
        let m = self.w.market(&self.markets[BTC].key).await;
        let mut p = m.risk_params;
        let band = m.trade_band.effective();
        let mut g = MarketGuards {
            max_staleness_secs: m.oracle.max_staleness_secs,
            max_conf_bps: m.oracle.max_conf_bps,
            min_signatures: m.oracle.min_signatures,
            max_vol_age_secs: m.max_vol_age_secs,
            settle_window_secs: m.settle_window_secs,
            band_vol_frac_q32: band.vol_frac.to_bits(),
            band_option_spot_bps: band.option_spot_bps,
            band_future_bps: band.future_bps,
        };
        let n_fx = RiskParams::FX_BOUNDS.len();
        let n_int = RiskParams::INT_BOUNDS.len();
        let f = field as usize % (n_fx + n_int + 6);
        if f < n_fx {
            let (_, lo, hi) = RiskParams::FX_BOUNDS[f];
            *p.fx_fields_mut()[f] = Fx::from_bits(pick(lo.to_bits(), hi.to_bits(), pos, outside));
        } else if f < n_fx + n_int {
            let (_, lo, hi) = RiskParams::INT_BOUNDS[f - n_fx];
            let v = pick(lo, hi, pos, outside);
            match f - n_fx {
                0 => p.im_horizon_secs = v,
                1 => p.mm_steps = v.clamp(0, u32::MAX as i64) as u32,
                2 => p.vol_ts_ref_secs = v,
                3 => p.vol_ts_min_secs = v,
                4 => p.liquidity_notional = v,
                5 => p.ewma_tau_secs = v,
                6 => p.garch_step_secs = v,
                7 => p.iv_fresh_secs = v,
                8 => p.iv_max_age_secs = v,
                9 => p.min_obs_interval_secs = v,
                10 => p.array_max_age_secs = v,
                _ => p.realised_tau_secs = v,
            }
        } else {
            let b = |(lo, hi): (i64, i64)| pick(lo, hi, pos, outside);
            let b32 =
                |(lo, hi): (u32, u32)| b((lo as i64, hi as i64)).clamp(0, u32::MAX as i64) as u32;
            match f - n_fx - n_int {
                0 => g.max_staleness_secs = b(bounds::MAX_STALENESS_SECS),
                1 => {
                    let (lo, hi) = bounds::MAX_CONF_BPS;
                    g.max_conf_bps = b((lo as i64, hi as i64)).max(0) as u64
                }
                2 => g.max_vol_age_secs = b(bounds::MAX_VOL_AGE_SECS),
                3 => g.settle_window_secs = b(bounds::SETTLE_WINDOW_SECS),
                4 => g.band_vol_frac_q32 = b(TradeBand::VOL_FRAC_BOUNDS),
                _ => g.band_future_bps = b32(TradeBand::FUTURE_BPS_BOUNDS),
            }
        }
        let guards_ok = (bounds::MAX_STALENESS_SECS.0..=bounds::MAX_STALENESS_SECS.1)
            .contains(&g.max_staleness_secs)
            && (bounds::MAX_CONF_BPS.0..=bounds::MAX_CONF_BPS.1).contains(&g.max_conf_bps)
            && (bounds::MAX_VOL_AGE_SECS.0..=bounds::MAX_VOL_AGE_SECS.1)
                .contains(&g.max_vol_age_secs)
            && (bounds::SETTLE_WINDOW_SECS.0..=bounds::SETTLE_WINDOW_SECS.1)
                .contains(&g.settle_window_secs)
            && g.trade_band().is_valid();
        let must_fail = !by_admin || p.violation().is_some() || !guards_ok;
        let kp = if by_admin {
            self.w.admin.insecure_clone()
        } else {
            self.kp(MALLORY)
        };
        let args = UpdateMarketParamsArgs {
            risk_params: bytemuck::bytes_of(&p).to_vec(),
            guards: g,
        };
        let u = ix::update_market_params(&self.w.ex, &kp.pubkey(), &self.markets[BTC].key, args);
        let r = self
            .send("update_market_params", &[u], &[&kp], must_fail)
            .await;
        self.params_changed |= r.is_ok();
        r
    }

    /// The owner takes everything out of account `i` (if it holds no positions) and closes it.
    async fn leave(&mut self, i: usize) -> Result<Sent, Failed> {
        let u = OWNER[i];
        let kp = self.kp(u);
        let acc = self.w.margin_account(&self.accounts[i]).await;
        if acc.n_positions == 0 && acc.collateral_native > 0 {
            let tokens = self.users[u].tokens;
            let m = self.margin_metas(OracleSel::Main);
            let wd = ix::withdraw(
                &self.w.ex,
                &kp.pubkey(),
                &self.accounts[i],
                &tokens,
                acc.collateral_native as u64,
                &m,
            );
            let must_fail = self.is_paused(PAUSE_WITHDRAW);
            let _ = self.send("withdraw", &[wd], &[&kp], must_fail).await;
        }
        let acc = self.w.margin_account(&self.accounts[i]).await;
        let must_fail = acc.n_positions != 0 || acc.collateral_native != 0;
        let c = ix::close_account(&kp.pubkey(), &self.accounts[i]);
        let r = self.send("close_account", &[c], &[&kp], must_fail).await;
        if r.is_ok() {
            self.open[i] = false;
            self.delegate[i] = None;
        }
        r
    }

    /// The owner reopens account `i` (refused while it is open) and funds it.
    async fn rejoin(&mut self, i: usize) -> Result<Sent, Failed> {
        let u = OWNER[i];
        let kp = self.kp(u);
        let o = ix::open_account(&self.w.ex, &kp.pubkey(), ACCOUNT_ID[i]);
        let must_fail = self.open[i] || self.is_paused(PAUSE_LISTING);
        let r = self.send("open_account", &[o], &[&kp], must_fail).await;
        if r.is_ok() {
            self.open[i] = true;
            let tokens = self.users[u].tokens;
            let amount = (FUNDING[i] * USDC) as u64;
            let d = ix::deposit(&self.w.ex, &kp.pubkey(), &self.accounts[i], &tokens, amount);
            let must_fail = self.is_paused(PAUSE_DEPOSIT);
            let _ = self.send("deposit", &[d], &[&kp], must_fail).await;
        }
        r
    }

    /// Settles every expired series — by the admin or the keeper, from an update covering the
    /// expiry (in a third account of the feed) or from the latest one — then everyone's
    /// positions in them, losers first (a winner's `SettlementPoolShort` is retried once).
    async fn settle(&mut self, by_admin: bool, covering: bool) {
        let now = self.w.b.now().await;
        let mut expired = Vec::new();
        for &(s, m, expiry) in &self.series.clone() {
            if expiry <= now && self.w.series_state(&s).await.status == SERIES_ACTIVE {
                expired.push((s, m, expiry));
            }
        }
        let caller = if by_admin {
            self.w.admin.insecure_clone()
        } else {
            self.kp(KEEPER)
        };
        for (s, m, expiry) in expired {
            let window = self.w.market(&self.markets[m].key).await.settle_window_secs;
            let oracle = if covering {
                let q = Quote {
                    prev_publish_time: expiry - 1,
                    ..Quote::usd(self.usd[m], 5, expiry)
                };
                let h = self.covering[m];
                self.w.set_price(&h, q).await;
                h.oracle
            } else {
                self.publish(m, self.usd[m]).await;
                self.markets[m].oracle
            };
            // From the latest update (published now, prev one second earlier) the keeper is
            // refused unless it covers the expiry; the admin too, until the window is over.
            let latest_covers = now == expiry;
            let must_fail = self.is_paused(PAUSE_SETTLE)
                || !(covering || latest_covers || (by_admin && now > expiry + window));
            let key = self.markets[m].key;
            let st = self.w.series_state(&s).await;
            let page = (st.array_page != keel_state::array_page::NO_PAGE)
                .then(|| self.markets[m].pages[st.array_page as usize]);
            let x = ix::settle_series(&self.w.ex, &caller.pubkey(), &key, &s, &oracle, page);
            let _ = self
                .send("settle_series", &[x], &[&caller], must_fail)
                .await;
        }
        let settled: Vec<Pubkey> = {
            let mut v = Vec::new();
            for &(s, _, _) in &self.series.clone() {
                if self.w.series_state(&s).await.status != SERIES_ACTIVE {
                    v.push(s);
                }
            }
            v
        };
        for _pass in 0..2 {
            for i in 0..ACCOUNTS {
                if !self.open[i] {
                    continue;
                }
                let held = self.w.held_series(&self.accounts[i]).await;
                let mine: Vec<Pubkey> = settled
                    .iter()
                    .filter(|s| held.contains(s))
                    .copied()
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let x = ix::settle_positions(&self.w.ex, &self.accounts[i], &mine);
                let must_fail = self.is_paused(PAUSE_SETTLE);
                let _ = self.send("settle_positions", &[x], &[], must_fail).await;
            }
        }
    }

    /// The invariants after a step (`before`, `ex0`: every account and the exchange before it).
    async fn check(
        &mut self,
        a: &Action,
        result: Option<&Result<Sent, Failed>>,
        before: &[Option<MarginAccount>],
        ex0: &keel_state::Exchange,
    ) {
        self.w.assert_conservation(&format!("{a:?}")).await;
        let ex = self.w.exchange().await;
        assert!(ex.insurance_fund_native >= 0, "insurance fund negative");
        let after = self.account_states().await;
        let ok = matches!(result, Some(Ok(_)));
        // Negative collateral arises only through liquidation and settlement, and only on
        // the documented bankruptcy path.
        for i in 0..ACCOUNTS {
            let (Some(b), Some(n)) = (&before[i], &after[i]) else {
                continue;
            };
            if n.collateral_native >= 0 || n.collateral_native >= b.collateral_native {
                continue;
            }
            let fell_by = match a {
                Action::Liquidate { victim, .. } if ok && *victim as usize % ACCOUNTS == i => {
                    "liquidation"
                }
                Action::Settle { .. } => "settlement",
                _ => panic!(
                    "{a:?} took account {i}'s collateral from {} to {}",
                    b.collateral_native, n.collateral_native
                ),
            };
            if fell_by == "liquidation" {
                // Slices move at the mark, so a liquidation costs the liquidatee at most the
                // bonus: its collateral alone may go negative (buying back shorts whose cost
                // its remaining futures or long options carry), never its equity by more.
                let ev = one_event::<Liquidated>(result.unwrap().as_ref().unwrap());
                assert!(
                    n.n_positions == 0
                        || ev.equity_mm_after >= ev.equity_mm_before - ev.bonus_native,
                    "{a:?}: liquidatee {i} keeps {} positions with collateral {} and equity {} \
                     (before {}, bonus {})",
                    n.n_positions,
                    n.collateral_native,
                    ev.equity_mm_after,
                    ev.equity_mm_before,
                    ev.bonus_native
                );
                assert!(
                    n.n_positions != 0,
                    "a liquidatee without positions left negative"
                );
            }
        }
        match *a {
            Action::Deposit { acc, usdc, .. } if ok => {
                // Exactly the amount in; the pending social-loss charge (≤ the collateral
                // before) is the only other change.
                let i = acc as usize % ACCOUNTS;
                let amount = (usdc as i64 + 1) * USDC;
                let (b, n) = (before[i].unwrap(), after[i].unwrap());
                let charge = b.collateral_native + amount - n.collateral_native;
                assert!(
                    (0..=b.collateral_native.max(0)).contains(&charge),
                    "{a:?}: collateral {} -> {}",
                    b.collateral_native,
                    n.collateral_native
                );
            }
            Action::Liquidate { victim, .. } if ok => {
                let sent = result.unwrap().as_ref().unwrap();
                let vi = victim as usize % ACCOUNTS;
                let (b, n) = (before[vi].unwrap(), after[vi].unwrap());
                let mut paid = 0;
                let mut socialised = 0;
                for bk in events::<Bankrupt>(sent) {
                    // Every unit of the shortfall is borne by someone, as recorded.
                    assert_eq!(
                        bk.insurance_paid_native + bk.socialised_native,
                        bk.shortfall_native,
                        "{bk:?}"
                    );
                    assert!(bk.shortfall_native > 0 && bk.insurance_paid_native >= 0);
                    assert_eq!(n.collateral_native, 0, "a bankrupt account ends at zero");
                    assert_eq!(n.n_positions, 0);
                    assert_ne!(n.flags & FLAG_BANKRUPT, 0);
                    assert_eq!(bk.insurance_fund_native, ex.insurance_fund_native);
                    assert_eq!(bk.social_loss_pending_native, ex.social_loss_pending_native);
                    paid += bk.insurance_paid_native;
                    socialised += bk.socialised_native;
                }
                assert_eq!(
                    n.insurance_received_native - b.insurance_received_native,
                    paid
                );
                assert_eq!(ex.insurance_paid_native - ex0.insurance_paid_native, paid);
                assert_eq!(
                    ex.socialised_loss_native - ex0.socialised_loss_native,
                    socialised
                );
            }
            _ => {}
        }
    }

    /// The step log and the world's events: what both backends must agree on.
    pub async fn transcript(&mut self) -> String {
        self.log.join("\n") + "\n" + &self.w.transcript().await
    }
}

/// `pos`/255 of the way from `lo` to `hi`, or (`outside`) one unit below `lo` (even `pos`) or
/// above `hi`.
fn pick(lo: i64, hi: i64, pos: u8, outside: bool) -> i64 {
    if outside {
        if pos.is_multiple_of(2) {
            lo.saturating_sub(1)
        } else {
            hi.saturating_add(1)
        }
    } else {
        (lo as i128 + (hi as i128 - lo as i128) * pos as i128 / 255) as i64
    }
}

/// Runs `actions` (at most `max_steps`) on a fresh exchange on `b`.
pub async fn run<B: Backend>(
    b: B,
    actions: impl IntoIterator<Item = Action>,
    max_steps: usize,
) -> Harness<B> {
    let mut h = Harness::new(b).await;
    for a in actions.into_iter().take(max_steps) {
        h.step(a).await;
    }
    h
}
