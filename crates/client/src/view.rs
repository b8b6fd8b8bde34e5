//! Keel's state read from a chain, and margin recomputed off-chain exactly as the program
//! computes it (keel-state's `compute_margin` on the same bytes, with the same oracle identity,
//! freshness and confidence checks and the same pending social-loss charge).

use crate::chain::{Chain, ChainError};
use crate::ix::{margin_metas, series_metas};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::AccountMeta;
use keel_risk::MarginBreakdown;
use keel_state::array_page::NO_PAGE;
use keel_state::{
    discriminator, read_account, ArrayPage, Correlation, Exchange, Layout, MarginAccount, Market,
    MarketReading, Series, StateError,
};
use solana_account::Account;
use std::collections::BTreeMap;

/// Pyth's push-oracle program, which keeps the sponsored price feed accounts of the pull oracle.
pub const PYTH_PUSH_ORACLE: Pubkey =
    anchor_lang::pubkey!("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT");

/// The Pyth price feed account of `feed_id` on `shard` (the push-oracle PDA
/// `[shard u16 LE, feed_id]`; sponsored feeds use shard 0).
pub fn pyth_feed_account(feed_id: &[u8; 32], shard: u16) -> Pubkey {
    Pubkey::find_program_address(&[&shard.to_le_bytes(), feed_id], &PYTH_PUSH_ORACLE).0
}

/// Which oracle account prices each market: the market's pinned account if it has one, else an
/// explicit choice, else the Pyth sponsored feed account of its feed id.
#[derive(Clone, Debug, Default)]
pub struct OracleDirectory {
    /// Market → oracle account, for markets that accept any `PriceUpdateV2` of their feed.
    pub overrides: BTreeMap<Pubkey, Pubkey>,
}

impl OracleDirectory {
    /// The oracle account of `market` (at `key`).
    pub fn oracle_of(&self, key: &Pubkey, market: &Market) -> Pubkey {
        if market.oracle.account != [0; 32] {
            return Pubkey::new_from_array(market.oracle.account);
        }
        self.overrides
            .get(key)
            .copied()
            .unwrap_or_else(|| pyth_feed_account(&market.oracle.feed_id, 0))
    }
}

/// Why a view could not be built or a margin computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewError {
    /// The chain could not be read.
    Chain(String),
    /// No exchange at the program's exchange PDA.
    NoExchange,
    /// Account bytes or an oracle did not pass keel-state's checks.
    State(Pubkey, StateError),
    /// A market an account uses is not on chain (or its oracle is missing).
    MissingMarket(Pubkey),
    /// No margin account at this address.
    MissingAccount(Pubkey),
    /// The exchange's ledger shards are not all there, or its fields plus theirs overflow 64
    /// bits.
    LedgerTotals,
}

impl std::fmt::Display for ViewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ViewError::Chain(e) => write!(f, "reading the chain: {e}"),
            ViewError::NoExchange => write!(f, "no Keel exchange at {}", crate::pda::exchange()),
            ViewError::State(k, e) => write!(f, "{k}: {e:?}"),
            ViewError::MissingMarket(k) => write!(f, "market {k} or its oracle is missing"),
            ViewError::MissingAccount(k) => write!(f, "no Keel margin account at {k}"),
            ViewError::LedgerTotals => {
                write!(
                    f,
                    "exchange totals: a ledger shard is missing or they overflow"
                )
            }
        }
    }
}

impl std::error::Error for ViewError {}

impl From<ChainError> for ViewError {
    fn from(e: ChainError) -> Self {
        ViewError::Chain(e.0)
    }
}

/// A market with the oracle account that prices it.
#[derive(Clone, Debug)]
pub struct MarketView {
    /// The market account's address.
    pub key: Pubkey,
    /// The market.
    pub market: Market,
    /// Its oracle account's address.
    pub oracle_key: Pubkey,
    /// The oracle account (`None`: absent).
    pub oracle: Option<Account>,
}

impl MarketView {
    /// The oracle's reading, with identity checked (owner, pinned address, feed id,
    /// verification) as the program checks it.
    pub fn reading(&self) -> Result<keel_state::OracleReading, ViewError> {
        let a = self
            .oracle
            .as_ref()
            .ok_or(ViewError::MissingMarket(self.key))?;
        keel_state::oracle::read_identity(
            &self.market.oracle,
            &self.oracle_key.to_bytes(),
            &a.owner.to_bytes(),
            &a.data,
        )
        .map_err(|e| ViewError::State(self.oracle_key, e))
    }

    /// The oracle price per contract (quote native units), identity checked.
    pub fn price_native(&self) -> Result<i64, ViewError> {
        let r = self.reading()?;
        self.market
            .contract_spec()
            .price_native(&r)
            .map_err(|e| ViewError::State(self.oracle_key, e))
    }
}

/// What `crank_arrays` calls would change: per market, whether it re-anchors, and the pages with
/// slots not priced at the (new) anchor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArraysDue {
    /// Markets whose anchor is due (a crank re-anchors them).
    pub reanchor: Vec<Pubkey>,
    /// (market, page) pairs with at least one slot to price.
    pub pages: Vec<(Pubkey, Pubkey)>,
}

/// A margin computation with the keys that go with the breakdown's dense arrays.
#[derive(Clone, Debug)]
pub struct MarginDetail {
    /// The breakdown.
    pub breakdown: Box<MarginBreakdown>,
    /// The market of each `breakdown.markets[i]`.
    pub market_keys: Vec<Pubkey>,
    /// The series and quantity of each `breakdown.positions[i]`.
    pub positions: Vec<(Pubkey, i64)>,
}

/// Every Keel account of one deployment at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The cluster's unix time when it was read.
    pub now: i64,
    /// The exchange's address.
    pub exchange_key: Pubkey,
    /// The exchange.
    pub exchange: Exchange,
    /// Markets, by address.
    pub markets: BTreeMap<Pubkey, MarketView>,
    /// Series, by address.
    pub series: BTreeMap<Pubkey, Series>,
    /// Margin accounts, by address.
    pub accounts: BTreeMap<Pubkey, MarginAccount>,
    /// Correlations, by address.
    pub correlations: BTreeMap<Pubkey, Correlation>,
    /// Risk-array pages, by address.
    pub pages: BTreeMap<Pubkey, Box<ArrayPage>>,
}

/// A risk-array page's bytes, checked, on the heap (a page is ~35 KB).
fn decode_page(key: &Pubkey, data: &[u8]) -> Result<Box<ArrayPage>, ViewError> {
    let fail = |e| ViewError::State(*key, e);
    let size = core::mem::size_of::<ArrayPage>();
    let d = keel_state::DISCRIMINATOR_LEN;
    if data.len() < d + size {
        return Err(fail(StateError::AccountTooSmall));
    }
    if data[..d] != discriminator::ARRAY_PAGE {
        return Err(fail(StateError::WrongDiscriminator));
    }
    if data[d] != keel_state::LAYOUT_VERSION {
        return Err(fail(StateError::UnknownVersion));
    }
    let mut page = bytemuck::zeroed_box::<ArrayPage>();
    bytemuck::bytes_of_mut(&mut *page).copy_from_slice(&data[d..d + size]);
    Ok(page)
}

/// The exchange as its readers see it: `ex` (the account's own fields) with the ledger shards'
/// parts added to its aggregates (`keel_state::Totals`). `ledgers`: the shard accounts' data.
pub fn with_ledgers<'a>(
    ex: &Exchange,
    ledgers: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Exchange, ViewError> {
    let mut shards = Vec::new();
    for (i, d) in ledgers.into_iter().enumerate() {
        let l = read_account::<keel_state::Ledger>(d, &discriminator::LEDGER).map_err(|e| {
            ViewError::State(crate::pda::ledger(&crate::pda::exchange(), i as u8), e)
        })?;
        shards.push(l);
    }
    Ok(keel_state::Totals::sum(ex, shards.iter())
        .ok_or(ViewError::LedgerTotals)?
        .folded_into(ex))
}

fn decode_all<T: Layout>(
    raw: Vec<(Pubkey, Account)>,
    disc: &[u8; 8],
) -> Result<BTreeMap<Pubkey, T>, ViewError> {
    raw.into_iter()
        .map(|(k, a)| {
            read_account::<T>(&a.data, disc)
                .map(|v| (k, v))
                .map_err(|e| ViewError::State(k, e))
        })
        .collect()
}

/// The accounts a [`Snapshot`] is decoded from, as read.
#[derive(Clone, Debug, Default)]
pub struct Raw {
    /// The cluster's unix time when they were read.
    pub now: i64,
    /// Every Keel account (the exchange, markets, series, margin accounts, correlations).
    pub keel: Vec<(Pubkey, Account)>,
    /// The markets' oracle accounts, by address.
    pub oracles: BTreeMap<Pubkey, Account>,
}

impl Raw {
    /// Reads the exchange, every Keel account of the other types (getProgramAccounts by
    /// discriminator) and the oracle account of every market.
    pub async fn read(chain: &impl Chain, oracles: &OracleDirectory) -> Result<Raw, ViewError> {
        let now = chain.unix_time().await?;
        let exchange_key = crate::pda::exchange();
        let ex_acc = crate::chain::account(chain, &exchange_key)
            .await?
            .ok_or(ViewError::NoExchange)?;
        let mut keel = vec![(exchange_key, ex_acc)];
        // The ledger shards, by address (the exchange's aggregates are folded from them).
        let ledgers = crate::pda::ledgers(&exchange_key);
        keel.extend(
            ledgers
                .iter()
                .copied()
                .zip(chain.accounts(&ledgers).await?)
                .filter_map(|(k, a)| a.map(|a| (k, a))),
        );
        for disc in [
            discriminator::MARKET,
            discriminator::SERIES,
            discriminator::MARGIN_ACCOUNT,
            discriminator::CORRELATION,
            discriminator::ARRAY_PAGE,
        ] {
            keel.extend(chain.program_accounts(&disc).await?);
        }
        let markets = decode_all::<Market>(
            keel.iter()
                .filter(|(_, a)| a.data.starts_with(&discriminator::MARKET))
                .cloned()
                .collect(),
            &discriminator::MARKET,
        )?;
        let oracle_keys: Vec<Pubkey> = markets
            .iter()
            .map(|(k, m)| oracles.oracle_of(k, m))
            .collect();
        let oracle_accounts = oracle_keys
            .iter()
            .copied()
            .zip(chain.accounts(&oracle_keys).await?)
            .filter_map(|(k, a)| a.map(|a| (k, a)))
            .collect();
        Ok(Raw {
            now,
            keel,
            oracles: oracle_accounts,
        })
    }
}

impl Snapshot {
    /// Reads every Keel account (getProgramAccounts per account type) and every market's
    /// oracle.
    pub async fn load(chain: &impl Chain, oracles: &OracleDirectory) -> Result<Self, ViewError> {
        let raw = Raw::read(chain, oracles).await?;
        Self::from_accounts(raw.now, raw.keel, oracles, &raw.oracles)
    }

    /// A snapshot from accounts already in hand (a subscription's cache): every Keel account
    /// (any type, told apart by discriminator; the exchange among them) and the oracle accounts
    /// by address, at cluster time `now`.
    pub fn from_accounts(
        now: i64,
        keel: Vec<(Pubkey, Account)>,
        oracles: &OracleDirectory,
        oracle_accounts: &BTreeMap<Pubkey, Account>,
    ) -> Result<Self, ViewError> {
        let exchange_key = crate::pda::exchange();
        let of = |disc: &[u8; 8]| -> Vec<(Pubkey, Account)> {
            keel.iter()
                .filter(|(_, a)| a.data.starts_with(disc))
                .cloned()
                .collect()
        };
        let ex_acc = keel
            .iter()
            .find(|(k, _)| *k == exchange_key)
            .map(|(_, a)| a)
            .ok_or(ViewError::NoExchange)?;
        let exchange = read_account::<Exchange>(&ex_acc.data, &discriminator::EXCHANGE)
            .map_err(|e| ViewError::State(exchange_key, e))?;
        // The exchange's aggregates are its own fields plus its ledger shards': all of them,
        // or the totals would be wrong.
        let ledgers: BTreeMap<Pubkey, keel_state::Ledger> =
            decode_all(of(&discriminator::LEDGER), &discriminator::LEDGER)?;
        if ledgers.len() != keel_state::LEDGER_SHARDS as usize {
            return Err(ViewError::LedgerTotals);
        }
        let exchange = keel_state::Totals::sum(&exchange, ledgers.values())
            .ok_or(ViewError::LedgerTotals)?
            .folded_into(&exchange);
        let markets_raw: BTreeMap<Pubkey, Market> =
            decode_all(of(&discriminator::MARKET), &discriminator::MARKET)?;
        let series = decode_all(of(&discriminator::SERIES), &discriminator::SERIES)?;
        let accounts = decode_all(
            of(&discriminator::MARGIN_ACCOUNT),
            &discriminator::MARGIN_ACCOUNT,
        )?;
        let correlations =
            decode_all(of(&discriminator::CORRELATION), &discriminator::CORRELATION)?;
        let mut pages = BTreeMap::new();
        for (k, a) in of(&discriminator::ARRAY_PAGE) {
            pages.insert(k, decode_page(&k, &a.data)?);
        }
        let markets = markets_raw
            .iter()
            .map(|(k, m)| {
                let o = oracles.oracle_of(k, m);
                (
                    *k,
                    MarketView {
                        key: *k,
                        market: *m,
                        oracle_key: o,
                        oracle: oracle_accounts.get(&o).cloned(),
                    },
                )
            })
            .collect();
        Ok(Snapshot {
            now,
            exchange_key,
            exchange,
            markets,
            series,
            accounts,
            correlations,
            pages,
        })
    }

    /// The snapshot as it will be once `update_volatility` has run on each of `markets` with the
    /// fill series `fill_series` picks for it (keel-state's own transitions, as the program
    /// runs them: the reading accepted, the fills folded, the observation stepped, the oracle
    /// snapshot stored). A crank the program would refuse (an unreadable, stale, out-of-order or
    /// too early update) leaves its market as it is, as the refusal would. The keeper plans the
    /// arrays and the liquidations of a pass on the result: after a crash its liquidations see
    /// the vol the crank sent just before them sets, not the one it replaces.
    pub fn with_vols_cranked(&self, markets: &[Pubkey], fill_series: usize, now: i64) -> Snapshot {
        let mut next = self.clone();
        for key in markets {
            let fills = self.fill_series(key, fill_series);
            let Some(mv) = next.markets.get_mut(key) else {
                continue;
            };
            let before = mv.market;
            if Snapshot::crank_vol(mv, &self.series, &fills, now).is_err() {
                mv.market = before;
            }
        }
        next
    }

    /// One market's `update_volatility` (see [`Snapshot::with_vols_cranked`]): the program's
    /// freshness check, then keel-state's `Market::crank_volatility`, as the program runs them.
    fn crank_vol(
        mv: &mut MarketView,
        series: &BTreeMap<Pubkey, Series>,
        fills: &[Pubkey],
        now: i64,
    ) -> Result<(), ()> {
        let reading = mv.reading().map_err(|_| ())?;
        mv.market.check_reading(&reading, now).map_err(|_| ())?;
        let mut f: Vec<(i64, keel_risk::Fx)> = fills
            .iter()
            .filter_map(|k| series.get(k))
            .map(|s| (s.fill_vol.ts, s.fill_vol.level))
            .collect();
        mv.market
            .crank_volatility(&reading, &mut f)
            .map(|_| ())
            .map_err(|_| ())
    }

    /// The snapshot as it will be once `crank_arrays` has run on every market and page at `now`
    /// (keel-state's own transitions, off-chain: anchors re-set where due, every slot priced at
    /// its market's anchor), and what those calls are. A market whose oracle cannot be read is
    /// left as it is. The keeper plans on the result, so a liquidation can go out in the same
    /// pass as the cranks it needs.
    pub fn with_arrays_cranked(&self, now: i64) -> (Snapshot, ArraysDue) {
        let mut next = self.clone();
        let mut due = ArraysDue::default();
        for (key, mv) in next.markets.iter_mut() {
            let Ok(reading) = mv.reading() else {
                continue;
            };
            let Ok(v) = mv.market.valuation(&reading, now) else {
                continue;
            };
            match mv.market.reanchor_if_due(&v, now) {
                Ok(true) => due.reanchor.push(*key),
                Ok(false) => {}
                // The program's call would fail and change nothing: neither does this.
                Err(_) => mv.market = self.markets[key].market,
            }
        }
        for (pk, page) in next.pages.iter_mut() {
            let m = Pubkey::new_from_array(page.market);
            let Some(mv) = next.markets.get(&m) else {
                continue;
            };
            let mut priced = false;
            for slot in page.slots.iter_mut() {
                priced |= mv.market.price_slot(slot).unwrap_or(false);
            }
            if priced {
                due.pages.push((m, *pk));
            }
        }
        (next, due)
    }

    /// The page of `market` with index `index`, if on chain.
    pub fn page_of(&self, market: &Pubkey, index: u16) -> Option<(Pubkey, &ArrayPage)> {
        let m = market.to_bytes();
        self.pages
            .iter()
            .find(|(_, p)| p.market == m && p.page_index == index)
            .map(|(k, p)| (*k, &**p))
    }

    /// The pages holding the arrays of `accounts`' option positions and of the `series`, in a
    /// stable order.
    pub fn pages_for(&self, accounts: &[&MarginAccount], series: &[Pubkey]) -> Vec<Pubkey> {
        let mut wanted: Vec<(Pubkey, u16)> = Vec::new();
        for a in accounts {
            for p in a.active_positions() {
                if p.array_page != NO_PAGE && p.kind != 2 {
                    let m = Pubkey::new_from_array(a.markets[p.market_slot as usize]);
                    wanted.push((m, p.array_page));
                }
            }
        }
        for k in series {
            if let Some(s) = self.series.get(k).filter(|s| s.array_page != NO_PAGE) {
                wanted.push((Pubkey::new_from_array(s.market), s.array_page));
            }
        }
        let mut keys: Vec<Pubkey> = Vec::new();
        for (m, i) in wanted {
            if let Some((k, _)) = self.page_of(&m, i) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        keys
    }

    /// `acc` as the program will see it: its pending share of socialised losses charged.
    pub fn settled(&self, acc: &MarginAccount) -> Box<MarginAccount> {
        let mut a = bytemuck::zeroed_box::<MarginAccount>();
        *a = *acc;
        keel_state::social::apply(&mut a, &self.exchange);
        a
    }

    /// The margin of `acc` at `now` (the snapshot's time unless given), exactly as the program
    /// computes it.
    pub fn margin(
        &self,
        acc: &MarginAccount,
        now: Option<i64>,
    ) -> Result<Box<MarginBreakdown>, ViewError> {
        Ok(self.margin_detail(acc, now)?.breakdown)
    }

    /// [`Self::margin`] with what a report needs beside the breakdown: which account slot each
    /// position came from and the address of each market, in the breakdown's order.
    pub fn margin_detail(
        &self,
        acc: &MarginAccount,
        now: Option<i64>,
    ) -> Result<MarginDetail, ViewError> {
        let now = now.unwrap_or(self.now);
        let acc = self.settled(acc);
        let mut readings = Vec::new();
        for (_, key) in acc.used_markets() {
            let k = Pubkey::new_from_array(*key);
            let mv = self.markets.get(&k).ok_or(ViewError::MissingMarket(k))?;
            readings.push(MarketReading {
                key: *key,
                market: &mv.market,
                oracle: mv.reading()?,
            });
        }
        let correlations: Vec<&Correlation> = self.correlations.values().collect();
        let pages: Vec<&ArrayPage> = self.pages.values().map(|p| &**p).collect();
        let mut inputs = Box::new(keel_state::MarginInputs::new());
        let mut out = Box::new(MarginBreakdown::default());
        keel_state::compute_margin(
            &acc,
            None,
            &readings,
            &pages,
            &correlations,
            now,
            &mut inputs,
            &mut out,
        )
        .map_err(|e| ViewError::State(Pubkey::default(), e))?;
        let market_keys = (0..out.n_markets as usize)
            .map(|i| Pubkey::new_from_array(inputs.market_keys[i]))
            .collect();
        let positions = (0..out.n_positions as usize)
            .map(|i| {
                let slot = &acc.positions[inputs.position_slots[i] as usize];
                (Pubkey::new_from_array(slot.series), slot.qty_contracts)
            })
            .collect();
        Ok(MarginDetail {
            breakdown: out,
            market_keys,
            positions,
        })
    }

    /// The `MarginReport` event the program's `margin_report` instruction would emit for the
    /// account at `key` at `now`, computed off-chain field for field as the handler builds it
    /// (`keel verify` compares the two).
    pub fn margin_report(
        &self,
        key: &Pubkey,
        now: Option<i64>,
    ) -> Result<keel::events::MarginReport, ViewError> {
        let acc = self
            .accounts
            .get(key)
            .ok_or(ViewError::MissingAccount(*key))?;
        let now = now.unwrap_or(self.now);
        let d = self.margin_detail(acc, Some(now))?;
        keel::events::MarginReport::from_breakdown(
            *key,
            now,
            &d.breakdown,
            &d.market_keys,
            &d.positions,
            &self.exchange.liquidation_params,
        )
        .map_err(|e| ViewError::State(*key, StateError::Risk(e)))
    }

    /// The markets `accounts` hold positions in, in a stable order.
    pub fn markets_of(&self, accounts: &[&MarginAccount]) -> Vec<Pubkey> {
        let mut v: Vec<Pubkey> = Vec::new();
        for a in accounts {
            for (_, m) in a.used_markets() {
                let k = Pubkey::new_from_array(*m);
                if !v.contains(&k) {
                    v.push(k);
                }
            }
        }
        v
    }

    /// Remaining accounts of an instruction checking the margin of `accounts`: (market,
    /// oracle) for every market they use and those of `extra_series` (a series about to be
    /// traded), the risk-array pages of all their option positions and of `extra_series`, then
    /// every correlation account between two of those markets.
    pub fn margin_metas(
        &self,
        accounts: &[&MarginAccount],
        extra_series: &[Pubkey],
    ) -> Result<Vec<AccountMeta>, ViewError> {
        self.remaining_metas(accounts, extra_series, false)
    }

    /// [`Self::margin_metas`], with every risk-array page of the markets named when
    /// `every_page` (not only those of the accounts' positions as this snapshot holds them).
    fn remaining_metas(
        &self,
        accounts: &[&MarginAccount],
        extra_series: &[Pubkey],
        every_page: bool,
    ) -> Result<Vec<AccountMeta>, ViewError> {
        let mut markets = self.markets_of(accounts);
        for k in extra_series {
            let s = self.series.get(k).ok_or(ViewError::MissingMarket(*k))?;
            let m = Pubkey::new_from_array(s.market);
            if !markets.contains(&m) {
                markets.push(m);
            }
        }
        let mut pairs = Vec::new();
        for m in &markets {
            let mv = self.markets.get(m).ok_or(ViewError::MissingMarket(*m))?;
            pairs.push((*m, mv.oracle_key));
        }
        let correlations: Vec<Pubkey> = self
            .correlations
            .iter()
            .filter(|(_, c)| {
                markets.contains(&Pubkey::new_from_array(c.market_a))
                    && markets.contains(&Pubkey::new_from_array(c.market_b))
            })
            .map(|(k, _)| *k)
            .collect();
        let mut pages = self.pages_for(accounts, extra_series);
        if every_page {
            for (k, p) in &self.pages {
                let m = Pubkey::new_from_array(p.market);
                if markets.contains(&m) && !pages.contains(k) {
                    pages.push(*k);
                }
            }
        }
        Ok(margin_metas(&pairs, &pages, &correlations))
    }

    /// The series of `market` whose option fills the market has not folded into its implied
    /// vol yet (newest first, at most `max`): what `ix::update_volatility_with_fills` passes.
    /// Empty for a market with a vol authority (its implied vol is published).
    pub fn fill_series(&self, market: &Pubkey, max: usize) -> Vec<Pubkey> {
        let Some(mv) = self.markets.get(market) else {
            return Vec::new();
        };
        if mv.market.has_vol_authority() {
            return Vec::new();
        }
        let folded = mv.market.fill_vol;
        let mut fresh: Vec<(i64, Pubkey)> = self
            .series
            .iter()
            .filter(|(_, s)| s.market == market.to_bytes() && s.fill_vol.fills > 0)
            .filter(|(_, s)| folded.fills == 0 || s.fill_vol.ts > folded.ts)
            .map(|(k, s)| (s.fill_vol.ts, *k))
            .collect();
        fresh.sort_unstable_by(|a, b| b.cmp(a));
        fresh.into_iter().take(max).map(|(_, k)| k).collect()
    }

    /// Remaining accounts of a `deposit` into `account`: its markets while it is in a
    /// liquidation episode (so a deposit that restores it ends the episode), none otherwise
    /// (the program computes no margin then).
    pub fn deposit_metas(&self, account: &MarginAccount) -> Result<Vec<AccountMeta>, ViewError> {
        if account.in_liquidation_episode() {
            self.margin_metas(&[account], &[])
        } else {
            Ok(Vec::new())
        }
    }

    /// Remaining accounts of `liquidate`: both accounts' markets, every risk-array page of those
    /// markets and their correlations, then the liquidatee's series (writable). Every page, not
    /// only those of the positions in this snapshot: a keeper liquidating several accounts in
    /// one pass takes over positions in other series (on other pages) before its snapshot is
    /// re-read, and the program values the liquidator's whole account.
    pub fn liquidate_metas(
        &self,
        liquidatee: &MarginAccount,
        liquidator: &MarginAccount,
    ) -> Result<Vec<AccountMeta>, ViewError> {
        let mut v = self.remaining_metas(&[liquidatee, liquidator], &[], true)?;
        let series: Vec<Pubkey> = liquidatee
            .active_positions()
            .map(|p| Pubkey::new_from_array(p.series))
            .collect();
        v.extend(series_metas(&series));
        Ok(v)
    }

    /// [`Snapshot::liquidate_metas`] with the series the liquidator already holds on the
    /// liquidatee's side passed read-only: a partial slice of them changes nothing the series
    /// counts, so the program only reads them and liquidations in one series need not queue on
    /// it. Where the slice turns out whole (the position closes) the program refuses with
    /// `SeriesNotWritable`: send again with [`Snapshot::liquidate_metas`] (keel-keeper does).
    pub fn liquidate_metas_reading_held(
        &self,
        liquidatee: &MarginAccount,
        liquidator: &MarginAccount,
    ) -> Result<Vec<AccountMeta>, ViewError> {
        let mut v = self.liquidate_metas(liquidatee, liquidator)?;
        for p in liquidatee.active_positions() {
            if liquidator
                .position_on_side(&p.series, p.qty_contracts)
                .is_some()
            {
                let key = Pubkey::new_from_array(p.series);
                for m in v.iter_mut().filter(|m| m.pubkey == key) {
                    m.is_writable = false;
                }
            }
        }
        Ok(v)
    }
}
