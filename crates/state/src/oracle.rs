//! Oracle readings and their conversion to prices per contract.
//!
//! Two account layouts are read here without any Solana dependency, so the keeper and CLI see
//! exactly what the program sees:
//! - Pyth's pull oracle `PriceUpdateV2` (pyth-solana-receiver; Anchor discriminator + borsh);
//!   the program itself deserialises it with `pyth-solana-receiver-sdk` and its tests check that
//!   both agree.
//! - The legacy Pyth push price account (v2, `repr(C)`): only its 240-byte header up to and
//!   including the aggregate price is read ([`LegacyPriceHeader`]).
//!
//! A price `p·10^expo` quote units per underlying unit is worth, per contract of
//! `m·10^c` underlying units, `p·m·10^(expo + c + quote_decimals)` quote *native* units. The
//! price is rounded down and the confidence up; the exact 128-bit product is formed from 64-bit
//! operations (keel-risk's `mul_wide`/`div_wide`), so this runs in the SBF VM.

use crate::{layout, StateError};
use keel_risk::fx::{div_wide, mul_wide};

/// What an oracle said: `price·10^expo ± conf·10^expo`, published at `publish_time`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OracleReading {
    /// Price mantissa.
    pub price: i64,
    /// Confidence mantissa (same exponent).
    pub conf: u64,
    /// Decimal exponent.
    pub expo: i32,
    /// Unix publish time.
    pub publish_time: i64,
    /// Publish time of the previous update: this reading is *the* price at every t with
    /// `prev_publish_time < t ≤ publish_time` (Pyth's rule for a unique price at a moment; used
    /// to fix settlement prices without letting a keeper pick among several updates).
    pub prev_publish_time: i64,
}

impl OracleReading {
    /// Whether this is the unique update covering moment `t`.
    pub fn covers(&self, t: i64) -> bool {
        self.prev_publish_time < t && t <= self.publish_time
    }
}

/// How a contract's price is formed from an oracle price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContractSpec {
    /// Underlying units per contract, mantissa (> 0).
    pub size_mantissa: i64,
    /// Underlying units per contract, decimal exponent.
    pub size_expo: i32,
    /// Decimals of the quote mint.
    pub quote_decimals: u8,
}

/// Powers of ten that fit in a `u64`.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `a·b·10^k` for non-negative `a`, `b`, rounded down (`ceil = false`) or up, if it fits an i64.
///
/// When `a·b` fits in 63 bits (tested with one native division, `a ≤ ⌊(2^63 − 1)/b⌋`) and
/// |k| ≤ 19 — every realistic price and confidence conversion: a Pyth mantissa times a small
/// contract mantissa, scaled by a few decimals — the product is one native multiply and the
/// scaling one native division (or multiply, tested the same way), with the rounding from the
/// remainder: the same bits as [`scale_mul_pow10_wide`], which everything else takes (the
/// conversions cost ≈ 95 SBF instructions each through it, a margin check makes two per market).
/// The bound is 2^63 − 1 and not 2^64 − 1 on purpose: LLVM turns `a ≤ ⌊(2^64 − 1)/b⌋` into a
/// multiply-with-overflow, a 128-bit `__multi3` call on SBF.
#[inline]
pub fn scale_mul_pow10(a: u64, b: u64, k: i32, ceil: bool) -> Result<i64, StateError> {
    const MAX: u64 = i64::MAX as u64;
    if (-19..=19).contains(&k) && (b == 0 || a <= MAX / b) {
        // Exact: a·b ≤ 2^63 − 1 by the test above.
        let p = a.wrapping_mul(b);
        let d = POW10[k.unsigned_abs() as usize];
        if k <= 0 {
            // q·d ≤ p, and q + 1 ≤ p still fits an i64 when the bump applies (then d > 1).
            let q = p / d;
            return Ok((q + (ceil && q.wrapping_mul(d) != p) as u64) as i64);
        }
        if p <= MAX / d {
            // Exact by the test: p·d ≤ 2^63 − 1 (no rounding, as in the general path).
            return Ok(p.wrapping_mul(d) as i64);
        }
    }
    scale_mul_pow10_wide(a, b, k, ceil)
}

/// [`scale_mul_pow10`] through the 128-bit product `a·b` and as many steps of at most 10^19 as
/// `k` needs (the general path, and the reference its fast path is tested against).
pub fn scale_mul_pow10_wide(a: u64, b: u64, k: i32, ceil: bool) -> Result<i64, StateError> {
    let (mut hi, mut lo) = mul_wide(a, b);
    if k >= 0 {
        let mut k = k as usize;
        while k > 0 {
            let step = k.min(19);
            if hi != 0 {
                return Err(StateError::PriceOverflow);
            }
            let (h, l) = mul_wide(lo, POW10[step]);
            hi = h;
            lo = l;
            k -= step;
        }
    } else {
        let mut k = k.unsigned_abs() as usize;
        while k > 0 {
            let step = k.min(19);
            let d = POW10[step];
            // (hi:lo) / d in two steps keeps every partial quotient inside 64 bits.
            let (qh, rh) = (hi / d, hi % d);
            let (ql, r) = div_wide(rh, lo, d);
            let bump = ceil && r != 0;
            let (ql, carry) = ql.overflowing_add(bump as u64);
            hi = qh + carry as u64;
            lo = ql;
            k -= step;
        }
    }
    if hi != 0 || lo > i64::MAX as u64 {
        return Err(StateError::PriceOverflow);
    }
    Ok(lo as i64)
}

impl ContractSpec {
    /// Price per contract in quote native units, rounded down; must be > 0.
    pub fn price_native(&self, r: &OracleReading) -> Result<i64, StateError> {
        if r.price <= 0 || self.size_mantissa <= 0 {
            return Err(StateError::OracleNonPositive);
        }
        let k = self.exponent(r.expo)?;
        let v = scale_mul_pow10(r.price as u64, self.size_mantissa as u64, k, false)?;
        if v <= 0 {
            return Err(StateError::OracleNonPositive);
        }
        Ok(v)
    }

    /// Confidence per contract in quote native units, rounded up.
    pub fn conf_native(&self, r: &OracleReading) -> Result<i64, StateError> {
        let k = self.exponent(r.expo)?;
        scale_mul_pow10(r.conf, self.size_mantissa.max(0) as u64, k, true)
    }

    fn exponent(&self, expo: i32) -> Result<i32, StateError> {
        let k = (expo as i64) + (self.size_expo as i64) + (self.quote_decimals as i64);
        if !(-60..=38).contains(&k) {
            return Err(StateError::PriceOverflow);
        }
        Ok(k as i32)
    }
}

/// Confidence/price in basis points, rounded up (`u64::MAX` for a non-positive price).
pub fn conf_bps(r: &OracleReading) -> u64 {
    if r.price <= 0 {
        return u64::MAX;
    }
    let (hi, lo) = mul_wide(r.conf, 10_000);
    let d = r.price as u64;
    if hi >= d {
        return u64::MAX;
    }
    let (q, rem) = div_wide(hi, lo, d);
    q.saturating_add((rem != 0) as u64)
}

// ---------------------------------------------------------------------------------------------
// Legacy Pyth push price account (v2).

/// Magic number of legacy Pyth accounts.
pub const LEGACY_MAGIC: u32 = 0xa1b2_c3d4;
/// Legacy layout version.
pub const LEGACY_VERSION: u32 = 2;
/// Legacy account type of a price account.
pub const LEGACY_ATYPE_PRICE: u32 = 3;
/// Legacy aggregate status `Trading` (the only one accepted).
pub const LEGACY_STATUS_TRADING: u32 = 1;
/// Size of a full legacy price account (header + 32 publisher components).
pub const LEGACY_ACCOUNT_SIZE: usize = 3312;

layout! {
    /// The header of a legacy Pyth v2 price account, through the aggregate price
    /// (pyth-sdk-solana `PriceAccount`, `repr(C)`; enums are 32-bit).
    pub struct LegacyPriceHeader [size = 240] {
        /// @0 `LEGACY_MAGIC`.
        pub magic: u32,
        /// @4 `LEGACY_VERSION`.
        pub ver: u32,
        /// @8 `LEGACY_ATYPE_PRICE`.
        pub atype: u32,
        /// @12 Used size of the account.
        pub size: u32,
        /// @16 Price type.
        pub ptype: u32,
        /// @20 Price exponent.
        pub expo: i32,
        /// @24 Number of component prices.
        pub num: u32,
        /// @28 Number of quoters in the aggregate.
        pub num_qt: u32,
        /// @32 Slot of the last valid aggregate.
        pub last_slot: u64,
        /// @40 Valid slot of the aggregate.
        pub valid_slot: u64,
        /// @48 EMA price (value, numerator, denominator).
        pub ema_price: [i64; 3],
        /// @72 EMA confidence.
        pub ema_conf: [i64; 3],
        /// @96 Unix timestamp of the aggregate price.
        pub timestamp: i64,
        /// @104 Minimum publishers.
        pub min_pub: u8,
        /// @105 Reserved by Pyth.
        pub drv2: u8,
        /// @106 Reserved by Pyth.
        pub drv3: u16,
        /// @108 Reserved by Pyth.
        pub drv4: u32,
        /// @112 Product account.
        pub prod: [u8; 32],
        /// @144 Next price account.
        pub next: [u8; 32],
        /// @176 Slot of the previous aggregate.
        pub prev_slot: u64,
        /// @184 Previous aggregate price.
        pub prev_price: i64,
        /// @192 Previous aggregate confidence.
        pub prev_conf: u64,
        /// @200 Previous aggregate timestamp.
        pub prev_timestamp: i64,
        /// @208 Aggregate price.
        pub agg_price: i64,
        /// @216 Aggregate confidence.
        pub agg_conf: u64,
        /// @224 Aggregate status (`LEGACY_STATUS_TRADING`).
        pub agg_status: u32,
        /// @228 Corporate action.
        pub agg_corp_act: u32,
        /// @232 Aggregate publish slot.
        pub agg_pub_slot: u64,
    }
}

/// Reads a legacy Pyth price account's aggregate. Checks magic, version, type and status.
pub fn parse_pyth_legacy(data: &[u8]) -> Result<OracleReading, StateError> {
    use crate::Layout;
    if data.len() < LegacyPriceHeader::SIZE {
        return Err(StateError::OracleLayout);
    }
    let h: LegacyPriceHeader = bytemuck::pod_read_unaligned(&data[..LegacyPriceHeader::SIZE]);
    if h.magic != LEGACY_MAGIC || h.ver != LEGACY_VERSION || h.atype != LEGACY_ATYPE_PRICE {
        return Err(StateError::OracleLayout);
    }
    if h.agg_status != LEGACY_STATUS_TRADING {
        return Err(StateError::OracleNotTrading);
    }
    Ok(OracleReading {
        price: h.agg_price,
        conf: h.agg_conf,
        expo: h.expo,
        publish_time: h.timestamp,
        prev_publish_time: h.prev_timestamp,
    })
}

// ---------------------------------------------------------------------------------------------
// Pyth pull oracle `PriceUpdateV2` (borsh after Anchor's discriminator).

/// Anchor discriminator of `PriceUpdateV2`.
pub const PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

/// How many Wormhole guardian signatures verified an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Partially verified with this many signatures.
    Partial(u8),
    /// Fully verified.
    Full,
}

/// A decoded `PriceUpdateV2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceUpdate {
    /// Who posted it.
    pub write_authority: [u8; 32],
    /// Verification level.
    pub verification: Verification,
    /// The feed id.
    pub feed_id: [u8; 32],
    /// Price, confidence, exponent, publish time.
    pub reading: OracleReading,
    /// EMA price mantissa.
    pub ema_price: i64,
    /// Slot it was posted in.
    pub posted_slot: u64,
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], StateError> {
        if self.0.len() < N {
            return Err(StateError::OracleLayout);
        }
        let (a, b) = self.0.split_at(N);
        self.0 = b;
        let mut out = [0u8; N];
        out.copy_from_slice(a);
        Ok(out)
    }
}

/// Decodes a `PriceUpdateV2` account's data (discriminator checked).
pub fn parse_price_update_v2(data: &[u8]) -> Result<PriceUpdate, StateError> {
    let mut c = Cursor(data);
    if c.take::<8>()? != PRICE_UPDATE_V2_DISCRIMINATOR {
        return Err(StateError::OracleLayout);
    }
    let write_authority = c.take::<32>()?;
    let verification = match c.take::<1>()?[0] {
        0 => Verification::Partial(c.take::<1>()?[0]),
        1 => Verification::Full,
        _ => return Err(StateError::OracleLayout),
    };
    let feed_id = c.take::<32>()?;
    let price = i64::from_le_bytes(c.take::<8>()?);
    let conf = u64::from_le_bytes(c.take::<8>()?);
    let expo = i32::from_le_bytes(c.take::<4>()?);
    let publish_time = i64::from_le_bytes(c.take::<8>()?);
    let prev_publish_time = i64::from_le_bytes(c.take::<8>()?);
    let ema_price = i64::from_le_bytes(c.take::<8>()?);
    let _ema_conf = u64::from_le_bytes(c.take::<8>()?);
    let posted_slot = u64::from_le_bytes(c.take::<8>()?);
    Ok(PriceUpdate {
        write_authority,
        verification,
        feed_id,
        reading: OracleReading {
            price,
            conf,
            expo,
            publish_time,
            prev_publish_time,
        },
        ema_price,
        posted_slot,
    })
}

/// Bytes of a `PriceUpdateV2` after its verification tag (and the partial level's signature
/// count): feed id, price, confidence, exponent, publish times, EMA price and confidence, slot.
const PRICE_UPDATE_V2_TAIL: usize = 32 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 8;

/// The verification level and reading of a `PriceUpdateV2` for the feed `feed_id`: what
/// [`parse_price_update_v2`] decodes, with its errors (`OracleLayout`), then `OracleWrongFeed` if
/// the update is of another feed. The margin checks read a market's oracle through this: from
/// 8-byte-aligned data (an account's, in the VM) the fields are assembled from aligned 64-bit
/// words — the BPF backend reads an unaligned `i64` a byte at a time, ≈ 22 SBF instructions —
/// and the feed id is compared as four words, without decoding the writer or copying the update;
/// any other data takes `parse_price_update_v2`. Same results either way.
pub fn read_price_update_v2(
    data: &[u8],
    feed_id: &[u8; 32],
) -> Result<(Verification, OracleReading), StateError> {
    let whole = data.len() & !7;
    if let Ok(w) = bytemuck::try_cast_slice::<u8, u64>(&data[..whole]) {
        if w.len() >= 16 {
            return read_words(data.len(), w, feed_id);
        }
    }
    let u = parse_price_update_v2(data)?;
    if u.feed_id != *feed_id {
        return Err(StateError::OracleWrongFeed);
    }
    Ok((u.verification, u.reading))
}

/// [`read_price_update_v2`] of `len` bytes whose first 16 or more aligned words are `w`.
#[inline(always)]
fn read_words(
    len: usize,
    w: &[u64],
    feed_id: &[u8; 32],
) -> Result<(Verification, OracleReading), StateError> {
    let word = |k: usize| u64::from_le(w[k]);
    // The 8 bytes at `o`, from the two words they straddle (every field after the tag is
    // unaligned: it starts 1 or 2 bytes past a multiple of 8, or 5 or 6 after the exponent).
    let at = |o: usize| -> u64 {
        let (k, s) = (o / 8, (o % 8) as u32 * 8);
        if s == 0 {
            word(k)
        } else {
            (word(k) >> s) | (word(k + 1) << (64 - s))
        }
    };
    if word(0) != u64::from_le_bytes(PRICE_UPDATE_V2_DISCRIMINATOR) {
        return Err(StateError::OracleLayout);
    }
    // Byte 40 (word 5's first): the tag; a partial level's signature count follows it.
    let (verification, b) = match word(5) & 0xff {
        0 => (Verification::Partial((word(5) >> 8) as u8), 42),
        1 => (Verification::Full, 41),
        _ => return Err(StateError::OracleLayout),
    };
    if len < b + PRICE_UPDATE_V2_TAIL {
        return Err(StateError::OracleLayout);
    }
    let feed = [at(b), at(b + 8), at(b + 16), at(b + 24)];
    let same = match bytemuck::try_cast_ref::<[u8; 32], [u64; 4]>(feed_id) {
        Ok(want) => feed == want.map(u64::from_le),
        Err(_) => {
            let mut bytes = [0u8; 32];
            for (chunk, f) in bytes.chunks_exact_mut(8).zip(feed) {
                chunk.copy_from_slice(&f.to_le_bytes());
            }
            bytes == *feed_id
        }
    };
    if !same {
        return Err(StateError::OracleWrongFeed);
    }
    Ok((
        verification,
        OracleReading {
            price: at(b + 32) as i64,
            conf: at(b + 40),
            expo: at(b + 48) as u32 as i32,
            publish_time: at(b + 52) as i64,
            prev_publish_time: at(b + 60) as i64,
        },
    ))
}

impl Verification {
    /// Whether this level satisfies `required` (full satisfies everything; n signatures satisfy
    /// a requirement of at most n).
    pub fn satisfies(self, required: Verification) -> bool {
        match (self, required) {
            (Verification::Full, _) => true,
            (Verification::Partial(_), Verification::Full) => false,
            (Verification::Partial(n), Verification::Partial(m)) => n >= m,
        }
    }
}

/// Reads the account `key` (owned by `owner`, holding `data`) as the oracle configured by
/// `cfg`: checks the owner, the pinned address, the layout, and for the pull oracle the feed id
/// and verification level. Does not judge age or confidence (`Market::check_reading` does).
/// The program, the keeper and the CLI all call this, so they accept exactly the same oracles.
pub fn read_identity(
    cfg: &crate::OracleConfig,
    key: &[u8; 32],
    owner: &[u8; 32],
    data: &[u8],
) -> Result<OracleReading, StateError> {
    use crate::market::{ORACLE_PYTH_LEGACY, ORACLE_PYTH_PULL};
    // Keys compared as 64-bit words where aligned (`same_key`; an account's key and owner and
    // the market's fields are).
    if !crate::same_key(owner, &cfg.program) {
        return Err(StateError::OracleWrongOwner);
    }
    let pinned = !crate::is_zero_key(&cfg.account);
    if pinned && !crate::same_key(key, &cfg.account) {
        return Err(StateError::OracleWrongAccount);
    }
    match cfg.kind {
        ORACLE_PYTH_PULL => {
            let (verification, reading) = read_price_update_v2(data, &cfg.feed_id)?;
            let required = match cfg.min_signatures {
                0 => Verification::Full,
                n => Verification::Partial(n),
            };
            if !verification.satisfies(required) {
                return Err(StateError::OracleUnverified);
            }
            Ok(reading)
        }
        // A legacy market always pins its price account (checked at creation).
        ORACLE_PYTH_LEGACY if pinned => parse_pyth_legacy(data),
        ORACLE_PYTH_LEGACY => Err(StateError::OracleWrongAccount),
        _ => Err(StateError::OracleKindInvalid),
    }
}

#[cfg(test)]
mod tests;
