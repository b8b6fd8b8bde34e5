//! The optional correlation state of a pair of markets (cross-underlying margin offset).

use crate::{layout, PubkeyBytes};
use keel_risk::vol::CorrelationState;

layout! {
    /// A correlation account (PDA `["correlation", market_a, market_b]`, a's index < b's).
    pub struct Correlation [size = 344] {
        /// @0 Layout version.
        pub version: u8,
        /// @1 PDA bump.
        pub bump: u8,
        /// @2 Explicit padding (zero).
        pub padding0: [u8; 6],
        /// @8 The exchange.
        pub exchange: PubkeyBytes,
        /// @40 First market (lower index).
        pub market_a: PubkeyBytes,
        /// @72 Second market.
        pub market_b: PubkeyBytes,
        /// @104 EWMA time constant of the covariance.
        pub tau_secs: i64,
        /// @112 Minimum interval between accepted observations.
        pub min_interval_secs: i64,
        /// @120 The two oracle prices must be published within this many seconds of each other.
        pub max_sync_secs: i64,
        /// @128 EWMA covariance state.
        pub state: CorrelationState,
        /// @216 Room to grow without a migration.
        pub reserved: [u8; 128],
    }
}
