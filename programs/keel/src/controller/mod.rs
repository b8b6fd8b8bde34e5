//! State transitions between the pure engine (keel-risk, keel-state) and the thin instruction
//! handlers: loading markets and oracles for a margin check, computing margin, moving money
//! between accounts, the fee balance and settlement pools, and applying fills and settlements.

pub mod ledger;
pub mod liquidation;
pub mod margin;
pub mod shards;
pub mod token;
