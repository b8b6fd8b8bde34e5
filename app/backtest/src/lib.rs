//! keel-backtest: replays real price and implied-vol history through keel-risk — the same code
//! the program runs — and measures whether its margin would have held, what it cost, how it
//! compares with baselines, how liquidations cascade, and how well volatility can be forecast.
//! See docs/validation.md.

pub mod data;
pub mod stats;
