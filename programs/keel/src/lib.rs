//! Keel: on-chain European options and futures with a volatility-aware portfolio margin engine.
//!
//! Layers: keel-risk (pure fixed-point risk engine) → keel-state (account layouts and the one
//! function that turns them into engine inputs) → `controller` (state transitions: margin
//! checks, money movements) → `instructions` (one file per instruction; handlers wire accounts).
//! `lib.rs` only forwards.
#![allow(clippy::result_large_err)]

use anchor_lang::prelude::*;

pub mod bounds;
pub mod controller;
#[cfg(feature = "cu-trace")]
pub mod cu_trace;
pub mod error;
pub mod events;
#[cfg(feature = "idl-build")]
pub mod idl_types;
pub mod instructions;
pub mod oracle;
pub mod state;

use instructions::*;

declare_id!("KeeLxPxjnKyz8h2ieXcJ4vGtrqJcH3i3oDJvgiKzwYq");

#[program]
pub mod keel {
    use super::*;

    // ---- admin ----

    /// Creates the exchange, its quote vault and its ledger shards.
    pub fn init_exchange<'info>(
        ctx: Context<'info, InitExchange<'info>>,
        args: InitExchangeArgs,
    ) -> Result<()> {
        exchange_init::handler(ctx, args)
    }

    /// Sets the pause flags.
    pub fn set_pause(ctx: Context<SetPause>, args: SetPauseArgs) -> Result<()> {
        exchange_set_pause::handler(ctx, args)
    }

    /// Replaces the AVSL liquidation parameters within their hard bounds.
    pub fn update_liquidation_params(
        ctx: Context<UpdateLiquidationParams>,
        args: UpdateLiquidationParamsArgs,
    ) -> Result<()> {
        exchange_update_liquidation_params::handler(ctx, args)
    }

    /// Moves collected trading fees out of the vault.
    pub fn withdraw_fees<'info>(
        ctx: Context<'info, WithdrawFees<'info>>,
        args: WithdrawFeesArgs,
    ) -> Result<()> {
        exchange_withdraw_fees::handler(ctx, args)
    }

    /// Creates a market (oracle, contract size, guards, risk parameters, vol state).
    pub fn create_market(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
        market_create::handler(ctx, args)
    }

    /// Replaces a market's risk parameters and guards within their hard bounds.
    pub fn update_market_params(
        ctx: Context<UpdateMarketParams>,
        args: UpdateMarketParamsArgs,
    ) -> Result<()> {
        market_update_params::handler(ctx, args)
    }

    /// Lists a call, put or future series.
    pub fn list_series(ctx: Context<ListSeries>, args: ListSeriesArgs) -> Result<()> {
        series_list::handler(ctx, args)
    }

    /// Initialises a risk-array page of a market (the client allocates the account).
    pub fn create_array_page(ctx: Context<CreateArrayPage>) -> Result<()> {
        array_page_create::handler(ctx)
    }

    /// Creates the correlation state of two markets.
    pub fn create_correlation(
        ctx: Context<CreateCorrelation>,
        args: CreateCorrelationArgs,
    ) -> Result<()> {
        correlation_create::handler(ctx, args)
    }

    // ---- vol authority ----

    /// Publishes an implied vol for a market.
    pub fn publish_implied_vol(
        ctx: Context<PublishImpliedVol>,
        args: PublishImpliedVolArgs,
    ) -> Result<()> {
        market_publish_implied_vol::handler(ctx, args)
    }

    // ---- wallet ----

    /// Opens a margin account.
    pub fn open_account(ctx: Context<OpenAccount>, args: OpenAccountArgs) -> Result<()> {
        account_open::handler(ctx, args)
    }

    /// Sets or clears the account's trading delegate.
    pub fn set_delegate(ctx: Context<SetDelegate>, args: SetDelegateArgs) -> Result<()> {
        account_set_delegate::handler(ctx, args)
    }

    /// Deposits quote tokens as collateral; passed the account's markets, ends a liquidation
    /// episode the deposit heals.
    pub fn deposit<'info>(ctx: Context<'info, Deposit<'info>>, args: DepositArgs) -> Result<()> {
        account_deposit::handler(ctx, args)
    }

    /// Withdraws collateral while equity stays ≥ initial margin.
    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, args: WithdrawArgs) -> Result<()> {
        account_withdraw::handler(ctx, args)
    }

    /// A bilateral trade of one series (maker and taker both sign).
    pub fn trade<'info>(ctx: Context<'info, Trade<'info>>, args: TradeArgs) -> Result<()> {
        trade_execute::handler(ctx, args)
    }

    /// Closes an empty margin account.
    pub fn close_account(ctx: Context<CloseAccount>) -> Result<()> {
        account_close::handler(ctx)
    }

    // ---- permissionless ----

    /// Adds quote tokens to the insurance fund.
    pub fn fund_insurance<'info>(
        ctx: Context<'info, FundInsurance<'info>>,
        args: FundInsuranceArgs,
    ) -> Result<()> {
        exchange_fund_insurance::handler(ctx, args)
    }

    /// Liquidates part of an account below maintenance margin (AVSL).
    pub fn liquidate<'info>(
        ctx: Context<'info, Liquidate<'info>>,
        args: LiquidateArgs,
    ) -> Result<()> {
        account_liquidate::handler(ctx, args)
    }

    /// Resolves a bankrupt account (no positions, negative collateral): insurance, then
    /// socialisation.
    pub fn resolve_bankruptcy<'info>(ctx: Context<'info, ResolveBankruptcy<'info>>) -> Result<()> {
        account_resolve_bankruptcy::handler(ctx)
    }

    /// The volatility crank.
    pub fn update_volatility<'info>(ctx: Context<'info, UpdateVolatility<'info>>) -> Result<()> {
        market_update_volatility::handler(ctx)
    }

    /// The risk-array crank: re-anchors a market when due and prices a page's slots.
    pub fn crank_arrays(ctx: Context<CrankArrays>, args: CrankArraysArgs) -> Result<()> {
        market_crank_arrays::handler(ctx, args)
    }

    /// The correlation crank.
    pub fn update_correlation(ctx: Context<UpdateCorrelation>) -> Result<()> {
        correlation_update::handler(ctx)
    }

    /// Fixes an expired series' settlement price.
    pub fn settle_series(ctx: Context<SettleSeries>) -> Result<()> {
        series_settle::handler(ctx)
    }

    /// Realises an account's positions in settled series.
    pub fn settle_positions<'info>(ctx: Context<'info, SettlePositions<'info>>) -> Result<()> {
        account_settle_positions::handler(ctx)
    }

    /// Emits an account's full margin breakdown (simulate it).
    pub fn margin_report<'info>(ctx: Context<'info, MarginReportAccounts<'info>>) -> Result<()> {
        account_margin_report::handler(ctx)
    }
}
