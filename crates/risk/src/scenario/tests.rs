use super::*;

#[test]
fn layout() {
    assert_eq!(SCENARIOS, 30);
    assert_eq!(ladder_step(0), Some(-6));
    assert_eq!(ladder_step(6), Some(0));
    assert_eq!(ladder_step(LADDER + 12), Some(6));
    assert_eq!(ladder_step(EXTREME), None);
    assert_eq!(vol_level(3), VolLevel::Up);
    assert_eq!(vol_level(LADDER), VolLevel::Down);
    assert_eq!(vol_level(EXTREME + 1), VolLevel::Up);
    assert_eq!(vol_level(NAMED + 1), VolLevel::Named1);
    let mm: usize = (0..SCENARIOS).filter(|&s| in_mm(s, 4)).count();
    assert_eq!(mm, 18); // 9 ladder points × 2 vol levels
}

#[test]
fn vol_runs_match_vol_level() {
    let mut s = 0;
    for (level, end) in VOL_RUNS {
        assert!(end > s, "empty or backward run ending at {end}");
        while s < end {
            assert_eq!(vol_level(s), level, "scenario {s}");
            s += 1;
        }
    }
    assert_eq!(s, SCENARIOS);
}

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
fn ladder_is_symmetric_and_nested() {
    let p = RiskParams::DEFAULT;
    let r = im_range(Fx::lit("0.8"), &p).unwrap();
    let x = ln_moves(r, &p).unwrap();
    for s in 0..LADDER {
        assert_eq!(x[s], -x[LADDER - 1 - s]);
        assert_eq!(x[s], x[s + LADDER]);
    }
    assert_eq!(x[PRICE_STEPS], 0);
    assert_eq!(x[LADDER - 1], r);
    assert!(x[EXTREME] < -r && x[EXTREME + 1] > r);
    let f = forwards(1_000_000_000, &x).unwrap();
    assert_eq!(f[PRICE_STEPS], 1_000_000_000);
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

#[test]
fn strike_points_follow_the_fixed_grid() {
    assert_eq!(STRIKE, SCENARIOS);
    assert_eq!(vol_level(STRIKE), VolLevel::Up);
    assert_eq!(vol_level(STRIKE + STRIKE_POINTS - 1), VolLevel::Up);
    assert_eq!(vol_level(STRIKE + STRIKE_POINTS), VolLevel::Down);
    assert_eq!(ladder_step(STRIKE), None);
    assert_eq!(strike_slot(STRIKE - 1), None);
    assert_eq!(strike_slot(STRIKE + STRIKE_POINTS + 1), Some(1));
    assert_eq!(strike_slot(STRIKE + 2 * STRIKE_POINTS), None);
    assert!(!in_mm(STRIKE, 6));
    // The numbering docs/risk-model.md §4.1 states: 2 strike points, 30 + j at vol up and 32 + j
    // at vol down; with the 13 ladder points, 15 price points (14 intervals) per vol level.
    assert_eq!((STRIKE_POINTS, LADDER, STRIKE), (2, 13, 30));
    assert_eq!(
        (vol_level(31), vol_level(32), strike_slot(33)),
        (VolLevel::Up, VolLevel::Down, Some(1))
    );
    for s in STRIKE..STRIKE + 2 * STRIKE_POINTS {
        assert_eq!(weight(s, &RiskParams::DEFAULT), ONE);
    }
}

/// The sharpest kinks (least time left at the end of the horizon) first, then nearest to spot;
/// one point per strike (with its sharpest series); nothing at or beyond the range.
#[test]
fn strike_points_take_the_sharpest_distinct_strikes_in_range() {
    let r = ONE / 4;
    let c = |w_end: i64, x: i64, strike: i64| StrikeCandidate { w_end, x, strike };
    let mut sel = StrikeSelector::new(r);
    for cand in [
        c(ONE / 10, ONE / 20, 105), // smooth
        c(0, -ONE / 10, 90),        // expires inside the horizon
        c(0, ONE / 100, 101),       // expires inside, nearest to spot
        c(0, r, 128),               // at the range edge: not a point
        c(ONE / 50, ONE / 10, 110), // sharpish
        c(ONE / 10, -ONE / 20, 95), // smooth, as near as 105
        c(0, ONE / 20, 105),        // 105 again, now expiring inside: takes its sharpest
        c(ONE / 5, -ONE / 5, 80),   // the smoothest: dropped (five qualify)
    ] {
        sel.offer(cand);
    }
    let mut x = [Fx::ZERO; STRIKE_POINTS];
    let mut f = [0; STRIKE_POINTS];
    // STRIKE_POINTS = 2: the two sharpest, nearest first (90 and 110 come next).
    assert_eq!(sel.write(1_000, &mut x, &mut f), 2);
    assert_eq!(f, [101, 105]);
    assert_eq!(x[0], Fx::from_bits(ONE / 100));
    let mut few = StrikeSelector::new(r);
    few.offer(c(0, 0, 100));
    assert_eq!(few.write(1_000, &mut x, &mut f), 1);
    assert_eq!(f, [100, 1_000]);
    assert_eq!(x, [Fx::ZERO; STRIKE_POINTS]);
}
