//! Prices a real option book with keel-risk on market history and prints its margin breakdown.
//!
//! ```text
//! cargo run --release -p keel-risk --example book [-- --prices ../shared/data/btc_usdt_daily.csv --date 2022-11-09]
//! ```
//!
//! The vol state is built the way the on-chain crank builds it: every close of the CSV up to
//! `--date` is one `VolState::observe`. The book is then margined at that day's close.

use keel_risk::array::{Ladder, LADDERS, MAIN, MINI};
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::liquidation;
use keel_risk::{
    compute, Correlations, LiquidationParams, MarketInput, Portfolio, PositionInput, RiskParams,
    SeriesKind, VolState,
};
use std::error::Error;

const USD: i64 = 1_000_000; // quote native units (6 decimals)
const DAY: i64 = 86_400;

struct Bar {
    date: String,
    ts: i64,
    close: f64,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Howard Hinnant's algorithm: days since 1970-01-01.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_ts(s: &str) -> Result<i64, Box<dyn Error>> {
    let date = &s[..10];
    let mut it = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, d) = (
        it.next().ok_or("date")??,
        it.next().ok_or("date")??,
        it.next().ok_or("date")??,
    );
    let mut ts = days_from_civil(y, m, d) * DAY;
    if s.len() >= 16 {
        ts += s[11..13].parse::<i64>()? * 3600 + s[14..16].parse::<i64>()? * 60;
    }
    Ok(ts)
}

fn load(path: &str) -> Result<Vec<Bar>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("{path}: {e} (the market history lives in ../shared/data; pass --prices <csv>)")
    })?;
    let mut bars = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() < 5 {
            return Err(format!("{path}:{}: expected date,open,high,low,close", i + 1).into());
        }
        let close: f64 = cols[4]
            .parse()
            .map_err(|e| format!("{path}:{}: close: {e}", i + 1))?;
        bars.push(Bar {
            date: cols[0].to_string(),
            ts: parse_ts(cols[0])?,
            close,
        });
    }
    Ok(bars)
}

fn money(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let whole = (a / USD as u64).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", (a % USD as u64) / 10_000)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let path = arg("--prices").unwrap_or_else(|| "../shared/data/btc_usdt_daily.csv".into());
    let bars = load(&path)?;
    let date = arg("--date").unwrap_or_else(|| "2022-11-09".into());
    let end = bars
        .iter()
        .position(|b| b.date.starts_with(&date))
        .unwrap_or(bars.len() - 1);

    // Contract = 0.01 BTC; prices per contract in 6-decimal USD.
    let per_contract = |px: f64| (px * 0.01 * USD as f64).round() as i64;
    let params = RiskParams::DEFAULT;
    let mut vol = VolState::new(per_contract(bars[0].close), bars[0].ts, &params)?;
    // A daily close stands for a price cranked all day: each observation pulls the stable
    // price until the next (no staleness window).
    let pull = i64::MAX;
    for b in &bars[1..=end] {
        vol.observe(per_contract(b.close), b.ts, None, &params, pull)?;
    }
    let now = bars[end].ts;
    let spot = per_contract(bars[end].close);
    // Strikes on a 100 USD/BTC grid (1 USD per 0.01 BTC contract).
    let strike = |m: f64| ((spot as f64 * m) / USD as f64).round() as i64 * USD;
    let market = MarketInput {
        spot,
        stable_spot: vol.stable_price_at(now, &params, pull)?,
        conf: spot / 2_000, // a typical Pyth confidence: 5 bp
        sigma: vol.margin_vol,
        range_sigma: vol.range_sigma(),
        mark_sigma: vol.mark_vol(),
        realised_sigma: vol.realised_vol,
        params: &params,
    };

    // A short-vol book with hedges: straddle, wings, a put spread, a covered call and a future.
    let exp7 = now + 7 * DAY;
    let exp30 = now + 30 * DAY;
    let option = |kind, m: f64, expiry, qty| PositionInput {
        market: 0,
        kind,
        strike: strike(m),
        expiry,
        qty,
        cash: 0,
    };
    let book = [
        option(SeriesKind::Call, 1.0, exp30, -100),
        option(SeriesKind::Put, 1.0, exp30, -100),
        option(SeriesKind::Call, 1.2, exp30, 100),
        option(SeriesKind::Put, 0.8, exp30, 100),
        option(SeriesKind::Put, 0.9, exp7, -50),
        option(SeriesKind::Put, 0.85, exp7, 50),
        option(SeriesKind::Call, 1.1, exp7, -40),
        PositionInput {
            market: 0,
            kind: SeriesKind::Future,
            strike: 0,
            expiry: exp30,
            qty: 40,
            cash: -40 * spot,
        },
    ];
    let collateral = 5_000 * USD;
    let portfolio = Portfolio {
        collateral,
        positions: &book,
        markets: &[market],
        correlations: &Correlations::NONE,
        now,
    };
    let mut b = MarginBreakdown::default();
    compute(&portfolio, &mut b)?;

    println!(
        "Keel margin of an option book on {} ({} closes from {path})",
        bars[end].date,
        end + 1
    );
    println!(
        "  BTC {:.0}  contract 0.01 BTC = {} USD   vol in force {:.1}% (EWMA {:.1}%, GARCH {:.1}%, raw {:.1}%)",
        bars[end].close,
        money(spot),
        vol.margin_vol.to_num::<f64>() * 100.0,
        vol.ewma_var.to_num::<f64>().sqrt() * 100.0,
        vol.garch_var.to_num::<f64>().sqrt() * 100.0,
        vol.raw_vol.to_num::<f64>() * 100.0
    );
    println!(
        "\n  {:<28} {:>6} {:>12} {:>14} {:>8} {:>10} {:>10}",
        "position", "qty", "mark/contr", "value", "delta", "vega", "theta"
    );
    for (pos, pr) in book.iter().zip(b.positions.iter()) {
        let name = match pos.kind {
            SeriesKind::Future => format!("future {}d", (pos.expiry - now) / DAY),
            k => format!(
                "{:?} {} {}d",
                k,
                money(pos.strike * 100).split('.').next().unwrap_or(""),
                (pos.expiry - now) / DAY
            ),
        };
        println!(
            "  {:<28} {:>6} {:>12} {:>14} {:>8.3} {:>10} {:>10}",
            name,
            pos.qty,
            money(pr.mark),
            money(pr.value),
            pr.greeks.delta.to_num::<f64>(),
            money(pr.greeks.vega),
            money(pr.greeks.theta)
        );
    }
    let m = &b.markets[0];
    println!(
        "\n  IM price range ±{:.2}% (log), MM range ±{:.2}%",
        m.range.to_num::<f64>() * 100.0,
        m.range.to_num::<f64>() * 100.0 * params.mm_steps as f64 / 6.0
    );
    // The scenario points: this account's anchor (what `compute` built), its P&L and gaps.
    let anchor = keel_risk::margin::fresh_anchor(&portfolio, 0)?;
    println!("  scenario P&L (vol up | vol down), USD; + the gap a long can fall below its chord:");
    for i in 0..MAIN {
        let strike = anchor.strikes.contains(&anchor.fwd[i]) && anchor.fwd[i] > 0;
        if i > 0 && anchor.ln_move[i] == anchor.ln_move[i - 1] && !strike {
            continue; // an unused strike slot repeating the top point
        }
        println!(
            "    {:>+7.2}%{} {:>14} | {:>14}   gap {:>10} | {:>10}",
            anchor.ln_move[i] as f64 / 4294967296.0 * 100.0,
            if strike { " (strike)" } else { "          " },
            money(m.pnl[i]),
            money(m.pnl[MAIN + i]),
            money(m.gap[i]),
            money(m.gap[MAIN + i])
        );
    }
    let describe = |p: usize| match Ladder::of_point(p) {
        Some((l, _)) => format!(
            "{}, interval from {:+.2}%",
            l.name(),
            anchor.ln_move[p] as f64 / 4294967296.0 * 100.0
        ),
        None => "none".into(),
    };
    for l in &LADDERS[2..] {
        let c = l.start() + MINI / 2;
        println!(
            "    {:<22} move {:>+7.2}%  {:>14}",
            l.name(),
            anchor.ln_move[c] as f64 / 4294967296.0 * 100.0,
            money(m.pnl[c])
        );
    }
    println!("\n  {:<34} {:>16}", "collateral", money(b.collateral));
    println!("  {:<34} {:>16}", "equity (MM basis)", money(b.equity_mm));
    println!(
        "  {:<34} {:>16}",
        "equity (IM basis: stable, haircut)",
        money(b.equity_im)
    );
    println!(
        "  {:<34} {:>16}   worst: {}",
        "scan loss IM",
        money(b.scan_im),
        describe(m.worst_im_interval as usize)
    );
    println!(
        "  {:<34} {:>16}   worst: {}",
        "scan loss MM",
        money(b.scan_mm),
        describe(m.worst_mm_interval as usize)
    );
    println!(
        "  {:<34} {:>16}",
        "add-ons (confidence + impact)",
        money(b.addons)
    );
    println!(
        "  {:<34} {:>16}",
        "short option minimum (IM)",
        money(b.short_min_im)
    );
    println!("  {:<34} {:>16}", "INITIAL MARGIN", money(b.im));
    println!("  {:<34} {:>16}", "MAINTENANCE MARGIN", money(b.mm));
    println!(
        "  {:<34} {:>16}",
        "health (equity − MM)",
        money(b.health_mm())
    );
    println!("  {:<34} {:>16}", "withdrawable", money(b.withdrawable()));
    if b.is_liquidatable() {
        let plan = liquidation::plan(&b, vol.margin_vol, 0, &LiquidationParams::DEFAULT)?;
        println!(
            "  LIQUIDATABLE: take {:.1}% of every position, bonus rate {:.2}%",
            plan.fraction.to_num::<f64>() * 100.0,
            plan.bonus_rate.to_num::<f64>() * 100.0
        );
    }
    Ok(())
}
