//! Errors of reading account bytes and assembling margin inputs. Small and `Copy`, mapped by the
//! program to its own named errors.

/// Why account bytes or an oracle reading could not be turned into margin inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Account data shorter than discriminator + layout.
    AccountTooSmall,
    /// The account's discriminator is not the expected one.
    WrongDiscriminator,
    /// The layout version byte is not `LAYOUT_VERSION`.
    UnknownVersion,
    /// A position refers to a market that was not supplied.
    MarketMissing,
    /// A position's market slot or kind byte is invalid.
    CorruptPosition,
    /// An oracle account's bytes are not the expected layout.
    OracleLayout,
    /// An oracle price (or a converted price) is zero or negative.
    OracleNonPositive,
    /// The legacy oracle's aggregate is not in `Trading` status.
    OracleNotTrading,
    /// A price conversion overflowed 64 bits.
    PriceOverflow,
    /// The oracle price is older than the market's `max_staleness_secs`.
    OracleStale,
    /// The oracle's confidence/price exceeds the market's `max_conf_bps`.
    OracleConfidence,
    /// The market's volatility state is older than `max_vol_age_secs` (run the crank).
    VolStateStale,
    /// The oracle account is not owned by the market's oracle program.
    OracleWrongOwner,
    /// The oracle account is not the one the market pins.
    OracleWrongAccount,
    /// The pull oracle's feed id is not the market's.
    OracleWrongFeed,
    /// The pull oracle update is less verified than the market requires.
    OracleUnverified,
    /// The market's oracle kind byte is not a known kind.
    OracleKindInvalid,
    /// The oracle update is dated more than `market::MAX_ORACLE_FUTURE_SECS` after the clock.
    OracleFutureDated,
    /// The oracle update is older than the newest one the market has accepted.
    OracleOutOfOrder,
    /// A trade price outside the band around the series' mark (`trade_band`).
    PriceOutsideBand,
    /// An option position's risk-array page was not supplied.
    ArrayPageMissing,
    /// The position's risk-array slot does not hold its series.
    ArraySlotMismatch,
    /// A risk array priced at neither the market's current nor its previous anchor, or one
    /// market's arrays priced at different anchors (run `crank_arrays`).
    ArraysNotCranked,
    /// A keel-risk computation failed.
    Risk(keel_risk::RiskError),
}

impl From<keel_risk::RiskError> for StateError {
    fn from(e: keel_risk::RiskError) -> Self {
        StateError::Risk(e)
    }
}
