//! `keel verify <account>`: first recomputes every risk array the account's option positions
//! use — `keel_risk::array::price_series` on the market's stored anchor (the current or the
//! previous one, by the slot's generation) and the slot's series — and compares each figure with
//! the page's bytes; then simulates the program's `margin_report`, recomputes the same report
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
use keel_risk::array::price_series;
use keel_risk::{SeriesArray, SeriesKind};
use keel_state::MarginAccount;
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
    /// Risk arrays recomputed from their market's anchor and compared figure by figure.
    pub arrays_verified: usize,
    /// The stored arrays cannot serve a margin check now (a generation the market no longer
    /// keeps, too old, or the price or a vol moved past their tolerance): the margin was not
    /// compared; `keel crank arrays` fixes it.
    pub arrays_due: bool,
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
    c.f(
        "liquidation_level",
        on.liquidation_level,
        off.liquidation_level,
    );
    c.f("stress_q32", on.stress_q32, off.stress_q32);
    c.f("markets.len", on.markets.len(), off.markets.len());
    for (i, (a, b)) in on.markets.iter().zip(&off.markets).enumerate() {
        let p = |n: &str| format!("markets[{i}].{n}");
        c.f(p("market"), a.market, b.market);
        c.f(p("spot"), a.spot, b.spot);
        c.f(p("stable_spot"), a.stable_spot, b.stable_spot);
        c.f(p("conf"), a.conf, b.conf);
        c.f(p("sigma_q32"), a.sigma_q32, b.sigma_q32);
        c.f(p("mark_sigma_q32"), a.mark_sigma_q32, b.mark_sigma_q32);
        c.f(
            p("realised_sigma_q32"),
            a.realised_sigma_q32,
            b.realised_sigma_q32,
        );
        c.f(p("range_q32"), a.range_q32, b.range_q32);
        c.f(p("anchor_ts"), a.anchor_ts, b.anchor_ts);
        c.f(p("anchor_spot"), a.anchor_spot, b.anchor_spot);
        c.f(p("worst_im"), a.worst_im, b.worst_im);
        c.f(
            p("worst_im_interval"),
            a.worst_im_interval,
            b.worst_im_interval,
        );
        c.f(p("worst_mm"), a.worst_mm, b.worst_mm);
        c.f(
            p("worst_mm_interval"),
            a.worst_mm_interval,
            b.worst_mm_interval,
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
        c.f(p("gap.len"), a.gap.len(), b.gap.len());
        for (s, (x, y)) in a.gap.iter().zip(&b.gap).enumerate() {
            c.f(format!("markets[{i}].gap[{s}]"), *x, *y);
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

/// Every figure of a series array, by name, in layout order (no padding: all of its bytes).
fn array_figures(a: &SeriesArray) -> [(&'static str, &[i64]); 10] {
    [
        ("lo.value", &a.lo.value),
        ("lo.mark", &a.lo.mark),
        ("lo.stable", &a.lo.stable),
        ("hi.value", &a.hi.value),
        ("hi.mark", &a.hi.mark),
        ("hi.stable", &a.hi.stable),
        ("gap", &a.gap),
        ("mark_gap", &a.mark_gap),
        ("stable_gap", &a.stable_gap),
        ("greeks", &a.greeks),
    ]
}

/// What [`compare_arrays`] found.
pub struct ArraysChecked {
    /// Figures compared.
    pub figures: usize,
    /// Arrays recomputed.
    pub arrays: usize,
    /// Arrays priced at a generation the market no longer keeps (or never priced): they cannot
    /// be recomputed, and the program would refuse them.
    pub not_current: usize,
    /// Every figure that differs (`positions[i].array.lo.value[17]`: position i in the report's
    /// order).
    pub differences: Vec<Difference>,
}

/// Recomputes the risk array of each of `acc`'s option positions from `snap` — its market's
/// stored anchor of the slot's generation (current or previous), the market's risk parameters
/// and the series the slot names — and compares it figure by figure with the page's bytes, after
/// checking that the slot holds the position's series with the series' own strike, expiry and
/// kind.
pub fn compare_arrays(snap: &Snapshot, acc: &MarginAccount) -> ArraysChecked {
    let mut c = Cmp {
        n: 0,
        diffs: vec![],
    };
    let (mut arrays, mut not_current) = (0, 0);
    let mut scratch = bytemuck::zeroed_box::<SeriesArray>();
    for (i, p) in acc.active_positions().enumerate() {
        let kind = match SeriesKind::from_u8(p.kind) {
            Some(k) if k.is_option() => k,
            _ => continue,
        };
        let f = |n: &str| format!("positions[{i}].array.{n}");
        let mk = Pubkey::new_from_array(acc.markets[p.market_slot as usize]);
        let series = Pubkey::new_from_array(p.series);
        let (Some(mv), Some((page_key, page))) =
            (snap.markets.get(&mk), snap.page_of(&mk, p.array_page))
        else {
            c.f(
                f("page"),
                format!("page {} of market {mk}", p.array_page),
                "not found".to_string(),
            );
            continue;
        };
        let Some(slot) = page.slots.get(p.array_slot as usize) else {
            c.f(
                f("slot"),
                p.array_slot.to_string(),
                format!("beyond page {page_key}"),
            );
            continue;
        };
        c.f(f("series"), Pubkey::new_from_array(slot.series), series);
        if let Some(s) = snap.series.get(&series) {
            c.f(f("strike_native"), slot.strike_native, s.strike_native);
            c.f(f("expiry_ts"), slot.expiry_ts, s.expiry_ts);
            c.f(f("kind"), slot.kind, s.kind);
        }
        let m = &mv.market;
        let anchor = if slot.epoch != 0 && slot.epoch == m.anchor_epoch {
            &m.anchor
        } else if slot.epoch != 0 && slot.epoch.checked_add(1) == Some(m.anchor_epoch) {
            &m.prev_anchor
        } else {
            not_current += 1;
            continue;
        };
        arrays += 1;
        match price_series(
            anchor,
            &m.risk_params,
            kind,
            slot.strike_native,
            slot.expiry_ts,
            &mut scratch,
        ) {
            Ok(()) => {
                for ((name, stored), (_, again)) in array_figures(&slot.array)
                    .into_iter()
                    .zip(array_figures(&scratch))
                {
                    for (k, (x, y)) in stored.iter().zip(again).enumerate() {
                        c.f(f(&format!("{name}[{k}]")), *x, *y);
                    }
                }
            }
            Err(e) => c.f(
                f("priced"),
                "stored".to_string(),
                format!("not recomputable: {e:?}"),
            ),
        }
    }
    ArraysChecked {
        figures: c.n,
        arrays,
        not_current,
        differences: c.diffs,
    }
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
    // Arrays the program would refuse now: nothing to simulate against (`keel crank arrays`).
    let (_, arrays_due) = crate::env::margin_view(&snap, &snap.accounts[&key], snap.now)?;
    let on = if arrays_due {
        None
    } else {
        Some(on_chain_report(env, &snap, &key).await?)
    };
    tamper(&mut snap);
    let acc = snap.settled(&snap.accounts[&key]);
    let arrays = compare_arrays(&snap, &acc);
    let mut differences = arrays.differences;
    let mut n = arrays.figures;
    let mut bytes_identical = true;
    if let Some(on) = &on {
        let off = snap.margin_report(&key, Some(on.now))?;
        let (k, d) = compare(on, &off);
        n += k;
        differences.extend(d);
        let borsh = |r: &MarginReport| {
            let mut v = Vec::new();
            r.serialize(&mut v).map(|_| v).ok()
        };
        bytes_identical = borsh(on) == borsh(&off);
    }
    let now = on.as_ref().map_or(snap.now, |r| r.now);
    let ok = differences.is_empty() && bytes_identical && on.is_some();
    let message = if ok {
        format!(
            "verified: all {n} figures of {key}'s {} risk array(s) and margin at {} match the stored arrays and the program's margin_report bit for bit",
            arrays.arrays,
            fmt_time(now)
        )
    } else if let Some(d) = differences.first() {
        let more = match differences.len() {
            1 => String::new(),
            k => format!(
                " (and {} more: {})",
                k - 1,
                differences[1..]
                    .iter()
                    .take(20)
                    .map(|d| d.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if k > 21 { ", …" } else { "" }
            ),
        };
        let stale = if snap.now != now {
            format!(
                "; note: the state was read at {} and simulated at {}, so a change in between also shows here",
                fmt_time(snap.now),
                fmt_time(now)
            )
        } else {
            String::new()
        };
        format!(
            "MISMATCH: {} is {} on-chain but {} off-chain{more}{stale}",
            d.field, d.on_chain, d.off_chain
        )
    } else if on.is_none() {
        format!(
            "{} risk array(s) match their anchor bit for bit ({n} figures), but the arrays cannot serve a margin check now{}: run `keel crank arrays`, then verify again",
            arrays.arrays,
            if arrays.not_current > 0 {
                format!(
                    " ({} priced at a generation the market no longer keeps)",
                    arrays.not_current
                )
            } else {
                String::new()
            }
        )
    } else {
        "MISMATCH: every figure is equal but the events' bytes differ".into()
    };
    Ok(Verification {
        account: key.to_string(),
        arrays_verified: arrays.arrays,
        arrays_due,
        now,
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
