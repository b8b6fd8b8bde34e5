//! `create_market`: a new underlying with its oracle, contract size, guards, risk parameters
//! and an initial volatility state seeded from the oracle (admin).

use crate::bounds::{self, MarketGuards};
use crate::error::{KeelError, OrKeel};
use crate::events::MarketCreated;
use crate::oracle;
use crate::state::{Exchange, Market};
use anchor_lang::prelude::*;
use keel_risk::VolState;
use keel_state::market::{ORACLE_PYTH_LEGACY, ORACLE_PYTH_PULL};
use keel_state::seeds;

/// Where a market's price comes from.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct OracleArgs {
    /// 0: Pyth pull `PriceUpdateV2`; 1: legacy Pyth push price account.
    pub kind: u8,
    /// Pull: `Pubkey::default()` accepts any receiver-owned update with the feed id (Pyth's
    /// design), anything else pins one account. Legacy: the price account (required).
    pub account: Pubkey,
    /// The owner program: the Pyth receiver for pull; the Pyth oracle program for legacy.
    pub program: Pubkey,
    /// Pull: the feed id (ignored for legacy, must be zero).
    pub feed_id: [u8; 32],
}

/// Arguments of `create_market`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CreateMarketArgs {
    /// Display name, UTF-8, zero padded.
    pub name: [u8; 16],
    pub oracle: OracleArgs,
    /// One contract is `contract_size_mantissa · 10^contract_size_expo` underlying units.
    pub contract_size_mantissa: i64,
    pub contract_size_expo: i32,
    pub guards: MarketGuards,
    /// May publish implied vols (`Pubkey::default()`: none).
    pub vol_authority: Pubkey,
    /// A `keel_risk::RiskParams` as raw bytes (496), or empty for the defaults.
    pub risk_params: Vec<u8>,
}

#[derive(Accounts)]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        init,
        payer = admin,
        space = Market::SPACE,
        seeds = [seeds::MARKET, exchange.key().as_ref(), &exchange.load()?.market_count.to_le_bytes()],
        bump,
    )]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: validated by `oracle::read_fresh` against the configuration in the arguments.
    pub oracle: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let name_len = args.name.iter().position(|&b| b == 0).unwrap_or(16);
    require!(
        name_len > 0
            && core::str::from_utf8(&args.name[..name_len]).is_ok()
            && args.name[name_len..].iter().all(|&b| b == 0),
        KeelError::InvalidName
    );
    bounds::within(
        "contract_size_mantissa",
        args.contract_size_mantissa,
        bounds::CONTRACT_SIZE_MANTISSA,
    )
    .map_err(|_| error!(KeelError::InvalidContractSize))?;
    bounds::within(
        "contract_size_expo",
        args.contract_size_expo,
        bounds::CONTRACT_SIZE_EXPO,
    )
    .map_err(|_| error!(KeelError::InvalidContractSize))?;
    args.guards.validate()?;
    let params = bounds::risk_params(&args.risk_params)?;
    match args.oracle.kind {
        ORACLE_PYTH_PULL => require_keys_eq!(
            args.oracle.program,
            pyth_solana_receiver_sdk::ID,
            KeelError::OracleWrongOwner
        ),
        ORACLE_PYTH_LEGACY => {
            require!(
                args.oracle.account != Pubkey::default(),
                KeelError::OracleWrongAccount
            );
            require!(
                args.oracle.program != Pubkey::default(),
                KeelError::OracleWrongOwner
            );
            require!(args.oracle.feed_id == [0; 32], KeelError::OracleWrongFeed);
        }
        _ => return err!(KeelError::OracleKindInvalid),
    }

    let exchange_key = ctx.accounts.exchange.key();
    let mut ex = ctx.accounts.exchange.load_mut()?;
    let mut m = ctx.accounts.market.load_init()?;
    m.version = keel_state::LAYOUT_VERSION;
    m.bump = ctx.bumps.market;
    m.market_index = ex.market_count;
    m.exchange = exchange_key.to_bytes();
    m.name = args.name;
    m.oracle.kind = args.oracle.kind;
    m.oracle.account = args.oracle.account.to_bytes();
    m.oracle.program = args.oracle.program.to_bytes();
    m.oracle.feed_id = args.oracle.feed_id;
    args.guards.apply(&mut m);
    m.contract_size_mantissa = args.contract_size_mantissa;
    m.contract_size_expo = args.contract_size_expo;
    m.quote_decimals = ex.quote_decimals;
    m.vol_authority = args.vol_authority.to_bytes();
    m.risk_params = params;

    // The oracle must be readable and sane now; it seeds the volatility state.
    let reading = oracle::read_fresh(&m, &ctx.accounts.oracle, now)?;
    let spec = m.contract_spec();
    let price = spec.price_native(&reading).or_keel()?;
    let conf = spec.conf_native(&reading).or_keel()?;
    m.vol_state = VolState::new(price, reading.publish_time, &params).or_keel()?;
    m.last_oracle = keel_state::OracleSnapshot::of(&reading, price, conf);
    ex.market_count = ex
        .market_count
        .checked_add(1)
        .ok_or(KeelError::MathOverflow)?;

    crate::events::emit(MarketCreated {
        exchange: exchange_key,
        market: ctx.accounts.market.key(),
        market_index: m.market_index,
        name: m.name,
        oracle_kind: m.oracle.kind,
        oracle_account: args.oracle.account,
        oracle_program: args.oracle.program,
        feed_id: m.oracle.feed_id,
        contract_size_mantissa: m.contract_size_mantissa,
        contract_size_expo: m.contract_size_expo,
        initial_price_native: price,
        initial_vol_q32: m.vol_state.margin_vol.to_bits(),
        ts: now,
    });
    Ok(())
}
