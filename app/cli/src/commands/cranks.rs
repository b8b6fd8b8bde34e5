//! Permissionless upkeep a person may need when no keeper ran it: `keel crank <market>` (the
//! volatility crank) and `keel settle <series>` (fix the settlement price after expiry, then
//! realise the holders' positions, losers first so the settlement pool can pay the winners).

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::names::{market_name, money, q32, series_label};
use crate::output::{kv, Render};
use anchor_lang::prelude::Pubkey;
use keel_client::{ix, Chain};
use serde::Serialize;

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
            &[ix::update_volatility(&ex, &key, &mv.oracle_key)],
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
        let i = ix::settle_series(&ex, &env.me(), &mk, &series, &mv.oracle_key);
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
