//! One file per instruction, `<domain>_<verb>.rs`: its `Accounts` struct, its `*Args` and its
//! handler. Handlers only wire accounts; money and margin logic lives in `controller`.
//!
//! The glob re-exports bring each `Accounts` struct and Anchor's generated client modules into
//! the `#[program]` scope; every module's `handler` is called by its path from `lib.rs`, so the
//! ambiguity of the re-exported `handler` names is intended.
#![allow(ambiguous_glob_reexports)]

pub mod account_close;
pub mod account_deposit;
pub mod account_liquidate;
pub mod account_margin_report;
pub mod account_open;
pub mod account_resolve_bankruptcy;
pub mod account_set_delegate;
pub mod account_settle_positions;
pub mod account_withdraw;
pub mod array_page_create;
pub mod correlation_create;
pub mod correlation_update;
pub mod exchange_fund_insurance;
pub mod exchange_init;
pub mod exchange_set_pause;
pub mod exchange_update_liquidation_params;
pub mod exchange_withdraw_fees;
pub mod market_crank_arrays;
pub mod market_create;
pub mod market_publish_implied_vol;
pub mod market_update_params;
pub mod market_update_volatility;
pub mod series_list;
pub mod series_settle;
pub mod trade_execute;

pub use account_close::*;
pub use account_deposit::*;
pub use account_liquidate::*;
pub use account_margin_report::*;
pub use account_open::*;
pub use account_resolve_bankruptcy::*;
pub use account_set_delegate::*;
pub use account_settle_positions::*;
pub use account_withdraw::*;
pub use array_page_create::*;
pub use correlation_create::*;
pub use correlation_update::*;
pub use exchange_fund_insurance::*;
pub use exchange_init::*;
pub use exchange_set_pause::*;
pub use exchange_update_liquidation_params::*;
pub use exchange_withdraw_fees::*;
pub use market_crank_arrays::*;
pub use market_create::*;
pub use market_publish_implied_vol::*;
pub use market_update_params::*;
pub use market_update_volatility::*;
pub use series_list::*;
pub use series_settle::*;
pub use trade_execute::*;
