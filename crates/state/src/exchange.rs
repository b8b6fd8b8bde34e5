//! The exchange: one per deployment. Admin, quote mint and vault, the money that is not in any
//! margin account (insurance fund, fees, settlement pools), pause flags, fees and the AVSL
//! liquidation parameters.

use crate::{layout, PubkeyBytes};
use keel_risk::LiquidationParams;

/// Pause flag: deposits refused.
pub const PAUSE_DEPOSIT: u8 = 1 << 0;
/// Pause flag: withdrawals refused.
pub const PAUSE_WITHDRAW: u8 = 1 << 1;
/// Pause flag: trades refused.
pub const PAUSE_TRADE: u8 = 1 << 2;
/// Pause flag: series and position settlement refused.
pub const PAUSE_SETTLE: u8 = 1 << 3;
/// Pause flag: volatility and correlation cranks refused.
pub const PAUSE_CRANK: u8 = 1 << 4;
/// Pause flag: liquidations refused (used by the liquidation instruction).
pub const PAUSE_LIQUIDATE: u8 = 1 << 5;
/// Pause flag: opening accounts, listing series refused.
pub const PAUSE_LISTING: u8 = 1 << 6;
/// Every flag.
pub const PAUSE_ALL: u8 = 0x7F;

layout! {
    /// The exchange account (PDA `["exchange"]`).
    ///
    /// Conservation, checked by the program after every token movement and by the tests after
    /// every operation: `vault balance == total_collateral_native + insurance_fund_native +
    /// fees_native + settlement_pools_native − social_loss_pending_native` (the last term: losses
    /// socialised but not yet charged to the accounts that bear them, see [`crate::social`]),
    /// each term being this account's field plus the same field of every ledger shard
    /// ([`crate::ledger`]; `Totals::liabilities_native`). `trade`, `liquidate` and
    /// `settle_positions` write only a shard.
    pub struct Exchange [size = 864] {
        /// @0 Layout version (`LAYOUT_VERSION`).
        pub version: u8,
        /// @1 PDA bump of this account.
        pub bump: u8,
        /// @2 PDA bump of the quote vault.
        pub vault_bump: u8,
        /// @3 `PAUSE_*` flags.
        pub pause_flags: u8,
        /// @4 Decimals of the quote mint.
        pub quote_decimals: u8,
        /// @5 Explicit padding (zero).
        pub padding0: [u8; 3],
        /// @8 May create markets, list series, change parameters within bounds, pause.
        pub admin: PubkeyBytes,
        /// @40 The collateral mint (SPL Token or Token-2022).
        pub quote_mint: PubkeyBytes,
        /// @72 The vault token account (PDA `["vault", exchange]`, authority: the exchange PDA).
        pub quote_vault: PubkeyBytes,
        /// @104 The token program of the quote mint.
        pub quote_token_program: PubkeyBytes,
        /// @136 Σ `MarginAccount::collateral_native` over all accounts (may include negative,
        /// i.e. bankrupt, balances).
        pub total_collateral_native: i64,
        /// @144 Insurance fund balance.
        pub insurance_fund_native: i64,
        /// @152 Trading fees collected and not yet withdrawn.
        pub fees_native: i64,
        /// @160 Σ `Series::settlement_pool_native`: losses paid in, not yet paid out to winners.
        pub settlement_pools_native: i64,
        /// @168 Σ losses socialised after the insurance fund ran dry (liquidation).
        pub socialised_loss_native: i64,
        /// @176 Taker fee on trade notional (|qty|·price), basis points, rounded up.
        pub taker_fee_bps: u16,
        /// @178 Maker fee on trade notional, basis points, rounded up.
        pub maker_fee_bps: u16,
        /// @180 Markets created (the next market index).
        pub market_count: u16,
        /// @182 Explicit padding (zero).
        pub padding1: u16,
        /// @184 Margin accounts opened (ever).
        pub account_count: u64,
        /// @192 AVSL liquidation parameters.
        pub liquidation_params: LiquidationParams,
        /// @352 Cumulative socialised loss per unit of positive collateral, Q4.60 (see
        /// [`crate::social`]); an account owes `collateral × (this − its own index)`.
        pub social_loss_index_q60: u64,
        /// @360 Socialised losses not yet charged to accounts (charged when each is next touched).
        pub social_loss_pending_native: i64,
        /// @368 Σ max(collateral, 0) over all accounts: the base a socialised loss is spread over.
        pub positive_collateral_native: i64,
        /// @376 Σ insurance fund payments to bankrupt accounts.
        pub insurance_paid_native: i64,
        /// @384 Σ liquidation bonuses paid by liquidatees (including the insurance share).
        pub liquidation_bonus_native: i64,
        /// @392 Liquidation calls (ever).
        pub liquidation_count: u64,
        /// @400 Losses socialised (bankruptcies the insurance fund could not cover in full).
        pub socialisation_count: u64,
        /// @408 Room to grow without a migration.
        pub reserved: [u8; 456],
    }
}

impl Exchange {
    /// Whether every flag in `flags` is clear.
    pub fn allows(&self, flags: u8) -> bool {
        self.pause_flags & flags == 0
    }

    /// What the vault must hold if no ledger shard held anything: Σ collateral + insurance +
    /// fees + settlement pools − socialised losses not yet charged (`None` on overflow). With
    /// shards, use `Totals::sum(..).liabilities_native()` (or read an Exchange folded with them).
    pub fn liabilities_native(&self) -> Option<i64> {
        self.total_collateral_native
            .checked_add(self.insurance_fund_native)?
            .checked_add(self.fees_native)?
            .checked_add(self.settlement_pools_native)?
            .checked_sub(self.social_loss_pending_native)
    }
}
