//! `keel margin <account>`: the full breakdown, recomputed off-chain exactly as the program's
//! `margin_report` computes it (keel-state and keel-risk on the same bytes, the risk arrays as
//! stored in the market's pages). When the stored arrays cannot serve a margin check now (not
//! priced at a usable anchor, too old, the price or vol moved), the breakdown is the one the
//! program will compute once `crank_arrays` has run, and says so.

use crate::env::Env;
use crate::error::CliResult;
use crate::names::{interval, market_name, money, q32, series_label};
use crate::output::{kv, Render, Table};
use anchor_lang::prelude::Pubkey;
use keel_client::Chain;
use keel_migrations::units::fmt_time;
use serde::Serialize;

/// One market's part.
#[derive(Clone, Debug, Serialize)]
pub struct MarketPart {
    /// Address.
    pub market: String,
    /// Name.
    pub name: String,
    /// Oracle price per contract.
    pub spot: i64,
    /// Stable price per contract.
    pub stable_spot: i64,
    /// Oracle confidence per contract.
    pub conf: i64,
    /// Margin vol, the scenario grid's (Q32.32 bits).
    pub sigma_q32: i64,
    /// Mark vol, the marks' and greeks' (Q32.32 bits).
    pub mark_sigma_q32: i64,
    /// Realised vol (Q32.32 bits; 0 = none kept): above the margin vol it raises the
    /// liquidation trigger.
    pub realised_sigma_q32: i64,
    /// IM range (log move, Q32.32 bits).
    pub range_q32: i64,
    /// When the market's risk arrays were anchored.
    pub anchor_ts: i64,
    /// The anchor's oracle price per contract (the scenario points are moves of it).
    pub anchor_spot: i64,
    /// The anchor's strike points (listed strikes per contract, ascending).
    pub strike_points: Vec<i64>,
    /// Worst weighted IM loss.
    pub worst_im: i64,
    /// Its interval (its first scenario point).
    pub worst_im_interval: u8,
    /// What that interval is.
    pub worst_im_interval_name: String,
    /// Worst MM loss.
    pub worst_mm: i64,
    /// Its interval.
    pub worst_mm_interval: u8,
    /// What that interval is.
    pub worst_mm_interval_name: String,
    /// Net delta (contracts, Q32.32 bits).
    pub net_delta_q32: i64,
    /// Short option minimum (IM).
    pub short_min_im: i64,
    /// Confidence add-on.
    pub conf_addon: i64,
    /// Impact add-on.
    pub impact_addon: i64,
    /// P&L at each scenario point.
    pub pnl: Vec<i64>,
    /// Per interval (by its first point): how far the longs' value may fall below the chord.
    pub gap: Vec<i64>,
}

/// One position's part.
#[derive(Clone, Debug, Serialize)]
pub struct PositionPart {
    /// Series.
    pub series: String,
    /// Label.
    pub label: String,
    /// Contracts.
    pub qty_contracts: i64,
    /// Mark per contract at the oracle.
    pub mark: i64,
    /// Mark per contract at the stable price.
    pub mark_stable: i64,
    /// Value (MM equity contribution).
    pub value: i64,
    /// Value for IM equity.
    pub value_im: i64,
    /// Delta per contract (Q32.32 bits).
    pub delta_q32: i64,
    /// Gamma per contract (Q32.32 bits).
    pub gamma_q32: i64,
    /// Vega per contract per vol point.
    pub vega: i64,
    /// Theta per contract per day.
    pub theta: i64,
}

/// `keel margin`.
#[derive(Clone, Debug, Serialize)]
pub struct MarginView {
    /// The account.
    pub account: String,
    /// Valuation time.
    pub now: i64,
    /// Quote decimals.
    pub decimals: u8,
    /// Collateral.
    pub collateral: i64,
    /// Equity for MM.
    pub equity_mm: i64,
    /// Equity for IM.
    pub equity_im: i64,
    /// Initial margin.
    pub im: i64,
    /// Maintenance margin.
    pub mm: i64,
    /// equity_im − IM.
    pub health_im: i64,
    /// equity_mm − MM.
    pub health_mm: i64,
    /// Scan loss (IM).
    pub scan_im: i64,
    /// Scan loss (MM).
    pub scan_mm: i64,
    /// Correlation offset (IM).
    pub offset_im: i64,
    /// Σ add-ons.
    pub addons: i64,
    /// Σ short option minimums (IM).
    pub short_min_im: i64,
    /// Σ rounding allowances.
    pub rounding: i64,
    /// What may be withdrawn.
    pub withdrawable: i64,
    /// The equity (MM) below which the account is liquidatable: MM, raised toward IM while vol
    /// is above its reference, and MM and IM read ×k under the realised-vol stress
    /// (`keel_risk::liquidation::trigger_level`, what `liquidate` checks).
    pub liquidation_level: i64,
    /// equity_mm − liquidation_level: below zero a keeper may liquidate.
    pub health_liquidation: i64,
    /// The realised-vol stress k (Q32.32 bits; 1.0 = none) the level reads MM and IM at.
    pub stress_q32: i64,
    /// Below its liquidation level.
    pub liquidatable: bool,
    /// The stored risk arrays cannot serve a margin check now: these figures are the ones after
    /// `keel crank arrays` (which any keeper or trade's sender runs first).
    pub arrays_due: bool,
    /// Per market.
    pub markets: Vec<MarketPart>,
    /// Per position.
    pub positions: Vec<PositionPart>,
}

impl Render for MarginView {
    fn render(&self) -> String {
        let d = self.decimals;
        let m = |v: i64| money(v, d);
        let mut s = format!("margin of {} at {}\n\n", self.account, fmt_time(self.now));
        if self.arrays_due {
            s.push_str(
                "risk arrays due: figures as after `keel crank arrays` (the stored ones are stale)\n\n",
            );
        }
        s.push_str(&kv(&[
            ("collateral", m(self.collateral)),
            ("equity (MM)", m(self.equity_mm)),
            ("equity (IM)", m(self.equity_im)),
            ("initial margin", m(self.im)),
            ("maint. margin", m(self.mm)),
            ("health (IM)", m(self.health_im)),
            ("health (MM)", m(self.health_mm)),
            (
                "  scan IM / MM",
                format!("{} / {}", m(self.scan_im), m(self.scan_mm)),
            ),
            ("  corr. offset", m(self.offset_im)),
            ("  add-ons", m(self.addons)),
            ("  short minimum", m(self.short_min_im)),
            ("  rounding", m(self.rounding)),
            ("withdrawable", m(self.withdrawable)),
            (
                "liquidation level",
                if self.stress_q32 > 1 << 32 {
                    format!(
                        "{} (MM and IM ×{} while realised vol runs ahead)",
                        m(self.liquidation_level),
                        q32(self.stress_q32, 2)
                    )
                } else {
                    m(self.liquidation_level)
                },
            ),
            ("health (liq.)", m(self.health_liquidation)),
            (
                "status",
                if self.liquidatable {
                    "LIQUIDATABLE (below its liquidation level)".into()
                } else if self.health_im < 0 {
                    "below initial margin: only risk-reducing trades".into()
                } else {
                    "healthy".into()
                },
            ),
        ]));
        if !self.markets.is_empty() {
            let mut t = Table::new(&[
                "market",
                "spot",
                "stable",
                "margin vol",
                "mark vol",
                "realised vol",
                "range",
                "anchored",
                "anchor spot",
                "worst IM",
                "IM interval",
                "worst MM",
                "MM interval",
                "net delta",
            ]);
            for k in &self.markets {
                t.row(vec![
                    k.name.clone(),
                    m(k.spot),
                    m(k.stable_spot),
                    format!("{}%", q32(k.sigma_q32.saturating_mul(100), 2)),
                    format!("{}%", q32(k.mark_sigma_q32.saturating_mul(100), 2)),
                    format!("{}%", q32(k.realised_sigma_q32.saturating_mul(100), 2)),
                    q32(k.range_q32, 4),
                    fmt_time(k.anchor_ts),
                    m(k.anchor_spot),
                    m(k.worst_im),
                    k.worst_im_interval_name.clone(),
                    m(k.worst_mm),
                    k.worst_mm_interval_name.clone(),
                    q32(k.net_delta_q32, 4),
                ]);
            }
            s.push('\n');
            s.push_str(&t.to_string());
        }
        if !self.positions.is_empty() {
            let mut t = Table::new(&[
                "position",
                "qty",
                "mark",
                "value",
                "value (IM)",
                "delta",
                "gamma",
                "vega",
                "theta",
            ]);
            for p in &self.positions {
                t.row(vec![
                    p.label.clone(),
                    p.qty_contracts.to_string(),
                    m(p.mark),
                    m(p.value),
                    m(p.value_im),
                    q32(p.delta_q32, 4),
                    q32(p.gamma_q32, 4),
                    m(p.vega),
                    m(p.theta),
                ]);
            }
            s.push('\n');
            s.push_str(&t.to_string());
        }
        s
    }
}

/// The margin breakdown of `account` (default: the signer's account `id`).
pub async fn margin<C: Chain>(
    env: &Env<C>,
    account: Option<Pubkey>,
    id: u32,
) -> CliResult<MarginView> {
    margin_at(env, account, id, None).await
}

/// [`margin`] valued at unix time `at` (default: the cluster's clock).
pub async fn margin_at<C: Chain>(
    env: &Env<C>,
    account: Option<Pubkey>,
    id: u32,
    at: Option<i64>,
) -> CliResult<MarginView> {
    let key = account.unwrap_or_else(|| env.my_account(id));
    let snap = env.snapshot().await?;
    if !snap.accounts.contains_key(&key) {
        env.margin_account(&key).await?; // says what is wrong with the address
    }
    let now = at.unwrap_or(snap.now);
    let (snap, arrays_due) = crate::env::margin_view(&snap, &snap.accounts[&key], now)?;
    let d = snap.margin_detail(&snap.accounts[&key], Some(now))?;
    let r = snap.margin_report(&key, Some(now))?;
    let decimals = snap.exchange.quote_decimals;
    let markets = r
        .markets
        .iter()
        .zip(&d.breakdown.markets)
        .map(|(k, b)| {
            let mv = snap.markets.get(&k.market);
            // The anchor the market's arrays were priced at: its current or previous one.
            let anchor = mv.and_then(|mv| {
                [&mv.market.anchor, &mv.market.prev_anchor]
                    .into_iter()
                    .find(|a| a.ts == k.anchor_ts && a.spot == k.anchor_spot)
            });
            MarketPart {
                market: k.market.to_string(),
                name: mv.map(|mv| market_name(&mv.market)).unwrap_or_default(),
                spot: k.spot,
                stable_spot: k.stable_spot,
                conf: k.conf,
                sigma_q32: k.sigma_q32,
                mark_sigma_q32: k.mark_sigma_q32,
                realised_sigma_q32: k.realised_sigma_q32,
                range_q32: k.range_q32,
                anchor_ts: k.anchor_ts,
                anchor_spot: k.anchor_spot,
                strike_points: b.strikes.iter().copied().filter(|x| *x > 0).collect(),
                worst_im: k.worst_im,
                worst_im_interval: k.worst_im_interval,
                worst_im_interval_name: interval(k.worst_im_interval, anchor, decimals),
                worst_mm: k.worst_mm,
                worst_mm_interval: k.worst_mm_interval,
                worst_mm_interval_name: interval(k.worst_mm_interval, anchor, decimals),
                net_delta_q32: k.net_delta_q32,
                short_min_im: k.short_min_im,
                conf_addon: k.conf_addon,
                impact_addon: k.impact_addon,
                pnl: k.pnl.clone(),
                gap: k.gap.clone(),
            }
        })
        .collect();
    let positions = r
        .positions
        .iter()
        .map(|p| {
            let s = snap.series.get(&p.series);
            let m = s.and_then(|s| snap.markets.get(&Pubkey::new_from_array(s.market)));
            PositionPart {
                series: p.series.to_string(),
                label: s
                    .map(|s| series_label(s, m.map(|m| &m.market)))
                    .unwrap_or_else(|| p.series.to_string()),
                qty_contracts: p.qty_contracts,
                mark: p.mark,
                mark_stable: p.mark_stable,
                value: p.value,
                value_im: p.value_im,
                delta_q32: p.delta_q32,
                gamma_q32: p.gamma_q32,
                vega: p.vega,
                theta: p.theta,
            }
        })
        .collect();
    Ok(MarginView {
        account: key.to_string(),
        now: r.now,
        decimals: snap.exchange.quote_decimals,
        collateral: r.collateral,
        equity_mm: r.equity_mm,
        equity_im: r.equity_im,
        im: r.im,
        mm: r.mm,
        health_im: r.health_im,
        health_mm: r.health_mm,
        scan_im: r.scan_im,
        scan_mm: r.scan_mm,
        offset_im: r.offset_im,
        addons: r.addons,
        short_min_im: r.short_min_im,
        rounding: r.rounding,
        withdrawable: r.withdrawable,
        liquidation_level: r.liquidation_level,
        health_liquidation: r.equity_mm.saturating_sub(r.liquidation_level),
        stress_q32: r.stress_q32,
        liquidatable: r.liquidatable,
        arrays_due,
        markets,
        positions,
    })
}
