//! One instruction builder per Keel instruction. Each derives the accounts it can (PDAs, the
//! exchange's vault, mint and token program) so callers pass only what is theirs to choose.
//! Remaining accounts (markets, oracles, risk-array pages, correlations, series) are built by
//! [`margin_metas`] and [`series_metas`], or by `view::Snapshot::margin_metas` from chain state.

use crate::pda;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{InstructionData, ToAccountMetas};
use keel::instructions::*;

/// What every instruction touching tokens needs to know about the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExchangeKeys {
    pub exchange: Pubkey,
    pub vault: Pubkey,
    pub quote_mint: Pubkey,
    pub token_program: Pubkey,
    /// The ledger shards (`pda::ledgers`), index 0 first.
    pub ledgers: [Pubkey; keel_state::LEDGER_SHARDS as usize],
}

impl ExchangeKeys {
    /// The keys of the (single) exchange of `quote_mint` under `token_program`.
    pub fn new(quote_mint: Pubkey, token_program: Pubkey) -> Self {
        // One exchange per deployment: its address and vault are PDAs of the program.
        let exchange = pda::exchange();
        ExchangeKeys {
            exchange,
            vault: pda::vault(&exchange),
            quote_mint,
            token_program,
            ledgers: pda::ledgers(&exchange),
        }
    }

    /// The ledger shard instructions about `account` book their money movements in
    /// (`keel_state::ledger::shard_for`): accounts spread evenly over the shards.
    pub fn ledger_for(&self, account: &Pubkey) -> Pubkey {
        self.ledgers[keel_state::ledger::shard_for(&account.to_bytes()) as usize]
    }

    /// Every ledger shard, read-only, index 0 first: the head of the remaining accounts of the
    /// instructions that move tokens (they check conservation on the exchange's totals).
    pub fn ledger_metas(&self) -> Vec<AccountMeta> {
        self.ledgers
            .iter()
            .map(|l| AccountMeta::new_readonly(*l, false))
            .collect()
    }
}

fn ix(
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
    remaining: &[AccountMeta],
) -> Instruction {
    let mut metas = accounts.to_account_metas(None);
    metas.extend_from_slice(remaining);
    Instruction {
        program_id: keel::ID,
        accounts: metas,
        data: data.data(),
    }
}

/// Remaining accounts of a margin check: (market, oracle) pairs, the risk-array pages of the
/// option positions, then correlations. Markets are writable (each records the newest oracle
/// update it accepted); oracles, pages and correlations are read-only.
pub fn margin_metas(
    markets: &[(Pubkey, Pubkey)],
    pages: &[Pubkey],
    correlations: &[Pubkey],
) -> Vec<AccountMeta> {
    let mut v = Vec::new();
    for (m, o) in markets {
        v.push(AccountMeta::new(*m, false));
        v.push(AccountMeta::new_readonly(*o, false));
    }
    v.extend(pages.iter().map(|p| AccountMeta::new_readonly(*p, false)));
    v.extend(
        correlations
            .iter()
            .map(|c| AccountMeta::new_readonly(*c, false)),
    );
    v
}

pub fn init_exchange(ex: &ExchangeKeys, admin: &Pubkey, args: InitExchangeArgs) -> Instruction {
    ix(
        keel::accounts::InitExchange {
            admin: *admin,
            program_data: pda::program_data(),
            exchange: ex.exchange,
            quote_mint: ex.quote_mint,
            vault: ex.vault,
            token_program: ex.token_program,
            system_program: anchor_lang::system_program::ID,
        },
        keel::instruction::InitExchange { args },
        &ex.ledgers
            .iter()
            .map(|l| AccountMeta::new(*l, false))
            .collect::<Vec<_>>(),
    )
}

pub fn set_pause(ex: &ExchangeKeys, admin: &Pubkey, flags: u8) -> Instruction {
    ix(
        keel::accounts::SetPause {
            admin: *admin,
            exchange: ex.exchange,
        },
        keel::instruction::SetPause {
            args: SetPauseArgs { flags },
        },
        &[],
    )
}

pub fn create_market(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    market_index: u16,
    oracle: &Pubkey,
    args: CreateMarketArgs,
) -> Instruction {
    ix(
        keel::accounts::CreateMarket {
            admin: *admin,
            exchange: ex.exchange,
            market: pda::market(&ex.exchange, market_index),
            oracle: *oracle,
            system_program: anchor_lang::system_program::ID,
        },
        keel::instruction::CreateMarket { args },
        &[],
    )
}

pub fn update_market_params(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    market: &Pubkey,
    args: UpdateMarketParamsArgs,
) -> Instruction {
    ix(
        keel::accounts::UpdateMarketParams {
            admin: *admin,
            exchange: ex.exchange,
            market: *market,
        },
        keel::instruction::UpdateMarketParams { args },
        &[],
    )
}

pub fn publish_implied_vol(
    market: &Pubkey,
    authority: &Pubkey,
    implied_vol_bps: u32,
) -> Instruction {
    ix(
        keel::accounts::PublishImpliedVol {
            vol_authority: *authority,
            market: *market,
        },
        keel::instruction::PublishImpliedVol {
            args: PublishImpliedVolArgs { implied_vol_bps },
        },
        &[],
    )
}

/// `list_series`: an option takes a slot of `array_page` (a page of the market with room); a
/// future passes `None`.
pub fn list_series(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    market: &Pubkey,
    series_index: u32,
    array_page: Option<Pubkey>,
    args: ListSeriesArgs,
) -> Instruction {
    ix(
        keel::accounts::ListSeries {
            admin: *admin,
            exchange: ex.exchange,
            market: *market,
            series: pda::series(market, series_index),
            array_page,
            system_program: anchor_lang::system_program::ID,
        },
        keel::instruction::ListSeries { args },
        &[],
    )
}

pub fn create_correlation(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    market_a: &Pubkey,
    market_b: &Pubkey,
    args: CreateCorrelationArgs,
) -> Instruction {
    ix(
        keel::accounts::CreateCorrelation {
            admin: *admin,
            exchange: ex.exchange,
            market_a: *market_a,
            market_b: *market_b,
            correlation: pda::correlation(market_a, market_b),
            system_program: anchor_lang::system_program::ID,
        },
        keel::instruction::CreateCorrelation { args },
        &[],
    )
}

pub fn open_account(ex: &ExchangeKeys, owner: &Pubkey, account_id: u32) -> Instruction {
    ix(
        keel::accounts::OpenAccount {
            owner: *owner,
            exchange: ex.exchange,
            margin_account: pda::margin_account(&ex.exchange, owner, account_id),
            system_program: anchor_lang::system_program::ID,
        },
        keel::instruction::OpenAccount {
            args: OpenAccountArgs { account_id },
        },
        &[],
    )
}

pub fn set_delegate(owner: &Pubkey, account: &Pubkey, delegate: Pubkey) -> Instruction {
    ix(
        keel::accounts::SetDelegate {
            owner: *owner,
            margin_account: *account,
        },
        keel::instruction::SetDelegate {
            args: SetDelegateArgs { delegate },
        },
        &[],
    )
}

pub fn deposit(
    ex: &ExchangeKeys,
    depositor: &Pubkey,
    account: &Pubkey,
    source: &Pubkey,
    amount_native: u64,
) -> Instruction {
    deposit_checking_margin(ex, depositor, account, source, amount_native, &[])
}

/// The ledger shards, then `margin`.
fn ledgers_then(ex: &ExchangeKeys, margin: &[AccountMeta]) -> Vec<AccountMeta> {
    let mut v = ex.ledger_metas();
    v.extend_from_slice(margin);
    v
}

/// `deposit` with the account's markets (`margin_metas`): if the account is in a liquidation
/// episode, the program computes its margin after the deposit and ends the episode when it is
/// at or above MM (`view::Snapshot::deposit_metas` gives them exactly when needed). Without an
/// open episode the markets are ignored.
pub fn deposit_checking_margin(
    ex: &ExchangeKeys,
    depositor: &Pubkey,
    account: &Pubkey,
    source: &Pubkey,
    amount_native: u64,
    margin: &[AccountMeta],
) -> Instruction {
    ix(
        keel::accounts::Deposit {
            depositor: *depositor,
            exchange: ex.exchange,
            margin_account: *account,
            source: *source,
            vault: ex.vault,
            quote_mint: ex.quote_mint,
            token_program: ex.token_program,
        },
        keel::instruction::Deposit {
            args: DepositArgs { amount_native },
        },
        &ledgers_then(ex, margin),
    )
}

pub fn withdraw(
    ex: &ExchangeKeys,
    owner: &Pubkey,
    account: &Pubkey,
    destination: &Pubkey,
    amount_native: u64,
    margin: &[AccountMeta],
) -> Instruction {
    ix(
        keel::accounts::Withdraw {
            owner: *owner,
            exchange: ex.exchange,
            margin_account: *account,
            destination: *destination,
            vault: ex.vault,
            quote_mint: ex.quote_mint,
            token_program: ex.token_program,
        },
        keel::instruction::Withdraw {
            args: WithdrawArgs { amount_native },
        },
        &ledgers_then(ex, margin),
    )
}

#[allow(clippy::too_many_arguments)]
pub fn trade(
    ex: &ExchangeKeys,
    series: &Pubkey,
    taker_account: &Pubkey,
    taker: &Pubkey,
    maker_account: &Pubkey,
    maker: &Pubkey,
    args: TradeArgs,
    margin: &[AccountMeta],
) -> Instruction {
    ix(
        keel::accounts::Trade {
            exchange: ex.exchange,
            ledger: ex.ledger_for(taker_account),
            series: *series,
            taker_account: *taker_account,
            taker: *taker,
            maker_account: *maker_account,
            maker: *maker,
        },
        keel::instruction::Trade { args },
        margin,
    )
}

pub fn close_account(owner: &Pubkey, account: &Pubkey) -> Instruction {
    ix(
        keel::accounts::CloseAccount {
            owner: *owner,
            margin_account: *account,
        },
        keel::instruction::CloseAccount {},
        &[],
    )
}

/// The system instruction that allocates a risk-array page at `page` (a fresh keypair, which
/// signs) for this program, rent-exempt; `create_array_page` then initialises it.
pub fn allocate_array_page(payer: &Pubkey, page: &Pubkey, lamports: u64) -> Instruction {
    solana_system_interface::instruction::create_account(
        payer,
        page,
        lamports,
        keel::state::ArrayPage::SPACE as u64,
        &keel::ID,
    )
}

/// `create_array_page` (admin): initialises an allocated page as the market's next page.
pub fn create_array_page(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    market: &Pubkey,
    page: &Pubkey,
) -> Instruction {
    ix(
        keel::accounts::CreateArrayPage {
            admin: *admin,
            exchange: ex.exchange,
            market: *market,
            page: *page,
        },
        keel::instruction::CreateArrayPage {},
        &[],
    )
}

/// `crank_arrays`: re-anchors the market if due and prices `count` slots of `page` from
/// `first_slot` (`None`: re-anchor only).
pub fn crank_arrays(
    ex: &ExchangeKeys,
    market: &Pubkey,
    oracle: &Pubkey,
    page: Option<Pubkey>,
    first_slot: u8,
    count: u8,
) -> Instruction {
    ix(
        keel::accounts::CrankArrays {
            exchange: ex.exchange,
            market: *market,
            oracle: *oracle,
            page,
        },
        keel::instruction::CrankArrays {
            args: CrankArraysArgs { first_slot, count },
        },
        &[],
    )
}

pub fn update_volatility(ex: &ExchangeKeys, market: &Pubkey, oracle: &Pubkey) -> Instruction {
    update_volatility_with_fills(ex, market, oracle, &[])
}

/// `update_volatility` that first folds the option fills recorded in `series` (series of this
/// market, read-only) into the market's implied vol: for a market without a vol authority
/// (`Snapshot::fill_series` picks those with fills the market has not folded yet).
pub fn update_volatility_with_fills(
    ex: &ExchangeKeys,
    market: &Pubkey,
    oracle: &Pubkey,
    series: &[Pubkey],
) -> Instruction {
    let metas: Vec<AccountMeta> = series
        .iter()
        .map(|k| AccountMeta::new_readonly(*k, false))
        .collect();
    ix(
        keel::accounts::UpdateVolatility {
            exchange: ex.exchange,
            market: *market,
            oracle: *oracle,
        },
        keel::instruction::UpdateVolatility {},
        &metas,
    )
}

pub fn update_correlation(
    ex: &ExchangeKeys,
    market_a: (&Pubkey, &Pubkey),
    market_b: (&Pubkey, &Pubkey),
) -> Instruction {
    ix(
        keel::accounts::UpdateCorrelation {
            exchange: ex.exchange,
            correlation: pda::correlation(market_a.0, market_b.0),
            market_a: *market_a.0,
            oracle_a: *market_a.1,
            market_b: *market_b.0,
            oracle_b: *market_b.1,
        },
        keel::instruction::UpdateCorrelation {},
        &[],
    )
}

/// `settle_series`: an option passes its risk-array page (freed), a future `None`.
pub fn settle_series(
    ex: &ExchangeKeys,
    caller: &Pubkey,
    market: &Pubkey,
    series: &Pubkey,
    oracle: &Pubkey,
    array_page: Option<Pubkey>,
) -> Instruction {
    ix(
        keel::accounts::SettleSeries {
            caller: *caller,
            exchange: ex.exchange,
            market: *market,
            series: *series,
            oracle: *oracle,
            array_page,
        },
        keel::instruction::SettleSeries {},
        &[],
    )
}

pub fn settle_positions(ex: &ExchangeKeys, account: &Pubkey, series: &[Pubkey]) -> Instruction {
    let remaining: Vec<AccountMeta> = series.iter().map(|s| AccountMeta::new(*s, false)).collect();
    ix(
        keel::accounts::SettlePositions {
            exchange: ex.exchange,
            ledger: ex.ledger_for(account),
            margin_account: *account,
        },
        keel::instruction::SettlePositions {},
        &remaining,
    )
}

pub fn margin_report(ex: &ExchangeKeys, account: &Pubkey, margin: &[AccountMeta]) -> Instruction {
    ix(
        keel::accounts::MarginReportAccounts {
            exchange: ex.exchange,
            margin_account: *account,
        },
        keel::instruction::MarginReport {},
        margin,
    )
}

/// Writable series accounts (`liquidate` takes those of the liquidatee's positions).
pub fn series_metas(series: &[Pubkey]) -> Vec<AccountMeta> {
    series.iter().map(|s| AccountMeta::new(*s, false)).collect()
}

/// The keys of an exchange read from its account.
pub fn exchange_keys(ex: &keel_state::Exchange) -> ExchangeKeys {
    let exchange = pda::exchange();
    ExchangeKeys {
        exchange,
        vault: Pubkey::new_from_array(ex.quote_vault),
        quote_mint: Pubkey::new_from_array(ex.quote_mint),
        token_program: Pubkey::new_from_array(ex.quote_token_program),
        ledgers: pda::ledgers(&exchange),
    }
}

/// `liquidate`: `remaining` = markets/oracles of both accounts, correlations, and the
/// liquidatee's series (writable).
pub fn liquidate(
    ex: &ExchangeKeys,
    liquidatee: &Pubkey,
    liquidator_account: &Pubkey,
    liquidator: &Pubkey,
    max_fraction_bps: u16,
    remaining: &[AccountMeta],
) -> Instruction {
    ix(
        keel::accounts::Liquidate {
            exchange: ex.exchange,
            ledger: ex.ledger_for(liquidatee),
            liquidatee: *liquidatee,
            liquidator_account: *liquidator_account,
            liquidator: *liquidator,
        },
        keel::instruction::Liquidate {
            args: LiquidateArgs { max_fraction_bps },
        },
        remaining,
    )
}

/// `resolve_bankruptcy` (permissionless): settles the negative balance of an account that
/// `liquidate` left without positions (insurance, then socialisation).
pub fn resolve_bankruptcy(ex: &ExchangeKeys, account: &Pubkey) -> Instruction {
    ix(
        keel::accounts::ResolveBankruptcy {
            exchange: ex.exchange,
            margin_account: *account,
        },
        keel::instruction::ResolveBankruptcy {},
        &ex.ledger_metas(),
    )
}

pub fn fund_insurance(
    ex: &ExchangeKeys,
    funder: &Pubkey,
    source: &Pubkey,
    amount_native: u64,
) -> Instruction {
    ix(
        keel::accounts::FundInsurance {
            funder: *funder,
            exchange: ex.exchange,
            source: *source,
            vault: ex.vault,
            quote_mint: ex.quote_mint,
            token_program: ex.token_program,
        },
        keel::instruction::FundInsurance {
            args: FundInsuranceArgs { amount_native },
        },
        &ex.ledger_metas(),
    )
}

pub fn withdraw_fees(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    destination: &Pubkey,
    amount_native: u64,
) -> Instruction {
    ix(
        keel::accounts::WithdrawFees {
            admin: *admin,
            exchange: ex.exchange,
            destination: *destination,
            vault: ex.vault,
            quote_mint: ex.quote_mint,
            token_program: ex.token_program,
        },
        keel::instruction::WithdrawFees {
            args: WithdrawFeesArgs { amount_native },
        },
        &ex.ledger_metas(),
    )
}

pub fn update_liquidation_params(
    ex: &ExchangeKeys,
    admin: &Pubkey,
    params: &keel_risk::LiquidationParams,
) -> Instruction {
    ix(
        keel::accounts::UpdateLiquidationParams {
            admin: *admin,
            exchange: ex.exchange,
        },
        keel::instruction::UpdateLiquidationParams {
            args: UpdateLiquidationParamsArgs {
                liquidation_params: bytemuck::bytes_of(params).to_vec(),
            },
        },
        &[],
    )
}
