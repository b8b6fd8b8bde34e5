//! Piecewise polynomials in fixed point: the one evaluation scheme behind `exp2`, `ln`, `sqrt` and
//! the normal tail. A function is split into equal segments; on each, a polynomial in the local
//! coordinate `t ∈ [0, 1)` (held in Q`T`) with Q32 coefficients is evaluated by Horner's rule.
//!
//! Each Horner step is one native 64-bit multiply, an arithmetic shift and an add: the tables
//! are generated (`cargo run -p keel-risk --example gen_tables`) so that `|acc| < 2^(63-T)`
//! at every step, which makes the product exact and the evaluation panic-free. The loop count is
//! the polynomial degree, a constant: no data-dependent iteration.

/// `Σ c[j]·t^(D-1-j)` (highest degree first), `t` in Q`T` on `[0, 1)`, coefficients and result Q32.
#[inline(always)]
pub const fn horner<const D: usize, const T: u32>(c: &[i64; D], t: i64) -> i64 {
    let mut acc = c[0];
    let mut j = 1;
    while j < D {
        // Exact by the table bound (tested in math::tests::tables_respect_the_horner_bound).
        acc = (acc.wrapping_mul(t) >> T).wrapping_add(c[j]);
        j += 1;
    }
    acc
}
