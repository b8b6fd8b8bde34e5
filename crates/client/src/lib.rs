//! keel-client: everything an off-chain Keel program needs to talk to the on-chain program, and
//! nothing about how it decides what to say. The keeper, the CLI, the integration tests and the
//! demo all build instructions, derive addresses and decode events and errors through this crate,
//! so the account lists and byte formats cannot drift between them.
//!
//! - [`pda`]: every program-derived address.
//! - [`ix`]: one builder per instruction, deriving the accounts it can.
//! - [`events`], [`errors`]: decoding transaction logs and program errors (names, what to do).
//! - [`oracle`]: oracle account data in the real Pyth layouts (local chains and tests).
//! - [`chain`]: the small trait through which the keeper and CLI reach a chain, and
//!   [`rpc::RpcChain`], its implementation over Solana's JSON-RPC.
//! - [`lookup`]: address lookup tables (v0 transactions for the largest accounts).
//! - [`local_oracle`]: the local push oracle's instructions (price accounts on local chains).
//! - [`localnet`]: a local `solana-test-validator` running keel.so (tests, `keel demo
//!   --validator`).
//! - [`view`]: reading Keel accounts from a chain and recomputing margin off-chain with the
//!   same keel-state/keel-risk code the program runs.

pub mod chain;
pub mod errors;
pub mod events;
pub mod ix;
pub mod local_oracle;
pub mod localnet;
pub mod lookup;
pub mod oracle;
pub mod pda;
pub mod rpc;
pub mod view;

pub use anchor_lang::prelude::Pubkey;
pub use chain::{Budget, Chain, ChainError, SendError, Sent};
