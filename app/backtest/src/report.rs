//! Writes `report.md`, `report.json` and the charts.

use crate::charts::{self, year, Line, Panel};
use crate::data::DAY;
use crate::forecast::Score;
use crate::metrics::ModelStats;
use crate::run::{Extras, Report};
use std::fmt::Write as _;
use std::path::Path;

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", 100.0 * x)
    } else {
        "–".into()
    }
}

fn signed_pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.0}%", 100.0 * x)
    } else {
        "–".into()
    }
}

fn pv(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn num(x: f64, d: usize) -> String {
    if x.is_finite() {
        format!("{x:.d$}")
    } else {
        "–".into()
    }
}

fn ok(b: bool) -> &'static str {
    if b {
        "✓"
    } else {
        "✗"
    }
}

/// The Markdown report.
pub fn markdown(r: &Report, charts: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Keel backtest report\n");
    let _ = writeln!(
        s,
        "Produced by `{}`. Every Keel margin figure below comes from keel-risk (`keel_risk::compute` on a `VolState` cranked once per bar close, as the program does). Margins are in **market terms**: the capital an account must hold above the market value of its positions at the market's marks (per asset under Inputs: the implied vol of the day where an implied-vol file is given) (Keel: MM + market value − engine value; per-position rules: their add-on above the mark). Liquidation horizon {} h, confidence {}%.\n",
        r.generated_by,
        r.horizon_secs / 3600,
        num(r.confidence * 100.0, 1)
    );
    let _ = writeln!(
        s,
        "Parameters under test: {}.\n",
        r.params
            .iter()
            .map(|(n, v)| format!("`{n}` = {}", num(*v, 3)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let _ = writeln!(s, "## Inputs\n\n| asset | file | bars | interval | from | to | missing bars (gaps) | contract | implied vol | implied-vol feed to the engine | option marks |\n|---|---|---:|---:|---|---|---:|---:|---|---|---|");
    for a in &r.assets {
        let iv = a.iv.as_ref().map_or("–".to_string(), |iv| {
            format!(
                "{} ({} bars, {} .. {}, {} missing{})",
                iv.path,
                iv.bars,
                iv.first,
                iv.last,
                iv.missing_bars,
                if iv.republished {
                    "; republished at every price bar"
                } else {
                    ""
                }
            )
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} s | {} | {} | {} ({}) | {} | {} | {} | {} |",
            a.name,
            a.path,
            a.bars,
            a.interval_secs,
            a.first,
            a.last,
            a.missing_bars,
            a.gap_count,
            a.contract_size,
            iv,
            match (a.vol_feed, r.no_vol_feed) {
                (true, false) => "yes (\"Keel\")",
                (true, true) => "yes (\"Keel\"); none (\"Keel, no vol feed\")",
                (false, _) => "**none**",
            },
            a.marks
        );
    }
    for a in r.assets.iter().filter(|a| !a.marks_are_market) {
        let _ = writeln!(s, "\n**{}: the option books' marks are not market prices.** No implied-vol file was given, so options are marked at a trailing 30-day realised vol (a stand-in) and the engine is given no vol feed: realised losses and margin in market terms are measured against no market, and the bar is not met on this asset whatever its figures. Futures books have no marks and are unaffected.", a.name);
    }
    if r.no_vol_feed {
        let _ = writeln!(s, "\n**Evaluation mode without a vol feed** (`--no-vol-feed`): the market marks options at the implied vol (positions are closed and liquidated at those prices), while the variant \"Keel, no vol feed\" runs the engine with no vol feed — its margin vol comes only from its own historical estimate, as on a market without an implied-vol oracle. It runs on every book beside \"Keel\" (the engine fed the implied vol) and is judged against the same bar.");
    }
    for a in r.assets.iter().filter(|a| a.gap_count > 0) {
        let list: Vec<String> = a
            .gaps
            .iter()
            .take(8)
            .map(|g| format!("{} → {} ({} missing)", g.after, g.before, g.missing))
            .collect();
        let _ = writeln!(
            s,
            "\nGaps in {} (reported, never filled): {}{}",
            a.name,
            list.join("; "),
            if a.gap_count > 8 {
                format!("; … {} more in report.json", a.gap_count - 8)
            } else {
                String::new()
            }
        );
    }

    let b = &r.bar;
    let _ = writeln!(s, "\n## The bar\n\nOn the bar's book (short 30-day ATM straddle re-struck daily, marked at the market's marks; a book whose marks are not market prices does not meet the bar): exceedance rate ≤ {}, Kupiec and Christoffersen p > {}, average margin ≤ {}× realised ES{}, largest 5-day margin rise ≤ {} {}. The other measure of the rise is shown in brackets: {}\n", pct(b.max_rate), b.min_p, b.max_ratio, num(r.confidence * 100.0, 0), signed_pct(b.max_rise_5d), if b.rise_per_notional { "per unit of notional (margin as a fraction of the book's notional; the price's own move taken out)" } else { "in quote units (a fixed number of contracts)" }, if b.rise_per_notional { "in quote units, a margin proportional to the price rises as much as the price does, and a margin that doubles per notional while the price halves shows no rise." } else { "per unit of notional." });
    let _ = writeln!(s, "| asset | Keel variant | implied-vol feed to the engine | marks are market prices | exceedances | rate | Kupiec p | Christoffersen p | margin / ES | max 5-day rise (other measure) | margin ≤ 0 (test days) | passes | why not |\n|---|---|:-:|:-:|---:|---:|---:|---:|---:|---:|---:|:-:|---|");
    for c in &r.bar_checks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {}/{} {} | {} | {} {} | {} {} | {} {} | {} {} ({}) | {} | **{}** | {} |",
            c.asset,
            c.model,
            if c.vol_feed { "yes" } else { "no" },
            if c.marks_are_market { "yes" } else { "**no**" },
            c.exceedances,
            c.n,
            ok(c.rate <= b.max_rate),
            pct(c.rate),
            pv(c.kupiec_p),
            ok(c.kupiec_p > b.min_p),
            pv(c.christoffersen_p),
            ok(c.christoffersen_p > b.min_p),
            num(c.ratio, 2),
            ok(c.ratio <= b.max_ratio),
            signed_pct(c.max_rise_5d),
            ok(c.max_rise_5d <= b.max_rise_5d),
            signed_pct(if b.rise_per_notional {
                c.max_rise_5d_quote
            } else {
                c.max_rise_5d_per_notional
            }),
            c.nonpositive,
            if c.pass { "yes" } else { "no" },
            if c.reason.is_empty() { "–" } else { &c.reason }
        );
    }
    for c in r.bar_checks.iter().filter(|c| c.nonpositive > 0) {
        let _ = writeln!(s, "\n{} ({}): the margin in market terms was ≤ 0 on {} of {} test days — the engine marked the book above the market by more than its MM — so its ratios there, the 5-day rise among them, are not meaningful.", c.asset, c.model, c.nonpositive, c.n);
    }
    if r.no_vol_feed {
        let _ = writeln!(s, "\n### Every book with and without the vol feed\n\nAll marked at the implied vol; \"fed\": the engine given the implied vol (\"Keel\"); \"no feed\": the engine given no vol feed (\"Keel, no vol feed\"); \"fills\": no vol feed, the implied vol discovered from the market's own option fills at the marks (\"Keel, fill-implied vol\": one 30-day at-the-money fill before every crank, keel-risk `vol::fills` limits). Margin ≤ 0: test days on which the margin in market terms was ≤ 0.\n\n| book | assets | run | x/n | rate | Kupiec p | Chr. p | margin / ES | max 5d rise per notional (quote) | margin ≤ 0 |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for book in &r.books {
            for (label, name) in [
                ("fed", "Keel"),
                ("no feed", crate::run::NO_FEED),
                ("fills", crate::run::FILLS),
            ] {
                let Some(m) = book.models.iter().find(|m| m.model == name) else {
                    continue;
                };
                let c = &m.coverage;
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {}/{} | {} | {} | {} | {} | {} ({}) | {} |",
                    book.book,
                    book.assets.join(" + "),
                    label,
                    c.exceedances,
                    c.n,
                    pct(c.rate),
                    pv(c.kupiec.p),
                    pv(c.christoffersen.p),
                    num(m.efficiency.ratio, 2),
                    signed_pct(m.procyclicality.max_rise_5d_per_notional),
                    signed_pct(m.procyclicality.max_rise_5d),
                    c.nonpositive
                );
            }
        }
    }

    let _ = writeln!(s, "\n## Coverage, efficiency and procyclicality per book\n\nTest sample: one observation per horizon (non-overlapping). `x/n`: exceedances (realised loss over the horizon > margin at its start). Zone: Basel traffic light by the cumulative-binomial rule on the whole sample, and on the worst 250 consecutive observations. Efficiency: average margin and realised tail as % of underlying notional; *held on tail days*: the model's average margin on the days that make up the realised ES. Procyclicality: peak/trough and the largest 1-day and 5-day rises of the margin in quote units for a fixed number of contracts, and the largest 5-day rise of the margin per unit of notional (the price's own move taken out; what the bar judges).\n");
    for book in &r.books {
        let _ = writeln!(
            s,
            "### {} — {} ({}; {} .. {})\n",
            book.book,
            book.description,
            book.assets.join(" + "),
            book.from.as_deref().unwrap_or("–"),
            book.to.as_deref().unwrap_or("–")
        );
        if book.skipped_no_bar + book.skipped_no_mark > 0 {
            let _ = writeln!(s, "Skipped evaluation times: {} without a bar one horizon later (missing data), {} without an implied vol to mark at.\n", book.skipped_no_bar, book.skipped_no_mark);
        }
        let _ = writeln!(s, "| model | x/n | rate | Kupiec p | Chr. p | CC p | zone | worst 250 | worst excess | avg margin | ES | held on tail days | margin/ES | peak/trough | max 1d | max 5d | max 5d per notional |\n|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for m in book.models.iter().filter(|m| m.coverage.n > 0) {
            model_row(&mut s, m);
        }
        for m in book.models.iter().filter(|m| m.coverage.nonpositive > 0) {
            let _ = writeln!(s, "\n{}: on {} of {} test days the margin in market terms was ≤ 0 — the engine marked the book above the market by more than its MM (its vol in force far from the implied vol), so the account held nothing above market value; ratios against such days (rises, peak/trough) are not meaningful.", m.model, m.coverage.nonpositive, m.coverage.n);
        }
        let keel: Vec<&ModelStats> = book
            .models
            .iter()
            .filter(|m| {
                m.model == "Keel"
                    || m.model == crate::run::NO_APC
                    || m.model == crate::run::APC_BUFFER
                    || m.model == "Deribit standard"
            })
            .filter(|m| m.coverage.n > 0)
            .collect();
        if !keel.is_empty() && !keel[0].windows.is_empty() {
            let _ = writeln!(s, "\nIn stress windows (average margin as % of notional; largest 5-day rise per notional and, in brackets, in quote units, of rises ending inside the window; calm = outside every window):\n\n| window | {} |\n|---|{}", keel.iter().map(|m| format!("{}: x/n, avg, max 5d", m.model)).collect::<Vec<_>>().join(" | "), "---|".repeat(keel.len()));
            for (k, w) in keel[0].windows.iter().enumerate() {
                let cells: Vec<String> = keel
                    .iter()
                    .map(|m| {
                        let w = &m.windows[k];
                        format!(
                            "{}/{}, {}, {} ({})",
                            w.exceedances,
                            w.n,
                            pct(w.avg_margin),
                            signed_pct(w.procyclicality.max_rise_5d_per_notional),
                            signed_pct(w.procyclicality.max_rise_5d)
                        )
                    })
                    .collect();
                let _ = writeln!(s, "| {} | {} |", w.name, cells.join(" | "));
            }
        }
        let _ = writeln!(s);
    }

    if !r.forecasting.is_empty() {
        let _ = writeln!(s, "## Volatility forecasting\n\nTarget: next period's realised variance (intraday bars: Σ r²; daily bars: Garman–Klass + open gap), annualised. Walk-forward: each model is refitted on data up to t only, every few periods, and forecasts t + 1. The evaluation sample (every model forecasts, target present) is split in halves: the model is **chosen on the first** and **reported on the second**. DM: Diebold–Mariano on the loss differential against HAR-RV (negative = better than HAR-RV), Newey–West variance.\n");
        for st in &r.forecasting {
            let _ = writeln!(s, "### {}\n\n{} periods ({} with missing bars, not filled); min training {}; refit every {}; evaluated {} forecasts, {} .. {}. Chosen: **{}** — {}.\n", st.asset, st.periods, st.incomplete_periods, st.min_train, st.refit_every, st.evaluated, st.from.as_deref().unwrap_or("–"), st.to.as_deref().unwrap_or("–"), st.chosen, st.choice_reason);
            let _ = writeln!(s, "| model | QLIKE (selection) | QLIKE (test) | DM vs HAR (test) | p | MSE (test) | DM MSE p |\n|---|---:|---:|---:|---:|---:|---:|");
            for (a, t) in st.selection.iter().zip(&st.test) {
                score_row(&mut s, a, t);
            }
            if let Some(c) = &st.har_coefficients {
                let _ = writeln!(
                    s,
                    "\nHAR-RV on the whole history: RV(t+1) = {} + {}·RV_d + {}·RV_w + {}·RV_m.",
                    num(c[0], 4),
                    num(c[1], 3),
                    num(c[2], 3),
                    num(c[3], 3)
                );
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "#### Each forecaster driving margin through the vol feed\n\nThe forecast (√ of the variance forecast) is published to the vol feed at each period end, in place of the implied vol; same parameters otherwise.\n");
        let _ = writeln!(s, "| book | asset | vol feed | x/n | Kupiec p | Chr. p | margin/ES | max 5d rise per notional (quote) |\n|---|---|---|---:|---:|---:|---:|---:|");
        for book in r
            .books
            .iter()
            .filter(|b| b.book == "short_straddle" || b.book == "long_future")
        {
            for m in book
                .models
                .iter()
                .filter(|m| m.coverage.n > 0 && (m.model == "Keel" || m.model.starts_with("Keel,")))
            {
                let feed = if m.model == "Keel" {
                    "implied vol file (production)".to_string()
                } else {
                    m.model.trim_start_matches("Keel, ").to_string()
                };
                let c = &m.coverage;
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {}/{} | {} | {} | {} | {} ({}) |",
                    book.book,
                    book.assets[0],
                    feed,
                    c.exceedances,
                    c.n,
                    pv(c.kupiec.p),
                    pv(c.christoffersen.p),
                    num(m.efficiency.ratio, 2),
                    signed_pct(m.procyclicality.max_rise_5d_per_notional),
                    signed_pct(m.procyclicality.max_rise_5d)
                );
            }
        }
        let _ = writeln!(s);
    }

    if !r.cascade.is_empty() {
        let _ = writeln!(s, "## Liquidation cascades\n\nA population of accounts (half leveraged long futures, 30% short 90% puts, 20% short straddles; collateral 1.05–3× initial margin) opens a few days before each window; keepers call every liquidatable account once per round (several rounds per bar); the delta liquidators take over is hedged in the market and moves the price by the square-root law (Δln P = −Y·σ_day·√(Q/ADV), decaying with a one-day half-life); the moved price is what the oracle, the vol crank and every other account see.\n");
        let _ = writeln!(s, "| window | asset | regime | accounts liquidated | calls | liquidated notional | max impact | trough vs history | bankruptcies | bad debt | insurance used | socialised | liquidator bonus | liquidator MTM |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for w in &r.cascade {
            for g in &w.regimes {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {:.3}% | {:.3}% | {:.3}% | {:+.3}% | {:+.3}% |",
                    w.window,
                    w.asset,
                    g.regime,
                    g.accounts_liquidated,
                    w.accounts,
                    g.calls,
                    pct(g.liquidated_frac),
                    pct(g.max_impact),
                    signed_pct(g.trough_vs_history),
                    g.bankruptcies,
                    100.0 * g.bad_debt / w.notional,
                    100.0 * g.insurance_used / w.notional,
                    100.0 * g.socialised / w.notional,
                    100.0 * g.liquidator_bonus / w.notional,
                    100.0 * g.liquidator_mtm / w.notional
                );
            }
        }
        let _ = writeln!(
            s,
            "\nNotional-based figures are % of the population's starting notional. The liquidators' P&L: the bonuses they kept (after the insurance share) and the mark-to-market at the window's end of everything they took over, delta-hedged at the end of every keeper round.\n"
        );
        let _ = writeln!(s, "### Liquidators who close each round\n\nThe same takeovers, each round's closed at the next round's price (at the engine's marks; the window's last marks for the last), delta-hedged from each take; % of notional.\n\n| window | asset | regime | bonus kept | closing P&L | bonus + closing |\n|---|---|---|---:|---:|---:|");
        for w in &r.cascade {
            for g in &w.regimes {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:+.3}% | {:+.3}% | {:+.3}% |",
                    w.window,
                    w.asset,
                    g.regime,
                    100.0 * g.liquidator_bonus / w.notional,
                    100.0 * g.liquidator_closing_pnl / w.notional,
                    100.0 * (g.liquidator_bonus + g.liquidator_closing_pnl) / w.notional
                );
            }
        }
        let _ = writeln!(s);
    }

    if !r.throughput.is_empty() || !r.throughput_capacity.is_empty() {
        throughput_section(&mut s, r);
    }

    if !r.stress.is_empty() {
        let _ = writeln!(s, "## Realised-vol stress of the liquidation trigger

At every bar of the whole file (once a realised vol exists), k = min(realised/margin vol, `realised_stress_cap`) ≥ 1: liquidation reads MM and IM ×k (docs/liquidation.md §1). The realised vol is an EWMA of the crank's returns at this file's bar spacing; an on-chain crank every minute would see a noisier one.\n");
        let _ = writeln!(s, "| asset | bars | k > 1 | k ≥ 1.5 | k at the cap | k > 1 outside the stress windows | mean k when > 1 | longest stretch with k > 1 |\n|---|---:|---:|---:|---:|---:|---:|---:|");
        for t in &r.stress {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} h |",
                t.asset,
                t.bars,
                pct(t.above_one),
                pct(t.from_1_5),
                pct(t.at_cap),
                pct(t.above_one_outside),
                num(t.mean_when_above, 2),
                num(t.longest_hours, 0)
            );
        }
        let _ = writeln!(s);
    }

    if !charts.is_empty() {
        let _ = writeln!(s, "## Charts\n");
        for c in charts {
            let _ = writeln!(s, "- [{c}]({c})");
        }
        let _ = writeln!(s);
    }
    let t = &r.timings;
    let _ = writeln!(s, "## Run time\n\nForecasting {:.2} s, coverage replay {:.2} s, cascades {:.2} s (wall clock, this run).", t.forecasting, t.coverage, t.cascade);
    if let Some(tt) = t.throughput {
        let _ = writeln!(s, "Throughput study {tt:.2} s.");
    }
    s
}

/// Population size, short (1e5 → "100k").
fn population(p: f64) -> String {
    if p >= 1e6 {
        format!("{}M", p / 1e6)
    } else if p >= 1e3 {
        format!("{}k", p / 1e3)
    } else {
        format!("{p}")
    }
}

/// "## Throughput: the chain's limits": capacity per layout, then per window the cascade's bad
/// debt and bankruptcies against the population size.
fn throughput_section(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Throughput: the chain's limits\n\nAgave 4.2.2's cost model: a block holds 60M CU of transaction cost, the transactions writing one account 24M; a transaction costs its *requested* CU limit + 720 per signature + 300 per writable account + 16,384 (64 MiB loaded-data default) + data bytes/4. **Today** (the program before its ledger shards): every `liquidate` and `trade` writes the one Exchange account. **Sharded** (the program now): they take the Exchange read-only and write one of 4 ledger shards, and each liquidation still writes the series its liquidatee holds, so liquidations in one series share that series' 24M (applied per series in the runs; the sharded \"waits above\" counts every call against one series' capacity, a lower bound). In both, a keeper's calls all write its own margin account. Liquidation calls the chain can land:\n");
    let _ = writeln!(s, "| liquidate request | CU requested | cost in block | competing trades / slot | keepers | today / slot | today / s | sharded / slot | sharded / s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in &r.throughput_capacity {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {} | {:.1} |",
            c.request,
            c.liquidate_cu,
            c.liquidate_cost,
            c.trades_per_slot,
            c.keepers,
            c.today_per_slot,
            c.today_per_sec,
            c.sharded_per_slot,
            c.sharded_per_sec
        );
    }
    if let Some(t) = r.throughput.first() {
        let ch = &t.chain;
        let _ = writeln!(s, "\nThe cascade under these limits: each simulated account stands for population/{} identical accounts holding the same open interest (so the unconstrained cascade does not depend on the population); a keeper round lands at most the chain's capacity over the round less the keeper latency, and the liquidatable accounts beyond it wait, served first in the next round (the longest-waiting first), while the price moves on along the bar's path. Settings: `liquidate` requests {} CU (cost {}), {} competing trades per slot at {} CU, {} keepers, keeper latency {} s, block share {}; bars whose path spans ≥ {:.0}% (log) are split into keeper rounds of {} s. Capacity: today {:.1} calls/s, sharded {:.1} calls/s. Bad debt is % of the population's starting notional; \"breaks at\" is the smallest population of the grid whose bad debt exceeds the unconstrained run's by more than {:.4}% of notional; \"waits above\" is the largest population the chain serves without any account waiting, from the unconstrained run's peak demand (populations up to it are the unconstrained run, not re-simulated).\n",
            r.cascade.first().map_or(200, |w| w.accounts),
            ch.liquidate.requested_cu,
            ch.liquidate.cost(),
            ch.trades_per_slot,
            ch.trade.requested_cu,
            ch.keepers,
            ch.keeper_latency_secs,
            ch.block_share,
            100.0 * t.fine_range,
            t.fine_round_secs,
            t.today_per_sec,
            t.sharded_per_sec,
            100.0 * crate::cascade::BREAK_TOLERANCE,
        );
    }
    for t in &r.throughput {
        let _ = writeln!(
            s,
            "### {} on {}\n\nPopulation notional {:.0} (quote units): {:.0} per account at 1k accounts, {:.0} at 100k.\n",
            t.window,
            t.asset,
            t.notional_quote,
            t.notional_quote / 1e3,
            t.notional_quote / 1e5
        );
        let _ = writeln!(s, "| regime | layout | peak demand (calls/s per 1000 accounts) | waits above | bad debt breaks at | population: bad debt (bankrupt accounts) |\n|---|---|---:|---:|---|---|");
        for rf in &t.reference {
            let _ = writeln!(
                s,
                "| {} | unconstrained | | | — | any: {:.4}% ({:.1}% of accounts) |",
                rf.regime,
                100.0 * rf.bad_debt_frac,
                100.0 * rf.bankrupt_frac
            );
            for b in t.breaks.iter().filter(|b| b.regime == rf.regime) {
                let at = match (b.population, b.last_unbroken) {
                    (Some(p), Some(q)) => format!("{} (not at {})", population(p), population(q)),
                    (Some(p), None) => format!("≤ {}", population(p)),
                    (None, _) => "not in the grid".to_string(),
                };
                let cells: Vec<String> = t
                    .points
                    .iter()
                    .filter(|p| p.layout == b.layout && p.regime == rf.regime)
                    .map(|p| {
                        format!(
                            "{}: {:.4}% ({:.1}%)",
                            population(p.population),
                            100.0 * p.bad_debt_frac,
                            100.0 * p.bankrupt_frac
                        )
                    })
                    .collect();
                let (peak, n_star) = t
                    .critical
                    .iter()
                    .find(|c| c.layout == b.layout && c.regime == rf.regime)
                    .map_or((0.0, f64::INFINITY), |c| {
                        (c.peak_calls_per_sec_per_1000, c.population)
                    });
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.2} | {} | {} | {} |",
                    rf.regime,
                    b.layout,
                    peak,
                    if n_star.is_finite() {
                        format!("{n_star:.0}")
                    } else {
                        "never".into()
                    },
                    at,
                    cells.join("; ")
                );
            }
        }
        // What the read-only series path buys: the share of series transfers that only read
        // their series, at the largest population simulated in the program's layout.
        let read_only: Vec<String> = t
            .reference
            .iter()
            .filter_map(|rf| {
                t.points
                    .iter()
                    .filter(|p| {
                        p.simulated
                            && p.regime == rf.regime
                            && p.layout == crate::chain::Layout::Sharded.name()
                    })
                    .max_by(|a, b| a.population.total_cmp(&b.population))
                    .map(|p| {
                        format!(
                            "{} {:.1}% (at {})",
                            rf.regime,
                            100.0 * p.series_read_only_frac,
                            population(p.population)
                        )
                    })
            })
            .collect();
        if !read_only.is_empty() {
            let _ = writeln!(
                s,
                "\nSeries transfers that only read their series (ledger shards): {}.",
                read_only.join("; ")
            );
        }
        let worst = t
            .points
            .iter()
            .max_by(|a, b| a.longest_wait_secs.cmp(&b.longest_wait_secs));
        if let Some(w) = worst {
            let _ = writeln!(
                s,
                "\nLongest wait for a call: {} s ({}, {}, population {}; at most {:.0} accounts waiting at a round's end).\n",
                w.longest_wait_secs,
                w.regime,
                w.layout,
                population(w.population),
                w.max_waiting
            );
        }
    }
}

fn model_row(s: &mut String, m: &ModelStats) {
    let c = &m.coverage;
    let e = &m.efficiency;
    let p = &m.procyclicality;
    let _ = writeln!(
        s,
        "| {} | {}/{} | {} | {} | {} | {} | {:?} | {} ({:?}) | {}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
        m.model,
        c.exceedances,
        c.n,
        pct(c.rate),
        pv(c.kupiec.p),
        pv(c.christoffersen.p),
        pv(c.conditional.p),
        c.zone,
        c.worst_250,
        c.worst_250_zone,
        pct(c.worst_excess),
        c.worst_date.as_ref().map_or(String::new(), |d| format!(" ({d})")),
        pct(e.avg_margin),
        pct(e.realised_es),
        pct(e.model_es),
        num(e.ratio, 2),
        num(p.peak_to_trough, 1),
        signed_pct(p.max_rise_1d),
        signed_pct(p.max_rise_5d),
        signed_pct(p.max_rise_5d_per_notional)
    );
}

fn score_row(s: &mut String, sel: &Score, t: &Score) {
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} |",
        t.model,
        num(sel.qlike, 4),
        num(t.qlike, 4),
        num(t.dm_qlike.stat, 2),
        pv(t.dm_qlike.p),
        num(t.mse, 4),
        pv(t.dm_mse.p)
    );
}

/// Writes every chart into `dir/charts`; returns their paths relative to `dir`.
pub fn write_charts(
    dir: &Path,
    r: &Report,
    x: &Extras,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let cdir = dir.join("charts");
    std::fs::create_dir_all(&cdir)?;
    let mut out = Vec::new();
    // Price and vols per asset.
    for (a, (keel, noapc)) in r.assets.iter().zip(&x.states) {
        let price = Panel {
            title: format!("{}: close", a.name),
            y_label: "price (log)".into(),
            log_y: true,
            time_x: true,
            lines: vec![Line {
                name: "close (per contract)".into(),
                color: 0,
                points: keel
                    .iter()
                    .map(|s| (year(s.last_ts), s.last_price as f64 / crate::engine::QUOTE))
                    .collect(),
            }],
            ..Default::default()
        };
        let vols = Panel {
            title: format!("{}: volatility", a.name),
            y_label: "annualised vol".into(),
            time_x: true,
            lines: vec![
                Line {
                    name: "Keel margin vol".into(),
                    color: 1,
                    points: keel
                        .iter()
                        .map(|s| (year(s.last_ts), s.margin_vol.to_num()))
                        .collect(),
                },
                Line {
                    name: "margin vol without APC".into(),
                    color: 6,
                    points: noapc
                        .iter()
                        .map(|s| (year(s.last_ts), s.margin_vol.to_num()))
                        .collect(),
                },
                Line {
                    name: "EWMA/GARCH (historical)".into(),
                    color: 2,
                    points: keel
                        .iter()
                        .map(|s| (year(s.last_ts), s.hist_vol.to_num()))
                        .collect(),
                },
                Line {
                    name: "vol in force before APC (with feed)".into(),
                    color: 3,
                    points: keel
                        .iter()
                        .map(|s| (year(s.last_ts), s.raw_vol.to_num()))
                        .collect(),
                },
            ],
            ..Default::default()
        };
        let name = format!("charts/price_vol_{}.svg", a.name);
        charts::draw(&dir.join(&name), &[price, vols], 1200, 380)?;
        out.push(name);
    }
    // Margins with exceedances for the focus books.
    for run in x.runs.iter().filter(|b| {
        b.spec.name == "short_straddle"
            || b.spec.name == "long_future"
            || b.spec.name == "mixed_book"
    }) {
        if run.points.is_empty() {
            continue;
        }
        let wanted = [
            "Keel",
            crate::run::NO_APC,
            "Deribit standard",
            "static 10%",
            "naive 3σ EWMA grid",
        ];
        let mut lines = Vec::new();
        for (color, w) in wanted.iter().enumerate() {
            if let Some(j) = run.model_names.iter().position(|n| n == w) {
                let pts: Vec<(f64, f64)> = run
                    .points
                    .iter()
                    .filter(|p| p.margin[j].is_finite())
                    .map(|p| (year(p.ts), 100.0 * p.margin[j] / p.notional))
                    .collect();
                if !pts.is_empty() {
                    lines.push(Line {
                        name: w.to_string(),
                        color: [0, 6, 2, 4, 3][color],
                        points: pts,
                    });
                }
            }
        }
        let loss = Line {
            name: "realised loss over the horizon".into(),
            color: 7,
            points: run
                .points
                .iter()
                .map(|p| (year(p.ts), 100.0 * p.loss / p.notional))
                .collect(),
        };
        let j = run
            .model_names
            .iter()
            .position(|n| n == "Keel")
            .unwrap_or(0);
        let exc = Line {
            name: "Keel exceedance".into(),
            color: 1,
            points: run
                .points
                .iter()
                .filter(|p| p.loss > p.margin[j])
                .map(|p| (year(p.ts), 100.0 * p.loss / p.notional))
                .collect(),
        };
        let margin = Panel {
            title: format!(
                "{} on {}: margin in market terms vs realised loss",
                run.spec.name,
                run.assets.join("+")
            ),
            y_label: "% of notional".into(),
            time_x: true,
            lines: lines.clone(),
            dots: vec![exc],
            ..Default::default()
        };
        let realised = Panel {
            title: "realised loss over the horizon (positive = loss)".into(),
            y_label: "% of notional".into(),
            time_x: true,
            lines: vec![loss],
            ..Default::default()
        };
        // Margin in quote units (a fixed number of contracts): what procyclicality measures.
        let usd: Vec<Line> = lines
            .iter()
            .map(|l| {
                let j = run
                    .model_names
                    .iter()
                    .position(|n| *n == l.name)
                    .unwrap_or(0);
                Line {
                    name: l.name.clone(),
                    color: l.color,
                    points: run
                        .points
                        .iter()
                        .filter(|p| p.margin[j].is_finite() && p.margin[j] > 0.0)
                        .map(|p| (year(p.ts), p.margin[j] / crate::engine::QUOTE))
                        .collect(),
                }
            })
            .collect();
        let quote = Panel {
            title: "margin in quote units (fixed contracts, log scale)".into(),
            y_label: "quote".into(),
            log_y: true,
            time_x: true,
            lines: usd,
            ..Default::default()
        };
        let name = format!(
            "charts/margin_{}_{}.svg",
            run.spec.name,
            run.assets.join("+")
        );
        charts::draw(&dir.join(&name), &[margin, realised, quote], 1200, 380)?;
        out.push(name);
    }
    // Forecasts.
    for (st, (periods, fc)) in r.forecasting.iter().zip(&x.forecasts) {
        let k = st.models.iter().position(|m| *m == st.chosen).unwrap_or(0);
        let e = st.models.iter().position(|m| m == "EWMA").unwrap_or(0);
        let line = |name: &str, color, m: usize| Line {
            name: name.to_string(),
            color,
            points: (0..periods.len())
                .filter_map(|t| Some((year(periods.get(t + 1)?.ts), fc[m][t]?.sqrt())))
                .collect(),
        };
        let realised = Line {
            name: "realised (√RV)".into(),
            color: 6,
            points: periods
                .iter()
                .filter_map(|p| Some((year(p.ts), p.rv?.sqrt())))
                .collect(),
        };
        let panel = Panel {
            title: format!("{}: next-period vol forecasts vs realised", st.asset),
            y_label: "annualised vol".into(),
            log_y: true,
            time_x: true,
            lines: vec![
                realised,
                line("EWMA", 2, e),
                line(&format!("{} (chosen)", st.chosen), 1, k),
            ],
            ..Default::default()
        };
        let name = format!("charts/forecast_{}.svg", st.asset);
        charts::draw(&dir.join(&name), &[panel], 1200, 420)?;
        out.push(name);
    }
    // Cascades.
    for w in &r.cascade {
        let mut lines = vec![Line {
            name: "historical".into(),
            color: 6,
            points: w
                .paths
                .iter()
                .map(|(t, h, _)| ((t - w.paths[0].0) as f64 / DAY as f64, *h))
                .collect(),
        }];
        for (k, g) in w.regimes.iter().enumerate() {
            lines.push(Line {
                name: g.regime.clone(),
                color: [0, 1, 3][k % 3],
                points: w
                    .paths
                    .iter()
                    .filter_map(|(t, _, v)| {
                        Some(((t - w.paths[0].0) as f64 / DAY as f64, *v.get(k)?))
                    })
                    .collect(),
            });
        }
        let panel = Panel {
            title: format!(
                "cascade {} on {}: price with liquidation impact",
                w.window, w.asset
            ),
            y_label: "price".into(),
            lines,
            ..Default::default()
        };
        let name = format!(
            "charts/cascade_{}_{}.svg",
            w.asset,
            w.window.replace([' ', '/'], "_")
        );
        charts::draw(&dir.join(&name), &[panel], 1100, 420)?;
        out.push(name);
    }
    Ok(out)
}

/// Writes the per-time series behind the tables as CSV under `dir/series/`: per book every
/// evaluation time (notional, realised loss, each model's margin in market terms, Keel's MM and
/// IM per variant), and per asset the vol state of the main Keel variant and of Keel without
/// APC after every bar. Money in quote units.
pub fn write_series(dir: &Path, r: &Report, x: &Extras) -> Result<(), Box<dyn std::error::Error>> {
    let sdir = dir.join("series");
    std::fs::create_dir_all(&sdir)?;
    let q = crate::engine::QUOTE;
    let cell = |v: f64| {
        if v.is_finite() {
            format!("{:.6}", v / q)
        } else {
            String::new()
        }
    };
    for run in &x.runs {
        let mut s = String::from("ts,date,notional,loss");
        for n in &run.model_names {
            let _ = write!(s, ",\"margin: {}\"", n.replace('"', "'"));
        }
        for v in &r.variants {
            let _ = write!(s, ",\"MM: {v}\",\"IM: {v}\"");
        }
        s.push('\n');
        let intraday = run.points.windows(2).any(|w| w[1].ts - w[0].ts < DAY);
        for p in &run.points {
            let _ = write!(
                s,
                "{},{},{},{}",
                p.ts,
                crate::data::format_ts(p.ts, intraday),
                cell(p.notional),
                cell(p.loss)
            );
            for m in &p.margin {
                let _ = write!(s, ",{}", cell(*m));
            }
            for (mm, im) in p.keel_mm.iter().zip(&p.keel_im) {
                let _ = write!(s, ",{},{}", cell(*mm), cell(*im));
            }
            s.push('\n');
        }
        let name = format!("{}_{}.csv", run.spec.name, run.assets.join("+"));
        std::fs::write(sdir.join(name), s)?;
    }
    for (a, (keel, noapc)) in r.assets.iter().zip(&x.states) {
        let mut s = String::from(
            "ts,date,close_per_contract,ewma_vol,garch_vol,hist_vol,raw_vol,margin_vol,margin_vol_without_apc\n",
        );
        let intraday = a.interval_secs < DAY;
        for (k, n) in keel.iter().zip(noapc) {
            let _ = writeln!(
                s,
                "{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6}",
                k.last_ts,
                crate::data::format_ts(k.last_ts, intraday),
                k.last_price as f64 / q,
                k.ewma_var.to_num::<f64>().max(0.0).sqrt(),
                k.garch_var.to_num::<f64>().max(0.0).sqrt(),
                k.hist_vol.to_num::<f64>(),
                k.raw_vol.to_num::<f64>(),
                k.margin_vol.to_num::<f64>(),
                n.margin_vol.to_num::<f64>()
            );
        }
        std::fs::write(sdir.join(format!("vol_{}.csv", a.name)), s)?;
    }
    Ok(())
}

/// Writes report.md, report.json, the charts and the series CSVs into `dir`.
pub fn write(dir: &Path, r: &Report, x: &Extras) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    write_series(dir, r, x)?;
    let charts = write_charts(dir, r, x)?;
    std::fs::write(dir.join("report.md"), markdown(r, &charts))?;
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(r)?)?;
    Ok(())
}
