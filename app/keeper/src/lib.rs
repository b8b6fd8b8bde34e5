//! keel-keeper: the bot that keeps Keel solvent. Each pass it reads every Keel account
//! (getProgramAccounts by discriminator), decodes them with the program's own layouts
//! (keel-state), recomputes every account's margin with keel-risk exactly as the program does,
//! and sends what is due: volatility cranks, risk-array cranks (re-anchoring a market and
//! re-pricing its pages when its anchor is due), liquidations of accounts below maintenance
//! margin (largest shortfall first, with retries, backoff and no duplicate in-flight work), and
//! settlement of expired series.
//!
//! - [`plan`]: the decision, pure (unit-tested without a chain).
//! - [`tracker`]: retries, backoff, in-flight.
//! - [`keeper`]: one pass over a `keel_client::Chain` (a real node or the in-process bank).
//! - [`feed`], [`reactive`]: websocket subscriptions (Keel program, oracles, clock) with a
//!   periodic resync, and the loop that runs a pass on every change.
//! - [`metrics`]: Prometheus metrics and their localhost endpoint.
//! - [`config`]: flags, environment and config file.

pub mod config;
pub mod feed;
pub mod keeper;
pub mod metrics;
pub mod plan;
pub mod reactive;
pub mod tracker;

pub use keeper::{Keeper, KeeperConfig, Outcome, TickReport};
pub use plan::{Action, ActionKey, Candidate, Plan, Policy};

#[cfg(test)]
pub(crate) mod fixtures;
