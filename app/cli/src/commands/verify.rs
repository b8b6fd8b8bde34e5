//! `keel verify <account>`: simulates the program's `margin_report`, recomputes the same report
//! off-chain with keel-state/keel-risk at the same clock time, and compares every figure.

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::output::{Render, Table};
use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorSerialize;
use keel::events::MarginReport;
use keel_client::view::Snapshot;
use keel_client::{ix, Chain};
use keel_migrations::units::fmt_time;
use serde::Serialize;

/// One figure that differs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Difference {
    /// Its name (`im`, `markets[0].pnl[17]`, `positions[2].delta_q32`).
    pub field: String,
    /// The program's value.
    pub on_chain: String,
    /// The off-chain value.
    pub off_chain: String,
}

/// `keel verify`.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// The account.
    pub account: String,
    /// The clock time of the program's computation (the off-chain one uses the same).
    pub now: i64,
    /// The clock time at which the off-chain state was read.
    pub state_read_at: i64,
    /// Figures compared.
    pub figures_compared: usize,
    /// Whether the two events' borsh bytes are identical.
    pub bytes_identical: bool,
    /// Every figure that differs, in report order.
    pub differences: Vec<Difference>,
    /// Whether everything matched.
    pub ok: bool,
    /// One sentence for people.
    pub message: String,
}

impl Render for Verification {
    fn render(&self) -> String {
        let mut s = format!("{}\n", self.message);
        if !self.differences.is_empty() {
            let mut t = Table::new(&[
                "figure",
                "on-chain (margin_report)",
                "off-chain (keel-risk)",
            ]);
            for d in &self.differences {
                t.row(vec![
                    d.field.clone(),
                    d.on_chain.clone(),
                    d.off_chain.clone(),
                ]);
            }
            s.push('\n');
            s.push_str(&t.to_string());
        }
        s
    }
}

struct Cmp {
    n: usize,
    diffs: Vec<Difference>,
}

impl Cmp {
    fn f<T: PartialEq + std::fmt::Display>(&mut self, field: impl Into<String>, a: T, b: T) {
        self.n += 1;
        if a != b {
            self.diffs.push(Difference {
                field: field.into(),
                on_chain: a.to_string(),
                off_chain: b.to_string(),
            });
        }
    }
}

/// Compares two margin reports figure by figure.
pub fn compare(on: &MarginReport, off: &MarginReport) -> (usize, Vec<Difference>) {
    let mut c = Cmp {
        n: 0,
        diffs: vec![],
    };
    c.f("account", on.account, off.account);
    c.f("now", on.now, off.now);
    c.f("collateral", on.collateral, off.collateral);
    c.f("equity_mm", on.equity_mm, off.equity_mm);
    c.f("equity_im", on.equity_im, off.equity_im);
    c.f("mm", on.mm, off.mm);
    c.f("im", on.im, off.im);
    c.f("scan_mm", on.scan_mm, off.scan_mm);
    c.f("scan_im", on.scan_im, off.scan_im);
    c.f("offset_mm", on.offset_mm, off.offset_mm);
    c.f("offset_im", on.offset_im, off.offset_im);
    c.f("addons", on.addons, off.addons);
    c.f("short_min_mm", on.short_min_mm, off.short_min_mm);
    c.f("short_min_im", on.short_min_im, off.short_min_im);
    c.f("rounding", on.rounding, off.rounding);
    c.f("health_mm", on.health_mm, off.health_mm);
    c.f("health_im", on.health_im, off.health_im);
    c.f("withdrawable", on.withdrawable, off.withdrawable);
    c.f("liquidatable", on.liquidatable, off.liquidatable);
    c.f("markets.len", on.markets.len(), off.markets.len());
    for (i, (a, b)) in on.markets.iter().zip(&off.markets).enumerate() {
        let p = |n: &str| format!("markets[{i}].{n}");
        c.f(p("market"), a.market, b.market);
        c.f(p("spot"), a.spot, b.spot);
        c.f(p("stable_spot"), a.stable_spot, b.stable_spot);
        c.f(p("conf"), a.conf, b.conf);
        c.f(p("sigma_q32"), a.sigma_q32, b.sigma_q32);
        c.f(p("mark_sigma_q32"), a.mark_sigma_q32, b.mark_sigma_q32);
        c.f(p("range_q32"), a.range_q32, b.range_q32);
        c.f(p("worst_im"), a.worst_im, b.worst_im);
        c.f(
            p("worst_im_scenario"),
            a.worst_im_scenario,
            b.worst_im_scenario,
        );
        c.f(p("worst_mm"), a.worst_mm, b.worst_mm);
        c.f(
            p("worst_mm_scenario"),
            a.worst_mm_scenario,
            b.worst_mm_scenario,
        );
        c.f(p("net_delta_q32"), a.net_delta_q32, b.net_delta_q32);
        c.f(p("short_min_im"), a.short_min_im, b.short_min_im);
        c.f(p("short_min_mm"), a.short_min_mm, b.short_min_mm);
        c.f(p("conf_addon"), a.conf_addon, b.conf_addon);
        c.f(p("impact_addon"), a.impact_addon, b.impact_addon);
        c.f(p("pnl.len"), a.pnl.len(), b.pnl.len());
        for (s, (x, y)) in a.pnl.iter().zip(&b.pnl).enumerate() {
            c.f(format!("markets[{i}].pnl[{s}]"), *x, *y);
        }
    }
    c.f("positions.len", on.positions.len(), off.positions.len());
    for (i, (a, b)) in on.positions.iter().zip(&off.positions).enumerate() {
        let p = |n: &str| format!("positions[{i}].{n}");
        c.f(p("series"), a.series, b.series);
        c.f(p("qty_contracts"), a.qty_contracts, b.qty_contracts);
        c.f(p("mark"), a.mark, b.mark);
        c.f(p("mark_stable"), a.mark_stable, b.mark_stable);
        c.f(p("value"), a.value, b.value);
        c.f(p("value_im"), a.value_im, b.value_im);
        c.f(p("rounding"), a.rounding, b.rounding);
        c.f(p("delta_q32"), a.delta_q32, b.delta_q32);
        c.f(p("gamma_q32"), a.gamma_q32, b.gamma_q32);
        c.f(p("vega"), a.vega, b.vega);
        c.f(p("theta"), a.theta, b.theta);
    }
    (c.n, c.diffs)
}

/// The program's `MarginReport` of `key`, by simulating `margin_report` with the remaining
/// accounts `snap` derives.
pub async fn on_chain_report<C: Chain>(
    env: &Env<C>,
    snap: &Snapshot,
    key: &Pubkey,
) -> CliResult<MarginReport> {
    let acc = snap
        .accounts
        .get(key)
        .ok_or_else(|| CliError::Chain(format!("no Keel margin account at {key}")))?;
    let ex = ix::exchange_keys(&snap.exchange);
    let metas = env.margin_metas(snap, &[acc], &[])?;
    let sim = env
        .chain
        .simulate(
            &[ix::margin_report(&ex, key, &metas)],
            &[&env.keypair],
            env.budget,
        )
        .await
        .map_err(|e| CliError::send("margin_report (simulated)", e))?;
    let mut events =
        keel_client::events::decode::<MarginReport>(&sim.logs).map_err(CliError::Chain)?;
    match (events.pop(), events.is_empty()) {
        (Some(r), true) => Ok(r),
        _ => Err(CliError::Chain(
            "the simulation did not return exactly one MarginReport event (does this RPC node return simulation logs?)".into(),
        )),
    }
}

/// [`verify`], with `tamper` applied to the off-chain state after it is read and before the
/// margin is recomputed (tests use it to prove a difference is caught and named).
pub async fn verify_with<C: Chain>(
    env: &Env<C>,
    account: Option<Pubkey>,
    id: u32,
    tamper: impl FnOnce(&mut Snapshot),
) -> CliResult<Verification> {
    let key = account.unwrap_or_else(|| env.my_account(id));
    let mut snap = env.snapshot().await?;
    if !snap.accounts.contains_key(&key) {
        env.margin_account(&key).await?;
    }
    let on = on_chain_report(env, &snap, &key).await?;
    tamper(&mut snap);
    let off = snap.margin_report(&key, Some(on.now))?;
    let (n, differences) = compare(&on, &off);
    let borsh = |r: &MarginReport| {
        let mut v = Vec::new();
        r.serialize(&mut v).map(|_| v).ok()
    };
    let bytes_identical = borsh(&on) == borsh(&off);
    let ok = differences.is_empty() && bytes_identical;
    let message = if ok {
        format!(
            "verified: all {n} figures of {key}'s margin at {} match the program's margin_report bit for bit",
            fmt_time(on.now)
        )
    } else if let Some(d) = differences.first() {
        let more = match differences.len() {
            1 => String::new(),
            k => format!(
                " (and {} more: {})",
                k - 1,
                differences[1..]
                    .iter()
                    .map(|d| d.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let stale = if snap.now != on.now {
            format!(
                "; note: the state was read at {} and simulated at {}, so a change in between also shows here",
                fmt_time(snap.now),
                fmt_time(on.now)
            )
        } else {
            String::new()
        };
        format!(
            "MISMATCH: {} is {} on-chain but {} off-chain{more}{stale}",
            d.field, d.on_chain, d.off_chain
        )
    } else {
        "MISMATCH: every figure is equal but the events' bytes differ".into()
    };
    Ok(Verification {
        account: key.to_string(),
        now: on.now,
        state_read_at: snap.now,
        figures_compared: n,
        bytes_identical,
        differences,
        ok,
        message,
    })
}

/// Verifies `account`'s margin (default: the signer's account `id`).
pub async fn verify<C: Chain>(
    env: &Env<C>,
    account: Option<Pubkey>,
    id: u32,
) -> CliResult<Verification> {
    verify_with(env, account, id, |_| {}).await
}
