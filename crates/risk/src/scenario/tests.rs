use super::*;

#[test]
fn range_scales_with_vol_within_floor_and_cap() {
    // k = 4 and a 3% floor, explicitly (the calibrated defaults are in docs/validation.md).
    let p = RiskParams {
        im_range_sigmas: Fx::lit("4"),
        range_floor: Fx::lit("0.03"),
        ..RiskParams::DEFAULT
    };
    // 80% vol, 1 day, k = 4: 4·0.8/√365 = 0.1675
    let r = im_range(Fx::lit("0.8"), &p).unwrap() as f64 / 4294967296.0;
    assert!((r - 4.0 * 0.8 / 365f64.sqrt()).abs() < 1e-8, "{r}");
    assert_eq!(
        im_range(Fx::lit("0.01"), &p).unwrap(),
        p.range_floor.to_bits()
    );
    assert_eq!(im_range(Fx::lit("40"), &p).unwrap(), p.range_cap.to_bits());
}

#[test]
fn short_dated_options_get_larger_vol_shocks() {
    // u = 0.5 and d = 0.25, explicitly (the calibrated defaults are in docs/validation.md).
    let p = RiskParams {
        vol_up: Fx::lit("0.5"),
        vol_down: Fx::lit("0.25"),
        ..RiskParams::DEFAULT
    };
    let (u7, d7) = vol_multipliers(7 * 86_400, &p).unwrap();
    let (u30, d30) = vol_multipliers(30 * 86_400, &p).unwrap();
    let (u180, _) = vol_multipliers(180 * 86_400, &p).unwrap();
    assert!(u7 > u30 && u30 > u180);
    assert!(d7 < d30);
    // At T_ref the factor is 1: up = 1.5, down = 0.75.
    assert!((u30 - (ONE + ONE / 2)).abs() < 16);
    assert!((d30 - 3 * ONE / 4).abs() < 16);
    // Below the minimum the factor stops growing, and down never goes below its floor.
    assert_eq!(
        vol_multipliers(60, &p).unwrap(),
        vol_multipliers(86_400, &p).unwrap()
    );
    assert!(vol_multipliers(60, &p).unwrap().1 >= p.vol_down_floor.to_bits());
}
