//! Keel's one error enum. Append only: clients decode errors by code (6000 + index).

use anchor_lang::prelude::*;
use keel_risk::RiskError;
use keel_state::StateError;

#[error_code]
pub enum KeelError {
    // ---- signers and identities ----
    #[msg("Signer is not the exchange admin")]
    NotAdmin,
    #[msg("Signer is not the margin account's owner")]
    NotOwner,
    #[msg("Signer is neither the margin account's owner nor its delegate")]
    NotTrader,
    #[msg("Signer is not the market's implied-vol authority")]
    NotVolAuthority,
    #[msg("Account belongs to a different exchange")]
    WrongExchange,
    #[msg("Account belongs to a different market")]
    WrongMarket,
    #[msg("Mint is not the exchange's quote mint")]
    WrongQuoteMint,
    #[msg("Token account is not the exchange's quote vault")]
    WrongVault,
    #[msg("Token program is not the quote mint's token program")]
    WrongTokenProgram,
    #[msg("Token account is not owned by the signer")]
    WrongTokenOwner,
    #[msg("The quote mint has a Token-2022 extension Keel does not support")]
    UnsupportedMintExtension,
    // ---- exchange state ----
    #[msg("The exchange is paused for this operation")]
    ExchangePaused,
    #[msg("Pause flags outside the defined bits")]
    InvalidPauseFlags,
    #[msg("Fee above the hard bound")]
    FeeOutOfBounds,
    // ---- amounts ----
    #[msg("Amount must be positive")]
    ZeroAmount,
    #[msg("Amount does not fit Keel's signed 64-bit accounting")]
    AmountTooLarge,
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("Collateral is smaller than the amount")]
    InsufficientCollateral,
    #[msg("Vault balance differs from collateral + insurance + fees + settlement pools")]
    ConservationViolated,
    // ---- margin ----
    #[msg("Withdrawal would leave equity below initial margin")]
    WithdrawalBelowInitialMargin,
    #[msg("Account would be below initial margin after the trade")]
    BelowInitialMargin,
    #[msg("Account is below initial margin and the trade does not strictly reduce its risk")]
    TradeIncreasesRisk,
    /// Retired, never returned: an account in a liquidation episode may still trade under the
    /// below-IM reduce-only rule. Kept because codes are positional (tests/bank/errors.rs
    /// checks nothing names it).
    #[msg("The account is being liquidated")]
    AccountBeingLiquidated,
    #[msg("The account holds positions in expired series: settle them first")]
    ExpiredPositionsUnsettled,
    // ---- markets and series ----
    #[msg("Series kind must be 0 (call), 1 (put) or 2 (future)")]
    InvalidSeriesKind,
    #[msg("Strike must be positive for options and zero for futures")]
    InvalidStrike,
    #[msg("Expiry must be in the future and within the listing horizon")]
    InvalidExpiry,
    #[msg("Series has expired")]
    SeriesExpired,
    #[msg("Series has not expired yet")]
    SeriesNotExpired,
    #[msg("Series is already settled")]
    SeriesAlreadySettled,
    #[msg("Series is not settled yet")]
    SeriesNotSettled,
    #[msg("Trade price out of range (options ≥ 0, futures > 0)")]
    InvalidPrice,
    #[msg("Trade quantity must be non-zero and within bounds")]
    InvalidQuantity,
    #[msg("Maker and taker are the same account")]
    SelfTrade,
    #[msg("No free position slot (32 per account)")]
    TooManyPositions,
    #[msg("Positions in too many markets (4 per account)")]
    TooManyMarkets,
    #[msg("The account has no position in this series")]
    PositionNotFound,
    #[msg("The settlement pool cannot pay this gain yet: settle the losing accounts first")]
    SettlementPoolShort,
    #[msg("The account still has positions")]
    AccountHasPositions,
    #[msg("The account still has collateral")]
    AccountHasCollateral,
    #[msg("Contract size out of bounds")]
    InvalidContractSize,
    #[msg("Market name must be non-empty UTF-8")]
    InvalidName,
    #[msg("A risk parameter is outside its hard bounds")]
    ParamOutOfBounds,
    #[msg("An oracle or timing guard is outside its hard bounds")]
    GuardOutOfBounds,
    #[msg("Risk parameters must be exactly one RiskParams (496 bytes)")]
    ParamsLength,
    #[msg("Implied vol out of bounds")]
    InvalidImpliedVol,
    #[msg("Correlation needs two different markets of this exchange, lower index first")]
    InvalidCorrelationMarkets,
    // ---- remaining accounts ----
    #[msg("A market the account uses was not passed (pass market, oracle pairs)")]
    MarketMissing,
    #[msg("Unexpected account in the remaining accounts")]
    UnexpectedAccount,
    #[msg("A position slot is corrupt")]
    CorruptPosition,
    // ---- oracles ----
    #[msg("Oracle account is not owned by the configured oracle program")]
    OracleWrongOwner,
    #[msg("Oracle account is not the market's configured oracle")]
    OracleWrongAccount,
    #[msg("Oracle account data is not a valid price account")]
    OracleInvalidAccount,
    #[msg("Oracle feed id differs from the market's")]
    OracleWrongFeed,
    #[msg("Oracle update is not verified enough")]
    OracleUnverified,
    #[msg("Oracle price is stale")]
    OracleStale,
    #[msg("Oracle confidence interval is too wide")]
    OracleConfidenceTooWide,
    #[msg("Oracle price is zero or negative")]
    OracleNonPositivePrice,
    #[msg("Legacy oracle aggregate is not trading")]
    OracleNotTrading,
    #[msg("Oracle price conversion overflowed")]
    OraclePriceOverflow,
    #[msg("Oracle kind must be 0 (Pyth pull) or 1 (legacy Pyth push)")]
    OracleKindInvalid,
    #[msg("Oracle update does not cover the expiry within the settlement window")]
    OracleOutsideSettlementWindow,
    #[msg("The two oracle prices are not synchronised")]
    OracleNotSynchronised,
    // ---- volatility crank ----
    #[msg("Oracle observation is not newer than the last accepted one")]
    ObservationOutOfOrder,
    #[msg("Oracle observation is closer to the last one than the minimum interval")]
    ObservationTooSoon,
    #[msg("The market's volatility state is stale: run update_volatility")]
    VolStateStale,
    // ---- keel-risk ----
    #[msg("Risk engine: overflow")]
    RiskOverflow,
    #[msg("Risk engine: division by zero")]
    RiskDivisionByZero,
    #[msg("Risk engine: domain error")]
    RiskDomain,
    #[msg("Risk engine: non-positive price")]
    RiskNonPositivePrice,
    #[msg("Risk engine: too many positions")]
    RiskTooManyPositions,
    #[msg("Risk engine: bad market index")]
    RiskBadMarketIndex,
    #[msg("Risk engine: parameter out of bounds")]
    RiskParamOutOfBounds,
    #[msg("Risk engine: bad correlation")]
    RiskBadCorrelation,
    #[msg("Risk engine: account not liquidatable")]
    RiskNotLiquidatable,
    // ---- layouts ----
    #[msg("Account data has an unknown layout version")]
    UnknownLayoutVersion,
    // ---- liquidation (appended) ----
    #[msg("The account is at or above its liquidation trigger level (MM, raised while vol is high): nothing to liquidate")]
    NotLiquidatable,
    #[msg("An owner cannot liquidate its own account")]
    SelfLiquidation,
    #[msg(
        "The liquidator's account would be below initial margin after taking over the positions"
    )]
    LiquidatorBelowInitialMargin,
    #[msg("The liquidation step did not improve the account's maintenance health")]
    LiquidationDidNotImprove,
    #[msg("A series account of a position being liquidated was not passed (pass it writable)")]
    SeriesMissing,
    #[msg("Fraction limit must be in 1..=10000 basis points")]
    InvalidFraction,
    #[msg("Fee balance is smaller than the amount")]
    InsufficientFees,
    // ---- appended with the adversarial-review fixes (docs/security.md) ----
    #[msg("Oracle update is dated in the future beyond the tolerance")]
    OracleFutureDated,
    #[msg("Oracle update is older than the newest one this market has accepted")]
    OracleOutOfOrder,
    #[msg("Trade price is outside the band around the series' mark")]
    PriceOutsideBand,
    #[msg("Both sides of a trade are signed by the same key")]
    SameSignerBothSides,
    #[msg("Below initial margin a reducing trade may not be priced worse than the mark")]
    ReduceWorseThanMark,
    #[msg("The trade would leave the account with negative collateral")]
    TradeLeavesNegativeCollateral,
    #[msg("Signer is not the program's upgrade authority")]
    NotUpgradeAuthority,
    #[msg("A market account whose oracle is read must be passed writable")]
    MarketNotWritable,
    #[msg("Trade band parameter outside its hard bounds")]
    InvalidTradeBand,
    // ---- risk arrays (docs/risk-model.md §4.8) ----
    #[msg("The market's risk arrays are older than their anchor allows: run crank_arrays")]
    ArraysExpired,
    #[msg("The oracle or stable price moved beyond the risk arrays' anchor: run crank_arrays")]
    ArraysMoved,
    #[msg("The market's vols moved beyond the risk arrays' anchor: run crank_arrays")]
    ArraysVolChanged,
    #[msg("A position's risk array is not priced at the market's current or previous anchor: run crank_arrays")]
    ArraysNotCranked,
    #[msg("A position's risk-array page was not passed (pass it after the market, oracle pairs)")]
    ArrayPageMissing,
    #[msg("The risk-array slot does not hold the position's series")]
    ArraySlotMismatch,
    #[msg("The risk-array page has no free slot: create a page")]
    ArrayPageFull,
    #[msg("The market already lists the most option series it can (128 active)")]
    ListedOptionsFull,
    #[msg("The risk-array page does not belong to this series or market")]
    WrongArrayPage,
    #[msg("Risk engine: an option position without a risk array")]
    RiskMissingArray,
    #[msg("The market has created the most risk-array pages it can")]
    TooManyArrayPages,
    #[msg("Not a ledger shard of this exchange, or not at its index")]
    WrongLedger,
    #[msg("Every ledger shard must be passed, index 0 first")]
    LedgersMissing,
    #[msg("Account is not bankrupt: it holds positions or its collateral is not negative")]
    NotBankrupt,
    #[msg("The account holds no positions: a negative balance is settled by resolve_bankruptcy")]
    NoPositionsToLiquidate,
    #[msg("This transfer changes the series' counters: pass the series writable")]
    SeriesNotWritable,
    #[msg("A market whose price range has a speed limit (apc_max_rise_per_day) lists no options")]
    RangeLimitWithOptions,
    #[msg("After this trade the account would be liquidatable (its realised-vol stress puts the trigger above IM): only a reduction is allowed")]
    TradeLeavesLiquidatable,
    #[msg("After this withdrawal the account would be liquidatable (its realised-vol stress puts the trigger above IM)")]
    WithdrawalLeavesLiquidatable,
    #[msg("After taking this slice the liquidator's own account would be liquidatable")]
    LiquidatorLeavesLiquidatable,
}

impl From<RiskError> for KeelError {
    fn from(e: RiskError) -> Self {
        match e {
            RiskError::Overflow => KeelError::RiskOverflow,
            RiskError::DivisionByZero => KeelError::RiskDivisionByZero,
            RiskError::Domain => KeelError::RiskDomain,
            RiskError::NonPositivePrice => KeelError::RiskNonPositivePrice,
            RiskError::TooManyPositions => KeelError::RiskTooManyPositions,
            RiskError::BadMarketIndex => KeelError::RiskBadMarketIndex,
            RiskError::ParamOutOfBounds => KeelError::RiskParamOutOfBounds,
            RiskError::OutOfOrderObservation => KeelError::ObservationOutOfOrder,
            RiskError::ObservationTooSoon => KeelError::ObservationTooSoon,
            RiskError::BadCorrelation => KeelError::RiskBadCorrelation,
            RiskError::NotLiquidatable => KeelError::RiskNotLiquidatable,
            RiskError::ArraysExpired => KeelError::ArraysExpired,
            RiskError::ArraysMoved => KeelError::ArraysMoved,
            RiskError::ArraysVolChanged => KeelError::ArraysVolChanged,
            RiskError::MissingArray => KeelError::RiskMissingArray,
        }
    }
}

impl From<StateError> for KeelError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::AccountTooSmall | StateError::WrongDiscriminator => {
                KeelError::UnexpectedAccount
            }
            StateError::UnknownVersion => KeelError::UnknownLayoutVersion,
            StateError::MarketMissing => KeelError::MarketMissing,
            StateError::CorruptPosition => KeelError::CorruptPosition,
            StateError::OracleLayout => KeelError::OracleInvalidAccount,
            StateError::OracleNonPositive => KeelError::OracleNonPositivePrice,
            StateError::OracleNotTrading => KeelError::OracleNotTrading,
            StateError::PriceOverflow => KeelError::OraclePriceOverflow,
            StateError::OracleStale => KeelError::OracleStale,
            StateError::OracleConfidence => KeelError::OracleConfidenceTooWide,
            StateError::VolStateStale => KeelError::VolStateStale,
            StateError::OracleWrongOwner => KeelError::OracleWrongOwner,
            StateError::OracleWrongAccount => KeelError::OracleWrongAccount,
            StateError::OracleWrongFeed => KeelError::OracleWrongFeed,
            StateError::OracleUnverified => KeelError::OracleUnverified,
            StateError::OracleKindInvalid => KeelError::OracleKindInvalid,
            StateError::OracleFutureDated => KeelError::OracleFutureDated,
            StateError::OracleOutOfOrder => KeelError::OracleOutOfOrder,
            StateError::PriceOutsideBand => KeelError::PriceOutsideBand,
            StateError::ArrayPageMissing => KeelError::ArrayPageMissing,
            StateError::ArraySlotMismatch => KeelError::ArraySlotMismatch,
            StateError::ArraysNotCranked => KeelError::ArraysNotCranked,
            StateError::Risk(r) => r.into(),
        }
    }
}

/// `?`-friendly conversions at the boundary.
pub trait OrKeel<T> {
    /// Maps the error to its named Keel error.
    fn or_keel(self) -> Result<T>;
}

impl<T> OrKeel<T> for core::result::Result<T, RiskError> {
    fn or_keel(self) -> Result<T> {
        self.map_err(|e| error!(KeelError::from(e)))
    }
}

impl<T> OrKeel<T> for core::result::Result<T, StateError> {
    fn or_keel(self) -> Result<T> {
        self.map_err(|e| error!(KeelError::from(e)))
    }
}

/// Checked arithmetic that fails with `MathOverflow`.
pub trait Checked: Sized {
    /// `self + rhs` or `MathOverflow`.
    fn add_or(self, rhs: Self) -> Result<Self>;
    /// `self − rhs` or `MathOverflow`.
    fn sub_or(self, rhs: Self) -> Result<Self>;
    /// `self × rhs` or `MathOverflow`.
    fn mul_or(self, rhs: Self) -> Result<Self>;
}

impl Checked for i64 {
    fn add_or(self, rhs: i64) -> Result<i64> {
        self.checked_add(rhs)
            .ok_or_else(|| error!(KeelError::MathOverflow))
    }
    fn sub_or(self, rhs: i64) -> Result<i64> {
        self.checked_sub(rhs)
            .ok_or_else(|| error!(KeelError::MathOverflow))
    }
    fn mul_or(self, rhs: i64) -> Result<i64> {
        self.checked_mul(rhs)
            .ok_or_else(|| error!(KeelError::MathOverflow))
    }
}
