use super::*;

const BTC: ContractSpec = ContractSpec {
    size_mantissa: 1,
    size_expo: -2, // 0.01 BTC per contract
    quote_decimals: 6,
};

fn reading(price: i64, conf: u64, expo: i32) -> OracleReading {
    OracleReading {
        price,
        conf,
        expo,
        publish_time: 0,
        prev_publish_time: 0,
    }
}

#[test]
fn price_per_contract_rounds_price_down_and_conf_up() {
    // 60 000.123 456 78 USD/BTC, 0.01 BTC per contract, USDC 6 decimals:
    // 600.001 234 567 8 USDC = 600 001 234.5678 native → 600 001 234 (down).
    let r = reading(6_000_012_345_678, 1_234_567_891, -8);
    assert_eq!(BTC.price_native(&r), Ok(600_001_234));
    // conf 12.345 678 91 USD/BTC → 0.123 456 789 1 USDC → 123 456.7891 → 123 457 (up).
    assert_eq!(BTC.conf_native(&r), Ok(123_457));
    // Exact values do not move.
    assert_eq!(
        BTC.price_native(&reading(6_000_000_000_000, 0, -8)),
        Ok(600_000_000)
    );
    assert_eq!(BTC.conf_native(&reading(6_000_000_000_000, 0, -8)), Ok(0));
}

#[test]
fn positive_exponents_and_large_contracts() {
    let spec = ContractSpec {
        size_mantissa: 5,
        size_expo: 3, // 5 000 units per contract
        quote_decimals: 6,
    };
    // price 2 · 10^1 = 20 per unit → 100 000 per contract → 10^11 native.
    assert_eq!(spec.price_native(&reading(2, 0, 1)), Ok(100_000_000_000));
    // Overflow is an error, never a wrap.
    assert_eq!(
        spec.price_native(&reading(i64::MAX, 0, 0)),
        Err(StateError::PriceOverflow)
    );
}

#[test]
fn tiny_prices_are_rejected_not_zero() {
    // A price that rounds to zero native units per contract cannot be used as a spot.
    assert_eq!(
        BTC.price_native(&reading(1, 0, -12)),
        Err(StateError::OracleNonPositive)
    );
    assert_eq!(
        BTC.price_native(&reading(-5, 0, -8)),
        Err(StateError::OracleNonPositive)
    );
    // Extreme exponents are handled in several division steps, still exact.
    assert_eq!(scale_mul_pow10(u64::MAX, u64::MAX, -38, false), Ok(3));
    assert_eq!(scale_mul_pow10(u64::MAX, u64::MAX, -38, true), Ok(4));
    assert_eq!(scale_mul_pow10(10, 10, -2, true), Ok(1));
    assert_eq!(scale_mul_pow10(10, 10, -3, true), Ok(1));
    assert_eq!(scale_mul_pow10(10, 10, -3, false), Ok(0));
}

/// `a·b·10^k` from `u128` (exact while `a·b·10^k` or `a·b` fits in it), rounded as asked,
/// where it fits an `i64`.
fn scale_u128(a: u64, b: u64, k: i32, ceil: bool) -> Option<i64> {
    let p = a as u128 * b as u128;
    let v = if k >= 0 {
        p.checked_mul(10u128.checked_pow(k as u32)?)?
    } else {
        let d = 10u128.checked_pow(k.unsigned_abs())?;
        p / d + (ceil && !p.is_multiple_of(d)) as u128
    };
    i64::try_from(v).ok()
}

proptest::proptest! {
    /// The 64-bit fast path of `scale_mul_pow10` gives the general path's bits (and errors) for
    /// operands of every magnitude (random words shifted right by random amounts, so products
    /// below and above 2^64 are both common) and exponents inside and outside ±19.
    #[test]
    fn scale_fast_path_is_bit_identical(
        a in proptest::prelude::any::<u64>(),
        b in proptest::prelude::any::<u64>(),
        sa in 0u32..64,
        sb in 0u32..64,
        k in -45i32..45,
        ceil in proptest::prelude::any::<bool>(),
    ) {
        let (a, b) = (a >> sa, b >> sb);
        let fast = scale_mul_pow10(a, b, k, ceil);
        proptest::prop_assert_eq!(fast, scale_mul_pow10_wide(a, b, k, ceil));
        if k.abs() <= 19 {
            proptest::prop_assert_eq!(fast.ok(), scale_u128(a, b, k, ceil));
        }
    }

    /// Products at the 2^64 boundary of the fast path's test (`a = ⌊(2^64 − 1)/b⌋` and one more).
    #[test]
    fn scale_fast_path_boundary(
        b in 1u64..,
        sb in 0u32..64,
        more in proptest::prelude::any::<bool>(),
        k in -20i32..21,
        ceil in proptest::prelude::any::<bool>(),
    ) {
        let b = (b >> sb).max(1);
        let a = (u64::MAX / b).saturating_add(more as u64);
        proptest::prop_assert_eq!(
            scale_mul_pow10(a, b, k, ceil),
            scale_mul_pow10_wide(a, b, k, ceil)
        );
    }
}

#[test]
fn conf_ratio_in_bps_rounds_up() {
    assert_eq!(conf_bps(&reading(10_000, 1, 0)), 1);
    assert_eq!(conf_bps(&reading(10_001, 1, 0)), 1);
    assert_eq!(conf_bps(&reading(20_000, 1, 0)), 1);
    assert_eq!(conf_bps(&reading(100, 2, 0)), 200);
    assert_eq!(conf_bps(&reading(0, 2, 0)), u64::MAX);
}

/// A legacy price account written field by field at the offsets of pyth-sdk-solana's
/// `PriceAccount` (independently of `LegacyPriceHeader`).
fn legacy_bytes(
    price: i64,
    conf: u64,
    expo: i32,
    ts: i64,
    status: u32,
) -> [u8; LEGACY_ACCOUNT_SIZE] {
    let mut d = [0u8; LEGACY_ACCOUNT_SIZE];
    d[0..4].copy_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    d[4..8].copy_from_slice(&2u32.to_le_bytes());
    d[8..12].copy_from_slice(&3u32.to_le_bytes());
    d[12..16].copy_from_slice(&(LEGACY_ACCOUNT_SIZE as u32).to_le_bytes());
    d[20..24].copy_from_slice(&expo.to_le_bytes());
    d[96..104].copy_from_slice(&ts.to_le_bytes());
    d[200..208].copy_from_slice(&(ts - 1).to_le_bytes());
    d[208..216].copy_from_slice(&price.to_le_bytes());
    d[216..224].copy_from_slice(&conf.to_le_bytes());
    d[224..228].copy_from_slice(&status.to_le_bytes());
    d
}

#[test]
fn legacy_layout() {
    let d = legacy_bytes(6_000_000_000_000, 5_000_000, -8, 1_700_000_000, 1);
    assert_eq!(
        parse_pyth_legacy(&d),
        Ok(OracleReading {
            price: 6_000_000_000_000,
            conf: 5_000_000,
            expo: -8,
            publish_time: 1_700_000_000,
            prev_publish_time: 1_699_999_999,
        })
    );
    let halted = legacy_bytes(1, 1, -8, 1, 2);
    assert_eq!(
        parse_pyth_legacy(&halted),
        Err(StateError::OracleNotTrading)
    );
    let mut bad = d;
    bad[0] = 0;
    assert_eq!(parse_pyth_legacy(&bad), Err(StateError::OracleLayout));
    let mut product = d;
    product[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(parse_pyth_legacy(&product), Err(StateError::OracleLayout));
    assert_eq!(parse_pyth_legacy(&d[..239]), Err(StateError::OracleLayout));
}

#[test]
fn price_update_v2_borsh() {
    let mut d = [0u8; 134];
    d[..8].copy_from_slice(&PRICE_UPDATE_V2_DISCRIMINATOR);
    d[8..40].copy_from_slice(&[5; 32]);
    d[40] = 0; // Partial
    d[41] = 7; // signatures
    let mut o = 42;
    d[o..o + 32].copy_from_slice(&[9; 32]);
    o += 32;
    d[o..o + 8].copy_from_slice(&123i64.to_le_bytes());
    o += 8;
    d[o..o + 8].copy_from_slice(&4u64.to_le_bytes());
    o += 8;
    d[o..o + 4].copy_from_slice(&(-8i32).to_le_bytes());
    o += 4;
    d[o..o + 8].copy_from_slice(&77i64.to_le_bytes());
    o += 8;
    d[o..o + 8].copy_from_slice(&70i64.to_le_bytes());
    o += 8;
    d[o..o + 8].copy_from_slice(&120i64.to_le_bytes());
    o += 8 + 8;
    d[o..o + 8].copy_from_slice(&42u64.to_le_bytes());
    let u = parse_price_update_v2(&d).unwrap();
    assert_eq!(u.verification, Verification::Partial(7));
    assert_eq!(u.feed_id, [9; 32]);
    assert_eq!(
        u.reading,
        OracleReading {
            price: 123,
            conf: 4,
            expo: -8,
            publish_time: 77,
            prev_publish_time: 70,
        }
    );
    assert_eq!(u.ema_price, 120);
    assert_eq!(u.posted_slot, 42);
    let mut wrong = d;
    wrong[0] ^= 1;
    assert_eq!(parse_price_update_v2(&wrong), Err(StateError::OracleLayout));
    assert_eq!(
        parse_price_update_v2(&d[..60]),
        Err(StateError::OracleLayout)
    );
}

#[test]
fn a_reading_covers_the_moments_since_the_previous_update() {
    let r = OracleReading {
        price: 1,
        conf: 0,
        expo: 0,
        publish_time: 100,
        prev_publish_time: 90,
    };
    assert!(!r.covers(90));
    assert!(r.covers(91));
    assert!(r.covers(100));
    assert!(!r.covers(101));
}

/// `read_price_update_v2` gives what `parse_price_update_v2` and a feed comparison give, on
/// aligned data (the word path) and unaligned data (the decoder), for every length around the
/// layout's, both verification tags and invalid ones, the right and a wrong discriminator, the
/// right feed and feeds differing in one bit, an aligned and an unaligned expected feed id.
#[test]
fn reading_a_price_update_matches_decoding_it() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // u64 backing: byte 0 is 8-aligned; byte 1 is not.
    let mut words = [0u64; 20];
    let mut feeds = [0u64; 5];
    let (mut word_path, mut decoder) = (0, 0);
    for case in 0..20_000 {
        for w in words.iter_mut() {
            *w = next();
        }
        let shift = (case % 3 == 0) as usize;
        let len = 120 + (next() % 40) as usize;
        {
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words[..]);
            let d = &mut bytes[shift..shift + len];
            if next() % 8 != 0 {
                d[..8].copy_from_slice(&PRICE_UPDATE_V2_DISCRIMINATOR);
            }
            d[40] = match next() % 8 {
                0 => 2 + (next() % 250) as u8,
                1..=3 => 0,
                _ => 1,
            };
        }
        let bytes: &[u8] = bytemuck::cast_slice(&words[..]);
        let d = &bytes[shift..shift + len];
        let b = if d[40] == 0 { 42 } else { 41 };
        let mut feed = [0u8; 32];
        if d.len() >= b + 32 {
            feed.copy_from_slice(&d[b..b + 32]);
        }
        if next() % 3 == 0 {
            feed[(next() % 32) as usize] ^= 1 << (next() % 8);
        }
        // The expected feed id at an aligned and at an unaligned address.
        let fb: &mut [u8] = bytemuck::cast_slice_mut(&mut feeds[..]);
        let at = (case % 2) * 3;
        fb[at..at + 32].copy_from_slice(&feed);
        let fb: &[u8] = bytemuck::cast_slice(&feeds[..]);
        let feed_ref: &[u8; 32] = fb[at..at + 32].try_into().unwrap();
        let want = parse_price_update_v2(d).and_then(|u| {
            if u.feed_id != *feed_ref {
                Err(StateError::OracleWrongFeed)
            } else {
                Ok((u.verification, u.reading))
            }
        });
        assert_eq!(read_price_update_v2(d, feed_ref), want, "case {case}");
        if shift == 0 && len >= 128 {
            word_path += 1;
        } else {
            decoder += 1;
        }
    }
    assert!(word_path > 5_000 && decoder > 5_000);
}
