//! Anchor account types: each wraps the matching keel-state layout (`repr(transparent)`), so the
//! program, the SBF benchmark, the keeper and the CLI share one byte layout.
//!
//! Anchor's `#[account(zero_copy)]` cannot be used on a foreign type, so the traits it would
//! derive are implemented here by hand: `Discriminator` (Anchor's own `sha256("account:Name")`
//! prefix, kept in keel-state for clients and checked against Anchor's hash in the tests),
//! `Owner` (this program), `ZeroCopy`, and under `idl-build` an `IdlBuild` that describes every
//! field from keel-state's generated field table.

use anchor_lang::prelude::*;
use anchor_lang::{Discriminator, ZeroCopy};
use core::ops::{Deref, DerefMut};
use keel_state::discriminator;

macro_rules! keel_account {
    ($(#[$meta:meta])* $name:ident, $inner:ty, $disc:expr) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name(pub $inner);

        impl $name {
            /// Account size including Anchor's discriminator.
            pub const SPACE: usize = 8 + core::mem::size_of::<$inner>();
        }

        impl Discriminator for $name {
            const DISCRIMINATOR: &'static [u8] = &$disc;
        }

        impl Owner for $name {
            fn owner() -> Pubkey {
                crate::ID
            }
        }

        impl ZeroCopy for $name {}

        impl Deref for $name {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $inner {
                &mut self.0
            }
        }

        #[cfg(feature = "idl-build")]
        impl anchor_lang::IdlBuild for $name {
            fn create_type() -> Option<anchor_lang::idl::types::IdlTypeDef> {
                Some(crate::idl_types::type_def::<$inner>(stringify!($name)))
            }

            fn insert_types(
                types: &mut std::collections::BTreeMap<String, anchor_lang::idl::types::IdlTypeDef>,
            ) {
                crate::idl_types::insert_nested::<$inner>(types);
            }

            fn get_full_path() -> String {
                stringify!($name).into()
            }
        }
    };
}

keel_account!(
    /// The exchange (see `keel_state::Exchange`).
    Exchange,
    keel_state::Exchange,
    discriminator::EXCHANGE
);
keel_account!(
    /// A market (see `keel_state::Market`).
    Market,
    keel_state::Market,
    discriminator::MARKET
);
keel_account!(
    /// A series (see `keel_state::Series`).
    Series,
    keel_state::Series,
    discriminator::SERIES
);
keel_account!(
    /// A margin account (see `keel_state::MarginAccount`).
    MarginAccount,
    keel_state::MarginAccount,
    discriminator::MARGIN_ACCOUNT
);
keel_account!(
    /// A correlation (see `keel_state::Correlation`).
    Correlation,
    keel_state::Correlation,
    discriminator::CORRELATION
);

/// `Pubkey` from a stored `[u8; 32]`.
pub fn key(bytes: &[u8; 32]) -> Pubkey {
    Pubkey::new_from_array(*bytes)
}
