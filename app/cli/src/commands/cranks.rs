//! Permissionless upkeep a person may need when no keeper ran it: `keel crank <market>` (the
//! volatility crank), `keel crank arrays [market]` (re-anchor due markets and re-price their
//! risk-array pages) and `keel settle <series>` (fix the settlement price after expiry, then
//! realise the holders' positions, losers first so the settlement pool can pay the winners).

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::names::{market_name, money, q32, series_label};
use crate::output::{kv, Render};
use anchor_lang::prelude::Pubkey;
use keel_client::view::Snapshot;
use keel_client::{ix, Budget, Chain};
use keel_migrations::pages::{crank_ix, due_cranks};
use keel_migrations::units::fmt_time;
use keel_state::array_page::NO_PAGE;
use serde::Serialize;

/// Series whose new option fills `keel crank` folds into a market's implied vol (the newest).
const FILL_SERIES_PER_CRANK: usize = 16;

/// Compute-unit limit of a `crank_arrays` transaction: pricing a full page takes ~40k CU per
/// series, so ask for Solana's maximum.
pub const ARRAY_CRANK_CU_LIMIT: u32 = 1_400_000;

/// One `crank_arrays` call sent.
#[derive(Clone, Debug, Serialize)]
pub struct ArrayCrank {
    /// The market.
    pub market: String,
    /// Its name.
    pub name: String,
    /// The page priced (`None`: a re-anchor alone).
    pub page: Option<String>,
    /// Whether this call anchored the market anew.
    pub reanchored: bool,
    /// Slots priced.
    pub priced: u8,
    /// The market's anchor generation afterwards.
    pub epoch: u64,
    /// The anchor's time.
    pub anchor_ts: i64,
    /// The anchor's oracle price per contract.
    pub anchor_spot: i64,
    /// Quote decimals.
    pub decimals: u8,
    /// The transaction.
    pub signature: String,
}

/// `keel crank arrays`.
#[derive(Clone, Debug, Serialize)]
pub struct ArrayCranks {
    /// The calls sent, market by market (none: nothing was due).
    pub calls: Vec<ArrayCrank>,
}

impl Render for ArrayCranks {
    fn render(&self) -> String {
        if self.calls.is_empty() {
            return "nothing due: every risk array is priced at a usable anchor\n".into();
        }
        let mut t = crate::output::Table::new(&[
            "market",
            "page",
            "re-anchored",
            "priced",
            "anchor",
            "anchor spot",
            "signature",
        ]);
        for c in &self.calls {
            t.row(vec![
                c.name.clone(),
                c.page.clone().unwrap_or_else(|| "-".into()),
                if c.reanchored { "yes" } else { "no" }.into(),
                c.priced.to_string(),
                format!("#{} {}", c.epoch, fmt_time(c.anchor_ts)),
                money(c.anchor_spot, c.decimals),
                c.signature.clone(),
            ]);
        }
        t.to_string()
    }
}

/// Sends every `crank_arrays` call due now on `markets` (all markets if `None`), as predicted
/// from `snap` (`Snapshot::with_arrays_cranked`): one per page with a slot not priced at the
/// market's (new) anchor, or a re-anchor alone. What a margin-checking command runs first so
/// that the program accepts its arrays.
pub async fn send_due_cranks<C: Chain>(
    env: &Env<C>,
    snap: &Snapshot,
    markets: Option<&[Pubkey]>,
) -> CliResult<Vec<ArrayCrank>> {
    let (_, due) = snap.with_arrays_cranked(snap.now);
    let keys: Vec<Pubkey> = match markets {
        Some(m) => m.to_vec(),
        None => snap.markets.keys().copied().collect(),
    };
    let budget = Budget {
        cu_limit: ARRAY_CRANK_CU_LIMIT,
        ..env.budget
    };
    let mut out = Vec::new();
    for (market, page) in due_cranks(&due, keys) {
        let i = crank_ix(snap, &market, page)
            .ok_or(keel_client::view::ViewError::MissingMarket(market))?;
        let sent = env
            .chain
            .send(&[i], &[&env.keypair], budget)
            .await
            .map_err(|e| CliError::send("crank_arrays", e))?;
        let ev = keel_client::events::decode::<keel::events::ArraysCranked>(&sent.logs)
            .ok()
            .and_then(|mut v| v.pop());
        let mv = &snap.markets[&market];
        out.push(ArrayCrank {
            market: market.to_string(),
            name: market_name(&mv.market),
            page: page.map(|p| p.to_string()),
            reanchored: ev.as_ref().is_some_and(|e| e.reanchored),
            priced: ev.as_ref().map_or(0, |e| e.priced),
            epoch: ev.as_ref().map_or(0, |e| e.epoch),
            anchor_ts: ev.as_ref().map_or(0, |e| e.anchor_ts),
            anchor_spot: ev.as_ref().map_or(0, |e| e.anchor_spot),
            decimals: mv.market.quote_decimals,
            signature: sent.signature,
        });
    }
    Ok(out)
}

/// Runs the risk-array crank wherever it is due: on `market` (address, index or name), or on
/// every market.
pub async fn crank_arrays<C: Chain>(env: &Env<C>, market: Option<&str>) -> CliResult<ArrayCranks> {
    let only = match market {
        Some(m) => Some(vec![
            crate::commands::admin::resolve_market(env, m).await?.0,
        ]),
        None => None,
    };
    let snap = env.snapshot().await?;
    Ok(ArrayCranks {
        calls: send_due_cranks(env, &snap, only.as_deref()).await?,
    })
}

/// `keel crank`.
#[derive(Clone, Debug, Serialize)]
pub struct Cranked {
    /// The market.
    pub market: String,
    /// Its name.
    pub name: String,
    /// The oracle read.
    pub oracle: String,
    /// Margin vol afterwards (Q32.32 bits).
    pub margin_vol_q32: i64,
    /// Stable price afterwards.
    pub stable_price_native: i64,
    /// Quote decimals.
    pub decimals: u8,
    /// The transaction.
    pub signature: String,
}

impl Render for Cranked {
    fn render(&self) -> String {
        kv(&[
            ("cranked", format!("{} ({})", self.name, self.market)),
            ("oracle", self.oracle.clone()),
            (
                "margin vol",
                format!("{}%", q32(self.margin_vol_q32.saturating_mul(100), 2)),
            ),
            (
                "stable price",
                money(self.stable_price_native, self.decimals),
            ),
            ("signature", self.signature.clone()),
        ])
    }
}

/// Runs the volatility crank of `market` (address, index or name).
pub async fn crank<C: Chain>(env: &Env<C>, market: &str) -> CliResult<Cranked> {
    let (key, _) = crate::commands::admin::resolve_market(env, market).await?;
    let snap = env.snapshot().await?;
    let mv = &snap.markets[&key];
    let ex = ix::exchange_keys(&snap.exchange);
    let sent = env
        .send(
            "update_volatility",
            &[ix::update_volatility_with_fills(
                &ex,
                &key,
                &mv.oracle_key,
                &snap.fill_series(&key, FILL_SERIES_PER_CRANK),
            )],
            &[],
        )
        .await?;
    let after = env.snapshot().await?;
    let m = &after.markets[&key].market;
    Ok(Cranked {
        market: key.to_string(),
        name: market_name(m),
        oracle: mv.oracle_key.to_string(),
        margin_vol_q32: m.vol_state.margin_vol.to_bits(),
        stable_price_native: m.vol_state.stable_price,
        decimals: m.quote_decimals,
        signature: sent.signature,
    })
}

/// `keel settle`.
#[derive(Clone, Debug, Serialize)]
pub struct Settled {
    /// The series.
    pub series: String,
    /// Its label.
    pub label: String,
    /// The settlement price per contract.
    pub settlement_price_native: i64,
    /// Whether this run fixed it (false: it already was).
    pub series_settled_now: bool,
    /// Accounts whose positions were realised, in the order done.
    pub accounts: Vec<String>,
    /// Quote decimals.
    pub decimals: u8,
    /// Transactions sent.
    pub signatures: Vec<String>,
}

impl Render for Settled {
    fn render(&self) -> String {
        kv(&[
            ("series", format!("{} ({})", self.label, self.series)),
            (
                "settlement price",
                format!(
                    "{}{}",
                    money(self.settlement_price_native, self.decimals),
                    if self.series_settled_now {
                        " (fixed now)"
                    } else {
                        ""
                    }
                ),
            ),
            ("accounts settled", self.accounts.len().to_string()),
            ("transactions", self.signatures.len().to_string()),
        ])
    }
}

/// Settles `series` if it is not yet, then realises the positions of `accounts` in it (all
/// holders if empty), losers first.
pub async fn settle<C: Chain>(
    env: &Env<C>,
    series: Pubkey,
    accounts: &[Pubkey],
) -> CliResult<Settled> {
    let snap = env.snapshot().await?;
    let s = *snap
        .series
        .get(&series)
        .ok_or_else(|| CliError::Usage(format!("{series} is not a Keel series (`keel series`)")))?;
    let mk = Pubkey::new_from_array(s.market);
    let mv = snap
        .markets
        .get(&mk)
        .ok_or(keel_client::view::ViewError::MissingMarket(mk))?;
    let ex = ix::exchange_keys(&snap.exchange);
    let mut signatures = vec![];
    let mut settled_now = false;
    if s.status != keel_state::series::SERIES_SETTLED {
        // An option frees its risk-array slot: its page goes along.
        let page = match s.array_page {
            NO_PAGE => None,
            index => Some(snap.page_of(&mk, index).map(|(k, _)| k).ok_or_else(|| {
                CliError::Chain(format!(
                    "the risk-array page {index} of {series}'s market is not on chain"
                ))
            })?),
        };
        let i = ix::settle_series(&ex, &env.me(), &mk, &series, &mv.oracle_key, page);
        signatures.push(env.send("settle_series", &[i], &[]).await?.signature);
        settled_now = true;
    }
    let snap = env.snapshot().await?;
    let s = snap.series[&series];
    let holders: Vec<(Pubkey, i128)> = snap
        .accounts
        .iter()
        .filter(|(k, _)| accounts.is_empty() || accounts.contains(k))
        .filter_map(|(k, a)| {
            let p = &a.positions[a.position_index(&series.to_bytes())?];
            let payout = s
                .payoff_per_contract(s.settlement_price_native)
                .unwrap_or(0) as i128
                * p.qty_contracts as i128
                + p.cash_native as i128;
            Some((*k, payout))
        })
        .collect();
    for a in accounts {
        if !holders.iter().any(|(k, _)| k == a) {
            return Err(CliError::Usage(format!(
                "{a} holds no position in {series}"
            )));
        }
    }
    let mut order = holders;
    order.sort_by_key(|(_, p)| *p);
    for (k, _) in &order {
        let i = ix::settle_positions(&ex, k, &[series]);
        signatures.push(
            env.send(&format!("settle_positions {k}"), &[i], &[])
                .await?
                .signature,
        );
    }
    Ok(Settled {
        series: series.to_string(),
        label: series_label(&s, Some(&mv.market)),
        settlement_price_native: s.settlement_price_native,
        series_settled_now: settled_now,
        accounts: order.iter().map(|(k, _)| k.to_string()).collect(),
        decimals: snap.exchange.quote_decimals,
        signatures,
    })
}
