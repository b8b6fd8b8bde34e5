//! Keel's integration scenarios, written once against [`Backend`]: the native bank (keel-tests,
//! the program registered natively) and the SBF bytecode in LiteSVM (tests/sbf, `keel.so`) each
//! implement it, so both run the same instructions in the same order on the same addresses.
//!
//! - [`backend`]: what a scenario needs from a chain (send, read, write an account, the clock).
//! - [`world`]: an exchange under test: quote mint and token accounts written directly in SPL
//!   Token's layout, markets on Pyth oracles, one helper per instruction, the CU of every call.
//! - [`conservation`]: the vault equals what the program says it holds, after every step.
//! - [`lifecycle`]: the full lifecycle with its negative checks.
//! - [`bankruptcy`]: liquidation down to bankruptcy, the insurance fund, socialised losses.
//! - [`fuzz`]: stateful instruction-sequence fuzzing, invariants after every step.
//! - [`pump`]: a 20× oracle pump cannot be withdrawn beyond the documented bound.
//! - [`random`]: conservation under a randomised sequence, to settlement and exit.
//! - [`sweep`]: every instruction at a given number of series and markets, for CU budgets.

pub mod avsl;
pub mod backend;
pub mod bankruptcy;
pub mod conservation;
pub mod fuzz;
pub mod lifecycle;
pub mod pump;
pub mod random;
pub mod sweep;
pub mod world;

pub use backend::{Backend, Failed, RawAccount, Sent};
pub use world::{Measured, World};
