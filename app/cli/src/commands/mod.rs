//! One module per command group; each command is a function over any `Chain`.

pub mod account;
pub mod admin;
pub mod bootstrap;
pub mod cranks;
pub mod dashboard;
pub mod demo;
pub mod margin;
pub mod markets;
pub mod trade;
pub mod verify;
pub mod wallet;

/// A transaction that was sent, as results report it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Signature {
    /// Its signature (base58).
    pub signature: String,
}
