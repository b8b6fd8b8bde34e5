//! Socialised losses: the part of a bankrupt account's shortfall the insurance fund could not
//! cover, spread over every account with positive collateral in proportion to it, and charged
//! lazily (docs/liquidation.md, "Bankruptcy").
//!
//! A bankruptcy adds ⌈loss·2⁶⁰ / positive collateral⌉ to the exchange's cumulative index
//! (`Exchange::social_loss_index_q60`, Q4.60) and records the loss as pending. Each account
//! remembers the index at which it was last charged; the next instruction that touches it
//! charges ⌈collateral × Δindex / 2⁶⁰⌉ (capped at its collateral) and moves it from pending.
//! An account's collateral does not change between two touches, so this charges every account
//! exactly its share of every loss in between, rounded up (in the exchange's favour); what the
//! rounding over-collects, beyond what is pending, goes to the insurance fund.
//!
//! The program, the keeper and the CLI all call [`charge`], so an off-chain margin figure
//! includes the same pending charge as the program's.

use crate::{Exchange, MarginAccount};
use keel_risk::fx::{div_wide, mul_wide};

/// Fractional bits of the social-loss index: 1.0 (a loss equal to all positive collateral) is 2⁶⁰.
pub const INDEX_BITS: u32 = 60;
/// 1.0 in the index's Q4.60.
pub const INDEX_ONE: u64 = 1 << INDEX_BITS;

/// Index increase that spreads `loss` over `base` units of positive collateral:
/// ⌈loss·2⁶⁰/base⌉, at most 2⁶⁰ (a loss beyond the base charges everyone everything).
/// Zero when there is nothing to spread or nobody to spread it over.
pub fn index_increase(loss: i64, base: i64) -> u64 {
    if loss <= 0 || base <= 0 {
        return 0;
    }
    let (loss, base) = (loss as u64, base as u64);
    if loss >= base {
        return INDEX_ONE;
    }
    // loss·2^60 as (hi, lo); hi = loss >> 4 < base, so the quotient fits.
    let (hi, lo) = (loss >> (64 - INDEX_BITS), loss << INDEX_BITS);
    let (q, r) = div_wide(hi, lo, base);
    (q + (r != 0) as u64).min(INDEX_ONE)
}

/// What an account with `collateral`, last charged at index `since`, owes at index `now`:
/// ⌈max(collateral, 0)·(now − since)/2⁶⁰⌉, never more than its collateral.
pub fn charge(collateral: i64, since: u64, now: u64) -> i64 {
    if collateral <= 0 || now <= since {
        return 0;
    }
    let c = collateral as u64;
    let delta = now - since;
    if delta >= INDEX_ONE {
        return collateral;
    }
    let (hi, lo) = mul_wide(c, delta);
    // ⌈(hi:lo) / 2^60⌉: shift the 128-bit product right by 60, rounding up.
    let q = (hi << (64 - INDEX_BITS)) | (lo >> INDEX_BITS);
    let rem = lo & (INDEX_ONE - 1);
    let q = q.saturating_add((rem != 0) as u64);
    q.min(c) as i64
}

/// The account's charge at the exchange's current index.
pub fn pending_charge(acc: &MarginAccount, ex: &Exchange) -> i64 {
    charge(
        acc.collateral_native,
        acc.social_loss_index_q60,
        ex.social_loss_index_q60,
    )
}

/// Applies the pending charge to `acc` in place, as the program does when it next touches the
/// account (what off-chain margin computations of a copy must start from); returns it. The
/// exchange's aggregates are not touched.
pub fn apply(acc: &mut MarginAccount, ex: &Exchange) -> i64 {
    let c = pending_charge(acc, ex);
    acc.collateral_native -= c;
    acc.socialised_loss_native = acc.socialised_loss_native.saturating_add(c);
    acc.social_loss_index_q60 = ex.social_loss_index_q60;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact reference in 128-bit arithmetic.
    fn charge_ref(c: i64, since: u64, now: u64) -> i64 {
        if c <= 0 || now <= since {
            return 0;
        }
        let d = (now - since) as u128;
        let v = (c as u128 * d).div_ceil(1u128 << 60);
        v.min(c as u128) as i64
    }

    fn increase_ref(loss: i64, base: i64) -> u64 {
        if loss <= 0 || base <= 0 {
            return 0;
        }
        (((loss as u128) << 60).div_ceil(base as u128)).min(1u128 << 60) as u64
    }

    #[test]
    fn matches_128_bit_reference() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let c = (next() >> (next() % 63)) as i64;
            let since = next() >> (next() % 64);
            let now = since.saturating_add(next() >> (4 + next() % 60));
            assert_eq!(
                charge(c, since, now),
                charge_ref(c, since, now),
                "{c} {since} {now}"
            );
            let loss = (next() >> (1 + next() % 63)) as i64;
            let base = (next() >> (1 + next() % 63)) as i64;
            assert_eq!(
                index_increase(loss, base),
                increase_ref(loss, base),
                "{loss} {base}"
            );
        }
    }

    #[test]
    fn spreading_a_loss_charges_at_least_the_loss_and_at_most_one_unit_more_per_account() {
        // Three accounts share a loss of 1 000 001 in proportion to 1:2:7 million.
        let cs = [1_000_000i64, 2_000_000, 7_000_000];
        let base: i64 = cs.iter().sum();
        let loss = 1_000_001;
        let idx = index_increase(loss, base);
        let charged = cs.map(|c| charge(c, 0, idx));
        let total: i64 = charged.iter().sum();
        assert!(
            total >= loss && total <= loss + cs.len() as i64,
            "{charged:?}"
        );
        assert_eq!(charged, [100_001, 200_001, 700_001]);
    }

    #[test]
    fn limits() {
        assert_eq!(index_increase(0, 10), 0);
        assert_eq!(index_increase(5, 0), 0);
        assert_eq!(index_increase(10, 10), INDEX_ONE);
        assert_eq!(index_increase(11, 10), INDEX_ONE);
        assert_eq!(charge(-5, 0, INDEX_ONE), 0);
        assert_eq!(charge(5, 7, 7), 0);
        assert_eq!(charge(5, 0, 3 * INDEX_ONE), 5);
        assert_eq!(charge(i64::MAX, 0, INDEX_ONE - 1), i64::MAX - 7);
    }
}
