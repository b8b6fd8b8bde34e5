//! Liquidation cascade simulation: a population of leveraged accounts replayed through a stress
//! window while keepers liquidate them, the liquidated delta moving the price (square-root impact
//! that decays), the moved price feeding the oracle, the vol crank and every other account's
//! margin. Three regimes on the same population and path:
//!
//! - **AVSL**: Keel's MM, keel-risk's `liquidation::plan` (the smallest fraction that restores
//!   the target, capped per call by a cap that starts vol-scaled and grows to the whole account
//!   as equity approaches the danger level; vol-scaled Dutch-auction bonus limited to equity);
//! - **Keel MM, full**: the same trigger and bonus rate (the plan's, equity-limited), but the
//!   whole account at once;
//! - **static**: a Deribit-style standard MM trigger (7.5% of spot per short option, 1% per
//!   future), whole account, a fixed 0.75%-of-notional liquidation fee.
//!
//! Bankrupt accounts (equity ≤ 0) are closed out at once; the insurance fund pays the shortfall
//! and what it cannot pay is socialised — both counted.
//!
//! The liquidators' economics: everything taken over goes into one liquidator book (at the
//! transfer's marks), delta-hedged in the underlying and rebalanced at the end of every keeper
//! round; at the window's end the book is marked at the engine's marks. Its P&L is split into
//! the bonuses it kept (after the insurance share) and the mark-to-market of book and hedge.

use crate::backtest::Asset;
use crate::calibrate::Rng;
use crate::chain::{Chain, Layout};
use crate::data::DAY;
use crate::engine::{self, Leg, MarketAt};
use crate::metrics::Window;
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::liquidation;
use keel_risk::{Fx, ImpliedVol, LiquidationParams, RiskParams, SeriesKind, VolState};
use serde::Serialize;

/// Liquidation regime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Regime {
    /// Keel MM + AVSL partial liquidation.
    Avsl,
    /// Keel MM, whole account at once.
    KeelFull,
    /// Standard per-position MM, whole account, fixed fee.
    Static,
    /// Whole account at once at AVSL's own trigger level (raised while vol is above its
    /// reference and under the realised-vol stress): what AVSL's partial sizing is worth at the
    /// same trigger (`--cascade-same-trigger`; not in the default study).
    TriggerFull,
}

impl Regime {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Avsl => "AVSL (Keel MM, partial)",
            Regime::KeelFull => "Keel MM, full liquidation",
            Regime::Static => "static MM, full liquidation",
            Regime::TriggerFull => "AVSL's trigger, full liquidation",
        }
    }
}

/// Simulation settings.
#[derive(Clone, Debug)]
pub struct CascadeConfig {
    /// Accounts in the population.
    pub accounts: usize,
    /// Open interest of the population as a fraction of the average daily quote volume.
    pub oi_frac: f64,
    /// Square-root impact coefficient Y: ln P moves by −Y·σ_day·√(Q/ADV) for a recent signed
    /// liquidation flow Q (the metaorder view: slicing alone does not change the impact).
    pub impact_y: f64,
    /// Half-life of the recent flow Q, i.e. of the impact (seconds).
    pub impact_half_life: i64,
    /// Keeper rounds per bar (0: one per 2 hours of bar, at least one). The historical price
    /// moves along the bar's open/high/low/close path from round to round.
    pub rounds_per_bar: usize,
    /// Liquidation calls per account per round at most (repeated while it stays liquidatable).
    pub calls_per_round: usize,
    /// Days before the window the accounts open.
    pub lead_days: i64,
    /// Insurance fund at the start, as a fraction of the population's collateral.
    pub insurance_frac: f64,
    /// Seed of the population.
    pub seed: u64,
    /// Average daily volume (quote units) when the file has no volume column.
    pub adv_fallback: f64,
    /// Regimes simulated (all three by default).
    pub regimes: Vec<Regime>,
    /// The chain's throughput limits (`crate::chain`; issue 15 §2). `None` (the default): the
    /// study as it was, every liquidatable account called in every pass. `Some`: the calls a
    /// round can land are the chain's capacity over the round (less the keeper latency); the
    /// liquidatable accounts beyond it wait for the next round while the price moves on along
    /// the bar's path, and are served first then, the longest-waiting first (the others in
    /// population order, as without limits). With unlimited capacity (`Layout::Unconstrained`)
    /// the run is the same as without, bit for bit (a test checks it).
    pub chain: Option<Chain>,
    /// Real accounts each simulated account stands for (used with `chain` only): the population
    /// is `accounts · scale` accounts holding the same open interest, each a 1/scale copy of
    /// its simulated account, so a simulated call is `scale` real calls (the impact, the margin
    /// and the results as fractions of notional do not depend on the scale; only the queue does).
    pub scale: f64,
    /// Finer keeper rounds in the crash bars (0: off, the default): a bar whose intrabar path
    /// spans at least `fine_range` in log price is split into rounds of at most this many
    /// seconds (the rounds along the same open/high/low/close path). Chosen from history only,
    /// so every run of a throughput comparison uses the same rounds.
    pub fine_round_secs: i64,
    /// The log-price span of the intrabar path (previous close, high, low) from which a bar is
    /// split into fine rounds.
    pub fine_range: f64,
}

impl Default for CascadeConfig {
    fn default() -> Self {
        CascadeConfig {
            accounts: 200,
            oi_frac: 0.5,
            impact_y: 1.0,
            impact_half_life: 4 * 3600,
            rounds_per_bar: 0,
            calls_per_round: 8,
            lead_days: 3,
            insurance_frac: 0.01,
            seed: 2026,
            adv_fallback: 1e9,
            regimes: vec![Regime::Avsl, Regime::KeelFull, Regime::Static],
            chain: None,
            scale: 1.0,
            fine_round_secs: 0,
            fine_range: 0.03,
        }
    }
}

/// Results of one regime in one window.
#[derive(Clone, Debug, Serialize)]
pub struct RegimeResult {
    /// Regime.
    pub regime: String,
    /// Accounts liquidated at least once.
    pub accounts_liquidated: usize,
    /// Liquidation calls.
    pub calls: usize,
    /// Gross notional transferred to liquidators (quote units).
    pub liquidated_notional: f64,
    /// As a fraction of the population's starting notional.
    pub liquidated_frac: f64,
    /// Largest price impact reached (fraction below the historical price; > 0 = lower).
    pub max_impact: f64,
    /// Lowest price reached with impact / lowest historical price (bar lows) − 1.
    pub trough_vs_history: f64,
    /// Accounts that went bankrupt.
    pub bankruptcies: usize,
    /// Total shortfall of bankrupt accounts (quote units).
    pub bad_debt: f64,
    /// Paid by the insurance fund.
    pub insurance_used: f64,
    /// Socialised (what the fund could not pay).
    pub socialised: f64,
    /// Insurance fund at the end (after fees received).
    pub insurance_end: f64,
    /// Bonuses paid by liquidatees (quote units).
    pub bonuses: f64,
    /// Bonuses the liquidators kept, after the insurance share (quote units).
    pub liquidator_bonus: f64,
    /// Mark-to-market of what the liquidators took over plus their delta hedge, at the window's
    /// end (quote units).
    pub liquidator_mtm: f64,
    /// What a liquidator that closes each round's takeovers at the next round's price (at the
    /// engine's marks), delta-hedged from each take, makes on them besides the bonus (quote
    /// units; `Unwinder`).
    pub liquidator_closing_pnl: f64,
    /// The liquidation queue under the chain's limits (only with `CascadeConfig::chain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueStats>,
}

/// The liquidation queue under the chain's limits, in real accounts and calls (simulated ×
/// `CascadeConfig::scale`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueStats {
    /// Liquidation calls per second the chain lands (`Chain::per_second`).
    pub capacity_per_sec: f64,
    /// Real accounts each simulated one stands for.
    pub scale: f64,
    /// Real accounts in the population.
    pub population: f64,
    /// Real liquidation calls landed.
    pub calls: f64,
    /// Most real accounts left liquidatable and unserved at the end of a round.
    pub max_waiting: f64,
    /// Longest time an account waited in the queue for a call (seconds).
    pub longest_wait_secs: i64,
    /// Rounds that ended with accounts waiting.
    pub rounds_short: usize,
    /// Peak demand: the most simulated calls landed in a round per second of the round's landing
    /// time (its length less the keeper latency). A population of `accounts · capacity / peak`
    /// or fewer never waits (see `critical_population`).
    pub peak_sim_calls_per_sec: f64,
    /// Real series transfers that only read their series (the sharded layout: a partial slice
    /// to keepers already holding that side; `SeriesRoom::writes`).
    pub series_read_only: f64,
    /// Real series transfers (one per series an account's landed call moves a slice of).
    pub series_transfers: f64,
}

/// Adds `q` contracts of `leg` to `legs`, merged with a leg of the same series and entry; a leg
/// that nets to zero goes.
fn add_leg(legs: &mut Vec<Leg>, leg: &Leg, q: i64) {
    match legs.iter_mut().find(|l| {
        (l.kind, l.strike, l.expiry, l.entry) == (leg.kind, leg.strike, leg.expiry, leg.entry)
    }) {
        Some(l) => l.qty += q,
        None => legs.push(Leg { qty: q, ..*leg }),
    }
    legs.retain(|l| l.qty != 0);
}

/// The liquidators' combined book: positions taken over (aggregated by series), what was paid
/// for them (their marks at transfer), and a delta hedge rebalanced every round.
#[derive(Clone, Debug, Default)]
struct LiquidatorBook {
    legs: Vec<Leg>,
    paid: f64,
    value: f64,
    hedge: f64,
    hedge_px: f64,
    hedge_pnl: f64,
}

impl LiquidatorBook {
    /// Contracts the liquidators hold in `series` (> 0 long).
    fn net(&self, series: SeriesKey) -> i64 {
        self.legs
            .iter()
            .filter(|l| series_key(l) == series)
            .map(|l| l.qty)
            .sum()
    }

    fn take(&mut self, leg: &Leg, q: i64, value: f64) {
        self.paid += value;
        add_leg(&mut self.legs, leg, q);
    }

    /// Accrues the hedge to `px`, then marks the book and re-hedges its delta at `px`.
    fn mark(
        &mut self,
        px: f64,
        mk: &[MarketAt],
        p: &RiskParams,
        now: i64,
        b: &mut MarginBreakdown,
    ) -> Result<(), engine::EngineError> {
        if self.hedge_px > 0.0 {
            self.hedge_pnl += self.hedge * (px / self.hedge_px - 1.0);
        }
        self.hedge_px = px;
        if self.legs.is_empty() {
            (self.value, self.hedge) = (0.0, 0.0);
            return Ok(());
        }
        let k = engine::margin(&self.legs, mk, p, now, b)?;
        self.value = k.value as f64;
        let spot = mk[0].spot as f64;
        self.hedge = -self
            .legs
            .iter()
            .zip(&b.positions)
            .map(|(l, q)| l.qty as f64 * q.greeks.delta.to_num::<f64>() * spot)
            .sum::<f64>();
        Ok(())
    }
}

/// A liquidator that closes what it takes over at the next keeper round's price (one round
/// later, at the engine's marks; the window's last marks for the last round), delta-hedged from
/// each take (issue 15 §1: a keeper that hedges or closes
/// what it takes over, as `keel demo`'s does). A shadow of the takeovers: it changes nothing in
/// the simulation, whose price impact comes from the hedging flow either way.
#[derive(Clone, Debug, Default)]
struct Unwinder {
    legs: Vec<Leg>,
    paid: f64,
    /// (hedge notional, the price it was put on at), one per slice taken.
    hedges: Vec<(f64, f64)>,
    pnl: f64,
}

impl Unwinder {
    /// Takes `q` of `leg` at `value` (its mark), hedging its delta (per contract) at `spot`.
    fn take(&mut self, leg: &Leg, q: i64, value: f64, delta: f64, spot: f64) {
        self.paid += value;
        add_leg(&mut self.legs, leg, q);
        self.hedges.push((-(q as f64) * delta * spot, spot));
    }

    /// Closes everything at the marks of `mk` (spot `spot`), booking value − paid + hedge P&L.
    fn close(
        &mut self,
        spot: f64,
        mk: &[MarketAt],
        p: &RiskParams,
        now: i64,
        b: &mut MarginBreakdown,
    ) -> Result<(), engine::EngineError> {
        let value = if self.legs.is_empty() {
            0.0
        } else {
            engine::margin(&self.legs, mk, p, now, b)?.value as f64
        };
        let hedge: f64 = self
            .hedges
            .iter()
            .map(|(h, s0)| h * (spot / s0 - 1.0))
            .sum();
        self.pnl += value - self.paid + hedge;
        self.legs.clear();
        self.hedges.clear();
        self.paid = 0.0;
        Ok(())
    }
}

/// One window's simulation.
#[derive(Clone, Debug, Serialize)]
pub struct WindowResult {
    /// Window.
    pub window: String,
    /// Asset.
    pub asset: String,
    /// Accounts.
    pub accounts: usize,
    /// Population notional at the start (quote units).
    pub notional: f64,
    /// Average daily quote volume used for impact.
    pub adv: f64,
    /// Historical drawdown in the window (lowest close / first close − 1).
    pub historical_drawdown: f64,
    /// Per regime.
    pub regimes: Vec<RegimeResult>,
    /// Price paths (ts, historical, per regime) for the chart.
    #[serde(skip)]
    pub paths: Vec<(i64, f64, Vec<f64>)>,
}

#[derive(Clone, Debug)]
struct Account {
    collateral: f64,
    legs: Vec<Leg>,
    since: Option<i64>,
    /// Since when it has been left waiting, liquidatable, for lack of chain capacity (only with
    /// the chain's limits).
    waiting: Option<i64>,
    liquidated: bool,
    bankrupt: bool,
}

/// The population at the window start.
/// A series of the cascade (market, kind, strike, expiry): what a liquidation writes.
type SeriesKey = (u8, SeriesKind, i64, i64);

/// One series in the sharded layout: the real calls writing it the chain can still land this
/// round, and, per side (long, short), how many of the keepers have yet to take their first
/// position there.
///
/// `liquidate` writes a series only when the transfer changes what the series counts
/// (`programs/keel` `controller::liquidation::keeps_series`): the liquidator is new to it or
/// holds the opposite side, or the slice closes the liquidatee's position. A partial slice to a
/// keeper already holding that side only reads it (keel-keeper passes such series read-only and
/// resends writable when the simulation refuses, so a refusal costs no block space). The keepers
/// hold what they take over (the study hedges its delta off Keel), so after each keeper's first
/// call on a side only closing slices write.
#[derive(Clone, Debug)]
struct SeriesRoom {
    key: SeriesKey,
    credit: f64,
    newcomers: [f64; 2],
}

impl SeriesRoom {
    fn new(key: SeriesKey, keepers: f64) -> SeriesRoom {
        SeriesRoom {
            key,
            credit: 0.0,
            newcomers: [keepers; 2],
        }
    }

    /// Of `scale` real calls each moving `q` of a position of `qty` contracts to keepers who
    /// hold `net` contracts of the series together: how many write the series, and what the
    /// series' newcomers on that side are once they land.
    fn writes(&self, qty: i64, q: i64, net: i64, keepers: f64, scale: f64) -> SeriesWrites {
        let side = usize::from(q < 0);
        if net.signum() != q.signum() {
            // New to the series or netting: every call writes, and the keepers among these
            // calls hold the side afterwards.
            return SeriesWrites {
                calls: scale,
                side,
                newcomers: (keepers - scale).max(0.0),
            };
        }
        let first = self.newcomers[side].min(scale);
        SeriesWrites {
            // A slice that closes the liquidatee's position changes the holder count.
            calls: if q == qty { scale } else { first },
            side,
            newcomers: self.newcomers[side] - first,
        }
    }

    /// Books a landed call's writes.
    fn land(&mut self, w: &SeriesWrites) {
        self.credit -= w.calls;
        self.newcomers[w.side] = w.newcomers;
    }
}

/// What one call's transfer in a series writes ([`SeriesRoom::writes`]).
#[derive(Clone, Copy, Debug)]
struct SeriesWrites {
    calls: f64,
    side: usize,
    newcomers: f64,
}

fn series_key(l: &Leg) -> SeriesKey {
    (l.market, l.kind, l.strike, l.expiry)
}

fn population(
    spot: i64,
    vol: &VolState,
    t0: i64,
    p: &RiskParams,
    cfg: &CascadeConfig,
    adv: f64,
) -> Result<Vec<Account>, engine::EngineError> {
    let mut rng = Rng(cfg.seed);
    let mut b = MarginBreakdown::default();
    let target_oi = cfg.oi_frac * adv;
    // Sizes: lognormal contract counts, rescaled to the target open interest.
    let raw: Vec<f64> = (0..cfg.accounts)
        .map(|_| (rng.normal() * 0.8).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    let mut out = Vec::with_capacity(cfg.accounts);
    for (i, r) in raw.iter().enumerate() {
        let contracts = ((r / total) * target_oi / spot as f64).round().max(2.0) as i64;
        let expiry = t0 + 90 * DAY;
        let opt = |kind, m: f64, q: i64| Leg {
            market: 0,
            kind,
            strike: (spot as f64 * m).round() as i64,
            expiry,
            qty: q,
            entry: 0,
        };
        let legs = match i % 10 {
            0..=4 => vec![Leg {
                market: 0,
                kind: SeriesKind::Future,
                strike: 0,
                expiry,
                qty: contracts,
                entry: spot,
            }],
            5..=7 => vec![opt(SeriesKind::Put, 0.9, -contracts)],
            _ => vec![
                opt(SeriesKind::Call, 1.0, -contracts / 2),
                opt(SeriesKind::Put, 1.0, -contracts / 2),
            ],
        };
        let k = engine::margin(
            &legs,
            &[MarketAt {
                spot,
                vol: *vol,
                conf_frac: 0.0,
            }],
            p,
            t0,
            &mut b,
        )?;
        // Leverage: collateral between 1.05× and 3× the initial margin above the position value.
        let u = 1.05 + 1.95 * rng.uniform();
        out.push(Account {
            collateral: k.im as f64 * u - k.value as f64,
            legs,
            since: None,
            waiting: None,
            liquidated: false,
            bankrupt: false,
        });
    }
    Ok(out)
}

/// The historical path inside a bar, in log price: previous close → open → the nearer extreme →
/// the other extreme → close (low first on a down bar). Returns (cumulative |Δln|, price) knots.
fn intrabar_path(prev_close: f64, b: &crate::data::Bar) -> Vec<(f64, f64)> {
    let pts = if b.close < b.open {
        [prev_close, b.open, b.high, b.low, b.close]
    } else {
        [prev_close, b.open, b.low, b.high, b.close]
    };
    let mut out = vec![(0.0, pts[0])];
    for w in pts.windows(2) {
        let d = (w[1] / w[0]).ln().abs();
        let last = out.last().expect("non-empty").0;
        out.push((last + d, w[1]));
    }
    out
}

/// Price at fraction `f` ∈ [0, 1] of the path length (log-linear between knots).
fn path_at(path: &[(f64, f64)], f: f64) -> f64 {
    let total = path.last().expect("non-empty").0;
    if total <= 0.0 {
        return path[path.len() - 1].1;
    }
    let x = f.clamp(0.0, 1.0) * total;
    for w in path.windows(2) {
        if x <= w[1].0 {
            let seg = w[1].0 - w[0].0;
            let u = if seg > 0.0 { (x - w[0].0) / seg } else { 1.0 };
            return (w[0].1.ln() + u * (w[1].1 / w[0].1).ln()).exp();
        }
    }
    path[path.len() - 1].1
}

/// Keeper rounds in a bar: `rounds`, or with fine rounds on and a path spanning at least
/// `fine_range` in log price (previous close, high and low), enough rounds of at most
/// `fine_round_secs`.
fn bar_rounds(rounds: usize, dt: f64, path: &[(f64, f64)], cfg: &CascadeConfig) -> usize {
    if cfg.fine_round_secs <= 0 {
        return rounds;
    }
    let (lo, hi) = path
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &(_, p)| {
            (lo.min(p), hi.max(p))
        });
    if (hi / lo).ln() < cfg.fine_range {
        return rounds;
    }
    rounds.max((dt / cfg.fine_round_secs as f64).ceil() as usize)
}

/// Deribit-style standard MM above the marks: 7.5% of spot per short option, 1% per future.
fn standard_mm(legs: &[Leg], spot: f64) -> f64 {
    legs.iter()
        .map(|l| match l.kind {
            SeriesKind::Future => 0.01 * l.qty.unsigned_abs() as f64 * spot,
            _ if l.qty < 0 => 0.075 * l.qty.unsigned_abs() as f64 * spot,
            _ => 0.0,
        })
        .sum()
}

/// Simulates one window for every regime.
pub fn simulate(
    asset: &Asset,
    p: &RiskParams,
    lp: &LiquidationParams,
    w: &Window,
    cfg: &CascadeConfig,
) -> Result<Option<WindowResult>, engine::EngineError> {
    let s = &asset.prices;
    let t0 = w.from - cfg.lead_days * DAY;
    let (Some(i0), Some(i1)) = (s.last_at_or_before(t0), s.last_at_or_before(w.to + DAY)) else {
        return Ok(None);
    };
    if i1 <= i0 + 1 || s.bars[i0].ts < s.bars[0].ts + 30 * DAY {
        return Ok(None);
    }
    let feed = asset.iv_feed();
    // The vol state warmed up on history up to the window.
    let warm = engine::crank(
        &crate::data::Series {
            bars: s.bars[..=i0].to_vec(),
            ..s.clone()
        },
        asset.contract,
        p,
        feed.as_ref(),
    )?;
    let vol0 = *warm.last().expect("non-empty");
    // Average daily quote volume over the 30 days before the window.
    let lo = s.last_at_or_before(s.bars[i0].ts - 30 * DAY).unwrap_or(0);
    let per_day = DAY as f64 / s.interval as f64;
    let adv = if s.has_volume {
        s.bars[lo..=i0]
            .iter()
            .map(|b| b.volume * b.close)
            .sum::<f64>()
            / (i0 - lo + 1) as f64
            * per_day
            * engine::QUOTE
    } else {
        cfg.adv_fallback * engine::QUOTE
    };
    let spot0 = engine::native(s.bars[i0].close, asset.contract);
    let pop = population(spot0, &vol0, s.bars[i0].ts, p, cfg, adv)?;
    let notional: f64 = pop
        .iter()
        .map(|a| {
            a.legs
                .iter()
                .map(|l| l.qty.unsigned_abs() as f64)
                .fold(0.0, f64::max)
                * spot0 as f64
        })
        .sum();
    let collateral: f64 = pop.iter().map(|a| a.collateral).sum();
    let rounds = if cfg.rounds_per_bar > 0 {
        cfg.rounds_per_bar
    } else {
        (s.interval / 7200).clamp(1, 12) as usize
    };
    let hist_min = s.bars[i0 + 1..=i1]
        .iter()
        .map(|b| b.low)
        .fold(f64::INFINITY, f64::min);
    let close_min = s.bars[i0..=i1]
        .iter()
        .map(|b| b.close)
        .fold(f64::INFINITY, f64::min);
    let mut result = WindowResult {
        window: w.name.clone(),
        asset: asset.name().to_string(),
        accounts: pop.len(),
        notional,
        adv,
        historical_drawdown: close_min / s.bars[i0].close - 1.0,
        regimes: Vec::new(),
        paths: s.bars[i0..=i1]
            .iter()
            .map(|b| (b.ts, b.close, Vec::new()))
            .collect(),
    };
    let mut b = MarginBreakdown::default();
    for &regime in &cfg.regimes {
        let mut accts = pop.clone();
        let mut vol = vol0;
        let mut impact = 0.0f64; // ln price offset
        let mut flow = 0.0f64; // recent signed liquidation flow (native, > 0 = selling), decaying
        let mut insurance = cfg.insurance_frac * collateral;
        let mut r = RegimeResult {
            regime: regime.name().to_string(),
            accounts_liquidated: 0,
            calls: 0,
            liquidated_notional: 0.0,
            liquidated_frac: 0.0,
            max_impact: 0.0,
            trough_vs_history: 0.0,
            bankruptcies: 0,
            bad_debt: 0.0,
            insurance_used: 0.0,
            socialised: 0.0,
            insurance_end: 0.0,
            bonuses: 0.0,
            liquidator_bonus: 0.0,
            liquidator_mtm: 0.0,
            liquidator_closing_pnl: 0.0,
            queue: None,
        };
        let mut book = LiquidatorBook::default();
        let mut closer = Unwinder::default();
        let mut last = (
            [MarketAt {
                spot: engine::native(s.bars[i0].close, asset.contract),
                vol: vol0,
                conf_frac: 0.0,
            }],
            s.bars[i0].ts,
        );
        let mut low = f64::INFINITY;
        let mut queue = cfg.chain.map(|c| QueueStats {
            capacity_per_sec: c.per_second(),
            scale: cfg.scale,
            population: cfg.scale * accts.len() as f64,
            ..Default::default()
        });
        // Real calls the chain can still land this round (with the chain's limits), and per
        // series (the sharded layout: liquidations writing one series share its 24M a slot).
        let mut credit = 0.0f64;
        let keepers = cfg.chain.map_or(1, |c| c.keepers) as f64;
        let mut rooms: Vec<SeriesRoom> = Vec::new();
        for a in accts.iter() {
            for l in &a.legs {
                if !rooms.iter().any(|r| r.key == series_key(l)) {
                    rooms.push(SeriesRoom::new(series_key(l), keepers));
                }
            }
        }
        let mut order: Vec<usize> = (0..accts.len()).collect();
        for (k, i) in (i0 + 1..=i1).enumerate() {
            let bar = s.bars[i];
            let dt = (bar.ts - s.bars[i - 1].ts) as f64;
            let path = intrabar_path(s.bars[i - 1].close, &bar);
            let rounds = bar_rounds(rounds, dt, &path, cfg);
            let round_dt = dt / rounds as f64;
            // The implied vol known at the bar's open, treated as a live feed (republished each
            // round: the data is daily, a production feed is not).
            let iv_now = feed.as_ref().and_then(|f| f[i - 1]);
            let mut px = s.bars[i - 1].close * impact.exp();
            for round in 0..rounds {
                let now = if round + 1 == rounds {
                    bar.ts
                } else {
                    s.bars[i - 1].ts + ((round + 1) as f64 * round_dt) as i64
                };
                let hist = path_at(&path, (round + 1) as f64 / rounds as f64);
                flow *= (-(round_dt) * std::f64::consts::LN_2 / cfg.impact_half_life as f64).exp();
                let sigma_day = vol.margin_vol.to_num::<f64>() / (365.0f64).sqrt();
                impact = -flow.signum() * cfg.impact_y * sigma_day * (flow.abs() / adv).sqrt();
                // The crank sees the moved price every round, as an intraday crank would.
                px = hist * impact.exp();
                vol.observe(
                    engine::native(px, asset.contract),
                    now,
                    iv_now.map(|v| ImpliedVol { ts: now, ..v }),
                    p,
                    engine::PULL_SECS,
                )
                .map_err(|e| engine::EngineError(format!("crank: {e:?}")))?;
                low = low.min(px);
                // The closing liquidator closes last round's takeovers at this round's price.
                let open = engine::native(px, asset.contract);
                let mk_open = [MarketAt {
                    spot: open,
                    vol,
                    conf_frac: 0.0,
                }];
                closer.close(open as f64, &mk_open, p, now, &mut b)?;
                if let Some(ch) = &cfg.chain {
                    // Less than one simulated call's worth carries over (granularity), the rest
                    // of an unused round's capacity is lost.
                    credit = credit.min(cfg.scale) + ch.calls_in(round_dt);
                    let per_series = ch.series_calls_in(round_dt);
                    for r in rooms.iter_mut() {
                        r.credit = r.credit.min(cfg.scale) + per_series;
                    }
                }
                let mut starved = false;
                let landed_before = queue.as_ref().map_or(0.0, |q| q.calls);
                // Keepers call repeatedly within the round (each call capped by the regime), the
                // price moving with the impact of what was liquidated so far.
                for _pass in 0..cfg.calls_per_round.max(1) {
                    let px = hist * impact.exp();
                    let sigma_day = vol.margin_vol.to_num::<f64>() / (365.0f64).sqrt();
                    let spot = engine::native(px, asset.contract);
                    let mut sold = 0.0f64; // delta notional liquidators hedge by selling (quote)
                    let mut any = false;
                    let mut unserved = 0usize;
                    if cfg.chain.is_some() {
                        // Accounts left waiting first, the longest-waiting first; then the rest in
                        // population order (the order without limits).
                        order.sort_by_key(|&j| (accts[j].waiting.unwrap_or(i64::MAX), j));
                    }
                    for &j in &order {
                        let a = &mut accts[j];
                        if a.legs.is_empty() {
                            continue;
                        }
                        if starved && a.waiting.is_some() {
                            unserved += 1;
                            continue;
                        }
                        let mk = [MarketAt {
                            spot,
                            vol,
                            conf_frac: 0.0,
                        }];
                        let k = engine::margin(&a.legs, &mk, p, now, &mut b)?;
                        let equity = a.collateral + k.value as f64;
                        // The trigger: AVSL's level is raised while vol is above its reference.
                        let mm = match regime {
                            Regime::Static => standard_mm(&a.legs, spot as f64),
                            Regime::KeelFull => k.mm as f64,
                            Regime::Avsl | Regime::TriggerFull => {
                                liquidation::trigger_level(&b, vol.margin_vol, lp)
                                    .map_err(|e| engine::EngineError(format!("trigger: {e:?}")))?
                                    as f64
                            }
                        };
                        if equity >= mm {
                            a.since = None;
                            a.waiting = None;
                            continue;
                        }
                        // The Dutch-auction clock opens with the first call that lands; the plan
                        // sizes the call as of now either way.
                        let since = a.since.unwrap_or(now);
                        // Keel's regimes size (AVSL) and price (both) the call with the plan.
                        let plan = if equity > 0.0 && regime != Regime::Static {
                            b.collateral = a.collateral.round() as i64;
                            b.equity_mm = equity.round() as i64;
                            Some(
                                liquidation::plan(&b, vol.margin_vol, now - since, lp)
                                    .map_err(|e| engine::EngineError(format!("plan: {e:?}")))?,
                            )
                        } else {
                            None
                        };
                        let fraction = match (regime, &plan) {
                            (Regime::Avsl, Some(plan)) => plan.fraction.to_num::<f64>(),
                            _ => 1.0,
                        };
                        let fx = Fx::from_num(fraction);
                        let slices = a
                            .legs
                            .iter()
                            .map(|leg| liquidation::slice(leg.qty, fx))
                            .collect::<Result<Vec<i64>, _>>()
                            .map_err(|e| engine::EngineError(format!("slice: {e:?}")))?;
                        if let Some(q) = queue.as_mut() {
                            // The chain lands its call only if the round's capacity has room
                            // for the `scale` real calls it stands for; if not, it waits.
                            if starved || credit < cfg.scale {
                                starved = true;
                                a.waiting.get_or_insert(now);
                                unserved += 1;
                                continue;
                            }
                            // A series out of room holds back the accounts whose calls write
                            // it, not the others: a partial slice to keepers already holding
                            // its side only reads it.
                            let writes: Vec<(usize, SeriesWrites)> = a
                                .legs
                                .iter()
                                .zip(&slices)
                                .filter(|(_, q)| **q != 0)
                                .filter_map(|(l, &q)| {
                                    let i = rooms.iter().position(|r| r.key == series_key(l))?;
                                    let w = rooms[i].writes(
                                        l.qty,
                                        q,
                                        book.net(series_key(l)),
                                        keepers,
                                        cfg.scale,
                                    );
                                    Some((i, w))
                                })
                                .collect();
                            if writes.iter().any(|(i, w)| rooms[*i].credit < w.calls) {
                                a.waiting.get_or_insert(now);
                                unserved += 1;
                                continue;
                            }
                            q.series_transfers += cfg.scale * writes.len() as f64;
                            for (i, w) in &writes {
                                rooms[*i].land(w);
                                q.series_read_only += cfg.scale - w.calls;
                            }
                            credit -= cfg.scale;
                            q.calls += cfg.scale;
                            if let Some(t) = a.waiting.take() {
                                q.longest_wait_secs = q.longest_wait_secs.max(now - t);
                            }
                        }
                        a.since.get_or_insert(now);
                        any = true;
                        let deltas: Vec<f64> = b.positions[..a.legs.len()]
                            .iter()
                            .map(|q| q.greeks.delta.to_num::<f64>())
                            .collect();
                        let marks: Vec<f64> = b.positions[..a.legs.len()]
                            .iter()
                            .map(|q| q.value as f64)
                            .collect();
                        // Transfer the slice at the engine's marks.
                        let mut transferred_value = 0.0;
                        let mut call_notional = 0.0;
                        for (j, leg) in a.legs.iter_mut().enumerate() {
                            let q = slices[j];
                            if q == 0 {
                                continue;
                            }
                            let share = q as f64 / leg.qty as f64;
                            transferred_value += marks[j] * share;
                            book.take(leg, q, marks[j] * share);
                            closer.take(leg, q, marks[j] * share, deltas[j], spot as f64);
                            sold += q as f64 * deltas[j] * spot as f64;
                            call_notional += q.unsigned_abs() as f64 * spot as f64;
                            leg.qty -= q;
                        }
                        a.legs.retain(|l| l.qty != 0);
                        r.liquidated_notional += call_notional;
                        a.collateral += transferred_value;
                        r.calls += 1;
                        if !a.liquidated {
                            a.liquidated = true;
                            r.accounts_liquidated += 1;
                        }
                        if equity <= 0.0 {
                            // Bankrupt: everything went at once above; the fund pays the shortfall.
                            a.legs.clear();
                            let shortfall = -a.collateral.min(0.0);
                            a.collateral = 0.0;
                            if !a.bankrupt {
                                a.bankrupt = true;
                                r.bankruptcies += 1;
                            }
                            r.bad_debt += shortfall;
                            let paid = shortfall.min(insurance);
                            insurance -= paid;
                            r.insurance_used += paid;
                            r.socialised += shortfall - paid;
                            continue;
                        }
                        let (bonus, fee) = match &plan {
                            None => (0.0075 * call_notional, 0.0),
                            Some(plan) => {
                                let (bonus, fee) =
                                    liquidation::bonus(plan.bonus_rate, fx, k.mm, lp).map_err(
                                        |e| engine::EngineError(format!("bonus: {e:?}")),
                                    )?;
                                (bonus as f64, fee as f64)
                            }
                        };
                        insurance += fee;
                        a.collateral -= bonus;
                        r.bonuses += bonus;
                        r.liquidator_bonus += bonus - fee;
                        if a.legs.is_empty() && a.collateral < 0.0 {
                            let shortfall = -a.collateral;
                            a.collateral = 0.0;
                            r.bad_debt += shortfall;
                            let paid = shortfall.min(insurance);
                            insurance -= paid;
                            r.insurance_used += paid;
                            r.socialised += shortfall - paid;
                        }
                    }
                    flow += sold;
                    impact = -flow.signum() * cfg.impact_y * sigma_day * (flow.abs() / adv).sqrt();
                    r.max_impact = r.max_impact.max(1.0 - impact.exp());
                    if starved {
                        if let Some(q) = queue.as_mut() {
                            q.rounds_short += 1;
                            q.max_waiting = q.max_waiting.max(unserved as f64 * cfg.scale);
                        }
                    }
                    if !any || starved {
                        break;
                    }
                }
                if let (Some(q), Some(ch)) = (queue.as_mut(), &cfg.chain) {
                    let landed = (q.calls - landed_before) / cfg.scale;
                    if landed > 0.0 {
                        let secs = round_dt - ch.keeper_latency_secs;
                        let rate = if secs > 0.0 {
                            landed / secs
                        } else {
                            f64::INFINITY
                        };
                        q.peak_sim_calls_per_sec = q.peak_sim_calls_per_sec.max(rate);
                    }
                }
                let spot = engine::native(hist * impact.exp(), asset.contract);
                let mk = [MarketAt {
                    spot,
                    vol,
                    conf_frac: 0.0,
                }];
                book.mark(spot as f64, &mk, p, now, &mut b)?;
                last = (mk, now);
            }
            result.paths[k + 1].2.push(px);
        }
        result.paths[0].2.push(s.bars[i0].close);
        // What is still held at the window's end is closed at its last marks.
        closer.close(last.0[0].spot as f64, &last.0, p, last.1, &mut b)?;
        r.liquidated_frac = r.liquidated_notional / notional.max(1.0);
        r.trough_vs_history = low / hist_min - 1.0;
        r.insurance_end = insurance;
        r.liquidator_mtm = book.value - book.paid + book.hedge_pnl;
        r.liquidator_closing_pnl = closer.pnl;
        r.queue = queue;
        result.regimes.push(r);
    }
    Ok(Some(result))
}

/// The throughput study (issue 15 §2): the cascade replayed with the chain's limits on
/// liquidation calls, for populations of growing size holding the same open interest, in
/// the former one-Exchange layout and the program's ledger shards, against the same cascade
/// without limits.
#[derive(Clone, Debug)]
pub struct ThroughputConfig {
    /// The chain (its layout is set per run).
    pub chain: Chain,
    /// Population sizes (real accounts).
    pub populations: Vec<f64>,
    /// Fine rounds in the crash bars (`CascadeConfig::fine_round_secs`), in every run of the
    /// study including the unconstrained reference.
    pub fine_round_secs: i64,
    /// `CascadeConfig::fine_range`.
    pub fine_range: f64,
}

impl Default for ThroughputConfig {
    fn default() -> Self {
        ThroughputConfig {
            chain: Chain::new(Layout::Today),
            populations: vec![1e2, 1e3, 1e4, 3e4, 1e5, 3e5, 1e6],
            fine_round_secs: 600,
            fine_range: 0.03,
        }
    }
}

/// One run of the throughput study: the cascade settings and what they stand for.
#[derive(Clone, Debug)]
pub struct ThroughputJob {
    /// Layout.
    pub layout: Layout,
    /// Real accounts.
    pub population: f64,
    /// The cascade settings of the run (its regimes: those the population may change).
    pub cfg: CascadeConfig,
}

fn throughput_cfg(
    base: &CascadeConfig,
    t: &ThroughputConfig,
    layout: Layout,
    population: f64,
) -> CascadeConfig {
    CascadeConfig {
        chain: Some(Chain { layout, ..t.chain }),
        scale: population / base.accounts.max(1) as f64,
        fine_round_secs: t.fine_round_secs,
        fine_range: t.fine_range,
        ..base.clone()
    }
}

/// The unconstrained reference run of the throughput study: the same code with unlimited
/// capacity. Its results do not depend on the population (the same open interest in more,
/// smaller accounts).
pub fn reference_job(base: &CascadeConfig, t: &ThroughputConfig) -> ThroughputJob {
    ThroughputJob {
        layout: Layout::Unconstrained,
        population: base.accounts as f64,
        cfg: throughput_cfg(base, t, Layout::Unconstrained, base.accounts as f64),
    }
}

/// The largest population the chain serves without any account ever waiting, from the
/// reference run's peak demand: `accounts · capacity per second / peak simulated calls per
/// second` (infinite when nothing was liquidated). Up to it the constrained run *is* the
/// reference (the queue never binds, so nothing else differs); a unit test checks that. In the
/// sharded layout the capacity is one series' (`Chain::guaranteed_per_second`): a lower bound,
/// so no population that could wait is skipped.
pub fn critical_population(chain: &Chain, accounts: usize, reference: &RegimeResult) -> f64 {
    let peak = reference
        .queue
        .as_ref()
        .map_or(0.0, |q| q.peak_sim_calls_per_sec);
    if peak <= 0.0 {
        return f64::INFINITY;
    }
    accounts as f64 * chain.guaranteed_per_second() / peak
}

/// The constrained runs of the throughput study: each layout and population of the grid, with
/// only the regimes whose critical population it exceeds (below it the run is the reference).
pub fn grid_jobs(
    base: &CascadeConfig,
    t: &ThroughputConfig,
    reference: &WindowResult,
) -> Vec<ThroughputJob> {
    let mut jobs = Vec::new();
    for layout in [Layout::Today, Layout::Sharded] {
        let chain = Chain { layout, ..t.chain };
        for &population in &t.populations {
            let regimes: Vec<Regime> = base
                .regimes
                .iter()
                .zip(&reference.regimes)
                .filter(|(_, r)| population > critical_population(&chain, reference.accounts, r))
                .map(|(g, _)| *g)
                .collect();
            if !regimes.is_empty() {
                jobs.push(ThroughputJob {
                    layout,
                    population,
                    cfg: CascadeConfig {
                        regimes,
                        ..throughput_cfg(base, t, layout, population)
                    },
                });
            }
        }
    }
    jobs
}

/// One regime of one run of the throughput study (real accounts and calls).
#[derive(Clone, Debug, Serialize)]
pub struct ThroughputPoint {
    /// Real accounts.
    pub population: f64,
    /// Layout.
    pub layout: String,
    /// Regime.
    pub regime: String,
    /// Real accounts that went bankrupt.
    pub bankruptcies: f64,
    /// As a fraction of the population.
    pub bankrupt_frac: f64,
    /// Bad debt as a fraction of the population's starting notional.
    pub bad_debt_frac: f64,
    /// Socialised loss, same unit.
    pub socialised_frac: f64,
    /// Real liquidation calls landed.
    pub calls: f64,
    /// Most real accounts left waiting at a round's end.
    pub max_waiting: f64,
    /// Longest wait for a call (seconds).
    pub longest_wait_secs: i64,
    /// Rounds that ended with accounts waiting.
    pub rounds_short: usize,
    /// Share of the series transfers that only read their series (`QueueStats::series_read_only`).
    pub series_read_only_frac: f64,
    /// Simulated (false: at or below the critical population, so the reference's results).
    pub simulated: bool,
}

/// The population from which the queue exceeds the chain's capacity, per layout and regime.
#[derive(Clone, Debug, Serialize)]
pub struct Critical {
    /// Layout.
    pub layout: String,
    /// Regime.
    pub regime: String,
    /// Peak liquidation demand of the unconstrained cascade, real calls per second per 1000
    /// accounts.
    pub peak_calls_per_sec_per_1000: f64,
    /// The largest population served without waiting (`critical_population`).
    pub population: f64,
}

/// Where a layout breaks for a regime: the smallest population of the grid whose bad debt is
/// above the unconstrained run's.
#[derive(Clone, Debug, Serialize)]
pub struct Break {
    /// Layout.
    pub layout: String,
    /// Regime.
    pub regime: String,
    /// The smallest population of the grid with more bad debt than the unconstrained run
    /// (`None`: none of the grid's).
    pub population: Option<f64>,
    /// The grid point below it (`None`: it broke at the grid's smallest).
    pub last_unbroken: Option<f64>,
}

/// The throughput study of one window.
#[derive(Clone, Debug, Serialize)]
pub struct ThroughputResult {
    /// Window.
    pub window: String,
    /// Asset.
    pub asset: String,
    /// The chain (layout of the base: see the points for each run's).
    pub chain: Chain,
    /// Liquidation calls per second, today's layout.
    pub today_per_sec: f64,
    /// Per second, sharded.
    pub sharded_per_sec: f64,
    /// The population's starting notional (quote units, e.g. USDT).
    pub notional_quote: f64,
    /// Fine rounds in the crash bars (seconds; 0: none).
    pub fine_round_secs: i64,
    /// Their threshold (log-price span of the bar's path).
    pub fine_range: f64,
    /// The unconstrained reference, per regime.
    pub reference: Vec<ThroughputPoint>,
    /// Per layout, population and regime.
    pub points: Vec<ThroughputPoint>,
    /// Per layout and regime.
    pub breaks: Vec<Break>,
    /// Per layout and regime.
    pub critical: Vec<Critical>,
}

/// Bad debt (fraction of notional) above which a run counts as worse than the unconstrained
/// one: 10⁻⁶, a hundred-thousandth of a percent (the reference runs the same code with unlimited
/// capacity, so below the breaking population the results are equal up to rounding).
pub const BREAK_TOLERANCE: f64 = 1e-6;

/// Assembles the throughput study of one window from its reference run and its grid jobs'
/// results.
pub fn throughput_result(
    t: &ThroughputConfig,
    reference: &WindowResult,
    jobs: &[ThroughputJob],
    results: &[WindowResult],
) -> ThroughputResult {
    let accounts = reference.accounts.max(1) as f64;
    let notional = reference.notional.max(1.0);
    let point = |layout: Layout, population: f64, r: &RegimeResult, simulated: bool| {
        let q = r.queue.clone().unwrap_or_default();
        let scale = population / accounts;
        ThroughputPoint {
            population,
            layout: layout.name().to_string(),
            regime: r.regime.clone(),
            bankruptcies: r.bankruptcies as f64 * scale,
            bankrupt_frac: r.bankruptcies as f64 / accounts,
            bad_debt_frac: r.bad_debt / notional,
            socialised_frac: r.socialised / notional,
            calls: if simulated { q.calls } else { q.calls * scale },
            max_waiting: q.max_waiting,
            longest_wait_secs: q.longest_wait_secs,
            rounds_short: q.rounds_short,
            series_read_only_frac: q.series_read_only / q.series_transfers.max(f64::MIN_POSITIVE),
            simulated,
        }
    };
    let refs: Vec<ThroughputPoint> = reference
        .regimes
        .iter()
        .map(|r| point(Layout::Unconstrained, accounts, r, true))
        .collect();
    let mut points = Vec::new();
    let mut breaks = Vec::new();
    let mut critical = Vec::new();
    for layout in [Layout::Today, Layout::Sharded] {
        let chain = Chain { layout, ..t.chain };
        for (rr, rf) in reference.regimes.iter().zip(&refs) {
            let n_star = critical_population(&chain, reference.accounts, rr);
            critical.push(Critical {
                layout: layout.name().to_string(),
                regime: rr.regime.clone(),
                peak_calls_per_sec_per_1000: 1000.0
                    * rr.queue.as_ref().map_or(0.0, |q| q.peak_sim_calls_per_sec)
                    / accounts,
                population: n_star,
            });
            let mut last_unbroken = None;
            let mut broke = None;
            for &population in &t.populations {
                let run = jobs
                    .iter()
                    .zip(results)
                    .filter(|(j, _)| j.layout == layout && j.population == population)
                    .find_map(|(_, res)| res.regimes.iter().find(|g| g.regime == rr.regime));
                let p = match run {
                    Some(g) => point(layout, population, g, true),
                    None => point(layout, population, rr, false),
                };
                if broke.is_none() {
                    if p.bad_debt_frac > rf.bad_debt_frac + BREAK_TOLERANCE {
                        broke = Some(population);
                    } else {
                        last_unbroken = Some(population);
                    }
                }
                points.push(p);
            }
            breaks.push(Break {
                layout: layout.name().to_string(),
                regime: rr.regime.clone(),
                population: broke,
                last_unbroken,
            });
        }
    }
    let c = |layout| Chain { layout, ..t.chain };
    ThroughputResult {
        window: reference.window.clone(),
        asset: reference.asset.clone(),
        chain: t.chain,
        today_per_sec: c(Layout::Today).per_second(),
        sharded_per_sec: c(Layout::Sharded).per_second(),
        notional_quote: reference.notional / engine::QUOTE,
        fine_round_secs: t.fine_round_secs,
        fine_range: t.fine_range,
        reference: refs,
        points,
        breaks,
        critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bar;

    /// Ten contracts of a 90-day future entered at `spot`.
    fn long_future(spot: i64) -> Leg {
        Leg {
            market: 0,
            kind: SeriesKind::Future,
            strike: 0,
            expiry: 90 * DAY,
            qty: 10,
            entry: spot,
        }
    }

    /// The liquidator P&L split: a future taken over at its mark and delta-hedged has no
    /// mark-to-market P&L when the price falls 10%: the book loses the move, the hedge gains it.
    #[test]
    fn a_delta_hedged_book_of_futures_has_no_mark_to_market() {
        let p = RiskParams::DEFAULT;
        let spot = 50_000_000_000i64;
        let vol = VolState::new(spot, 0, &p).unwrap();
        let mk = |s: i64| {
            [MarketAt {
                spot: s,
                vol,
                conf_frac: 0.0,
            }]
        };
        let leg = long_future(spot);
        let mut b = MarginBreakdown::default();
        let mut book = LiquidatorBook::default();
        book.take(&leg, 10, 0.0); // at entry = spot: mark value 0
        book.mark(spot as f64, &mk(spot), &p, 60, &mut b).unwrap();
        assert!((book.hedge + 10.0 * spot as f64).abs() < 1e-6 * spot as f64);
        let down = spot / 10 * 9;
        book.mark(down as f64, &mk(down), &p, 120, &mut b).unwrap();
        let mtm = book.value - book.paid + book.hedge_pnl;
        assert!(
            (book.value + (spot - down) as f64 * 10.0).abs() < 1.0,
            "{}",
            book.value
        );
        assert!(mtm.abs() < 1e-6 * spot as f64, "hedged MTM {mtm}");
        // Taking the same leg again merges it into one position.
        book.take(&leg, 5, 0.0);
        assert_eq!(book.legs.len(), 1);
        assert_eq!(book.legs[0].qty, 15);
    }

    /// A series is written by the calls that change what it counts: every call while the keepers
    /// do not hold the slice's side (new, or netting), each keeper's first call on a side, and
    /// every slice that closes the liquidatee's position; a partial slice to holders only reads.
    #[test]
    fn only_first_netting_and_closing_calls_write_a_series() {
        let key = (0, SeriesKind::Future, 0, 90 * DAY);
        let mut r = SeriesRoom::new(key, 4.0);
        // Keepers hold nothing: 10 real calls of short slices all write; all four keepers then
        // hold the short side.
        let w = r.writes(-10, -3, 0, 4.0, 10.0);
        assert_eq!((w.calls, w.side, w.newcomers), (10.0, 1, 0.0));
        r.land(&w);
        assert_eq!(r.newcomers, [4.0, 0.0]);
        // Holding the short side: a partial slice only reads, a closing one writes.
        assert_eq!(r.writes(-7, -2, -30, 4.0, 10.0).calls, 0.0);
        assert_eq!(r.writes(-2, -2, -30, 4.0, 10.0).calls, 10.0);
        // A long slice nets against the keepers' short: every call writes.
        assert_eq!(r.writes(5, 2, -30, 4.0, 10.0).calls, 10.0);
        // Fewer real calls than keepers (a small population): the first calls on a side write
        // until every keeper holds it, whatever the book already holds.
        let mut small = SeriesRoom::new(key, 4.0);
        let w = small.writes(-10, -3, 0, 4.0, 0.5);
        assert_eq!((w.calls, w.newcomers), (0.5, 3.5));
        small.land(&w);
        for left in [3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0] {
            let w = small.writes(-10, -3, -3, 4.0, 0.5);
            assert_eq!(w.calls, 0.5);
            small.land(&w);
            assert_eq!(small.newcomers[1], left);
        }
        assert_eq!(small.writes(-10, -3, -3, 4.0, 0.5).calls, 0.0);
        assert_eq!(small.credit, -4.0);
    }

    /// The closing liquidator: a future taken at its mark, hedged at the take, closed after a
    /// 10% fall makes nothing (the position loses the move, the hedge gains it); closing empties
    /// it, and a second close adds nothing.
    #[test]
    fn a_hedged_future_closed_at_the_round_end_makes_nothing() {
        let p = RiskParams::DEFAULT;
        let spot = 50_000_000_000i64;
        let vol = VolState::new(spot, 0, &p).unwrap();
        let leg = long_future(spot);
        let mut b = MarginBreakdown::default();
        let mut c = Unwinder::default();
        c.take(&leg, 10, 0.0, 1.0, spot as f64);
        let down = spot / 10 * 9;
        let mk = [MarketAt {
            spot: down,
            vol,
            conf_frac: 0.0,
        }];
        c.close(down as f64, &mk, &p, 60, &mut b).unwrap();
        assert!(c.pnl.abs() < 1e-6 * spot as f64, "{}", c.pnl);
        assert!(c.legs.is_empty() && c.hedges.is_empty() && c.paid == 0.0);
        // Unhedged (delta 0 given), the same take loses the move: 10 contracts × 10%.
        let mut u = Unwinder::default();
        u.take(&leg, 10, 0.0, 0.0, spot as f64);
        u.close(down as f64, &mk, &p, 60, &mut b).unwrap();
        assert!(
            (u.pnl + (spot - down) as f64 * 10.0).abs() < 1.0,
            "{}",
            u.pnl
        );
        let before = u.pnl;
        u.close(down as f64, &mk, &p, 120, &mut b).unwrap();
        assert_eq!(u.pnl, before);
    }

    /// Fine rounds split only the bars whose path spans the threshold, into rounds of at most
    /// `fine_round_secs`; off by default.
    #[test]
    fn fine_rounds_split_only_the_crash_bars() {
        let bar = |low: f64| Bar {
            ts: 0,
            open: 100.0,
            high: 101.0,
            low,
            close: 100.0,
            volume: 0.0,
        };
        let calm = intrabar_path(100.0, &bar(99.0));
        let crash = intrabar_path(100.0, &bar(90.0));
        let off = CascadeConfig::default();
        assert_eq!(bar_rounds(1, 7200.0, &crash, &off), 1);
        let on = CascadeConfig {
            fine_round_secs: 600,
            ..Default::default()
        };
        assert_eq!(bar_rounds(1, 7200.0, &calm, &on), 1);
        assert_eq!(bar_rounds(1, 7200.0, &crash, &on), 12);
        assert_eq!(bar_rounds(1, 7000.0, &crash, &on), 12);
        assert_eq!(bar_rounds(12, 86_400.0, &crash, &on), 144);
        assert_eq!(bar_rounds(16, 7200.0, &crash, &on), 16);
    }

    #[test]
    fn the_intrabar_path_visits_the_extremes_in_order_and_ends_at_the_close() {
        let down = Bar {
            ts: 0,
            open: 100.0,
            high: 110.0,
            low: 80.0,
            close: 90.0,
            volume: 0.0,
        };
        let p = intrabar_path(100.0, &down);
        assert!((path_at(&p, 0.0) - 100.0).abs() < 1e-9);
        assert!((path_at(&p, 1.0) - 90.0).abs() < 1e-9);
        // Down bar: the high comes before the low, so the path touches 110 then 80.
        let xs: Vec<f64> = (0..=1000).map(|i| path_at(&p, i as f64 / 1000.0)).collect();
        let hi = xs.iter().position(|&v| (v - 110.0).abs() < 0.2).unwrap();
        let lo = xs.iter().position(|&v| (v - 80.0).abs() < 0.2).unwrap();
        assert!(hi < lo);
        assert!(xs.iter().all(|&v| (79.99..=110.01).contains(&v)));
    }
}
