//! keel-migrations: a reproducible, idempotent bootstrap of a Keel deployment (exchange,
//! markets with their oracle configuration, guards and risk parameters, series with the
//! risk-array pages their options need, correlations)
//! driven by a config file ([`config::Config`], TOML).
//!
//! [`bootstrap::bootstrap`] reads the chain, creates what is missing, and checks what exists
//! against the config, reporting every difference by field rather than ignoring it; running it
//! twice sends nothing the second time. It runs over keel-client's `Chain`, so the same code
//! bootstraps a real cluster (`keel bootstrap --config devnet.toml --url devnet`), the
//! in-process bank in tests, and the demo.

pub mod bootstrap;
pub mod config;
pub mod pages;
pub mod units;

pub use bootstrap::{bootstrap, Failed, Item, Options, Report, Status};
pub use config::Config;
