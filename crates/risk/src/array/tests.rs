use super::*;

const NOW: i64 = 1_700_000_000;
const SPOT: i64 = 100_000_000_000;

fn anchor(sigma: &str) -> Anchor {
    let p = RiskParams::DEFAULT;
    Anchor::new(NOW, SPOT, SPOT, Fx::lit(sigma), Fx::lit(sigma), &p, []).unwrap()
}

fn span(first: u8, end: u8, start: i64, stop: i64) -> Span {
    Span {
        first,
        end,
        start,
        stop,
    }
}

#[test]
fn ladders_tile_the_points() {
    let mut next = 0;
    for l in LADDERS {
        assert_eq!(l.start(), next, "{l:?}");
        next += l.len();
    }
    assert_eq!(next, POINTS);
    assert_eq!((STEPS, MAIN, MINI, MARK, POINTS), (17, 25, 5, 9, 70));
    assert_eq!(Ladder::of_point(0), Some((Ladder::Up, 0)));
    assert_eq!(Ladder::of_point(MAIN), Some((Ladder::Down, 0)));
    assert_eq!(
        Ladder::of_point(2 * MAIN + 2),
        Some((Ladder::ExtremeDown, 2))
    );
    assert_eq!(Ladder::of_point(POINTS - 1), Some((Ladder::Named1, 4)));
    assert_eq!(Ladder::of_point(POINTS), None);
}

#[test]
fn anchor_points_are_moves_of_the_anchor_price() {
    let p = RiskParams::DEFAULT;
    let a = anchor("0.8");
    let r = scenario::im_range(Fx::lit("0.8"), &p).unwrap();
    let h = a.step.to_bits();
    // The range is whole steps, at most R and within RANGE_STEPS ulps of it.
    assert_eq!(a.range.to_bits(), h * RANGE_STEPS as i64);
    assert!(r - a.range.to_bits() < RANGE_STEPS as i64 && a.range.to_bits() <= r);
    // Without listed strikes the strike slots repeat the top point.
    for l in [Ladder::Up, Ladder::Down] {
        for i in 0..MAIN {
            let x = a.ln_move[l.start() + i];
            assert_eq!(x, h * (i.min(STEPS - 1) as i64 - HALF_WIDTH as i64));
        }
        assert_eq!(a.fwd[l.start() + HALF_WIDTH], SPOT);
    }
    assert_eq!(a.strikes, [0; STRIKE_POINTS]);
    let e = mul(a.range.to_bits(), p.extreme_multiple.to_bits()).unwrap();
    assert_eq!(a.ln_move[Ladder::ExtremeDown.start() + MOVE_STEPS], -e);
    assert_eq!(a.ln_move[Ladder::ExtremeUp.start() + MOVE_STEPS], e);
    for (k, l) in [(0, Ladder::Named0), (1, Ladder::Named1)] {
        let x = p.named_shocks[k].ln_move.to_bits();
        assert_eq!(a.ln_move[l.start() + MOVE_STEPS], x);
        assert_eq!(a.ln_move[l.start()], x - 2 * h);
    }
    // Forwards never fall along a ladder; the mark ladder spans ±δ around the price.
    for l in LADDERS {
        for p in l.start()..l.start() + l.len() - 1 {
            assert!(a.fwd[p] <= a.fwd[p + 1]);
        }
    }
    assert_eq!(a.mark_fwd[MARK_STEPS], SPOT);
    assert!(a.max_move() <= MOVE_STEPS as i64 * h);
    let top = a.max_move() as f64 / ONE as f64;
    let got = a.mark_fwd[MARK - 1] as f64 / SPOT as f64;
    assert!((got - top.exp()).abs() < 1e-8, "{got} vs {}", top.exp());
    assert!(a.fwd.iter().all(|&f| f <= a.max_fwd));
}

#[test]
fn listed_strikes_inside_the_ladder_become_points_sharpest_first() {
    let p = RiskParams::DEFAULT;
    let k = |f: f64| (SPOT as f64 * f) as i64;
    let day = 86_400;
    // Eleven strikes inside (one beyond the ladder): the eight kept are the two that expire
    // within the horizon, then the nearest to the price; a strike listed twice counts once.
    let mut listed = [StrikeCandidate::default(); 12];
    for (c, &(f, d)) in listed.iter_mut().zip(&[
        (1.00, 30),
        (1.00, 60),
        (1.01, 30),
        (0.99, 30),
        (1.02, 30),
        (0.98, 30),
        (1.03, 30),
        (0.97, 30),
        (1.04, 30),
        (1.06, 0),
        (0.94, 0),
        (1.50, 0),
    ]) {
        *c = StrikeCandidate {
            strike: k(f),
            expiry: NOW + d * day,
        };
    }
    let a = Anchor::new(NOW, SPOT, SPOT, Fx::lit("0.6"), Fx::lit("0.6"), &p, listed).unwrap();
    // (1.03 is nearer than 0.97 in log terms: ln 1.03 = 0.0296 < −ln 0.97 = 0.0305.)
    let want = [0.94, 0.98, 0.99, 1.00, 1.01, 1.02, 1.03, 1.06].map(k);
    assert_eq!(a.strikes, want);
    // Each strike is a point of both main ladders, with its forward exactly K, in order.
    for l in [Ladder::Up, Ladder::Down] {
        let f = &a.fwd[l.start()..l.start() + MAIN];
        for &strike in &want {
            assert!(f.contains(&strike), "{strike}");
        }
        assert!(f.windows(2).all(|w| w[0] <= w[1]));
    }
}

#[test]
fn at_the_anchor_the_ranges_are_exactly_r_and_the_mm_share() {
    let p = RiskParams::DEFAULT;
    let a = anchor("0.6");
    let w = a
        .window(NOW, SPOT, SPOT, a.sigma, a.mark_sigma, &p)
        .unwrap();
    // Intervals from −R to +R (steps −6…+6) and −5…+5 for MM (mm_steps = 5), whole.
    assert_eq!(w.im, span(2, 14, 0, ONE));
    assert_eq!(w.mm, span(3, 13, 0, ONE));
    assert_eq!(w.mini, [(MOVE_STEPS as u8, 0); 4]);
    assert_eq!(w.mark, (MARK_STEPS as u8, 0));
}

#[test]
fn a_moved_price_shifts_the_ranges_and_stays_inside_the_ladders() {
    let p = RiskParams::DEFAULT;
    let a = anchor("0.6");
    let d = a.max_move() as f64 / ONE as f64;
    for (frac, first, end) in [(0.999, 3, 16), (-0.999, 0, 13), (0.25, 2, 15)] {
        let spot = (SPOT as f64 * (d * frac).exp()) as i64;
        let w = a
            .window(NOW + 1, spot, SPOT, a.sigma, a.mark_sigma, &p)
            .unwrap();
        assert_eq!((w.im.first, w.im.end), (first, end), "move {frac}·δ");
        assert!(w.im.first <= w.mm.first && w.mm.end <= w.im.end);
        assert!((w.im.end as usize) < STEPS);
        // The range's ends fall inside their intervals.
        assert!(w.im.start >= 0 && w.im.stop <= ONE);
    }
}

#[test]
fn the_window_refuses_what_the_arrays_do_not_cover_at_its_bounds() {
    let p = RiskParams::DEFAULT;
    let a = anchor("0.6");
    let ok = |now, spot, stable, s: Fx, m: Fx| a.window(now, spot, stable, s, m, &p);
    let (s, m) = (a.sigma, a.mark_sigma);
    assert!(ok(NOW + p.array_max_age_secs, SPOT, SPOT, s, m).is_ok());
    assert_eq!(
        ok(NOW + p.array_max_age_secs + 1, SPOT, SPOT, s, m),
        Err(RiskError::ArraysExpired)
    );
    assert_eq!(ok(NOW - 1, SPOT, SPOT, s, m), Err(RiskError::ArraysExpired));
    // Vols: exactly the tolerance is fine, one ulp more is not.
    let tol = mul_ceil(s.to_bits(), p.array_vol_tol.to_bits()).unwrap();
    let up = Fx::from_bits(s.to_bits() + tol);
    assert!(ok(NOW, SPOT, SPOT, up, m).is_ok());
    let over = Fx::from_bits(s.to_bits() + tol + 1);
    assert_eq!(
        ok(NOW, SPOT, SPOT, over, m),
        Err(RiskError::ArraysVolChanged)
    );
    assert_eq!(
        ok(NOW, SPOT, SPOT, s, over),
        Err(RiskError::ArraysVolChanged)
    );
    // Prices: the mark ladder's ends are covered, one unit beyond is not (stable too).
    let (lo, hi) = (a.mark_fwd[0], a.mark_fwd[MARK - 1]);
    assert!(ok(NOW, lo, hi, s, m).is_ok());
    assert!(ok(NOW, hi, lo, s, m).is_ok());
    assert_eq!(ok(NOW, hi + 1, SPOT, s, m), Err(RiskError::ArraysMoved));
    assert_eq!(ok(NOW, lo - 1, SPOT, s, m), Err(RiskError::ArraysMoved));
    assert_eq!(ok(NOW, SPOT, hi + 1, s, m), Err(RiskError::ArraysMoved));
}

#[test]
fn locate_finds_the_interval_and_the_position_in_it() {
    let f = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    assert_eq!(locate(&f, 10).unwrap(), (0, 0));
    assert_eq!(locate(&f, 15).unwrap(), (0, ONE / 2));
    assert_eq!(locate(&f, 50).unwrap(), (4, 0));
    assert_eq!(locate(&f, 90).unwrap(), (7, ONE));
    // Outside (rounding at the window's edge): clamped to the end.
    assert_eq!(locate(&f, 5).unwrap(), (0, 0));
    assert_eq!(locate(&f, 95).unwrap(), (7, ONE));
    // A zero-width interval (repeated top point) is position 0.
    assert_eq!(position(&[10, 20, 20], 1, 20).unwrap(), 0);
}

#[test]
fn gap_is_a_quarter_of_width_times_delta_change_rounded_up() {
    // A payoff kink (delta 0 → 1) over a width of 1,000: 250.
    assert_eq!(gap(1_000, 2_000, 0, ONE).unwrap(), 250);
    assert_eq!(gap(1_000, 2_001, 0, ONE).unwrap(), 251);
    // Computed deltas that decrease (rounding) give no gap, never a negative one.
    assert_eq!(gap(1_000, 2_000, ONE, ONE - 1).unwrap(), 0);
}

#[test]
fn lo_is_below_hi_and_futures_are_their_forwards() {
    let p = RiskParams::DEFAULT;
    let a = anchor("0.6");
    let mut arr = SeriesArray::zeroed();
    for (kind, k, days) in [
        (SeriesKind::Call, 1.0, 30),
        (SeriesKind::Put, 0.9, 1),
        (SeriesKind::Call, 1.05, 0),
    ] {
        let strike = (SPOT as f64 * k) as i64;
        let expiry = NOW + days * 86_400 + 300;
        price_series(&a, &p, kind, strike, expiry, &mut arr).unwrap();
        for pt in 0..POINTS {
            assert!(arr.lo.value[pt] <= arr.hi.value[pt], "{kind:?} point {pt}");
            assert!(arr.gap[pt] >= 0);
        }
        for k in 0..MARK {
            assert!(arr.lo.mark[k] <= arr.hi.mark[k]);
            assert!(arr.lo.stable[k] <= arr.hi.stable[k]);
        }
        // The last point of every ladder starts no interval.
        for l in LADDERS {
            assert_eq!(arr.gap[l.start() + l.len() - 1], 0);
        }
    }
    price_series(&a, &p, SeriesKind::Future, 0, NOW + 86_400, &mut arr).unwrap();
    assert_eq!(arr.lo.value, a.fwd);
    assert_eq!(arr.hi.value, a.fwd);
    assert_eq!(arr.gap, [0; POINTS]);
    assert_eq!(arr.lo.mark, a.mark_fwd);
}

#[test]
fn fraction_matches_div_shift_at_its_bound() {
    // The native division serves widths below 2^32; at and above it the long division does.
    for width in [1i64, 3, 7, (1 << 32) - 1, 1 << 32, (1 << 32) + 1, i64::MAX] {
        for into in [0, 1, width / 3, width / 2, width - 1, width] {
            let into = into.max(0);
            assert_eq!(
                fraction(into, width).ok(),
                div_shift(into, width, 32, Round::Floor),
                "{into}/{width}"
            );
        }
    }
}

proptest::proptest! {
    #[test]
    fn fraction_matches_div_shift(width in 1i64..(1 << 34), share in 0u64..=1 << 20) {
        let into = ((width as u128 * share as u128) >> 20) as i64;
        proptest::prop_assert_eq!(
            fraction(into, width).ok(),
            div_shift(into, width, 32, Round::Floor)
        );
    }
}

proptest::proptest! {
    /// `span_end` counts as the index loop it replaced did, on any ladder (ascending or not,
    /// ties included) from any first interval the range can start in, for any `hi`.
    #[test]
    fn span_end_matches_the_index_loop(
        fwd in proptest::collection::vec(-4i64..4, MAIN..=MAIN),
        first in 0usize..=MAIN - 2,
        hi in -5i64..5,
        scale in proptest::prelude::any::<bool>(),
        sorted in proptest::prelude::any::<bool>(),
    ) {
        let mut fwd = fwd;
        if sorted {
            fwd.sort_unstable();
        }
        let k = if scale { 1i64 << 40 } else { 1 };
        for f in fwd.iter_mut() {
            *f *= k;
        }
        let hi = hi * k;
        let mut end = first + 1;
        while end + 1 < fwd.len() && fwd[end] < hi {
            end += 1;
        }
        proptest::prop_assert_eq!(span_end(&fwd, first, hi), end);
    }
}
