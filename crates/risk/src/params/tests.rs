use super::*;

#[test]
fn defaults_are_inside_their_bounds() {
    assert_eq!(RiskParams::DEFAULT.violation(), None);
    assert_eq!(LiquidationParams::DEFAULT.violation(), None);
}

#[test]
fn every_fx_field_is_bounded_by_name() {
    for i in 0..RiskParams::FX_BOUNDS.len() {
        let (name, lo, hi) = RiskParams::FX_BOUNDS[i];
        for bad in [lo - Fx::DELTA, hi + Fx::DELTA] {
            let mut p = RiskParams::DEFAULT;
            *p.fx_fields_mut()[i] = bad;
            assert_eq!(p.violation(), Some(name), "{name} = {bad}");
            assert_eq!(p.validate(), Err(RiskError::ParamOutOfBounds));
        }
    }
    for i in 0..LiquidationParams::FX_BOUNDS.len() {
        let (name, lo, hi) = LiquidationParams::FX_BOUNDS[i];
        for bad in [lo - Fx::DELTA, hi + Fx::DELTA] {
            let mut p = LiquidationParams::DEFAULT;
            *p.fx_fields_mut()[i] = bad;
            assert_eq!(p.violation(), Some(name), "{name} = {bad}");
        }
    }
}

#[test]
fn integer_fields_and_relations() {
    let mut p = RiskParams::DEFAULT;
    p.mm_steps = 7;
    assert_eq!(p.violation(), Some("mm_steps"));
    let mut p = RiskParams::DEFAULT;
    p.im_horizon_secs = 10;
    assert_eq!(p.violation(), Some("im_horizon_secs"));
    let mut p = RiskParams::DEFAULT;
    p.short_min_mm = p.short_min_im + Fx::DELTA;
    assert_eq!(p.violation(), Some("short_min_mm <= short_min_im"));
    let mut p = RiskParams::DEFAULT;
    p.garch_alpha = Fx::lit("0.2");
    p.garch_beta = Fx::lit("0.8");
    assert_eq!(p.violation(), Some("garch_alpha + garch_beta < 1"));
    let mut p = RiskParams::DEFAULT;
    p.reserved[3] = 1;
    assert_eq!(p.violation(), Some("reserved bytes are zero"));
    let mut p = RiskParams::DEFAULT;
    p.realised_tau_secs = HOUR - 1;
    assert_eq!(p.violation(), Some("realised_tau_secs"));
    p.realised_tau_secs = 0;
    assert_eq!(p.violation(), None);
    p.realised_tau_secs = 30 * DAY + 1;
    assert_eq!(p.violation(), Some("realised_tau_secs"));
    let mut l = LiquidationParams::DEFAULT;
    l.bonus_min = Fx::lit("0.3");
    assert_eq!(l.violation(), Some("bonus_min <= bonus_max"));
}

#[test]
fn layout_is_stable() {
    // The account ABI: changing these sizes is a migration.
    assert_eq!(core::mem::size_of::<RiskParams>(), 496);
    assert_eq!(core::mem::size_of::<LiquidationParams>(), 160);
}
