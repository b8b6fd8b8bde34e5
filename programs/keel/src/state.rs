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

keel_account!(
    /// A risk-array page (see `keel_state::ArrayPage`).
    ArrayPage,
    keel_state::ArrayPage,
    discriminator::ARRAY_PAGE
);
keel_account!(
    /// A ledger shard (see `keel_state::Ledger`).
    Ledger,
    keel_state::Ledger,
    discriminator::LEDGER
);

/// `Pubkey` from a stored `[u8; 32]`.
pub fn key(bytes: &[u8; 32]) -> Pubkey {
    Pubkey::new_from_array(*bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Anchor's own `#[account]` types of the same names, for their discriminators.
    mod anchor_ref {
        use anchor_lang::prelude::*;
        #[account]
        pub struct Exchange {}
        #[account]
        pub struct Market {}
        #[account]
        pub struct Series {}
        #[account]
        pub struct MarginAccount {}
        #[account]
        pub struct Correlation {}
        #[account]
        pub struct ArrayPage {}
        #[account]
        pub struct Ledger {}
    }

    #[test]
    fn discriminators_are_anchors() {
        assert_eq!(Exchange::DISCRIMINATOR, anchor_ref::Exchange::DISCRIMINATOR);
        assert_eq!(Market::DISCRIMINATOR, anchor_ref::Market::DISCRIMINATOR);
        assert_eq!(Series::DISCRIMINATOR, anchor_ref::Series::DISCRIMINATOR);
        assert_eq!(
            MarginAccount::DISCRIMINATOR,
            anchor_ref::MarginAccount::DISCRIMINATOR
        );
        assert_eq!(
            Correlation::DISCRIMINATOR,
            anchor_ref::Correlation::DISCRIMINATOR
        );
        assert_eq!(
            ArrayPage::DISCRIMINATOR,
            anchor_ref::ArrayPage::DISCRIMINATOR
        );
        assert_eq!(Ledger::DISCRIMINATOR, anchor_ref::Ledger::DISCRIMINATOR);
    }

    #[test]
    fn account_sizes() {
        assert_eq!(Exchange::SPACE, 8 + 864);
        // The market holds its risk arrays' two anchors and its listed-option register.
        assert_eq!(Market::SPACE, 8 + 6272);
        assert_eq!(Series::SPACE, 8 + 288);
        assert_eq!(MarginAccount::SPACE, 8 + 3160);
        assert_eq!(Correlation::SPACE, 8 + 344);
        // Over the 10 KiB a program may allocate by CPI: the client allocates it.
        assert_eq!(ArrayPage::SPACE, 8 + 35464);
        assert_eq!(Ledger::SPACE, 8 + 128);
    }

    #[test]
    fn pyth_price_update_decodes_the_same_in_keel_state() {
        use pyth_solana_receiver_sdk::price_update::{
            PriceFeedMessage, PriceUpdateV2, VerificationLevel,
        };
        let u = PriceUpdateV2 {
            write_authority: Pubkey::new_from_array([3; 32]),
            verification_level: VerificationLevel::Partial { num_signatures: 9 },
            price_message: PriceFeedMessage {
                feed_id: [4; 32],
                price: 6_012_345_678_900,
                conf: 1_234_567,
                exponent: -8,
                publish_time: 1_767_225_600,
                prev_publish_time: 1_767_225_599,
                ema_price: 6_000_000_000_000,
                ema_conf: 2_000_000,
            },
            posted_slot: 77,
        };
        let mut data = Vec::new();
        anchor_lang::AccountSerialize::try_serialize(&u, &mut data).unwrap();
        let p = keel_state::oracle::parse_price_update_v2(&data).unwrap();
        assert_eq!(p.verification, keel_state::oracle::Verification::Partial(9));
        assert_eq!(p.feed_id, [4; 32]);
        assert_eq!(p.reading.price, 6_012_345_678_900);
        assert_eq!(p.reading.conf, 1_234_567);
        assert_eq!(p.reading.expo, -8);
        assert_eq!(p.reading.publish_time, 1_767_225_600);
        assert_eq!(p.reading.prev_publish_time, 1_767_225_599);
        assert_eq!(p.ema_price, 6_000_000_000_000);
        assert_eq!(p.posted_slot, 77);
        let full = PriceUpdateV2 {
            verification_level: VerificationLevel::Full,
            ..u
        };
        let mut data = Vec::new();
        anchor_lang::AccountSerialize::try_serialize(&full, &mut data).unwrap();
        let p = keel_state::oracle::parse_price_update_v2(&data).unwrap();
        assert_eq!(p.verification, keel_state::oracle::Verification::Full);
        assert_eq!(p.posted_slot, 77);
    }
}
