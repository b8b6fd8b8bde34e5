//! Risk-array pages: the per-series scenario values of one market (docs/risk-model.md §4.8),
//! `PAGE_SERIES` series per account so a margin check loads few of them. A series is assigned a
//! page and a slot when it is listed (`Series::array_page`, `Series::array_slot`, copied into
//! every position); the permissionless crank re-prices slots whenever the market re-anchors.

use crate::layout;
use keel_risk::SeriesArray;

/// Series per page.
pub const PAGE_SERIES: usize = 16;

/// `Series::array_page` of a series without an array (futures are valued from the anchor's
/// forwards).
pub const NO_PAGE: u16 = u16::MAX;

layout! {
    /// One series' slot in a page. Free when `series` is all zero.
    pub struct ArraySlot [size = 2208] {
        /// @0 The series account (all zero: free).
        pub series: [u8; 32],
        /// @32 The market anchor generation `array` was priced for (0: not yet).
        pub epoch: u64,
        /// @40 The series' strike per contract (copied at listing).
        pub strike_native: i64,
        /// @48 Its expiry.
        pub expiry_ts: i64,
        /// @56 Its kind (0 call, 1 put).
        pub kind: u8,
        /// @57 Explicit padding (zero).
        pub padding0: [u8; 7],
        /// @64 Its values at every scenario point of the anchor (`keel_risk::array`).
        pub array: SeriesArray,
    }
}

layout! {
    /// A risk-array page (created by the admin with the market's next page index; the account
    /// is allocated by the client at its full size and initialised by `create_array_page`).
    pub struct ArrayPage [size = 35464] {
        /// @0 Layout version.
        pub version: u8,
        /// @1 Explicit padding (zero).
        pub padding0: u8,
        /// @2 Index among the market's pages (`Market::array_pages` when created).
        pub page_index: u16,
        /// @4 Slots in use.
        pub n_used: u16,
        /// @6 Explicit padding (zero).
        pub padding1: u16,
        /// @8 The exchange.
        pub exchange: [u8; 32],
        /// @40 The market.
        pub market: [u8; 32],
        /// @72 Room to grow without a migration.
        pub reserved: [u8; 64],
        /// @136 The series' slots (`PAGE_SERIES`).
        pub slots: [ArraySlot; 16],
    }
}

const _: () = assert!(PAGE_SERIES == 16);

impl ArraySlot {
    /// Whether the slot is free.
    pub fn is_free(&self) -> bool {
        self.series == [0; 32]
    }
}

impl ArrayPage {
    /// The first free slot, if any.
    pub fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(ArraySlot::is_free)
    }
}
