//! Fuzzes AVSL liquidation sizing with arbitrary account figures, vols, elapsed times, markets
//! (margin and realised vol: the realised-vol stress) and in-bounds parameters: no panic, and
//! every plan is within its documented ranges.
#![no_main]

use arbitrary::Arbitrary;
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::liquidation::{
    bonus, is_liquidatable, plan, realised_stress, slice, stressed_margins, trigger_level,
    withdrawable,
};
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
    /// (margin vol, realised vol) bits of up to 4 markets.
    markets: Vec<(i64, i64)>,
    equity_im: i64,
    collateral: i64,
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
    let mut b = MarginBreakdown { equity_mm: input.equity, equity_im: input.equity_im, collateral: input.collateral, mm: input.mm, im: input.im, ..MarginBreakdown::default() };
    for (m, &(s, r)) in b.markets.iter_mut().zip(input.markets.iter().take(4)) {
        (m.sigma, m.realised_sigma) = (Fx::from_bits(s), Fx::from_bits(r));
        b.n_markets += 1;
    }
    // The stress: k in [1, max(cap, 1)], 1 with the cap at or below 1; MM and IM read ×k,
    // never below the real ones; what may be withdrawn never exceeds the unstressed figure.
    let k = realised_stress(&b, &p);
    assert!(k >= Fx::ONE && k <= p.realised_stress_cap.max(Fx::ONE));
    let (mm_s, im_s) = stressed_margins(&b, &p);
    let (mm, im) = (b.mm.max(0), b.im.max(b.mm).max(0));
    assert!(mm_s >= mm && im_s >= im && im_s >= mm_s);
    if k == Fx::ONE {
        assert_eq!((mm_s, im_s), (mm, im));
    }
    if let Ok(w) = withdrawable(&b, &p) {
        assert!(w >= 0 && w <= b.withdrawable().max(0));
    }
    let sigma = Fx::from_bits(input.sigma);
    let Ok(pl) = plan(&b, sigma, input.elapsed, &p) else { return };
    // Below the trigger level: the (stressed) MM, or the vol-raised level, which never exceeds
    // the (stressed) IM.
    assert!(is_liquidatable(&b, sigma, &p).unwrap());
    let level = trigger_level(&b, sigma, &p).unwrap();
    assert!(level >= mm_s && level <= im_s);
    assert!(pl.fraction >= Fx::ZERO && pl.fraction <= Fx::ONE);
    assert!(pl.fraction <= pl.fraction_cap || b.mm <= 0);
    // At or below the danger level the whole account goes.
    if b.mm > 0 && (b.equity_mm as i128) * (1i128 << 32) <= (b.mm as i128) * (p.danger_mm_fraction.to_bits() as i128) {
        assert_eq!(pl.fraction, Fx::ONE);
    }
    // The bonus rate never exceeds the account's E/MM, except for the bonus_min floor.
    if b.mm > 0 && b.equity_mm > 0 {
        let d = b.equity_mm as f64 / b.mm as f64;
        assert!(pl.bonus_rate.to_num::<f64>() <= d.max(p.bonus_min.to_num::<f64>()) + 1e-9);
    }
    assert!(pl.bonus_rate >= Fx::ZERO && pl.bonus_rate <= p.bonus_cap.max(p.bonus_min));
    assert!(pl.shortfall >= 0);
    if let Ok((bn, fee)) = bonus(pl.bonus_rate, pl.fraction, b.mm, &p) {
        assert!(bn >= 0 && fee >= 0 && fee <= bn);
    }
    let s = slice(input.qty, pl.fraction).unwrap();
    assert!(s.unsigned_abs() <= input.qty.unsigned_abs());
    assert!(s == 0 || (s < 0) == (input.qty < 0));
});
