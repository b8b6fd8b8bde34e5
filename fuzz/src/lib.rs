//! Stateful instruction-sequence fuzzing of Keel on the bank (docs/security.md, "Fuzzing"), in
//! the style of openbook-v2's `fuzz/`: an input is a sequence of [`Action`]s decoded with
//! `arbitrary`, executed by four actors — two honest traders (Alice, Bob), a keeper, and an
//! attacker (Mallory) who owns two accounts and is delegate of a third (Carol's) — with oracle
//! pumps and crashes, stale, older and future-dated updates, clock warps and free prices and
//! sizes. After every step [`World::check`] asserts the invariants:
//!
//! 1. the vault holds Σ collateral + insurance + fees + settlement pools − pending social loss,
//!    recomputed from every account (`TestContext::assert_conservation`);
//! 2. no trade or withdrawal leaves a party with negative collateral, and a liquidatee left
//!    without positions is never negative (the bankruptcy path settled it);
//! 3. nothing the spec refuses succeeds: a fill outside the band, one key on both sides, a
//!    liquidation by someone who controls the liquidatee, an oracle update older than the
//!    market's newest or dated beyond the tolerance;
//! 4. the attacker's value (its accounts' equity at the oracle plus its wallet) grows in a
//!    trade by at most the band's width per contract, in a liquidation by at most the bonus
//!    it is paid, and not at all by a deposit or withdrawal. Price moves, cranks, warps and
//!    settlement move it with the market and are not bounded.
//!
//! A violated invariant panics (the fuzzer's crash). The same code runs from cargo-fuzz
//! (`fuzz/cargo-fuzz`), from the `keel-fuzz` runner (long seeded runs) and from the CI slice.

use anchor_lang::prelude::Pubkey;
use arbitrary::{Arbitrary, Unstructured};
use keel::events::{Liquidated, MarginReport};
use keel::instructions::TradeArgs;
use keel_state::market::MAX_ORACLE_FUTURE_SECS;
use keel_tests::helpers::metas;
use keel_tests::oracle::Quote;
use keel_tests::scenario::{DAY, USDC};
use keel_tests::{ix, MarketHandle, TestContext, TxErr, TxOk, User};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_signer::Signer;

/// Accounts: Alice, Bob, the keeper, Mallory's two, Carol's (Mallory is its delegate).
pub const ACCOUNTS: usize = 6;
const MALLORY: usize = 3;
const CAROL: usize = 4;
/// Which user owns each account (users: 0 Alice, 1 Bob, 2 keeper, 3 Mallory, 4 Carol).
const OWNER: [usize; ACCOUNTS] = [0, 1, 2, MALLORY, MALLORY, CAROL];
const ATTACKER_ACCOUNTS: [usize; 2] = [3, 4];

/// Where a trade is priced.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum PriceSel {
    /// At the mark.
    Mark,
    /// At the band's bottom or top.
    Low,
    High,
    /// `n`/255 of the way from the bottom to the top.
    Inside(u8),
    /// Below the bottom / above the top by `n` native units (+1).
    Under(u16),
    Over(u32),
}

/// Which oracle account an instruction reads.
#[derive(Clone, Copy, Debug)]
pub enum OracleSel {
    /// The market's usual update account.
    Main,
    /// A second update account of the same feed (older or future-dated updates go there).
    Alt,
}

/// One step (decoded from fuzzer bytes by [`next_action`], weighted, not by a derive).
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Deposit {
        acc: u8,
        usdc: u16,
    },
    Withdraw {
        acc: u8,
        usdc: u16,
        oracle: OracleSel,
    },
    Trade {
        taker: u8,
        maker: u8,
        series: u8,
        qty: i8,
        price: PriceSel,
        /// Carol's account is signed by Mallory (her delegate) instead of Carol.
        delegate_signs: bool,
        oracle: OracleSel,
    },
    Liquidate {
        by: u8,
        victim: u8,
        bps: u16,
        oracle: OracleSel,
    },
    Crank {
        oracle: OracleSel,
    },
    /// The oracle moves by `bps` basis points (published now).
    Move {
        bps: i16,
    },
    /// The oracle jumps to `tenths`/10 of its price (a pump above 10, a crash below).
    Jump {
        tenths: u8,
    },
    /// An update `age` seconds older than now goes to the second account.
    OlderUpdate {
        age: u8,
        bps: i16,
    },
    /// An update `ahead` seconds in the future goes to the second account.
    FutureUpdate {
        ahead: u8,
    },
    /// Up to 15 minutes pass; unless `stale`, the oracle republishes and the keeper cranks.
    Warp {
        secs: u16,
        stale: bool,
    },
    /// The admin settles every expired series and everyone's positions in them.
    Settle,
    FundInsurance {
        usdc: u16,
    },
}

/// Counts of what a run did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub steps: u64,
    pub succeeded: u64,
    pub refused: u64,
    pub trades: u64,
    pub liquidations: u64,
    pub bankruptcies: u64,
    pub must_fail_refused: u64,
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
    }
}

/// The exchange under attack.
pub struct World {
    t: TestContext,
    btc: MarketHandle,
    alt: MarketHandle,
    alt_publish: i64,
    series: Vec<(Pubkey, i64)>,
    users: Vec<User>,
    accounts: [Pubkey; ACCOUNTS],
    usd: i64,
    pub stats: Stats,
}

fn handle(m: &MarketHandle, oracle: Pubkey) -> MarketHandle {
    MarketHandle {
        key: m.key,
        oracle,
        feed_id: m.feed_id,
        index: m.index,
        legacy: m.legacy,
    }
}

impl World {
    /// One BTC market at 60 000 USD (pull oracle, not pinned), a call, a put and a future at
    /// two expiries, five users and six accounts, everyone funded.
    pub async fn new() -> World {
        let mut t = TestContext::builder().fees(5, 2).start().await;
        let btc = t.create_btc_market(60_000).await;
        let alt = handle(&btc, Pubkey::new_unique());
        let now = t.now().await;
        let mut series = Vec::new();
        for expiry in [now + 2 * DAY, now + 9 * DAY] {
            for (kind, strike) in [(0u8, 620 * USDC), (1, 580 * USDC), (2, 0)] {
                series.push((t.list_series(&btc, kind, strike, expiry).await, expiry));
            }
        }
        let mut users = Vec::new();
        for _ in 0..5 {
            users.push(t.user(1_000_000 * USDC as u64).await);
        }
        let mut accounts = [Pubkey::default(); ACCOUNTS];
        for (i, acc) in accounts.iter_mut().enumerate() {
            let u = &users[OWNER[i]];
            let id = if i == 4 { 1 } else { 0 };
            *acc = t.open_account(u, id).await;
            let deposit = if i == 2 { 200_000 } else { 20_000 };
            t.deposit(u, acc, deposit * USDC as u64)
                .await
                .expect("deposit");
        }
        let carol = users[CAROL].kp.insecure_clone();
        t.send(
            &[ix::set_delegate(
                &carol.pubkey(),
                &accounts[5],
                users[MALLORY].key(),
            )],
            &[&carol],
        )
        .await
        .expect("delegate");
        World {
            t,
            btc,
            alt,
            alt_publish: i64::MIN,
            series,
            users,
            accounts,
            usd: 60_000,
            stats: Stats::default(),
        }
    }

    fn market(&self, o: OracleSel) -> &MarketHandle {
        match o {
            OracleSel::Main => &self.btc,
            OracleSel::Alt => &self.alt,
        }
    }

    /// Whether reading `o` now must be refused (older than the market's newest accepted update,
    /// or dated beyond the tolerance).
    async fn oracle_must_fail(&mut self, o: OracleSel) -> bool {
        if let OracleSel::Main = o {
            return false;
        }
        let high_water = self.t.market(&self.btc.key).await.oracle_high_water_ts;
        let now = self.t.now().await;
        self.alt_publish < high_water || self.alt_publish > now + MAX_ORACLE_FUTURE_SECS
    }

    async fn publish(&mut self, usd: i64) {
        let now = self.t.now().await;
        self.usd = usd.clamp(1_000, 10_000_000);
        self.t
            .set_price(&self.btc, Quote::usd(self.usd, 5, now))
            .await;
    }

    async fn write_alt(&mut self, usd: i64, publish: i64) {
        self.alt_publish = publish;
        let q = Quote::usd(usd.clamp(1_000, 10_000_000), 5, publish);
        self.t
            .set_pull_oracle(
                &self.alt.oracle,
                self.btc.feed_id,
                q,
                VerificationLevel::Full,
            )
            .await;
    }

    /// Equity at the oracle of Mallory's accounts plus her wallet, if every report can be
    /// computed now (fresh oracle and vol state).
    /// Read at the oracle `o` — the one the step uses, so that before and after are valued at
    /// the same price (choosing among fresh updates is a separate, documented residual:
    /// docs/security.md §8).
    async fn attacker_value(&mut self, o: OracleSel) -> Option<i64> {
        let mut v = self.t.token_balance(&self.users[MALLORY].tokens).await as i64;
        for i in ATTACKER_ACCOUNTS {
            let r = self.report(i, o).await?;
            v += r.equity_mm;
        }
        Some(v)
    }

    async fn report(&mut self, i: usize, o: OracleSel) -> Option<MarginReport> {
        let m = metas(&[self.market(o)]);
        let i = ix::margin_report(&self.t.ex, &self.accounts[i], &m);
        self.t
            .simulate(&[i], &[])
            .await
            .ok()
            .map(|ok| ok.event::<MarginReport>())
    }

    /// Runs one action and checks every invariant after it.
    pub async fn step(&mut self, a: Action) {
        self.stats.steps += 1;
        let touches_attacker = self.touches_attacker(&a);
        let o = match a {
            Action::Withdraw { oracle, .. }
            | Action::Trade { oracle, .. }
            | Action::Liquidate { oracle, .. } => oracle,
            _ => OracleSel::Main,
        };
        let v0 = if touches_attacker {
            self.attacker_value(o).await
        } else {
            None
        };
        let (result, must_fail, allowance) = self.execute(a).await;
        match &result {
            Some(Ok(_)) => {
                self.stats.succeeded += 1;
                assert!(!must_fail, "the spec refuses {a:?}, but it succeeded");
            }
            Some(Err(e)) => {
                if std::env::var_os("KEEL_FUZZ_DEBUG").is_some() {
                    eprintln!("refused {a:?}: {:?}", e.code);
                }
                self.stats.refused += 1;
                self.stats.must_fail_refused += must_fail as u64;
            }
            None => {}
        }
        self.check(&a, result.as_ref()).await;
        if let (Some(v0), Some(allow)) = (v0, allowance) {
            if let Some(v1) = self.attacker_value(o).await {
                // One USDC of slack for the engine's per-contract rounding allowance.
                assert!(
                    v1 - v0 <= allow + USDC,
                    "{a:?}: attacker value {v0} -> {v1}, more than the {allow} explained"
                );
            }
        }
    }

    fn touches_attacker(&self, a: &Action) -> bool {
        let att = |i: u8| ATTACKER_ACCOUNTS.contains(&(i as usize % ACCOUNTS));
        match *a {
            Action::Deposit { acc, .. } | Action::Withdraw { acc, .. } => att(acc),
            Action::Trade { taker, maker, .. } => att(taker) || att(maker),
            Action::Liquidate { by, victim, .. } => att(by) || att(victim),
            _ => false,
        }
    }

    /// The signer of account `i` in a trade.
    fn trader(&self, i: usize, delegate_signs: bool) -> usize {
        if i == 5 && delegate_signs {
            MALLORY
        } else {
            OWNER[i]
        }
    }

    /// Executes `a`: the result (None: nothing sent), whether the spec says it must fail, and
    /// how much it may raise the attacker's value (None: unbounded, a market move).
    async fn execute(&mut self, a: Action) -> (Option<Result<TxOk, TxErr>>, bool, Option<i64>) {
        let t_ex = self.t.ex;
        match a {
            Action::Deposit { acc, usdc } => {
                let i = acc as usize % ACCOUNTS;
                let u = &self.users[OWNER[i]];
                let amount = (usdc as u64 + 1) * USDC as u64;
                let ix = ix::deposit(&t_ex, &u.key(), &self.accounts[i], &u.tokens, amount);
                let kp = u.kp.insecure_clone();
                (Some(self.t.send(&[ix], &[&kp]).await), false, Some(0))
            }
            Action::Withdraw { acc, usdc, oracle } => {
                let i = acc as usize % ACCOUNTS;
                let must_fail = self.oracle_must_fail(oracle).await;
                let u = &self.users[OWNER[i]];
                let amount = (usdc as u64 + 1) * USDC as u64 / 4;
                let m = self.market(oracle);
                let ix = ix::withdraw(
                    &t_ex,
                    &u.key(),
                    &self.accounts[i],
                    &u.tokens,
                    amount,
                    &metas(&[m]),
                );
                let kp = u.kp.insecure_clone();
                (Some(self.t.send(&[ix], &[&kp]).await), must_fail, Some(0))
            }
            Action::Trade {
                taker,
                maker,
                series,
                qty,
                price,
                delegate_signs,
                oracle,
            } => {
                let (ti, mi) = (taker as usize % ACCOUNTS, maker as usize % ACCOUNTS);
                let (s, expiry) = self.series[series as usize % self.series.len()];
                let qty = (qty as i64).clamp(-50, 50);
                let no_alt = matches!(oracle, OracleSel::Alt) && self.alt_publish == i64::MIN;
                if ti == mi || qty == 0 || no_alt || self.t.now().await >= expiry {
                    return (None, false, None);
                }
                // The band at the price this trade reads.
                let view = handle(self.market(oracle), self.market(oracle).oracle);
                let band = self.t.band(&view, &s).await;
                let p = match price {
                    PriceSel::Mark => band.mark,
                    PriceSel::Low => band.lo,
                    PriceSel::High => band.hi,
                    PriceSel::Inside(n) => band.lo + (band.hi - band.lo) * n as i64 / 255,
                    PriceSel::Under(n) => band.lo - 1 - n as i64,
                    PriceSel::Over(n) => band.hi + 1 + n as i64,
                };
                let (ts, ms) = (
                    self.trader(ti, delegate_signs),
                    self.trader(mi, delegate_signs),
                );
                let must_fail =
                    ts == ms || !band.contains(p) || self.oracle_must_fail(oracle).await;
                let (tk, mk) = (
                    self.users[ts].kp.insecure_clone(),
                    self.users[ms].kp.insecure_clone(),
                );
                let m = self.market(oracle);
                let ix = ix::trade(
                    &t_ex,
                    &s,
                    &self.accounts[ti],
                    &tk.pubkey(),
                    &self.accounts[mi],
                    &mk.pubkey(),
                    TradeArgs {
                        qty_contracts: qty,
                        price_native: p,
                    },
                    &metas(&[m]),
                );
                let r = self.t.send(&[ix], &[&tk, &mk]).await;
                if r.is_ok() {
                    self.stats.trades += 1;
                }
                let width = (band.hi - band.lo).max(0) * qty.abs();
                (Some(r), must_fail, Some(width))
            }
            Action::Liquidate {
                by,
                victim,
                bps,
                oracle,
            } => {
                let (li, vi) = (by as usize % ACCOUNTS, victim as usize % ACCOUNTS);
                if li == vi {
                    return (None, false, None);
                }
                let signer = OWNER[li];
                // The signer controls the victim: its owner, or Mallory for Carol's account.
                let controls = OWNER[vi] == signer || (vi == 5 && signer == MALLORY);
                let must_fail = controls || self.oracle_must_fail(oracle).await;
                let u = &self.users[signer];
                let m = self.market(oracle);
                let series: Vec<Pubkey> = self.series.iter().map(|s| s.0).collect();
                let mut remaining = metas(&[m]);
                remaining.extend(ix::series_metas(&series));
                let ix = ix::liquidate(
                    &t_ex,
                    &self.accounts[vi],
                    &self.accounts[li],
                    &u.key(),
                    (bps % 10_000) + 1,
                    &remaining,
                );
                let kp = u.kp.insecure_clone();
                let r = self.t.send(&[ix], &[&kp]).await;
                // Explained: the bonus paid to the liquidator, and — for a liquidatee that goes
                // bankrupt — the shortfall the insurance fund and the other accounts absorb
                // (the documented bankruptcy path: its negative equity is written off).
                let mut explained = 0;
                if let Ok(ok) = &r {
                    self.stats.liquidations += 1;
                    explained = ok.event::<Liquidated>().bonus_native;
                    for b in ok.events::<keel::events::Bankrupt>() {
                        self.stats.bankruptcies += 1;
                        explained += b.shortfall_native;
                    }
                }
                (Some(r), must_fail, Some(explained))
            }
            Action::Crank { oracle } => {
                let must_fail = self.oracle_must_fail(oracle).await;
                let m = self.market(oracle);
                let ix = ix::update_volatility(&t_ex, &m.key, &m.oracle);
                (Some(self.t.send(&[ix], &[]).await), must_fail, None)
            }
            Action::Move { bps } => {
                let usd = self.usd + self.usd * (bps as i64 % 2_000) / 10_000;
                self.publish(usd).await;
                (None, false, None)
            }
            Action::Jump { tenths } => {
                let usd = self.usd * (tenths as i64 % 200 + 1) / 10;
                self.publish(usd).await;
                (None, false, None)
            }
            Action::OlderUpdate { age, bps } => {
                let now = self.t.now().await;
                let usd = self.usd + self.usd * (bps as i64 % 2_000) / 10_000;
                self.write_alt(usd, now - age as i64 - 1).await;
                (None, false, None)
            }
            Action::FutureUpdate { ahead } => {
                let now = self.t.now().await;
                self.write_alt(self.usd, now + ahead as i64 % 60).await;
                (None, false, None)
            }
            Action::Warp { secs, stale } => {
                self.t.advance(secs as i64 % 900 + 1).await;
                // A quarter of the requested stale warps leave the oracle unpublished.
                if !(stale && secs.is_multiple_of(4)) {
                    // The oracle publishes and the keeper cranks (it may be too soon: refused).
                    self.publish(self.usd).await;
                    let ix = ix::update_volatility(&t_ex, &self.btc.key, &self.btc.oracle);
                    let _ = self.t.send(&[ix], &[]).await;
                }
                (None, false, None)
            }
            Action::Settle => {
                self.settle().await;
                (None, false, None)
            }
            Action::FundInsurance { usdc } => {
                let u = &self.users[1];
                let ix =
                    ix::fund_insurance(&t_ex, &u.key(), &u.tokens, usdc as u64 * USDC as u64 + 1);
                let kp = u.kp.insecure_clone();
                (Some(self.t.send(&[ix], &[&kp]).await), false, None)
            }
        }
    }

    /// The admin settles every expired series (any update at or after expiry), then everyone's
    /// positions in them.
    async fn settle(&mut self) {
        let now = self.t.now().await;
        let expired: Vec<Pubkey> = self
            .series
            .iter()
            .filter(|s| s.1 <= now)
            .map(|s| s.0)
            .collect();
        if expired.is_empty() {
            return;
        }
        self.publish(self.usd).await;
        let admin = self.t.admin.insecure_clone();
        for s in &expired {
            let ix = ix::settle_series(
                &self.t.ex,
                &admin.pubkey(),
                &self.btc.key,
                s,
                &self.btc.oracle,
            );
            let _ = self.t.send(&[ix], &[&admin]).await;
        }
        for acc in self.accounts {
            let ix = ix::settle_positions(&self.t.ex, &acc, &expired);
            let _ = self.t.send(&[ix], &[]).await;
        }
    }

    /// The invariants after a step.
    async fn check(&mut self, a: &Action, result: Option<&Result<TxOk, TxErr>>) {
        let series: Vec<Pubkey> = self.series.iter().map(|s| s.0).collect();
        self.t.assert_conservation(&self.accounts, &series).await;
        let ex = self.t.exchange().await;
        assert!(ex.insurance_fund_native >= 0, "insurance fund negative");
        let ok = matches!(result, Some(Ok(_)));
        let parties: Vec<usize> = match *a {
            Action::Trade { taker, maker, .. } if ok => {
                vec![taker as usize % ACCOUNTS, maker as usize % ACCOUNTS]
            }
            Action::Withdraw { acc, .. } if ok => vec![acc as usize % ACCOUNTS],
            Action::Liquidate { by, .. } if ok => vec![by as usize % ACCOUNTS],
            _ => vec![],
        };
        for i in parties {
            let acc = self.t.margin_account(&self.accounts[i]).await;
            assert!(
                acc.collateral_native >= 0,
                "{a:?} left account {i} with collateral {}",
                acc.collateral_native
            );
        }
        if let (Action::Liquidate { victim, .. }, true) = (*a, ok) {
            let v = self
                .t
                .margin_account(&self.accounts[victim as usize % ACCOUNTS])
                .await;
            assert!(
                v.n_positions != 0 || v.collateral_native >= 0,
                "a liquidatee without positions left negative: {}",
                v.collateral_native
            );
        }
    }
}

/// Decodes `data` into up to `max_steps` actions and runs them on a fresh exchange; returns what
/// the run did. Panics on a violated invariant.
pub fn run_bytes(data: &[u8], max_steps: usize) -> Stats {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut u = Unstructured::new(data);
        let mut w = World::new().await;
        while w.stats.steps < max_steps as u64 {
            let Ok(a) = next_action(&mut u) else {
                break;
            };
            if u.is_empty() {
                break;
            }
            w.step(a).await;
        }
        w.stats
    })
}

/// The next action, weighted toward what moves value (trades, liquidations, price moves) so a
/// sequence spends its steps where attacks live; every variant stays reachable.
pub fn next_action(u: &mut Unstructured) -> arbitrary::Result<Action> {
    let oracle = |u: &mut Unstructured| -> arbitrary::Result<OracleSel> {
        let b: u8 = u.arbitrary()?;
        Ok(if b.is_multiple_of(8) {
            OracleSel::Alt
        } else {
            OracleSel::Main
        })
    };
    let w: u8 = u.arbitrary()?;
    Ok(match w % 20 {
        0..=6 => Action::Trade {
            taker: u.arbitrary()?,
            maker: u.arbitrary()?,
            series: u.arbitrary()?,
            qty: u.arbitrary()?,
            price: u.arbitrary()?,
            delegate_signs: u.arbitrary()?,
            oracle: oracle(u)?,
        },
        7 | 8 => Action::Liquidate {
            by: u.arbitrary()?,
            victim: u.arbitrary()?,
            bps: u.arbitrary()?,
            oracle: oracle(u)?,
        },
        9 => Action::Deposit {
            acc: u.arbitrary()?,
            usdc: u.arbitrary()?,
        },
        10 => Action::Withdraw {
            acc: u.arbitrary()?,
            usdc: u.arbitrary()?,
            oracle: oracle(u)?,
        },
        11 => Action::Crank { oracle: oracle(u)? },
        12 | 13 => Action::Move {
            bps: u.arbitrary()?,
        },
        14 => Action::Jump {
            tenths: u.arbitrary()?,
        },
        15 => Action::OlderUpdate {
            age: u.arbitrary()?,
            bps: u.arbitrary()?,
        },
        16 => Action::FutureUpdate {
            ahead: u.arbitrary()?,
        },
        17 | 18 => Action::Warp {
            secs: u.arbitrary()?,
            stale: u.arbitrary()?,
        },
        _ => {
            if u.arbitrary::<bool>()? {
                Action::Settle
            } else {
                Action::FundInsurance {
                    usdc: u.arbitrary()?,
                }
            }
        }
    })
}

/// xorshift64*: the runner's and the CI slice's source of input bytes.
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = (seed ^ 0x9E37_79B9_7F4A_7C15).max(1);
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}
