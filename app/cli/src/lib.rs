//! keel-cli: the `keel` command line, as a library.
//!
//! Every command is an async function generic over keel-client's [`Chain`](keel_client::Chain)
//! that returns a serialisable result (printed as a table, or as JSON with `--output json`).
//! The binary runs them against `RpcChain`; the end-to-end tests run the very same functions
//! against `keel_bank::BankChain`.

pub mod commands;
pub mod env;
pub mod error;
pub mod names;
pub mod output;
pub mod solana_config;

pub use env::Env;
pub use error::CliError;
pub use output::Render;
