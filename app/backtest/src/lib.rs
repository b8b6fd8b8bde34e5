//! keel-backtest: replays real price and implied-vol history through keel-risk — the same code
//! the program runs — and measures whether its margin would have held, what it cost, how it
//! compares with baselines, how liquidations cascade, and how well volatility can be forecast.
//! See docs/validation.md.

pub mod backtest;
pub mod bs;
pub mod calibrate;
pub mod cascade;
pub mod chain;
pub mod charts;
pub mod cli;
pub mod data;
pub mod engine;
pub mod forecast;
pub mod gbt;
pub mod metrics;
pub mod portfolio;
pub mod report;
pub mod run;
pub mod stats;
pub mod stress;
