//! keel-state: the byte layouts of Keel's on-chain accounts and the one function that turns them
//! into keel-risk inputs.
//!
//! The Anchor program (`programs/keel`) stores exactly these structs zero-copy after Anchor's
//! 8-byte account discriminator; the SBF compute benchmark, the keeper and the CLI read the same
//! bytes through this crate, so the layout cannot drift between them.
//!
//! - `no_std`, no Anchor or Solana types: public keys are plain `[u8; 32]`, written
//!   [`PubkeyBytes`] in the layouts so the IDL describes them as `pubkey` (other 32-byte arrays,
//!   such as a Pyth feed id, stay bytes).
//! - Every struct is `repr(C)` `bytemuck::Pod` with explicit padding and a `reserved` tail; its
//!   size is asserted at compile time and its fields' byte offsets are listed in
//!   [`Layout::FIELDS`] (generated from the struct itself with `offset_of!`, so the table cannot
//!   disagree with the code). Offsets in the doc comments are relative to the struct; in an
//!   account they are shifted by [`DISCRIMINATOR_LEN`].
//! - Money is `i64` native units of the exchange's quote mint; prices are per contract in quote
//!   native units (see [`oracle`]); volatilities and fractions are Q32.32 (`keel_risk::Fx`).
//! - Layouts only ever grow into their `reserved` tail: a new field takes reserved bytes and
//!   `VERSION` stays readable.
#![no_std]
#![deny(missing_docs)]

pub mod account;
pub mod array_page;
pub mod correlation;
pub mod crank;
pub mod error;
pub mod exchange;
pub mod ledger;
pub mod margin;
pub mod market;
pub mod oracle;
pub mod risk_layout;
pub mod series;
pub mod social;
pub mod trade_band;

pub use account::{MarginAccount, MarginSnapshot, Position};
pub use array_page::{ArrayPage, ArraySlot};
pub use correlation::Correlation;
pub use error::StateError;
pub use exchange::Exchange;
pub use ledger::{Ledger, Totals, LEDGER_SHARDS};
pub use margin::{
    compute_margin, compute_margin_memo, margin_inputs, MarginInputs, MarginMemo, MarketReading,
};
pub use market::{ListedOption, Market, OracleConfig, OracleSnapshot, TradeBand};
pub use oracle::OracleReading;
pub use series::Series;

pub use keel_risk::{MAX_MARKETS, MAX_POSITIONS};

/// A public key as stored in an account (32 bytes); the IDL describes fields of this type as
/// `pubkey`.
pub type PubkeyBytes = [u8; 32];

/// The 32-byte key at byte `offset` (a multiple of 8) of the 8-aligned layout `t`, as four
/// 64-bit words. Keys compared as `[u8; 32]` are compared a byte at a time by the BPF backend
/// where it cannot prove them aligned (≈ 120 SBF instructions for 32 bytes); read through the
/// layout's own alignment they take four loads. Equal words ⇔ equal bytes.
#[inline(always)]
pub(crate) fn key_words<T: bytemuck::Pod>(t: &T, offset: usize) -> [u64; 4] {
    const { assert!(core::mem::align_of::<T>() == 8 && core::mem::size_of::<T>().is_multiple_of(8)) };
    let w: &[u64] = bytemuck::cast_slice(core::slice::from_ref(t));
    let k = offset / 8;
    [w[k], w[k + 1], w[k + 2], w[k + 3]]
}

/// Whether `a` and `b` are the same key: as four 64-bit words when both are 8-aligned (a key
/// field of the accounts' layouts, or of an aligned copy, is), byte by byte otherwise (which the
/// BPF backend does for any `[u8; 32]` comparison: ≈ 100 SBF instructions against ≈ 16). Same
/// result either way.
#[inline(always)]
pub fn same_key(a: &[u8; 32], b: &[u8; 32]) -> bool {
    match (
        bytemuck::try_cast_ref::<[u8; 32], [u64; 4]>(a),
        bytemuck::try_cast_ref::<[u8; 32], [u64; 4]>(b),
    ) {
        // Word by word (`x == y` on the arrays compiles to the byte-wise comparison again).
        (Ok(x), Ok(y)) => (x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) == 0,
        _ => a == b,
    }
}

/// Whether `k` is all zeros (an unset key), as four 64-bit words where 8-aligned, byte by byte
/// otherwise.
#[inline(always)]
pub fn is_zero_key(k: &[u8; 32]) -> bool {
    match bytemuck::try_cast_ref::<[u8; 32], [u64; 4]>(k) {
        Ok(x) => x[0] | x[1] | x[2] | x[3] == 0,
        Err(_) => *k == [0; 32],
    }
}

/// Whether `data` starts with the account discriminator `disc`: one 64-bit load and compare
/// when `data` is 8-aligned (an account's data in the VM is), byte by byte otherwise. Same result
/// as `data.starts_with(disc)`.
#[inline(always)]
pub fn has_discriminator(data: &[u8], disc: &[u8; 8]) -> bool {
    let Some(head) = data.get(..DISCRIMINATOR_LEN) else {
        return false;
    };
    match bytemuck::try_from_bytes::<u64>(head) {
        Ok(w) => *w == u64::from_ne_bytes(*disc),
        Err(_) => head == disc,
    }
}

/// Bytes of Anchor's account discriminator in front of every account's data.
pub const DISCRIMINATOR_LEN: usize = 8;

/// Current layout version stored in byte 0 of every Keel account.
pub const LAYOUT_VERSION: u8 = 1;

/// Anchor's account discriminators (`sha256("account:<Name>")[..8]`), for `getProgramAccounts`
/// memcmp filters at offset 0. The program asserts in its tests that these equal Anchor's.
pub mod discriminator {
    /// `Exchange`.
    pub const EXCHANGE: [u8; 8] = [30, 200, 220, 149, 3, 61, 104, 50];
    /// `Market`.
    pub const MARKET: [u8; 8] = [219, 190, 213, 55, 0, 227, 198, 154];
    /// `Series`.
    pub const SERIES: [u8; 8] = [240, 97, 8, 183, 139, 77, 250, 162];
    /// `MarginAccount`.
    pub const MARGIN_ACCOUNT: [u8; 8] = [133, 220, 173, 213, 179, 211, 43, 238];
    /// `Correlation`.
    pub const CORRELATION: [u8; 8] = [169, 156, 6, 82, 98, 71, 92, 46];
    /// `ArrayPage`.
    pub const ARRAY_PAGE: [u8; 8] = [38, 33, 220, 120, 254, 133, 164, 246];
    /// `Ledger`.
    pub const LEDGER: [u8; 8] = [43, 41, 21, 213, 180, 176, 95, 32];
}

/// PDA seed prefixes (the program derives every account from these).
pub mod seeds {
    /// `["exchange"]`: one exchange per deployment.
    pub const EXCHANGE: &[u8] = b"exchange";
    /// `["vault", exchange]`: the quote token account, owned by the exchange PDA.
    pub const VAULT: &[u8] = b"vault";
    /// `["market", exchange, market_index as u16 LE]`.
    pub const MARKET: &[u8] = b"market";
    /// `["series", market, series_index as u32 LE]`.
    pub const SERIES: &[u8] = b"series";
    /// `["margin", exchange, owner, account_id as u32 LE]`.
    pub const MARGIN_ACCOUNT: &[u8] = b"margin";
    /// `["correlation", market_a, market_b]` with `market_a`'s index < `market_b`'s.
    pub const CORRELATION: &[u8] = b"correlation";
    /// `["ledger", exchange, index as u8]`: a ledger shard (`crate::ledger`).
    pub const LEDGER: &[u8] = b"ledger";
}

/// One field of a layout: what clients need to filter on it or decode it without this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name in the struct.
    pub name: &'static str,
    /// Byte offset from the start of the struct (add [`DISCRIMINATOR_LEN`] inside an account).
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// The Rust type as written in the struct (e.g. `"[u8; 32]"`, `"i64"`, `"RiskParams"`).
    pub ty: &'static str,
    /// The field's doc comment, line by line.
    pub docs: &'static [&'static str],
}

/// A zero-copy layout with a field table.
pub trait Layout: bytemuck::Pod {
    /// Size in bytes (without Anchor's discriminator).
    const SIZE: usize;
    /// Every field in declaration order, with its offset, size and type.
    const FIELDS: &'static [Field];

    /// The field called `name`, if any.
    fn field(name: &str) -> Option<Field> {
        Self::FIELDS.iter().copied().find(|f| f.name == name)
    }
}

/// Asserts at compile time that `fields` follow each other without gap or overlap and cover
/// `size` bytes (every layout here is `repr(C)` with explicit padding).
pub(crate) const fn assert_contiguous(fields: &[Field], size: usize) {
    let mut end = 0;
    let mut i = 0;
    while i < fields.len() {
        assert!(fields[i].offset == end, "field table: gap or overlap");
        end = fields[i].offset + fields[i].size;
        i += 1;
    }
    assert!(end == size, "field table does not cover the struct");
}

/// Declares a `repr(C)` Pod layout, asserts its size, and generates its [`Layout`] field table.
macro_rules! layout {
    (
        $(#[$meta:meta])*
        pub struct $name:ident [size = $size:expr] {
            $( $(#[doc = $fdoc:expr])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $( $(#[doc = $fdoc])* pub $field: $ty, )*
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $size);

        impl $crate::Layout for $name {
            const SIZE: usize = $size;
            const FIELDS: &'static [$crate::Field] = &[
                $( $crate::Field {
                    name: stringify!($field),
                    offset: core::mem::offset_of!($name, $field),
                    size: core::mem::size_of::<$ty>(),
                    ty: stringify!($ty),
                    docs: &[$($fdoc),*],
                }, )*
            ];
        }
    };
}
pub(crate) use layout;

/// The field table and size of every layout stored in Keel's accounts, by type name: the five
/// accounts, the structs nested in them, and keel-risk's structs ([`risk_layout`]). Clients
/// that decode accounts without this crate (the IDL, the TypeScript SDK's fixtures) start here.
pub fn layout_by_name(name: &str) -> Option<(&'static [Field], usize)> {
    use keel_risk::vol::CorrelationState;
    use keel_risk::{LiquidationParams, NamedShock, RiskParams, VolState};
    fn of<T: Layout>() -> Option<(&'static [Field], usize)> {
        Some((T::FIELDS, T::SIZE))
    }
    match name {
        "Exchange" => of::<Exchange>(),
        "Ledger" => of::<Ledger>(),
        "Totals" => of::<Totals>(),
        "Market" => of::<Market>(),
        "Series" => of::<Series>(),
        "MarginAccount" => of::<MarginAccount>(),
        "Correlation" => of::<Correlation>(),
        "OracleConfig" => of::<OracleConfig>(),
        "OracleSnapshot" => of::<OracleSnapshot>(),
        "TradeBand" => of::<TradeBand>(),
        "MarginSnapshot" => of::<MarginSnapshot>(),
        "Position" => of::<Position>(),
        "RiskParams" => of::<RiskParams>(),
        "NamedShock" => of::<NamedShock>(),
        "LiquidationParams" => of::<LiquidationParams>(),
        "VolState" => of::<VolState>(),
        "CorrelationState" => of::<CorrelationState>(),
        "FillVol" => of::<keel_risk::vol::fills::FillVol>(),
        "ArrayPage" => of::<ArrayPage>(),
        "ArraySlot" => of::<ArraySlot>(),
        "ListedOption" => of::<market::ListedOption>(),
        "Anchor" => of::<keel_risk::array::Anchor>(),
        "Bound" => of::<keel_risk::array::Bound>(),
        "SeriesArray" => of::<keel_risk::SeriesArray>(),
        _ => None,
    }
}

/// Reads a layout from account data that starts with `discriminator`. Checks the length, the
/// discriminator and the layout version; the data need not be aligned (the value is copied).
pub fn read_account<T: Layout>(data: &[u8], discriminator: &[u8; 8]) -> Result<T, StateError> {
    if data.len() < DISCRIMINATOR_LEN + T::SIZE {
        return Err(StateError::AccountTooSmall);
    }
    if data[..DISCRIMINATOR_LEN] != discriminator[..] {
        return Err(StateError::WrongDiscriminator);
    }
    let body = &data[DISCRIMINATOR_LEN..DISCRIMINATOR_LEN + T::SIZE];
    if body[0] != LAYOUT_VERSION {
        return Err(StateError::UnknownVersion);
    }
    Ok(bytemuck::pod_read_unaligned(body))
}

#[cfg(test)]
mod tests;
