extern crate std;
use std::format;

use super::*;
use crate::oracle::LegacyPriceHeader;

/// Every layout's field table is contiguous and covers the whole struct.
fn check_contiguous<T: Layout>() {
    let mut end = 0;
    for f in T::FIELDS {
        assert_eq!(f.offset, end, "{}: gap or overlap before it", f.name);
        end = f.offset + f.size;
    }
    assert_eq!(end, T::SIZE, "table does not cover the struct");
    assert_eq!(core::mem::size_of::<T>(), T::SIZE);
}

/// The `/// @N` offsets written in the doc comments are the real ones.
fn check_doc_offsets<T: Layout>(source: &str, name: &str) {
    let start = source
        .find(&format!("pub struct {name} ["))
        .expect("struct in source");
    let body = &source[start..];
    let body = &body[..body.find("\n    }\n").expect("end of struct")];
    let mut pending: Option<usize> = None;
    let mut checked = 0;
    for line in body.lines().skip(1).map(str::trim) {
        if let Some(rest) = line.strip_prefix("/// @") {
            let n: usize = rest.split_whitespace().next().unwrap().parse().unwrap();
            pending = Some(n);
        } else if let Some(rest) = line.strip_prefix("pub ") {
            let field = rest.split(':').next().unwrap().trim();
            let f = T::field(field).expect("field in table");
            let doc = pending
                .take()
                .unwrap_or_else(|| panic!("{name}.{field}: no @offset"));
            assert_eq!(doc, f.offset, "{name}.{field}: doc says @{doc}");
            checked += 1;
        }
    }
    assert_eq!(checked, T::FIELDS.len(), "{name}: every field documented");
}

#[test]
fn layouts_are_contiguous_and_documented() {
    check_contiguous::<Exchange>();
    check_contiguous::<Ledger>();
    check_contiguous::<Totals>();
    check_contiguous::<Market>();
    check_contiguous::<OracleConfig>();
    check_contiguous::<OracleSnapshot>();
    check_contiguous::<Series>();
    check_contiguous::<MarginAccount>();
    check_contiguous::<Position>();
    check_contiguous::<MarginSnapshot>();
    check_contiguous::<Correlation>();
    check_contiguous::<LegacyPriceHeader>();
    check_contiguous::<ListedOption>();
    check_contiguous::<ArrayPage>();
    check_contiguous::<ArraySlot>();

    check_doc_offsets::<Exchange>(include_str!("exchange.rs"), "Exchange");
    check_doc_offsets::<Ledger>(include_str!("ledger.rs"), "Ledger");
    check_doc_offsets::<Totals>(include_str!("ledger.rs"), "Totals");
    check_doc_offsets::<Market>(include_str!("market.rs"), "Market");
    check_doc_offsets::<OracleConfig>(include_str!("market.rs"), "OracleConfig");
    check_doc_offsets::<OracleSnapshot>(include_str!("market.rs"), "OracleSnapshot");
    check_doc_offsets::<Series>(include_str!("series.rs"), "Series");
    check_doc_offsets::<MarginAccount>(include_str!("account.rs"), "MarginAccount");
    check_doc_offsets::<Position>(include_str!("account.rs"), "Position");
    check_doc_offsets::<MarginSnapshot>(include_str!("account.rs"), "MarginSnapshot");
    check_doc_offsets::<Correlation>(include_str!("correlation.rs"), "Correlation");
    check_doc_offsets::<LegacyPriceHeader>(include_str!("oracle.rs"), "LegacyPriceHeader");
    check_doc_offsets::<ListedOption>(include_str!("market.rs"), "ListedOption");
    check_doc_offsets::<ArrayPage>(include_str!("array_page.rs"), "ArrayPage");
    check_doc_offsets::<ArraySlot>(include_str!("array_page.rs"), "ArraySlot");
}

#[test]
fn offsets_clients_filter_on() {
    // getProgramAccounts filters (account offset = 8 + struct offset).
    assert_eq!(MarginAccount::field("exchange").unwrap().offset, 8);
    assert_eq!(MarginAccount::field("owner").unwrap().offset, 40);
    assert_eq!(Series::field("market").unwrap().offset, 40);
    assert_eq!(Market::field("exchange").unwrap().offset, 8);
    assert_eq!(Correlation::field("market_a").unwrap().offset, 40);
    assert_eq!(ArrayPage::field("market").unwrap().offset, 40);
    let owner = MarginAccount::field("owner").unwrap();
    assert_eq!(
        owner.docs[0].trim(),
        "@40 The owner: deposits, withdraws, trades, closes."
    );
}

#[test]
fn read_account_checks_discriminator_length_and_version() {
    let mut data = [0u8; DISCRIMINATOR_LEN + Series::SIZE];
    data[..8].copy_from_slice(&discriminator::SERIES);
    data[8] = LAYOUT_VERSION;
    data[8 + 72..8 + 80].copy_from_slice(&123i64.to_le_bytes());
    let s: Series = read_account(&data, &discriminator::SERIES).unwrap();
    assert_eq!(s.strike_native, 123);
    assert_eq!(
        read_account::<Series>(&data, &discriminator::MARKET),
        Err(StateError::WrongDiscriminator)
    );
    assert_eq!(
        read_account::<Series>(&data[..100], &discriminator::SERIES),
        Err(StateError::AccountTooSmall)
    );
    data[8] = 9;
    assert_eq!(
        read_account::<Series>(&data, &discriminator::SERIES),
        Err(StateError::UnknownVersion)
    );
}

#[test]
fn position_slots_and_markets() {
    let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
    let (m1, m2) = ([1u8; 32], [2u8; 32]);
    assert_eq!(a.market_slot_or_insert(&m1), Some(0));
    assert_eq!(a.market_slot_or_insert(&m2), Some(1));
    assert_eq!(a.market_slot_or_insert(&m1), Some(0));
    a.positions[3].series = [7; 32];
    a.positions[3].market_slot = 1;
    a.n_positions = 1;
    assert_eq!(a.position_index(&[7; 32]), Some(3));
    assert_eq!(a.position_index(&[0; 32]), None);
    assert_eq!(a.free_slot(), Some(0));
    a.free_position(3);
    assert_eq!(a.n_positions, 0);
    assert_eq!(
        a.markets[1], [0; 32],
        "market entry freed with its last position"
    );
    assert_eq!(a.markets[0], m1, "other entries untouched");
    for _ in 0..MAX_MARKETS - 1 {
        a.market_slot_or_insert(&[a.used_markets().count() as u8 + 10; 32]);
    }
    assert_eq!(
        a.market_slot_or_insert(&[99; 32]),
        None,
        "at most MAX_MARKETS"
    );
}

#[test]
fn series_payoffs() {
    let mut s: Series = bytemuck::Zeroable::zeroed();
    s.strike_native = 100;
    s.kind = 0;
    assert_eq!(s.payoff_per_contract(130), Some(30));
    assert_eq!(s.payoff_per_contract(70), Some(0));
    s.kind = 1;
    assert_eq!(s.payoff_per_contract(70), Some(30));
    assert_eq!(s.payoff_per_contract(130), Some(0));
    s.kind = 2;
    assert_eq!(s.payoff_per_contract(130), Some(130));
    s.kind = 3;
    assert_eq!(s.payoff_per_contract(130), None);
}

/// `key_words` reads the key at its offset: equal words exactly when the bytes are equal, for
/// the keys margin compares (a position's series, a slot's series, a page's market, an
/// account's market slots), and a position is free exactly when its series is all zero.
#[test]
fn key_words_compare_as_the_bytes() {
    use crate::account::Position;
    use crate::array_page::ArraySlot;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2_000 {
        let mut key = [0u8; 32];
        for b in key.iter_mut() {
            // Mostly zero bytes: keys that differ in one byte, or are all zero, are common.
            *b = if next() % 4 == 0 { next() as u8 } else { 0 };
        }
        let mut other = key;
        if next() % 2 == 0 {
            other[(next() % 32) as usize] ^= 1 << (next() % 8);
        }
        let mut p: Position = bytemuck::Zeroable::zeroed();
        p.series = key;
        let mut s: ArraySlot = bytemuck::Zeroable::zeroed();
        s.series = other;
        assert_eq!(key_words(&p, 0) == key_words(&s, 0), key == other);
        assert_eq!(p.is_free(), key == [0; 32]);
        let mut page: ArrayPage = bytemuck::Zeroable::zeroed();
        page.market = other;
        let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
        let slot = (next() % MAX_MARKETS as u64) as usize;
        a.markets[slot] = key;
        let at = core::mem::offset_of!(MarginAccount, markets) + 32 * slot;
        assert_eq!(
            key_words(&a, at) == key_words(&page, core::mem::offset_of!(ArrayPage, market)),
            key == other
        );
    }
}

proptest::proptest! {
    /// `same_key` is `==` on the bytes, for keys at every alignment (both 8-aligned: the word
    /// comparison; otherwise the bytes), equal or differing in one bit of any byte or anywhere.
    #[test]
    fn same_key_is_byte_equality(
        key in proptest::prelude::any::<[u8; 32]>(),
        flip in proptest::prelude::any::<Option<(usize, u8)>>(),
        other in proptest::prelude::any::<Option<[u8; 32]>>(),
        (oa, ob) in (0usize..9, 0usize..9),
    ) {
        let mut k2 = other.unwrap_or(key);
        if let Some((i, bit)) = flip {
            k2[i % 32] ^= 1 << (bit % 8);
        }
        let (mut wa, mut wb) = ([0u64; 6], [0u64; 6]);
        let ba: &mut [u8] = bytemuck::cast_slice_mut(&mut wa);
        ba[oa..oa + 32].copy_from_slice(&key);
        let bb: &mut [u8] = bytemuck::cast_slice_mut(&mut wb);
        bb[ob..ob + 32].copy_from_slice(&k2);
        let a: &[u8; 32] = bytemuck::cast_slice::<u64, u8>(&wa)[oa..oa + 32].try_into().unwrap();
        let b: &[u8; 32] = bytemuck::cast_slice::<u64, u8>(&wb)[ob..ob + 32].try_into().unwrap();
        proptest::prop_assert_eq!(same_key(a, b), key == k2);
    }

    /// `is_zero_key` is `== [0; 32]` at every alignment, for zero keys and keys with one bit set.
    #[test]
    fn is_zero_key_is_comparison_with_zero(
        bit in proptest::prelude::any::<Option<(usize, u8)>>(),
        off in 0usize..9,
    ) {
        let mut k = [0u8; 32];
        if let Some((i, b)) = bit {
            k[i % 32] |= 1 << (b % 8);
        }
        let mut w = [0u64; 6];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut w);
        bytes[off..off + 32].copy_from_slice(&k);
        let a: &[u8; 32] = bytemuck::cast_slice::<u64, u8>(&w)[off..off + 32].try_into().unwrap();
        proptest::prop_assert_eq!(is_zero_key(a), k == [0; 32]);
    }

    /// `has_discriminator` is `starts_with` for data at every alignment and of every length
    /// (shorter than a discriminator included), with the discriminator equal or one bit off.
    #[test]
    fn has_discriminator_is_starts_with(
        disc in proptest::prelude::any::<[u8; 8]>(),
        rest in proptest::prelude::any::<[u8; 16]>(),
        flip in proptest::prelude::any::<Option<(usize, u8)>>(),
        off in 0usize..9,
        len in 0usize..24,
    ) {
        let mut head = disc;
        if let Some((i, bit)) = flip {
            head[i % 8] ^= 1 << (bit % 8);
        }
        let mut w = [0u64; 5];
        let b: &mut [u8] = bytemuck::cast_slice_mut(&mut w);
        b[off..off + 8].copy_from_slice(&head);
        b[off + 8..off + 24].copy_from_slice(&rest);
        let data = &bytemuck::cast_slice::<u64, u8>(&w)[off..off + len];
        proptest::prop_assert_eq!(has_discriminator(data, &disc), data.starts_with(&disc));
    }
}
