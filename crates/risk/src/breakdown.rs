//! The complete, serialisable result of a margin computation: every figure an auditor needs to
//! recompute it and a client needs to display it (docs/risk-model.md §4.7).

use crate::aggregate::MAX_MARKETS;
use crate::fx::Fx;
use crate::pricing::Greeks;
use crate::scenario::{SCENARIOS, STRIKE_POINTS};

/// Most positions in one margin account.
pub const MAX_POSITIONS: usize = 32;

/// The risk of one underlying within an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MarketRisk {
    /// Oracle price per contract used for marks and MM.
    pub spot: i64,
    /// Stable price per contract used for IM's conservative valuation.
    pub stable_spot: i64,
    /// Oracle confidence per contract.
    pub conf: i64,
    /// Vol in force for margin (the scenario grid).
    pub sigma: Fx,
    /// Vol the positions are marked at.
    pub mark_sigma: Fx,
    /// IM price range R (log move).
    pub range: Fx,
    /// Log move of each scenario.
    pub ln_move: [Fx; SCENARIOS],
    /// Forward per contract in each scenario.
    pub forward: [i64; SCENARIOS],
    /// P&L of this market's positions in each scenario (gain > 0), unweighted.
    pub pnl: [i64; SCENARIOS],
    /// Strike points in use (at most `scenario::STRIKE_POINTS`); unused slots have log move 0,
    /// forward = spot and P&L 0.
    pub n_strike_points: u8,
    /// Log move ln(K/S) of each strike point.
    pub strike_ln_move: [Fx; STRIKE_POINTS],
    /// Forward of each strike point (its strike).
    pub strike_forward: [i64; STRIKE_POINTS],
    /// P&L at each strike point: vol up (0..STRIKE_POINTS), then vol down.
    pub strike_pnl: [i64; 2 * STRIKE_POINTS],
    /// Slope of the P&L in the log move, Σ qty·∂V/∂ln F, from the right, per fixed scenario.
    pub slope_right: [i64; SCENARIOS],
    /// The same from the left (differs only where an expired option's strike is the forward).
    pub slope_left: [i64; SCENARIOS],
    /// Right slopes at the strike points (laid out as `strike_pnl`).
    pub strike_slope_right: [i64; 2 * STRIKE_POINTS],
    /// Left slopes at the strike points.
    pub strike_slope_left: [i64; 2 * STRIKE_POINTS],
    /// Worst weighted loss over the IM scenarios (≥ 0).
    pub worst_im: i64,
    /// Its scenario (`scenario::STRIKE` and up: a strike point); with `worst_im_between`, the
    /// lower end of the interval whose bound it is.
    pub worst_im_scenario: u8,
    /// Whether the worst IM loss is the bound between two adjacent price points.
    pub worst_im_between: bool,
    /// Worst loss over the MM scenarios (≥ 0).
    pub worst_mm: i64,
    /// Its scenario, as for `worst_im_scenario`.
    pub worst_mm_scenario: u8,
    /// Whether the worst MM loss is the bound between two adjacent price points.
    pub worst_mm_between: bool,
    /// Net delta in contracts.
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

/// One position's contribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PositionRisk {
    /// Mark value per contract at the oracle price.
    pub mark: i64,
    /// Mark value per contract at the stable price.
    pub mark_stable: i64,
    /// qty·mark + cash: the position's contribution to MM equity.
    pub value: i64,
    /// Its contribution to IM equity (worse of oracle/stable, gains haircut).
    pub value_im: i64,
    /// Rounding allowance charged for this position (per side).
    pub rounding: i64,
    /// Greeks per contract at the mark.
    pub greeks: Greeks,
}

/// Everything computed for one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
