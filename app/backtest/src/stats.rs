//! The backtest's statistics live in keel-stats, shared with the live model monitor
//! (app/monitor): one implementation of Kupiec, Christoffersen, the Basel traffic light and the
//! rolling exceedance window.

pub use keel_stats::*;
