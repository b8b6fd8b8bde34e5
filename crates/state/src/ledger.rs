//! Ledger shards: the exchange's money aggregates split so that `trade`, `liquidate` and
//! `settle_positions` need not write the Exchange account (docs/liquidation.md §6, "The
//! Exchange write lock").
//!
//! Solana lets the transactions of one block that write a given account use at most 24M compute
//! units together (Agave 4.2.2's `MAX_WRITABLE_ACCOUNT_UNITS`, the block limit being 60M): with
//! every trade and liquidation writing the Exchange, the whole protocol was one queue. Those
//! instructions now take the Exchange read-only (pause flags, fees, liquidation parameters and
//! the social-loss index are read, never written there) and add what they change — collateral
//! totals, fees, settlement pools, insurance share, pending social loss, liquidation counters —
//! into one of [`LEDGER_SHARDS`] ledger accounts of the caller's choice. Every aggregate of the
//! exchange is the Exchange's own field plus the same field of every shard ([`Totals`]), so the
//! conservation identity reads `vault == totals.liabilities()`, checked by every instruction
//! that moves tokens (they read all the shards).
//!
//! Only what must see the whole — a bankruptcy (the insurance fund and the positive-collateral
//! base are totals), token movements (the identity), fee withdrawals — reads every shard, and
//! those write only the Exchange's own fields. A shard's field on its own means nothing and may
//! be negative (a shard where more collateral left than arrived); only totals are checked.

use crate::{layout, Exchange, PubkeyBytes};

/// Ledger shards per exchange (PDAs `["ledger", exchange, index]`, index 0..LEDGER_SHARDS),
/// created by `init_exchange`. Four: one account may absorb 24M CU of writes a block and the
/// block holds 60M, so three shards already let the block limit bind; a fourth leaves room for
/// uneven choices, and each shard costs the instructions that read them all one account.
pub const LEDGER_SHARDS: u8 = 4;

layout! {
    /// The exchange's additive aggregates: in a ledger shard its part of them, each meaning "add
    /// this to the Exchange's field of the same name"; summed ([`Totals::sum`]) the exchange's
    /// own figures.
    pub struct Totals [size = 64] {
        /// @0 Σ collateral over all accounts (`Exchange::total_collateral_native`).
        pub total_collateral_native: i64,
        /// @8 Insurance fund (`Exchange::insurance_fund_native`; in a shard: liquidation
        /// insurance shares).
        pub insurance_fund_native: i64,
        /// @16 Fees not yet withdrawn (`Exchange::fees_native`).
        pub fees_native: i64,
        /// @24 Σ settlement pools (`Exchange::settlement_pools_native`).
        pub settlement_pools_native: i64,
        /// @32 Socialised losses not yet charged (`Exchange::social_loss_pending_native`; in a
        /// shard the charges collected there: ≤ 0).
        pub social_loss_pending_native: i64,
        /// @40 Σ max(collateral, 0) (`Exchange::positive_collateral_native`).
        pub positive_collateral_native: i64,
        /// @48 Σ liquidation bonuses (`Exchange::liquidation_bonus_native`).
        pub liquidation_bonus_native: i64,
        /// @56 Liquidation calls (`Exchange::liquidation_count`).
        pub liquidation_count: u64,
    }
}

layout! {
    /// A ledger shard (PDA `["ledger", exchange, index as u8]`).
    pub struct Ledger [size = 128] {
        /// @0 Layout version (`LAYOUT_VERSION`).
        pub version: u8,
        /// @1 PDA bump of this account.
        pub bump: u8,
        /// @2 Shard index (0..`LEDGER_SHARDS`).
        pub index: u8,
        /// @3 Explicit padding (zero).
        pub padding0: [u8; 5],
        /// @8 The exchange this shard belongs to.
        pub exchange: PubkeyBytes,
        /// @40 Its part of the exchange's aggregates.
        pub totals: Totals,
        /// @104 Room to grow without a migration.
        pub reserved: [u8; 24],
    }
}

/// The additive aggregates an instruction changes: the Exchange's own fields (instructions that
/// write the Exchange) or a shard's (those that do not). The program's ledger functions are
/// written once against this.
pub trait Books {
    /// Σ collateral.
    fn total_collateral(&mut self) -> &mut i64;
    /// Insurance fund.
    fn insurance_fund(&mut self) -> &mut i64;
    /// Fees not yet withdrawn.
    fn fees(&mut self) -> &mut i64;
    /// Σ settlement pools.
    fn settlement_pools(&mut self) -> &mut i64;
    /// Socialised losses not yet charged.
    fn social_loss_pending(&mut self) -> &mut i64;
    /// Σ max(collateral, 0).
    fn positive_collateral(&mut self) -> &mut i64;
    /// Σ liquidation bonuses.
    fn liquidation_bonus(&mut self) -> &mut i64;
    /// Liquidation calls.
    fn liquidation_count(&mut self) -> &mut u64;
}

macro_rules! books {
    ($t:ty) => {
        impl Books for $t {
            fn total_collateral(&mut self) -> &mut i64 {
                &mut self.total_collateral_native
            }
            fn insurance_fund(&mut self) -> &mut i64 {
                &mut self.insurance_fund_native
            }
            fn fees(&mut self) -> &mut i64 {
                &mut self.fees_native
            }
            fn settlement_pools(&mut self) -> &mut i64 {
                &mut self.settlement_pools_native
            }
            fn social_loss_pending(&mut self) -> &mut i64 {
                &mut self.social_loss_pending_native
            }
            fn positive_collateral(&mut self) -> &mut i64 {
                &mut self.positive_collateral_native
            }
            fn liquidation_bonus(&mut self) -> &mut i64 {
                &mut self.liquidation_bonus_native
            }
            fn liquidation_count(&mut self) -> &mut u64 {
                &mut self.liquidation_count
            }
        }
    };
}
books!(Exchange);
books!(Totals);

impl Totals {
    /// The Exchange's own fields.
    pub fn of(ex: &Exchange) -> Self {
        Totals {
            total_collateral_native: ex.total_collateral_native,
            insurance_fund_native: ex.insurance_fund_native,
            fees_native: ex.fees_native,
            settlement_pools_native: ex.settlement_pools_native,
            social_loss_pending_native: ex.social_loss_pending_native,
            positive_collateral_native: ex.positive_collateral_native,
            liquidation_bonus_native: ex.liquidation_bonus_native,
            liquidation_count: ex.liquidation_count,
        }
    }

    /// These totals plus `other`'s, field by field (`None` on overflow).
    pub fn plus(self, other: &Totals) -> Option<Self> {
        Some(Totals {
            total_collateral_native: self
                .total_collateral_native
                .checked_add(other.total_collateral_native)?,
            insurance_fund_native: self
                .insurance_fund_native
                .checked_add(other.insurance_fund_native)?,
            fees_native: self.fees_native.checked_add(other.fees_native)?,
            settlement_pools_native: self
                .settlement_pools_native
                .checked_add(other.settlement_pools_native)?,
            social_loss_pending_native: self
                .social_loss_pending_native
                .checked_add(other.social_loss_pending_native)?,
            positive_collateral_native: self
                .positive_collateral_native
                .checked_add(other.positive_collateral_native)?,
            liquidation_bonus_native: self
                .liquidation_bonus_native
                .checked_add(other.liquidation_bonus_native)?,
            liquidation_count: self
                .liquidation_count
                .checked_add(other.liquidation_count)?,
        })
    }

    /// The Exchange's fields plus every shard of `ledgers` (`None` on overflow).
    pub fn sum<'a>(ex: &Exchange, ledgers: impl IntoIterator<Item = &'a Ledger>) -> Option<Self> {
        ledgers
            .into_iter()
            .try_fold(Self::of(ex), |t, l| t.plus(&l.totals))
    }

    /// What the vault must hold: Σ collateral + insurance + fees + settlement pools − socialised
    /// losses not yet charged (`None` on overflow).
    pub fn liabilities_native(&self) -> Option<i64> {
        self.total_collateral_native
            .checked_add(self.insurance_fund_native)?
            .checked_add(self.fees_native)?
            .checked_add(self.settlement_pools_native)?
            .checked_sub(self.social_loss_pending_native)
    }

    /// A copy of `ex` whose aggregates are these totals: what readers of the Exchange account
    /// (reports, dashboards, the conservation checks of the tests) see as the exchange's state.
    pub fn folded_into(&self, ex: &Exchange) -> Exchange {
        let mut e = *ex;
        e.total_collateral_native = self.total_collateral_native;
        e.insurance_fund_native = self.insurance_fund_native;
        e.fees_native = self.fees_native;
        e.settlement_pools_native = self.settlement_pools_native;
        e.social_loss_pending_native = self.social_loss_pending_native;
        e.positive_collateral_native = self.positive_collateral_native;
        e.liquidation_bonus_native = self.liquidation_bonus_native;
        e.liquidation_count = self.liquidation_count;
        e
    }
}

/// The shard a client uses for instructions about `account` when it has no better choice: its
/// key's first byte modulo [`LEDGER_SHARDS`], so different accounts spread evenly and one
/// account's instructions always meet the same shard.
pub fn shard_for(account: &PubkeyBytes) -> u8 {
    account[0] % LEDGER_SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    #[test]
    fn totals_add_every_shard_and_fold_back() {
        let mut ex = Exchange::zeroed();
        ex.total_collateral_native = 100;
        ex.insurance_fund_native = -7; // paid out here, funded in a shard
        ex.fees_native = 3;
        ex.liquidation_count = 1;
        let mut a = Ledger::zeroed();
        a.totals = Totals {
            total_collateral_native: -40,
            insurance_fund_native: 9,
            fees_native: 2,
            settlement_pools_native: 40,
            social_loss_pending_native: -1,
            positive_collateral_native: 5,
            liquidation_bonus_native: 11,
            liquidation_count: 2,
        };
        let mut b = Ledger::zeroed();
        b.totals.total_collateral_native = 1;
        b.totals.liquidation_count = 3;
        let t = Totals::sum(&ex, [&a, &b]).unwrap();
        assert_eq!(t.total_collateral_native, 61);
        assert_eq!(t.insurance_fund_native, 2);
        assert_eq!(t.fees_native, 5);
        assert_eq!(t.settlement_pools_native, 40);
        assert_eq!(t.social_loss_pending_native, -1);
        assert_eq!(t.positive_collateral_native, 5);
        assert_eq!(t.liquidation_bonus_native, 11);
        assert_eq!(t.liquidation_count, 6);
        // 61 + 2 + 5 + 40 − (−1)
        assert_eq!(t.liabilities_native(), Some(109));
        let folded = t.folded_into(&ex);
        assert_eq!(folded.liabilities_native(), Some(109));
        assert_eq!(Totals::of(&folded), t);
        // Overflow is refused, not wrapped.
        b.totals.fees_native = i64::MAX;
        assert_eq!(Totals::sum(&ex, [&a, &b]), None);
    }

    #[test]
    fn books_write_the_field_of_the_same_name() {
        let mut l = Ledger::zeroed();
        let b = &mut l.totals;
        *b.total_collateral() += 1;
        *b.insurance_fund() += 2;
        *b.fees() += 3;
        *b.settlement_pools() += 4;
        *b.social_loss_pending() += 5;
        *b.positive_collateral() += 6;
        *b.liquidation_bonus() += 7;
        *b.liquidation_count() += 8;
        let mut ex = Exchange::zeroed();
        let t = Totals::sum(&ex, [&l]).unwrap();
        let mut expected = Totals::zeroed();
        *expected.total_collateral() = 1;
        *expected.insurance_fund() = 2;
        *expected.fees() = 3;
        *expected.settlement_pools() = 4;
        *expected.social_loss_pending() = 5;
        *expected.positive_collateral() = 6;
        *expected.liquidation_bonus() = 7;
        *expected.liquidation_count() = 8;
        assert_eq!(t, expected);
        *ex.fees() += 1;
        assert_eq!(ex.fees_native, 1);
    }

    #[test]
    fn shards_spread_by_the_first_byte() {
        let mut seen = [0u32; LEDGER_SHARDS as usize];
        for b in 0..=255u8 {
            let mut k = [0u8; 32];
            k[0] = b;
            seen[shard_for(&k) as usize] += 1;
        }
        assert_eq!(seen, [64; LEDGER_SHARDS as usize]);
    }
}
