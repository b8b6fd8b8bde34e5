//! Keel on solana-program-test's bank: the program registered natively, real SPL Token and
//! Token-2022 programs, oracle accounts written in the real layouts, the clock warped.
//!
//! One test binary (`cargo test -p keel-tests --test bank`); the harness is `keel_tests`.

mod admin;
mod arrays;
mod attacks;
mod cranks;
mod errors;
mod fills;
mod keeper;
mod keeper_rpc;
mod ledgers;
mod lifecycle;
mod liquidation;
mod pump;
mod range_limit;
mod realised_stress;
mod refusals;
mod shared_scenarios;
mod trading;
mod wallet;
