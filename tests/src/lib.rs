//! Keel's integration-test harness: PDAs, one instruction builder per instruction, oracle
//! account data in the real layouts, and a `TestContext` around solana-program-test's bank with
//! the program registered natively.

pub mod backend;
pub mod book;
pub mod context;
pub mod helpers;
pub mod idl;
pub mod scenario;
pub mod ts_fixtures;

/// PDAs, instruction builders and oracle account data: keel-client's, shared with the keeper
/// and CLI.
pub use keel_client::{ix, oracle, pda};
/// The AVSL rule in floating point (docs/liquidation.md §1–2), for tests outside this crate.
pub use keel_scenario::avsl;

pub use context::{
    code, MarketHandle, QuoteToken, TestContext, TestContextBuilder, TxErr, TxOk, User,
};
