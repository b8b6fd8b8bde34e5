//! What the demo reports: a timeline (per bar: price, vols, every trader's equity and margins)
//! and the summary (per account and for the system), as a table or JSON.

use serde::Serialize;

/// Native quote units per USD.
const USD: f64 = 1_000_000.0;

/// Native units as USD.
pub fn usd(native: i64) -> f64 {
    native as f64 / USD
}

/// One trader at one bar.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct AccountSample {
    /// Equity at the oracle, USD.
    pub equity: f64,
    /// Maintenance margin, USD.
    pub mm: f64,
    /// Initial margin, USD.
    pub im: f64,
}

/// One bar.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// Bar close, unix seconds.
    pub ts: i64,
    /// Oracle price, USD per BTC.
    pub price: f64,
    /// The vol in force (margin vol).
    pub margin_vol: f64,
    /// The implied vol published.
    pub implied_vol: f64,
    /// Per trader (in `Summary::accounts` order, traders only).
    pub accounts: Vec<AccountSample>,
    /// Insurance fund, USD.
    pub insurance_fund: f64,
}

/// One liquidation call.
#[derive(Clone, Debug, Serialize)]
pub struct LiquidationRecord {
    /// When.
    pub ts: i64,
    /// Whose account (trader name).
    pub account: String,
    /// Fraction of the book moved.
    pub fraction: f64,
    /// The per-call cap at the time.
    pub fraction_cap: f64,
    /// Bonus rate.
    pub bonus_rate: f64,
    /// Bonus paid, USD.
    pub bonus: f64,
    /// Notional moved: Σ |contracts| × underlying per contract × price, USD.
    pub notional: f64,
    /// Healthy afterwards.
    pub healthy_after: bool,
    /// Price at the time, USD per BTC.
    pub price: f64,
}

/// One bankruptcy.
#[derive(Clone, Debug, Serialize)]
pub struct BankruptcyRecord {
    /// When.
    pub ts: i64,
    /// Whose account.
    pub account: String,
    /// Negative collateral left, USD.
    pub shortfall: f64,
    /// Paid by the insurance fund, USD.
    pub insurance_paid: f64,
    /// Socialised, USD.
    pub socialised: f64,
}

/// One account at the end.
#[derive(Clone, Debug, Serialize)]
pub struct AccountSummary {
    /// Name.
    pub name: String,
    /// What it did.
    pub role: String,
    /// Equity ÷ IM kept at the start (0: not sized).
    pub im_multiple: f64,
    /// Equity at the start, USD.
    pub equity_start: f64,
    /// Equity at the end (pending social-loss share charged), USD.
    pub equity_end: f64,
    /// equity_start − equity_end, USD.
    pub loss: f64,
    /// Highest IM over the run, USD.
    pub peak_im: f64,
    /// Highest MM over the run, USD.
    pub peak_mm: f64,
    /// Liquidation calls suffered.
    pub liquidations: u64,
    /// Bonuses paid to liquidators, USD.
    pub bonus_paid: f64,
    /// Whether it went bankrupt.
    pub bankrupt: bool,
    /// Insurance received, USD.
    pub insurance_received: f64,
    /// Share of socialised losses borne (charged or pending), USD.
    pub socialised_borne: f64,
}

/// The system at the end, in native units (exact) and USD.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SystemSummary {
    /// Liquidation calls.
    pub liquidation_calls: usize,
    /// Notional moved by liquidations, USD.
    pub liquidated_notional: f64,
    /// Bonuses paid, USD.
    pub bonus_paid: f64,
    /// Bankruptcies.
    pub bankruptcies: usize,
    /// Insurance fund at the start (seeded), USD.
    pub insurance_fund_start: f64,
    /// Insurance fund at the end, USD.
    pub insurance_fund_end: f64,
    /// Paid by the fund to bankrupt accounts, USD.
    pub insurance_paid: f64,
    /// Bad debt the fund could not cover, socialised, USD.
    pub bad_debt_socialised: f64,
    /// Volatility cranks sent by the keeper.
    pub cranks: u64,
    /// Risk-array cranks (re-anchors and page pricings) sent by the keeper.
    pub array_cranks: u64,
    /// Settlements sent by the keeper.
    pub settlements: u64,
    /// Highest vol in force.
    pub peak_margin_vol: f64,
    /// The vault's token balance (native).
    pub vault_native: u64,
    /// Σ margin account collateral (native).
    pub total_collateral_native: i64,
    /// Insurance fund (native).
    pub insurance_fund_native: i64,
    /// Fees (native).
    pub fees_native: i64,
    /// Settlement pools (native).
    pub settlement_pools_native: i64,
    /// Socialised losses not yet charged (native).
    pub social_loss_pending_native: i64,
    /// The keeper's P&L and where it came from.
    pub keeper: KeeperPnl,
    /// vault == collateral + insurance + fees + pools − pending, and Σ accounts == the total.
    pub conservation_holds: bool,
}

/// The liquidator's economics: it closes what it takes over after each liquidating pass
/// (`crate::unwind`), so `pnl = bonus_kept − closing_fees + mark_to_market`, the last being what
/// the marks moved between a liquidation and its close (USD).
#[derive(Clone, Debug, Default, Serialize)]
pub struct KeeperPnl {
    /// Equity end − start.
    pub pnl: f64,
    /// Bonuses received, after the insurance fund's share.
    pub bonus_kept: f64,
    /// Taker fees of the closing trades.
    pub closing_fees: f64,
    /// The rest: marks moving between transfer and close.
    pub mark_to_market: f64,
    /// Closing trades sent.
    pub closing_trades: usize,
    /// Positions still open at the end (series that expired before a close settle instead).
    pub positions_left: usize,
}

/// Everything the demo reports.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The chain it ran on, and what of history that chain replays.
    pub chain: String,
    /// The price file.
    pub prices: String,
    /// First and last bar close (UTC).
    pub from: String,
    /// Last bar.
    pub to: String,
    /// Bars replayed.
    pub bars: usize,
    /// The keel-migrations config the exchange was bootstrapped from.
    pub bootstrap_config: String,
    /// Transactions the bootstrap sent (its re-run sent none).
    pub bootstrap_transactions: usize,
    /// Per account: the traders, then the maker and the keeper.
    pub accounts: Vec<AccountSummary>,
    /// The system.
    pub system: SystemSummary,
    /// Liquidation calls.
    pub liquidations: Vec<LiquidationRecord>,
    /// Bankruptcies.
    pub bankruptcies: Vec<BankruptcyRecord>,
    /// The chart (PNG), if fonts and the rasteriser were available; and the SVG.
    pub chart_png: Option<String>,
    /// The chart (SVG).
    pub chart_svg: Option<String>,
    /// Keeper transactions that failed (and chart errors), if any.
    pub keeper_errors: Vec<String>,
    /// Seconds the replay took.
    pub elapsed_secs: f64,
    /// The timeline.
    #[serde(skip)]
    pub timeline: Vec<Sample>,
}

impl Summary {
    /// The summary as text tables.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Keel demo: {} bars of {} ({} .. {}) in {:.1} s\non: {}\n",
            self.bars, self.prices, self.from, self.to, self.elapsed_secs, self.chain
        );
        let _ = writeln!(
            s,
            "{:<10} {:>6} {:>13} {:>13} {:>12} {:>12} {:>12} {:>5} {:>10} {:>9}",
            "account",
            "xIM",
            "equity start",
            "equity end",
            "loss",
            "peak IM",
            "peak MM",
            "liqs",
            "bonus paid",
            "bankrupt"
        );
        for a in &self.accounts {
            let _ = writeln!(
                s,
                "{:<10} {:>6} {:>13.2} {:>13.2} {:>12.2} {:>12.2} {:>12.2} {:>5} {:>10.2} {:>9}",
                a.name,
                if a.im_multiple > 0.0 {
                    format!("{:.2}", a.im_multiple)
                } else {
                    "-".into()
                },
                a.equity_start,
                a.equity_end,
                a.loss,
                a.peak_im,
                a.peak_mm,
                a.liquidations,
                a.bonus_paid,
                if a.bankrupt { "yes" } else { "no" }
            );
        }
        let y = &self.system;
        let _ = writeln!(s);
        let _ = writeln!(s, "liquidation calls        {:>14}", y.liquidation_calls);
        let _ = writeln!(
            s,
            "liquidated notional      {:>14.2} USD",
            y.liquidated_notional
        );
        let _ = writeln!(s, "bonuses paid             {:>14.2} USD", y.bonus_paid);
        let k = &y.keeper;
        let _ = writeln!(
            s,
            "keeper P&L               {:>14.2} USD = bonuses kept {:.2} - closing fees {:.2} + mark-to-market {:.2} ({} closing trades with the maker at mark)",
            k.pnl, k.bonus_kept, k.closing_fees, k.mark_to_market, k.closing_trades
        );
        let _ = writeln!(s, "bankruptcies             {:>14}", y.bankruptcies);
        let _ = writeln!(
            s,
            "insurance fund           {:>14.2} USD (start {:.2}, paid out {:.2})",
            y.insurance_fund_end, y.insurance_fund_start, y.insurance_paid
        );
        let _ = writeln!(
            s,
            "bad debt socialised      {:>14.2} USD",
            y.bad_debt_socialised
        );
        let _ = writeln!(
            s,
            "peak vol in force        {:>13.1}%",
            y.peak_margin_vol * 100.0
        );
        let _ = writeln!(
            s,
            "keeper cranks/settlements {:>6} / {}",
            y.cranks, y.settlements
        );
        let _ = writeln!(s, "keeper risk-array cranks {:>7}", y.array_cranks);
        let _ = writeln!(
            s,
            "vault {} = collateral {} + insurance {} + fees {} + pools {} - pending social loss {}: {}",
            y.vault_native,
            y.total_collateral_native,
            y.insurance_fund_native,
            y.fees_native,
            y.settlement_pools_native,
            y.social_loss_pending_native,
            if y.conservation_holds { "holds" } else { "VIOLATED" }
        );
        let _ = writeln!(
            s,
            "bootstrap: {} transactions from {} (re-run: none)",
            self.bootstrap_transactions, self.bootstrap_config
        );
        if let Some(p) = &self.chart_png {
            let _ = writeln!(s, "chart: {p}");
        } else if let Some(p) = &self.chart_svg {
            let _ = writeln!(s, "chart: {p} (PNG not rendered)");
        }
        s
    }
}
