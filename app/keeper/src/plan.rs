//! What the keeper should do now, decided from one snapshot of the chain. Pure: no I/O, so the
//! decision logic is unit-tested without a chain (`plan/tests.rs`), and the RPC and bank
//! implementations of `Chain` are compared by feeding both snapshots through it.
//!
//! Order of the actions returned:
//! 1. volatility cranks (a margin check refuses a vol state older than the market allows, so a
//!    liquidation may need one first; they are cheap);
//! 2. risk-array cranks: a market whose anchor is due re-anchors, and every page with a slot not
//!    priced at the (new) anchor is re-priced (a margin check refuses arrays priced at neither
//!    the market's current nor its previous anchor, or outside the anchor's window);
//! 3. liquidations of the accounts below their trigger level (`keel_risk::liquidation::
//!    is_liquidatable`, the program's test), largest shortfall (MM − equity) first, decided on
//!    the snapshot as the array cranks will leave it (`Snapshot::with_arrays_cranked`), so a
//!    liquidation goes out in the same pass as the cranks it needs;
//! 4. settlement of expired series, then of the positions in settled series, losers first
//!    (winners are paid from what losers paid into the series' pool).

use keel_client::view::Snapshot;
use keel_client::Pubkey;
use keel_risk::liquidation;
use keel_state::series::{SERIES_ACTIVE, SERIES_SETTLED};
use keel_state::MarginAccount;

/// Series whose new option fills a crank folds into a market's implied vol (the newest; a
/// legacy transaction holds about 25 accounts beside the crank's three).
pub const FILL_SERIES_PER_CRANK: usize = 16;

/// The keeper's policy knobs.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Crank a market at least this often (seconds), and in any case within half its
    /// `max_vol_age_secs`.
    pub crank_max_interval_secs: i64,
    /// Crank as soon as the oracle has moved this much since the last accepted observation
    /// (basis points), once the market's minimum observation interval has passed.
    pub crank_min_move_bps: u64,
    /// The keeper's own margin account (never a liquidation target).
    pub liquidator_account: Option<Pubkey>,
    /// Whether to settle expired series and positions.
    pub settle: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            crank_max_interval_secs: 600,
            crank_min_move_bps: 50,
            liquidator_account: None,
            settle: true,
        }
    }
}

/// Why a market is cranked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrankReason {
    /// The oracle moved at least `crank_min_move_bps`.
    Moved,
    /// The maximum interval passed.
    Interval,
    /// The vol authority published an implied vol after the last crank: the vol state blends
    /// it in only at a crank, so a spike reaches margin at the next crank, not the next move.
    ImpliedVol,
}

/// One thing to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Crank `market`'s volatility state.
    Crank {
        /// The market.
        market: Pubkey,
        /// Why.
        reason: CrankReason,
        /// The oracle's publish time (for the oracle-to-send latency).
        publish_time: i64,
    },
    /// Run `crank_arrays` on `market`: re-anchor it if due and price `page`'s slots (`None`:
    /// re-anchor only, for a due market without a page to price).
    CrankArrays {
        /// The market.
        market: Pubkey,
        /// The risk-array page to price.
        page: Option<Pubkey>,
    },
    /// Liquidate `account`.
    Liquidate {
        /// The account.
        account: Pubkey,
        /// MM − equity (quote native units).
        shortfall: i64,
        /// The oldest publish time among its markets' oracles.
        publish_time: i64,
    },
    /// Fix `series`' settlement price.
    SettleSeries {
        /// The series.
        series: Pubkey,
        /// Its market.
        market: Pubkey,
    },
    /// Settle the negative balance of `account`, which holds no positions (`liquidate` took
    /// them all): insurance, then socialisation.
    ResolveBankruptcy {
        /// The account.
        account: Pubkey,
        /// −collateral (quote native units).
        shortfall: i64,
    },
    /// Realise `account`'s positions in settled `series`.
    SettlePositions {
        /// The account.
        account: Pubkey,
        /// The settled series it holds.
        series: Vec<Pubkey>,
        /// Σ payout (negative: it pays in).
        payout: i64,
    },
}

/// What an action is about: the keeper never has two actions with the same key in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKey {
    /// A crank of this market.
    Crank(Pubkey),
    /// An array crank of this market and page.
    CrankArrays(Pubkey, Option<Pubkey>),
    /// A liquidation of this account.
    Liquidate(Pubkey),
    /// Settling this series.
    SettleSeries(Pubkey),
    /// Settling this account's positions.
    SettlePositions(Pubkey),
    /// Resolving this account's bankruptcy.
    ResolveBankruptcy(Pubkey),
}

impl Action {
    /// The action's key.
    pub fn key(&self) -> ActionKey {
        match self {
            Action::Crank { market, .. } => ActionKey::Crank(*market),
            Action::CrankArrays { market, page } => ActionKey::CrankArrays(*market, *page),
            Action::Liquidate { account, .. } => ActionKey::Liquidate(*account),
            Action::SettleSeries { series, .. } => ActionKey::SettleSeries(*series),
            Action::SettlePositions { account, .. } => ActionKey::SettlePositions(*account),
            Action::ResolveBankruptcy { account, .. } => ActionKey::ResolveBankruptcy(*account),
        }
    }
}

/// A margin account below its liquidation trigger level (MM, raised toward IM while vol is above
/// the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The account.
    pub account: Pubkey,
    /// Equity at the oracle.
    pub equity_mm: i64,
    /// Maintenance margin.
    pub mm: i64,
    /// Initial margin.
    pub im: i64,
}

impl Candidate {
    /// MM − equity (negative for an account between MM and a raised trigger level).
    pub fn shortfall(&self) -> i64 {
        self.mm.saturating_sub(self.equity_mm)
    }
}

/// The decision for one snapshot.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Margin accounts seen.
    pub watched: usize,
    /// Accounts below their trigger level, largest shortfall first.
    pub liquidatable: Vec<Candidate>,
    /// What to send, in order.
    pub actions: Vec<Action>,
    /// Accounts or markets that could not be evaluated, and why.
    pub skipped: Vec<(Pubkey, String)>,
    /// Seconds since each market's last crank, by market (the crank lag).
    pub crank_lag_secs: Vec<(Pubkey, i64)>,
}

fn has_expired(a: &MarginAccount, now: i64) -> bool {
    a.active_positions().any(|p| p.expiry_ts <= now)
}

/// Decides what to do at `now` given snapshot `s`.
pub fn plan(s: &Snapshot, now: i64, policy: &Policy) -> Plan {
    let mut p = Plan {
        watched: s.accounts.len(),
        ..Plan::default()
    };

    // 1. Cranks.
    for (key, mv) in &s.markets {
        let vs = &mv.market.vol_state;
        p.crank_lag_secs
            .push((*key, now.saturating_sub(vs.last_ts)));
        let reading = match mv.reading() {
            Ok(r) => r,
            Err(e) => {
                p.skipped.push((*key, e.to_string()));
                continue;
            }
        };
        let min_dt = mv.market.risk_params.min_obs_interval_secs;
        if reading.publish_time.saturating_sub(vs.last_ts) < min_dt.max(1) {
            continue; // nothing new enough to observe
        }
        let Ok(price) = mv.price_native() else {
            continue;
        };
        let moved_bps = if vs.last_price > 0 {
            ((price - vs.last_price).unsigned_abs() as u128 * 10_000 / vs.last_price as u128) as u64
        } else {
            u64::MAX
        };
        let max_interval = policy
            .crank_max_interval_secs
            .min(mv.market.max_vol_age_secs / 2)
            .max(1);
        let m = &mv.market;
        let fresh_iv = m.has_vol_authority()
            && m.implied_vol > keel_risk::Fx::ZERO
            && m.implied_vol_ts > vs.last_ts;
        let reason = if moved_bps >= policy.crank_min_move_bps {
            Some(CrankReason::Moved)
        } else if now.saturating_sub(vs.last_ts) >= max_interval {
            Some(CrankReason::Interval)
        } else if fresh_iv {
            Some(CrankReason::ImpliedVol)
        } else {
            None
        };
        if let Some(reason) = reason {
            p.actions.push(Action::Crank {
                market: *key,
                reason,
                publish_time: reading.publish_time,
            });
        }
    }

    // 2. Risk-array cranks: per market (in address order), one call per page to price, or one
    //    re-anchor-only call for a due market without a page to price — planned on the vol
    //    state the cranks above leave (a crash's crank moves the margin vol past the arrays'
    //    tolerance, or a range-limited market's range: its arrays are due in this pass, not
    //    the next).
    let vol_cranked: Vec<Pubkey> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Crank { market, .. } => Some(*market),
            _ => None,
        })
        .collect();
    let after_vol = s.with_vols_cranked(&vol_cranked, FILL_SERIES_PER_CRANK, now);
    let (cranked, due) = after_vol.with_arrays_cranked(now);
    for key in s.markets.keys() {
        let pages: Vec<Pubkey> = due
            .pages
            .iter()
            .filter(|(m, _)| m == key)
            .map(|(_, pg)| *pg)
            .collect();
        if pages.is_empty() && due.reanchor.contains(key) {
            p.actions.push(Action::CrankArrays {
                market: *key,
                page: None,
            });
        }
        p.actions
            .extend(pages.into_iter().map(|pg| Action::CrankArrays {
                market: *key,
                page: Some(pg),
            }));
    }

    // 3. Liquidations, largest shortfall first, on the arrays as the cranks will leave them;
    //    then the bankruptcies (accounts without positions and with negative collateral).
    let mut liquidations = Vec::new();
    let mut bankruptcies = Vec::new();
    for (key, a) in &cranked.accounts {
        if a.n_positions == 0 && a.collateral_native < 0 {
            bankruptcies.push((*key, -a.collateral_native));
            continue;
        }
        if Some(*key) == policy.liquidator_account || a.n_positions == 0 || has_expired(a, now) {
            continue;
        }
        // The program's test: below MM, or below the level raised toward IM while vol is
        // above the reference.
        let lp = &s.exchange.liquidation_params;
        let checked = cranked
            .margin(a, Some(now))
            .map_err(|e| e.to_string())
            .and_then(|b| {
                liquidation::is_liquidatable(&b, liquidation::max_sigma(&b), lp)
                    .map(|yes| (yes, b))
                    .map_err(|e| format!("liquidation trigger: {e:?}"))
            });
        match checked {
            Ok((true, b)) => {
                let publish_time = a
                    .used_markets()
                    .filter_map(|(_, m)| s.markets.get(&Pubkey::new_from_array(*m)))
                    .filter_map(|mv| mv.reading().ok())
                    .map(|r| r.publish_time)
                    .min()
                    .unwrap_or(now);
                let c = Candidate {
                    account: *key,
                    equity_mm: b.equity_mm,
                    mm: b.mm,
                    im: b.im,
                };
                liquidations.push((c, publish_time));
            }
            Ok(_) => {}
            Err(e) => p.skipped.push((*key, e)),
        }
    }
    // Largest shortfall first; ties by address, so the order is deterministic.
    liquidations.sort_by(|(a, _), (b, _)| {
        b.shortfall()
            .cmp(&a.shortfall())
            .then(a.account.cmp(&b.account))
    });
    for (c, publish_time) in &liquidations {
        p.actions.push(Action::Liquidate {
            account: c.account,
            shortfall: c.shortfall(),
            publish_time: *publish_time,
        });
    }
    p.liquidatable = liquidations.into_iter().map(|(c, _)| c).collect();
    p.actions.extend(
        bankruptcies
            .into_iter()
            .map(|(account, shortfall)| Action::ResolveBankruptcy { account, shortfall }),
    );

    // 4. Settlement.
    if policy.settle {
        for (key, series) in &s.series {
            if series.status != SERIES_ACTIVE || series.expiry_ts > now {
                continue;
            }
            let market = Pubkey::new_from_array(series.market);
            let Some(mv) = s.markets.get(&market) else {
                continue;
            };
            // The oracle must hold the update that covers the expiry, inside the window.
            if let Ok(r) = mv.reading() {
                if r.covers(series.expiry_ts)
                    && r.publish_time
                        <= series
                            .expiry_ts
                            .saturating_add(mv.market.settle_window_secs)
                {
                    p.actions.push(Action::SettleSeries {
                        series: *key,
                        market,
                    });
                }
            }
        }
        let mut settlements: Vec<(i64, Pubkey, Vec<Pubkey>)> = Vec::new();
        for (key, a) in &s.accounts {
            let mut held = Vec::new();
            let mut payout: i64 = 0;
            for pos in a.active_positions() {
                let sk = Pubkey::new_from_array(pos.series);
                if let Some(series) = s.series.get(&sk) {
                    if series.status == SERIES_SETTLED {
                        let per = series
                            .payoff_per_contract(series.settlement_price_native)
                            .unwrap_or(0);
                        payout = payout
                            .saturating_add(pos.qty_contracts.saturating_mul(per))
                            .saturating_add(pos.cash_native);
                        held.push(sk);
                    }
                }
            }
            if !held.is_empty() {
                settlements.push((payout, *key, held));
            }
        }
        // Losers first: they fund the pools winners are paid from.
        settlements.sort_by_key(|(payout, account, _)| (*payout, *account));
        p.actions
            .extend(settlements.into_iter().map(|(payout, account, series)| {
                Action::SettlePositions {
                    account,
                    series,
                    payout,
                }
            }));
    }
    p
}

#[cfg(test)]
mod tests;
