//! `keel markets` and `keel series`.

use crate::env::Env;
use crate::error::CliResult;
use crate::names::{
    contract_size, kind_name, market_name, money, q32, series_label, strike_per_unit,
};
use crate::output::{Render, Table};
use anchor_lang::prelude::Pubkey;
use keel_client::Chain;
use keel_migrations::units::fmt_time;
use serde::Serialize;

/// One market.
#[derive(Clone, Debug, Serialize)]
pub struct MarketRow {
    /// Index within the exchange.
    pub index: u16,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// `pyth-pull` or `pyth-legacy`.
    pub oracle_kind: String,
    /// The oracle account read for it.
    pub oracle: String,
    /// Pinned to that account (or accepting any update of its feed).
    pub oracle_pinned: bool,
    /// Underlying units per contract.
    pub contract_size: String,
    /// Oracle price per contract now (native), if readable.
    pub price_native: Option<i64>,
    /// Why not, if not.
    pub price_error: Option<String>,
    /// Margin vol (annualised, Q32.32 bits).
    pub margin_vol_q32: i64,
    /// The vol the price range is set from (Q32.32 bits): the margin vol unless the market has a
    /// range speed limit, below it while the limit holds it back after a rise.
    pub range_vol_q32: i64,
    /// The range speed limit (largest rise per day, Q32.32 bits; 0: none).
    pub range_limit_per_day_q32: i64,
    /// τ of the realised vol the liquidation trigger compares with the margin vol (seconds;
    /// 0: not kept, no realised-vol stress).
    pub realised_tau_secs: i64,
    /// That realised vol (annualised, Q32.32 bits; 0 when not kept).
    pub realised_vol_q32: i64,
    /// Where the implied vol comes from: `authority` (published) or `fills` (the market's own
    /// option fills, no vol authority).
    pub vol_source: String,
    /// The implied vol the next crank blends in (annualised, Q32.32 bits), if any.
    pub implied_vol_q32: Option<i64>,
    /// When it was published or last traded.
    pub implied_vol_ts: Option<i64>,
    /// Stable price per contract (native).
    pub stable_price_native: i64,
    /// Last crank.
    pub vol_updated_ts: i64,
    /// Series listed.
    pub series_count: u32,
    /// Quote decimals.
    pub decimals: u8,
}

/// `keel markets`.
#[derive(Clone, Debug, Serialize)]
pub struct Markets {
    /// Markets by index.
    pub markets: Vec<MarketRow>,
}

impl Render for Markets {
    fn render(&self) -> String {
        let mut t = Table::new(&[
            "#",
            "name",
            "address",
            "oracle",
            "size",
            "price/contract",
            "margin vol",
            "implied vol",
            "stable",
            "series",
            "cranked",
        ]);
        for m in &self.markets {
            t.row(vec![
                m.index.to_string(),
                m.name.clone(),
                m.address.clone(),
                format!(
                    "{}{}",
                    m.oracle_kind,
                    if m.oracle_pinned { " (pinned)" } else { "" }
                ),
                m.contract_size.clone(),
                m.price_native
                    .map(|p| money(p, m.decimals))
                    .unwrap_or_else(|| {
                        format!("n/a: {}", m.price_error.clone().unwrap_or_default())
                    }),
                format!(
                    "{}%{}{}",
                    q32(m.margin_vol_q32.saturating_mul(100), 2),
                    if m.range_limit_per_day_q32 == 0 {
                        String::new()
                    } else {
                        format!(
                            " (range {}%, up ≤ {}%/day)",
                            q32(m.range_vol_q32.saturating_mul(100), 2),
                            q32(m.range_limit_per_day_q32.saturating_mul(100), 2)
                        )
                    },
                    if m.realised_tau_secs == 0 {
                        String::new()
                    } else {
                        format!(
                            " (realised {}%)",
                            q32(m.realised_vol_q32.saturating_mul(100), 2)
                        )
                    }
                ),
                match (m.implied_vol_q32, m.implied_vol_ts) {
                    (Some(v), Some(ts)) => format!(
                        "{}% ({}, {})",
                        q32(v.saturating_mul(100), 2),
                        m.vol_source,
                        fmt_time(ts)
                    ),
                    _ => format!("none ({})", m.vol_source),
                },
                money(m.stable_price_native, m.decimals),
                m.series_count.to_string(),
                fmt_time(m.vol_updated_ts),
            ]);
        }
        t.to_string()
    }
}

/// Lists the markets.
pub async fn markets<C: Chain>(env: &Env<C>) -> CliResult<Markets> {
    let snap = env.snapshot().await?;
    let mut markets: Vec<MarketRow> = snap
        .markets
        .values()
        .map(|mv| {
            let m = &mv.market;
            let (price_native, price_error) = match mv.price_native() {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(e.to_string())),
            };
            MarketRow {
                index: m.market_index,
                name: market_name(m),
                address: mv.key.to_string(),
                oracle_kind: if m.oracle.kind == keel_state::market::ORACLE_PYTH_LEGACY {
                    "pyth-legacy"
                } else {
                    "pyth-pull"
                }
                .into(),
                oracle: mv.oracle_key.to_string(),
                oracle_pinned: m.oracle.account != [0; 32],
                contract_size: contract_size(m).to_string(),
                price_native,
                price_error,
                margin_vol_q32: m.vol_state.margin_vol.to_bits(),
                range_vol_q32: m.vol_state.range_sigma().to_bits(),
                range_limit_per_day_q32: m.risk_params.apc_max_rise_per_day.to_bits(),
                realised_tau_secs: m.risk_params.realised_tau_secs,
                realised_vol_q32: m.vol_state.realised_vol.to_bits(),
                vol_source: if m.has_vol_authority() {
                    "authority"
                } else {
                    "fills"
                }
                .into(),
                implied_vol_q32: m.implied().map(|iv| iv.vol.to_bits()),
                implied_vol_ts: m.implied().map(|iv| iv.ts),
                stable_price_native: m.vol_state.stable_price,
                vol_updated_ts: m.vol_state.last_ts,
                series_count: m.series_count,
                decimals: m.quote_decimals,
            }
        })
        .collect();
    markets.sort_by_key(|m| m.index);
    Ok(Markets { markets })
}

/// One series.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesRow {
    /// Address.
    pub address: String,
    /// Label.
    pub label: String,
    /// Market name.
    pub market: String,
    /// Market address.
    pub market_address: String,
    /// Index within the market.
    pub index: u32,
    /// `call`, `put`, `future`.
    pub kind: String,
    /// Strike per contract (native).
    pub strike_native: i64,
    /// Strike per unit of underlying (quote units), where exact.
    pub strike: Option<String>,
    /// Expiry (unix).
    pub expiry_ts: i64,
    /// `active` or `settled`.
    pub status: String,
    /// Open interest.
    pub open_interest_contracts: i64,
    /// Settlement price per contract, once settled.
    pub settlement_price_native: Option<i64>,
    /// The trade band now: (low, mark, high) per contract, native — what `trade` accepts
    /// (`keel_state::trade_band`); absent for a settled series or without a fresh oracle.
    pub band_native: Option<(i64, i64, i64)>,
    /// Quote decimals.
    pub decimals: u8,
}

/// `keel series`.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesList {
    /// Series, by market then index.
    pub series: Vec<SeriesRow>,
}

impl Render for SeriesList {
    fn render(&self) -> String {
        let mut t = Table::new(&[
            "address",
            "series",
            "strike/contract",
            "status",
            "open interest",
            "settled at",
            "band low / mark / high",
        ]);
        for s in &self.series {
            t.row(vec![
                s.address.clone(),
                s.label.clone(),
                if s.kind == "future" {
                    "-".into()
                } else {
                    money(s.strike_native, s.decimals)
                },
                s.status.clone(),
                s.open_interest_contracts.to_string(),
                s.settlement_price_native
                    .map(|p| money(p, s.decimals))
                    .unwrap_or_default(),
                s.band_native
                    .map(|(lo, mark, hi)| {
                        format!(
                            "{} / {} / {}",
                            money(lo, s.decimals),
                            money(mark, s.decimals),
                            money(hi, s.decimals)
                        )
                    })
                    .unwrap_or_default(),
            ]);
        }
        t.to_string()
    }
}

/// Lists the series (of `market` only, if given).
pub async fn series<C: Chain>(env: &Env<C>, market: Option<Pubkey>) -> CliResult<SeriesList> {
    let snap = env.snapshot().await?;
    let mut series: Vec<(u16, SeriesRow)> = snap
        .series
        .iter()
        .filter(|(_, s)| market.is_none_or(|m| m.to_bytes() == s.market))
        .map(|(k, s)| {
            let mk = Pubkey::new_from_array(s.market);
            let m = snap.markets.get(&mk).map(|mv| &mv.market);
            let settled = s.status == keel_state::series::SERIES_SETTLED;
            let band = snap.markets.get(&mk).and_then(|mv| {
                let r = mv.reading().ok()?;
                let kind = s.series_kind()?;
                if settled || snap.now >= s.expiry_ts {
                    return None;
                }
                let b = keel_state::trade_band::band(
                    &mv.market,
                    &r,
                    kind,
                    s.strike_native,
                    s.expiry_ts,
                    snap.now,
                )
                .ok()?;
                Some((b.lo, b.mark, b.hi))
            });
            (
                m.map(|m| m.market_index).unwrap_or(u16::MAX),
                SeriesRow {
                    address: k.to_string(),
                    label: series_label(s, m),
                    market: m.map(market_name).unwrap_or_default(),
                    market_address: mk.to_string(),
                    index: s.series_index,
                    kind: kind_name(s.kind).into(),
                    strike_native: s.strike_native,
                    strike: m.and_then(|m| {
                        (s.kind != 2)
                            .then(|| strike_per_unit(s.strike_native, m))
                            .flatten()
                    }),
                    expiry_ts: s.expiry_ts,
                    status: if settled { "settled" } else { "active" }.into(),
                    open_interest_contracts: s.open_interest_contracts,
                    settlement_price_native: settled.then_some(s.settlement_price_native),
                    band_native: band,
                    decimals: snap.exchange.quote_decimals,
                },
            )
        })
        .collect();
    series.sort_by_key(|(mi, s)| (*mi, s.index));
    Ok(SeriesList {
        series: series.into_iter().map(|(_, s)| s).collect(),
    })
}
