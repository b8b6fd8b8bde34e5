//! Fuzzes AVSL liquidation sizing with arbitrary account figures, vols, elapsed times and
//! in-bounds parameters: no panic, and every plan is within its documented ranges.
#![no_main]

use arbitrary::Arbitrary;
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::liquidation::{bonus, plan, slice};
use keel_risk::{Fx, LiquidationParams};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    equity: i64,
    mm: i64,
    im: i64,
    sigma: i64,
    elapsed: i64,
    knobs: Vec<(u8, u32)>,
    qty: i64,
}

fuzz_target!(|input: Input| {
    let mut p = LiquidationParams::DEFAULT;
    for &(i, v) in input.knobs.iter().take(6) {
        let i = i as usize % LiquidationParams::FX_BOUNDS.len();
        let (_, lo, hi) = LiquidationParams::FX_BOUNDS[i];
        *p.fx_fields_mut()[i] = lo + Fx::from_bits(((v as u128 * (hi - lo).to_bits() as u128) >> 32) as i64);
    }
    if p.violation().is_some() {
        return;
    }
    let b = MarginBreakdown { equity_mm: input.equity, mm: input.mm, im: input.im, ..MarginBreakdown::default() };
    let Ok(pl) = plan(&b, Fx::from_bits(input.sigma), input.elapsed, &p) else { return };
    assert!(b.is_liquidatable());
    assert!(pl.fraction >= Fx::ZERO && pl.fraction <= Fx::ONE);
    assert!(pl.fraction <= pl.fraction_cap || b.mm <= 0);
    assert!(pl.bonus_rate >= Fx::ZERO && pl.bonus_rate <= p.bonus_cap.max(p.bonus_min));
    assert!(pl.shortfall >= 0);
    if let Ok((bn, fee)) = bonus(pl.bonus_rate, pl.fraction, b.mm, &p) {
        assert!(bn >= 0 && fee >= 0 && fee <= bn);
    }
    let s = slice(input.qty, pl.fraction).unwrap();
    assert!(s.unsigned_abs() <= input.qty.unsigned_abs());
    assert!(s == 0 || (s < 0) == (input.qty < 0));
});
