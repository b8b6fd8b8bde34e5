//! keel-monitor: the margin model's predictive accuracy, watched live (docs/monitoring.md).
//!
//! At each volatility crank of a market (a new `VolState::last_ts`), [`book`] strikes the
//! reference book — short one 30-day at-the-money call and put, the book keel-backtest's bar is
//! set on — and margins it with keel-risk exactly as the program would (marks at the mark vol,
//! scenarios at the margin vol, the market's own parameters). At the first crank at least one
//! margin horizon (`RiskParams::im_horizon_secs`) later, the book is revalued there and its
//! realised loss compared with the margin it was given: one horizon, an exceedance or not; the
//! next book is struck at that crank, so horizons never overlap ([`tracker`]). Over the last 250
//! horizons ([`keel_stats::rolling`]) it publishes exceedances, the Kupiec p-value and the Basel
//! zone — the statistics keel-backtest reports, from the same code — as Prometheus metrics and
//! JSON ([`serve`]), logging an alert when a zone turns yellow or red. Every horizon is appended
//! to a JSON-lines file ([`record`]) and replayed at start.

pub mod book;
pub mod record;
pub mod serve;
pub mod tracker;
pub mod watch;

/// Exceedance probability the margin targets (99% coverage).
pub const P: f64 = 0.01;
/// Horizons in the rolling window (Basel's 250).
pub const WINDOW: usize = 250;
