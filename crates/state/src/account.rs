//! A margin account: collateral and up to `MAX_POSITIONS` positions across up to `MAX_MARKETS`
//! markets, plus what liquidation needs (issue 6) so it fits without a migration.

use crate::{layout, PubkeyBytes};
use keel_risk::{MAX_MARKETS, MAX_POSITIONS};

/// Account flag: a liquidation episode is open (set by `liquidate` while the account stays below
/// MM). Cleared by every instruction that updates the account after computing its margin and
/// finds it at or above MM — `trade`, `withdraw`, `liquidate`, and `deposit` when it is passed
/// the account's markets (the clients pass them whenever this flag is set); `margin_report`
/// only reads. An episode no `liquidate` call has renewed for `EPISODE_MAX_GAP_SECS` has lapsed
/// (the next call opens a new one). Its start, `liquidatable_since_ts`, drives the
/// Dutch-auction bonus.
pub const FLAG_BEING_LIQUIDATED: u8 = 1 << 0;
/// Account flag: the account went bankrupt at least once (its shortfall was covered by the
/// insurance fund and/or socialised; `insurance_received_native`, `socialised_loss_native` of
/// *other* accounts and the exchange's totals record the amounts).
pub const FLAG_BANKRUPT: u8 = 1 << 1;

/// A liquidation episode lapses when no `liquidate` call has found the account below MM for this
/// long: the Dutch-auction ramp only counts time in which the account was shown liquidatable at
/// least this often (a keeper that wants the ramp to grow calls at least this often, with as
/// small a fraction as it likes), so a call at one dip cannot pre-pay the ramp of the next.
pub const EPISODE_MAX_GAP_SECS: i64 = 300;

layout! {
    /// One position slot. A slot is free when `series` is all zero.
    pub struct Position [size = 80] {
        /// @0 The series account (all zero: free slot).
        pub series: PubkeyBytes,
        /// @32 Contracts: > 0 long, < 0 short.
        pub qty_contracts: i64,
        /// @40 Futures: −Σ qty·price of the trades (the entry cost); options: 0 (premium moved
        /// through collateral). A flat future keeps its slot while this is a claim (> 0) the
        /// series' settlement pool cannot pay yet.
        pub cash_native: i64,
        /// @48 The series' strike per contract (copied: margin needs no series account).
        pub strike_native: i64,
        /// @56 The series' expiry (copied).
        pub expiry_ts: i64,
        /// @64 Index into `MarginAccount::markets`.
        pub market_slot: u8,
        /// @65 The series kind (0 call, 1 put, 2 future).
        pub kind: u8,
        /// @66 The series' risk-array page (copied; `array_page::NO_PAGE` for a future).
        pub array_page: u16,
        /// @68 Its slot in the page (copied).
        pub array_slot: u8,
        /// @69 Explicit padding (zero).
        pub padding0: [u8; 3],
        /// @72 Room to grow.
        pub reserved: [u8; 8],
    }
}

layout! {
    /// The margin figures of the last margin check (for indexers and the liquidation keeper).
    pub struct MarginSnapshot [size = 40] {
        /// @0 When (unix seconds).
        pub ts: i64,
        /// @8 Equity at the oracle (MM equity).
        pub equity_mm: i64,
        /// @16 Equity at the conservative price with haircuts (IM equity).
        pub equity_im: i64,
        /// @24 Maintenance margin.
        pub mm: i64,
        /// @32 Initial margin.
        pub im: i64,
    }
}

layout! {
    /// A margin account (PDA `["margin", exchange, owner, account_id u32 LE]`).
    /// Clients find an owner's accounts with a memcmp on `owner` at byte 8 + 40 = 48.
    pub struct MarginAccount [size = 3160] {
        /// @0 Layout version.
        pub version: u8,
        /// @1 PDA bump.
        pub bump: u8,
        /// @2 `FLAG_*` bits.
        pub flags: u8,
        /// @3 Occupied position slots.
        pub n_positions: u8,
        /// @4 The owner's account number (PDA seed).
        pub account_id: u32,
        /// @8 The exchange.
        pub exchange: PubkeyBytes,
        /// @40 The owner: deposits, withdraws, trades, closes.
        pub owner: PubkeyBytes,
        /// @72 May trade for the owner but never withdraw or close (all zero: none).
        pub delegate: PubkeyBytes,
        /// @104 Collateral, quote native units (negative only after a loss it could not pay).
        pub collateral_native: i64,
        /// @112 Σ realised settlement and futures P&L.
        pub realised_pnl_native: i64,
        /// @120 Σ trading fees paid.
        pub fees_paid_native: i64,
        /// @128 Σ deposits.
        pub deposited_native: i64,
        /// @136 Σ withdrawals.
        pub withdrawn_native: i64,
        /// @144 When the account was first seen below MM in the current episode (0: healthy).
        pub liquidatable_since_ts: i64,
        /// @152 Σ insurance fund payments received (bankruptcy).
        pub insurance_received_native: i64,
        /// @160 Σ socialised losses borne by this account.
        pub socialised_loss_native: i64,
        /// @168 Liquidation calls suffered.
        pub liquidations: u64,
        /// @176 The last margin check.
        pub last_margin: MarginSnapshot,
        /// @216 Markets the positions refer to (`Position::market_slot`); all zero: free.
        pub markets: [PubkeyBytes; MAX_MARKETS],
        /// @344 Position slots.
        pub positions: [Position; MAX_POSITIONS],
        /// @2904 The exchange's `social_loss_index_q60` when this account's share of socialised
        /// losses was last charged (see [`crate::social`]).
        pub social_loss_index_q60: u64,
        /// @2912 When `liquidate` last acted on the account (0: never). A liquidation episode
        /// whose last call is older than `EPISODE_MAX_GAP_SECS` is over: the next call opens a
        /// new one, so the Dutch-auction bonus never ramps from a stale start.
        pub last_liquidation_ts: i64,
        /// @2920 Room to grow without a migration.
        pub reserved: [u8; 240],
    }
}

const ZERO_KEY: [u8; 32] = [0; 32];

impl Position {
    /// Whether the slot is free.
    pub fn is_free(&self) -> bool {
        crate::key_words(self, core::mem::offset_of!(Position, series)) == [0; 4]
    }
}

impl MarginAccount {
    /// Whether a liquidation episode is open (`FLAG_BEING_LIQUIDATED`; it may have lapsed).
    pub fn in_liquidation_episode(&self) -> bool {
        self.flags & FLAG_BEING_LIQUIDATED != 0
    }

    /// Whether `key` may trade for this account (owner or delegate).
    pub fn is_trader(&self, key: &[u8; 32]) -> bool {
        *key == self.owner || (self.delegate != ZERO_KEY && *key == self.delegate)
    }

    /// Index of the slot holding `series`.
    pub fn position_index(&self, series: &[u8; 32]) -> Option<usize> {
        if *series == ZERO_KEY {
            return None;
        }
        self.positions.iter().position(|p| p.series == *series)
    }

    /// Index of the slot holding `series` on the side of `side` (long if > 0, short if < 0).
    pub fn position_on_side(&self, series: &[u8; 32], side: i64) -> Option<usize> {
        let i = self.position_index(series)?;
        let q = self.positions[i].qty_contracts;
        ((q > 0 && side > 0) || (q < 0 && side < 0)).then_some(i)
    }

    /// Occupied slots.
    pub fn active_positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.iter().filter(|p| !p.is_free())
    }

    /// Index of `market` in `markets`.
    pub fn market_slot(&self, market: &[u8; 32]) -> Option<usize> {
        if *market == ZERO_KEY {
            return None;
        }
        self.markets.iter().position(|m| m == market)
    }

    /// Index of `market` in `markets`, taking a free entry if it is not there yet.
    pub fn market_slot_or_insert(&mut self, market: &[u8; 32]) -> Option<usize> {
        if let Some(i) = self.market_slot(market) {
            return Some(i);
        }
        let i = self.markets.iter().position(|m| *m == ZERO_KEY)?;
        self.markets[i] = *market;
        Some(i)
    }

    /// Index of a free position slot.
    pub fn free_slot(&self) -> Option<usize> {
        self.positions.iter().position(Position::is_free)
    }

    /// Frees slot `i` and, if no other position refers to its market, the market entry.
    pub fn free_position(&mut self, i: usize) {
        let slot = self.positions[i].market_slot as usize;
        self.positions[i] = bytemuck::Zeroable::zeroed();
        self.n_positions = self.n_positions.saturating_sub(1);
        self.free_market_if_unused(slot);
    }

    /// Frees market entry `slot` if no position refers to it.
    pub fn free_market_if_unused(&mut self, slot: usize) {
        if slot < MAX_MARKETS
            && !self
                .active_positions()
                .any(|p| p.market_slot as usize == slot)
        {
            self.markets[slot] = ZERO_KEY;
        }
    }

    /// Markets in use (with their slot index).
    pub fn used_markets(&self) -> impl Iterator<Item = (usize, &[u8; 32])> {
        self.markets
            .iter()
            .enumerate()
            .filter(|(_, m)| **m != ZERO_KEY)
    }
}
