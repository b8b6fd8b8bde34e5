//! The complete, serialisable result of a margin computation: every figure an auditor needs to
//! recompute it and a client needs to display it (docs/risk-model.md §4.7).

use crate::aggregate::MAX_MARKETS;
use crate::array::{Window, POINTS, STRIKE_POINTS};
use crate::fx::Fx;
use crate::pricing::Greeks;

/// Most positions in one margin account.
pub const MAX_POSITIONS: usize = 32;

/// The risk of one underlying within an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketRisk {
    /// Oracle price per contract used for marks and MM.
    pub spot: i64,
    /// Stable price per contract used for IM's conservative valuation.
    pub stable_spot: i64,
    /// Oracle confidence per contract.
    pub conf: i64,
    /// Vol in force for margin.
    pub sigma: Fx,
    /// Vol the positions are marked at.
    pub mark_sigma: Fx,
    /// The market's realised vol (0 = none kept): with `sigma`, what sets the liquidation
    /// trigger's stress (`liquidation::realised_stress`).
    pub realised_sigma: Fx,
    /// When the market's risk arrays were anchored.
    pub anchor_ts: i64,
    /// The anchor's oracle price per contract (the scenario points are moves of it).
    pub anchor_spot: i64,
    /// IM price range R (log move) and the ladder step h = R / `array::RANGE_STEPS`.
    pub range: Fx,
    /// The ladder step.
    pub step: Fx,
    /// The anchor's strike points, ascending (unused 0).
    pub strikes: [i64; STRIKE_POINTS],
    /// Where this check falls relative to the anchor: the IM and MM intervals in use.
    pub window: Window,
    /// P&L of this market's positions at each scenario point, Σ qty·(V − mark) (gain > 0),
    /// unweighted (`array::Ladder` says which point is which).
    pub pnl: [i64; POINTS],
    /// Per interval (by its first point): Σ over long positions of qty·gap, how far their value
    /// may fall below the chord between the two points.
    pub gap: [i64; POINTS],
    /// Σ qty·mark of this market's positions.
    pub mark_total: i64,
    /// Σ qty·V at the two ends of the oracle price's mark-ladder interval (hi bound): their
    /// difference over the interval's width is the net delta.
    pub mark_edges: [i64; 2],
    /// Worst weighted loss over the IM intervals (≥ 0).
    pub worst_im: i64,
    /// Its interval (its first point's number).
    pub worst_im_interval: u8,
    /// Worst loss over the MM intervals (≥ 0).
    pub worst_mm: i64,
    /// Its interval.
    pub worst_mm_interval: u8,
    /// Net delta in contracts: Σ qty × the slope of each value across the oracle price's
    /// mark-ladder interval.
    pub net_delta: Fx,
    /// Short option minimum (IM).
    pub short_min_im: i64,
    /// Short option minimum (MM).
    pub short_min_mm: i64,
    /// Oracle-confidence add-on.
    pub conf_addon: i64,
    /// Market-impact add-on.
    pub impact_addon: i64,
}

impl Default for MarketRisk {
    fn default() -> Self {
        MarketRisk {
            spot: 0,
            stable_spot: 0,
            conf: 0,
            sigma: Fx::ZERO,
            mark_sigma: Fx::ZERO,
            realised_sigma: Fx::ZERO,
            anchor_ts: 0,
            anchor_spot: 0,
            range: Fx::ZERO,
            step: Fx::ZERO,
            strikes: [0; STRIKE_POINTS],
            window: Window::default(),
            pnl: [0; POINTS],
            gap: [0; POINTS],
            mark_total: 0,
            mark_edges: [0; 2],
            worst_im: 0,
            worst_im_interval: 0,
            worst_mm: 0,
            worst_mm_interval: 0,
            net_delta: Fx::ZERO,
            short_min_im: 0,
            short_min_mm: 0,
            conf_addon: 0,
            impact_addon: 0,
        }
    }
}

/// One position's contribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PositionRisk {
    /// Mark value per contract at the oracle price: its risk array's bound for the position's
    /// side (a long's lower, a short's upper bound over the anchor's window).
    pub mark: i64,
    /// Mark value per contract at the stable price (the same bound).
    pub mark_stable: i64,
    /// qty·mark + cash: the position's contribution to MM equity.
    pub value: i64,
    /// Its contribution to IM equity (worse of oracle/stable, gains haircut).
    pub value_im: i64,
    /// Rounding allowance charged for this position (per side).
    pub rounding: i64,
    /// Greeks per contract at the market's anchor (mark vol).
    pub greeks: Greeks,
}

/// Everything computed for one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginBreakdown {
    /// Valuation time.
    pub now: i64,
    /// Collateral (quote native units).
    pub collateral: i64,
    /// Equity for MM: collateral + Σ value − rounding.
    pub equity_mm: i64,
    /// Equity for IM: collateral + Σ value_im − rounding.
    pub equity_im: i64,
    /// Maintenance margin.
    pub mm: i64,
    /// Initial margin.
    pub im: i64,
    /// Combined scenario loss, MM scenarios.
    pub scan_mm: i64,
    /// Combined scenario loss, IM scenarios.
    pub scan_im: i64,
    /// Correlation offset granted in `scan_mm`.
    pub offset_mm: i64,
    /// Correlation offset granted in `scan_im`.
    pub offset_im: i64,
    /// Σ confidence and impact add-ons.
    pub addons: i64,
    /// Σ short option minimums (MM).
    pub short_min_mm: i64,
    /// Σ short option minimums (IM).
    pub short_min_im: i64,
    /// Σ rounding allowances (margin carries twice this, equity minus once).
    pub rounding: i64,
    /// Whether every position is a long option (no shorts, no futures): then MM and IM are
    /// capped at `long_value_cap`.
    pub long_only: bool,
    /// For a long-only account, max(0, Σ value_im − rounding): the most it can lose, which its
    /// IM equity already counts (0 otherwise).
    pub long_value_cap: i64,
    /// Markets in use.
    pub n_markets: u8,
    /// Positions in use.
    pub n_positions: u8,
    /// Per market, in input order.
    pub markets: [MarketRisk; MAX_MARKETS],
    /// Per position, in input order.
    pub positions: [PositionRisk; MAX_POSITIONS],
}

impl Default for MarginBreakdown {
    fn default() -> Self {
        MarginBreakdown {
            now: 0,
            collateral: 0,
            equity_mm: 0,
            equity_im: 0,
            mm: 0,
            im: 0,
            scan_mm: 0,
            scan_im: 0,
            offset_mm: 0,
            offset_im: 0,
            addons: 0,
            short_min_mm: 0,
            short_min_im: 0,
            rounding: 0,
            long_only: false,
            long_value_cap: 0,
            n_markets: 0,
            n_positions: 0,
            markets: [MarketRisk::default(); MAX_MARKETS],
            positions: [PositionRisk::default(); MAX_POSITIONS],
        }
    }
}

impl MarginBreakdown {
    /// equity_mm − MM: below zero the account is liquidatable.
    pub fn health_mm(&self) -> i64 {
        self.equity_mm.saturating_sub(self.mm)
    }

    /// equity_im − IM: below zero the account may not add risk or withdraw.
    pub fn health_im(&self) -> i64 {
        self.equity_im.saturating_sub(self.im)
    }

    /// Collateral that may leave: min(collateral, equity_im − IM), never negative.
    pub fn withdrawable(&self) -> i64 {
        self.health_im().clamp(0, self.collateral.max(0))
    }

    /// Below maintenance margin.
    pub fn is_liquidatable(&self) -> bool {
        self.health_mm() < 0
    }
}
