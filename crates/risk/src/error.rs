//! The engine's one error type: small and `Copy`, so the on-chain program can map it to its own
//! named error without allocating. Every variant says where the problem arose.

/// Why a keel-risk computation could not produce a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u8)]
pub enum RiskError {
    /// A fixed-point or money product/sum left the representable range.
    Overflow = 0,
    /// Division by zero in fixed point.
    DivisionByZero = 1,
    /// `ln` or `sqrt` of a value outside its domain (≤ 0 / < 0).
    Domain = 2,
    /// A price (spot, strike, stable price) that is zero or negative.
    NonPositivePrice = 3,
    /// More positions than `MAX_POSITIONS`.
    TooManyPositions = 4,
    /// More underlyings than `MAX_MARKETS` in one account, or a position naming a missing market.
    BadMarketIndex = 5,
    /// A risk parameter outside its hard bounds (`RiskParams::validate`).
    ParamOutOfBounds = 6,
    /// A volatility observation older than (or at the same time as) the last one.
    OutOfOrderObservation = 7,
    /// A volatility observation closer to the last one than the minimum interval.
    ObservationTooSoon = 8,
    /// A correlation or weight outside [-1, 1] / [0, 1].
    BadCorrelation = 9,
    /// An account that is not below maintenance margin was given to liquidation sizing.
    NotLiquidatable = 10,
    /// Risk arrays used before their anchor or after `array_max_age_secs`.
    ArraysExpired = 11,
    /// Risk arrays used with the oracle or stable price beyond their anchor's move tolerance.
    ArraysMoved = 12,
    /// Risk arrays used with a margin or mark vol beyond their anchor's tolerance.
    ArraysVolChanged = 13,
    /// An option position without a risk array.
    MissingArray = 14,
}

impl RiskError {
    /// A short, stable name for logs and client messages.
    pub const fn name(self) -> &'static str {
        match self {
            RiskError::Overflow => "Overflow",
            RiskError::DivisionByZero => "DivisionByZero",
            RiskError::Domain => "Domain",
            RiskError::NonPositivePrice => "NonPositivePrice",
            RiskError::TooManyPositions => "TooManyPositions",
            RiskError::BadMarketIndex => "BadMarketIndex",
            RiskError::ParamOutOfBounds => "ParamOutOfBounds",
            RiskError::OutOfOrderObservation => "OutOfOrderObservation",
            RiskError::ObservationTooSoon => "ObservationTooSoon",
            RiskError::BadCorrelation => "BadCorrelation",
            RiskError::NotLiquidatable => "NotLiquidatable",
            RiskError::ArraysExpired => "ArraysExpired",
            RiskError::ArraysMoved => "ArraysMoved",
            RiskError::ArraysVolChanged => "ArraysVolChanged",
            RiskError::MissingArray => "MissingArray",
        }
    }
}

impl core::fmt::Display for RiskError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::error::Error for RiskError {}

/// Result alias used throughout the engine.
pub type RiskResult<T> = Result<T, RiskError>;
