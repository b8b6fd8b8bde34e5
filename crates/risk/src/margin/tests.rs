//! The sums' unchecked path against their checked one, and the interval bound.

use super::*;
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

fn market(spot: i64, sigma: f64, params: &RiskParams) -> MarketInput<'_> {
    MarketInput {
        spot,
        stable_spot: spot,
        conf: spot / 10_000,
        sigma: Fx::from_num(sigma),
        range_sigma: Fx::from_num(sigma),
        mark_sigma: Fx::from_num(sigma),
        realised_sigma: Fx::ZERO,
        params,
    }
}

/// The margin of one position with the sums forced onto the unchecked (`exact`) or the checked
/// path, from the same anchor and array.
fn both_paths(
    p: &Portfolio,
    anchor: &Anchor,
    arr: Option<&SeriesArray>,
) -> (RiskResult<MarginBreakdown>, RiskResult<MarginBreakdown>) {
    let run = |exact: bool| -> RiskResult<MarginBreakdown> {
        let mut out = MarginBreakdown::default();
        begin(p, &[anchor], None, &mut out)?;
        add_position(p, anchor, 0, arr, exact, None, &mut out)?;
        finish(p, &[anchor], exact, &mut out)?;
        Ok(out)
    };
    (run(true), run(false))
}

fn kind() -> impl Strategy<Value = SeriesKind> {
    prop_oneof![
        Just(SeriesKind::Call),
        Just(SeriesKind::Put),
        Just(SeriesKind::Future)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// Wherever `sums_are_exact` admits a book, the unchecked sums give the checked sums' bits.
    #[test]
    fn unchecked_sums_are_exact_where_admitted(
        k in kind(), spot_log2 in 10.0f64..44.0, moneyness in 0.05f64..20.0,
        t in 1i64..(3 * 365 * 86_400), qty_log2 in 0.0f64..40.0, short in any::<bool>(),
        sigma in 0.01f64..5.0,
    ) {
        // Log-uniform sizes, so that books near the 2^62 bound are common.
        let spot = spot_log2.exp2() as i64;
        let qty = (qty_log2.exp2() as i64) * if short { -1 } else { 1 };
        let strike = ((spot as f64 * moneyness) as i64).max(1);
        let params = RiskParams::DEFAULT;
        let mk = [market(spot, sigma, &params)];
        let pos = [PositionInput { market: 0, kind: k, strike, expiry: NOW + t, qty, cash: 0 }];
        let held = [StrikeCandidate { strike, expiry: NOW + t }];
        let a = Anchor::new(NOW, spot, spot, mk[0].sigma, mk[0].mark_sigma, &params, held).unwrap();
        let p = Portfolio { collateral: 0, positions: &pos, markets: &mk, correlations: &Correlations::NONE, now: NOW };
        prop_assume!(sums_are_exact(&p, &[&a]));
        let mut arr = SeriesArray::zeroed();
        let arr = if k.is_option() {
            price_series(&a, &params, k, strike, NOW + t, &mut arr).unwrap();
            Some(&arr)
        } else {
            None
        };
        let (x, y) = both_paths(&p, &a, arr);
        prop_assert_eq!(x, y);
    }
}

#[test]
fn exactness_test_rejects_what_could_overflow() {
    let params = RiskParams::DEFAULT;
    let spot = 1i64 << 40;
    let mk = [market(spot, 0.8, &params)];
    let a = Anchor::new(NOW, spot, spot, mk[0].sigma, mk[0].sigma, &params, []).unwrap();
    let pos = |qty: i64, strike: i64| PositionInput {
        market: 0,
        kind: SeriesKind::Call,
        strike,
        expiry: NOW + 86_400,
        qty,
        cash: 0,
    };
    let admits = |positions: &[PositionInput]| {
        let p = Portfolio {
            collateral: 0,
            positions,
            markets: &mk,
            correlations: &Correlations::NONE,
            now: NOW,
        };
        sums_are_exact(&p, &[&a])
    };
    assert!(admits(&[pos(1_000, spot)]));
    // The largest forward is above 2^40, so 2^22 contracts exceed 2^62 in total.
    assert!(a.max_fwd > spot);
    assert!(!admits(&[pos(1 << 22, spot)]));
    assert!(!admits(&[pos(1 << 21, spot), pos(-(1 << 21), spot)]));
    assert!(!admits(&[pos(1, -1)]));
    assert!(!admits(&[pos(i64::MIN, spot)]));
    assert!(!admits(&[PositionInput {
        market: 3,
        ..pos(1, spot)
    }]));
}

/// A market whose interval 0 has P&L `a` and `b` at its ends and gap `g`.
fn interval(a: i64, b: i64, g: i64) -> MarketRisk {
    let mut mr = MarketRisk::default();
    mr.pnl[0] = a;
    mr.pnl[1] = b;
    mr.gap[0] = g;
    mr
}

#[test]
fn shape_is_four_lambda_one_minus_lambda() {
    assert_eq!(shape(0).unwrap(), 0);
    assert_eq!(shape(ONE).unwrap(), 0);
    assert_eq!(shape(ONE / 2).unwrap(), ONE);
    assert_eq!(shape(ONE / 4).unwrap(), 3 * ONE / 4);
    // The unit-interval path against the general product, at and next to its bounds.
    let general = |l: i64| (mul_ceil(l, ONE - l).unwrap() << 2).min(ONE);
    for l in [
        0,
        1,
        2,
        ONE / 3,
        ONE / 2 - 1,
        ONE / 2,
        ONE / 2 + 1,
        ONE - 2,
        ONE - 1,
        ONE,
    ] {
        assert_eq!(shape(l).unwrap(), general(l), "λ = {l}");
    }
    for l in [-1, ONE + 1] {
        assert_eq!(shape(l).unwrap(), general(l), "λ = {l}");
    }
}

#[test]
fn interval_loss_takes_the_lower_end_and_the_gap_share() {
    // The whole interval: gap minus the lower end.
    let mr = interval(-100, 50, 40);
    assert_eq!(interval_loss(&mr, 0, 0, ONE).unwrap(), 140);
    // At the points themselves the value is exact: no gap.
    assert_eq!(interval_loss(&mr, 0, 0, 0).unwrap(), 100);
    assert_eq!(interval_loss(&mr, 0, ONE, ONE).unwrap(), -50);
    // Half way: the chord (−25) and the whole gap (the shape's peak).
    assert_eq!(interval_loss(&mr, 0, ONE / 2, ONE / 2).unwrap(), 65);
    // The first quarter: the lower chord end is −100, the shape at most ¾.
    assert_eq!(interval_loss(&mr, 0, 0, ONE / 4).unwrap(), 130);
    // A payoff kink in the middle of an interval with equal ends: exactly the kink's depth.
    // Long 1 contract with delta 0 → 1 over a width of 1,000: gap 250, value 0 at the left,
    // 1,000 at the right... as P&L against a mark of 500: ends −500 and +500.
    let mr = interval(-500, 500, 250);
    assert_eq!(interval_loss(&mr, 0, 0, ONE).unwrap(), 750);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `compute_with_arrays` sums stored arrays two positions at a time on the exact path
    /// (`Pending`); `compute` sums one at a time as it prices. At the same anchors both give the
    /// same bits, for odd and even numbers of options, longs and shorts, on one or two markets.
    #[test]
    fn paired_sums_equal_sequential_sums(
        n in 1usize..12, seed in any::<u64>(), two_markets in any::<bool>(),
    ) {
        let params = RiskParams::DEFAULT;
        let mk = [market(600_000_000, 0.8, &params), market(3_000_000_000, 0.6, &params)];
        let mk = if two_markets { &mk[..] } else { &mk[..1] };
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut pos = [PositionInput { market: 0, kind: SeriesKind::Future, strike: 0, expiry: 0, qty: 0, cash: 0 }; 12];
        for (i, q) in pos.iter_mut().enumerate().take(n) {
            let m = (next() % mk.len() as u64) as u8;
            let spot = mk[m as usize].spot;
            let kind = [SeriesKind::Call, SeriesKind::Put, SeriesKind::Future][(next() % 3) as usize];
            let qty = (next() % 50) as i64 + 1;
            *q = PositionInput {
                market: m,
                kind,
                strike: if kind.is_option() { spot / 2 + (next() % spot as u64) as i64 } else { 0 },
                expiry: NOW + 3_600 * (i as i64 + 1),
                qty: if next() % 2 == 0 { qty } else { -qty },
                cash: if kind.is_option() { 0 } else { -qty * spot },
            };
        }
        let pos = &pos[..n];
        let p = Portfolio { collateral: 1 << 40, positions: pos, markets: mk, correlations: &Correlations::NONE, now: NOW };
        let mut anchors = [Anchor::zeroed(); 2];
        for (m, a) in anchors.iter_mut().enumerate().take(mk.len()) {
            *a = fresh_anchor(&p, m).unwrap();
        }
        let mut arrays = [SeriesArray::zeroed(); 12];
        for (q, arr) in pos.iter().zip(arrays.iter_mut()) {
            if q.kind.is_option() {
                price_series(&anchors[q.market as usize], &params, q.kind, q.strike, q.expiry, arr).unwrap();
            }
        }
        let refs = [&anchors[0], &anchors[1]];
        let refs = &refs[..mk.len()];
        let mut arrs = [None; 12];
        for (i, q) in pos.iter().enumerate() {
            arrs[i] = q.kind.is_option().then_some(&arrays[i]);
        }
        let arrs = &arrs[..n];
        prop_assume!(sums_are_exact(&p, refs));
        let (mut seq, mut paired) = (MarginBreakdown::default(), MarginBreakdown::default());
        compute(&p, &mut seq).unwrap();
        compute_with_arrays(&p, refs, arrs, &mut paired).unwrap();
        prop_assert_eq!(seq, paired);
    }
}

/// The memo's soundness rests on `Anchor::window` reading no parameter but the two its key
/// holds: changing any other byte of the parameters leaves the window as it was.
#[test]
fn window_reads_only_the_memo_key() {
    let params = RiskParams::DEFAULT;
    let spot = 600_000_000;
    let mk = market(spot, 0.8, &params);
    let a = Anchor::new(NOW, spot, spot, mk.sigma, mk.mark_sigma, &params, []).unwrap();
    let (now, moved) = (NOW + 100, spot + spot / 200);
    let want = a.window(now, moved, spot, mk.sigma, mk.mark_sigma, &params);
    assert!(want.is_ok());
    let keyed = [
        core::mem::offset_of!(RiskParams, array_max_age_secs)
            ..core::mem::offset_of!(RiskParams, array_max_age_secs) + 8,
        core::mem::offset_of!(RiskParams, array_vol_tol)
            ..core::mem::offset_of!(RiskParams, array_vol_tol) + 8,
    ];
    for i in 0..core::mem::size_of::<RiskParams>() {
        let mut other = params;
        bytemuck::bytes_of_mut(&mut other)[i] ^= 0x5a;
        let got = a.window(now, moved, spot, mk.sigma, mk.mark_sigma, &other);
        if keyed.iter().any(|r| r.contains(&i)) {
            continue;
        }
        assert_eq!(got, want, "byte {i} of RiskParams changed the window");
    }
    // And the two keyed ones do matter.
    let mut other = params;
    other.array_max_age_secs = 50;
    assert_ne!(
        a.window(now, moved, spot, mk.sigma, mk.mark_sigma, &other),
        want
    );
}

/// A memo hit gives the fresh computation's bits; a check at another time, price or vol misses
/// and gives that check's own bits (not the remembered window).
#[test]
fn memo_reuses_only_what_matches() {
    let params = RiskParams::DEFAULT;
    let spot = 600_000_000;
    let pos = [
        PositionInput {
            market: 0,
            kind: SeriesKind::Put,
            strike: spot * 9 / 10,
            expiry: NOW + 7 * 86_400,
            qty: -10,
            cash: 0,
        },
        PositionInput {
            market: 0,
            kind: SeriesKind::Call,
            strike: spot,
            expiry: NOW + 7 * 86_400,
            qty: 3,
            cash: 0,
        },
    ];
    let mk0 = market(spot, 0.8, &params);
    let held = pos.map(|q| StrikeCandidate {
        strike: q.strike,
        expiry: q.expiry,
    });
    let a = Anchor::new(NOW, spot, spot, mk0.sigma, mk0.mark_sigma, &params, held).unwrap();
    let mut arrays = [SeriesArray::zeroed(); 2];
    for (q, arr) in pos.iter().zip(arrays.iter_mut()) {
        price_series(&a, &params, q.kind, q.strike, q.expiry, arr).unwrap();
    }
    let arrs = [Some(&arrays[0]), Some(&arrays[1])];
    let mut memo = WindowMemo::default();
    let moved = spot + spot / 300;
    // Each step changes one input of the key: time, oracle price, stable price, vol.
    for (now, s, stable, sigma) in [
        (NOW + 10, spot, spot, 0.8),
        (NOW + 10, spot, spot, 0.8),
        (NOW + 10, moved, spot, 0.8),
        (NOW + 10, moved, moved, 0.8),
        (NOW + 20, moved, moved, 0.8),
        (NOW + 20, moved, moved, 0.803),
        (NOW + 10, spot, spot, 0.8),
    ] {
        let mk = [MarketInput {
            stable_spot: stable,
            ..market(s, sigma, &params)
        }];
        let p = Portfolio {
            collateral: 1 << 36,
            positions: &pos,
            markets: &mk,
            correlations: &Correlations::NONE,
            now,
        };
        let (mut fresh, mut memoed) = (MarginBreakdown::default(), MarginBreakdown::default());
        compute_with_arrays(&p, &[&a], &arrs, &mut fresh).unwrap();
        compute_with_arrays_memo(&p, &[&a], &arrs, &mut memo, &mut memoed).unwrap();
        assert_eq!(
            fresh, memoed,
            "now {now} spot {s} stable {stable} sigma {sigma}"
        );
    }
}

use crate::array::{MAIN, MINI};

/// The scan before the loss loops were split out (`worst_in_span` at 1e52a4a): the reference
/// for [`worst_losses`].
fn reference_span(
    mr: &MarketRisk,
    l: Ladder,
    span: Span,
    worst: (i64, u8),
) -> RiskResult<(i64, u8)> {
    let (first, end) = (span.first as usize, span.end as usize);
    let (mut best, mut at) = worst;
    if first >= end {
        return Ok(worst);
    }
    let mut take = |p: usize, loss: i64| {
        if loss > best {
            best = loss;
            at = p as u8;
        }
    };
    let base = l.start();
    let part = span_part(span, first);
    take(
        base + first,
        loss_between(mr, base + first, part.0, part.1)?,
    );
    for i in first + 1..end.saturating_sub(1) {
        let p = base + i;
        take(p, sub(mr.gap[p], mr.pnl[p].min(mr.pnl[p + 1]))?);
    }
    if end - 1 > first {
        let part = span_part(span, end - 1);
        take(
            base + end - 1,
            loss_between(mr, base + end - 1, part.0, part.1)?,
        );
    }
    Ok((best, at))
}

/// `worst_losses` at 1e52a4a, on [`reference_span`], `loss_between` and `mul_ceil`.
fn reference_worst_losses(mr: &mut MarketRisk, params: &RiskParams) -> RiskResult<()> {
    let w = mr.window;
    for l in [Ladder::Up, Ladder::Down] {
        (mr.worst_im, mr.worst_im_interval) =
            reference_span(mr, l, w.im, (mr.worst_im, mr.worst_im_interval))?;
        (mr.worst_mm, mr.worst_mm_interval) =
            reference_span(mr, l, w.mm, (mr.worst_mm, mr.worst_mm_interval))?;
    }
    for (l, &(k, lambda)) in LADDERS[2..].iter().zip(&w.mini) {
        let weight = match l {
            Ladder::Named0 => params.named_shocks[0].weight,
            Ladder::Named1 => params.named_shocks[1].weight,
            _ => params.extreme_weight,
        };
        let p = l.start() + k as usize;
        let loss = loss_between(mr, p, lambda, lambda)?;
        if loss > 0 {
            let weighted = mul_ceil(loss, weight.to_bits())?;
            if weighted > mr.worst_im {
                mr.worst_im = weighted;
                mr.worst_im_interval = p as u8;
            }
        }
    }
    Ok(())
}

/// A random span on a main ladder: intervals `first..end` with `end ≤ MAIN − 1` (what
/// `Anchor::window` places), any positions in [0, 1] at its ends (the ends exactly 0, ½ and 1
/// often).
fn span() -> impl Strategy<Value = Span> {
    let pos = prop_oneof![Just(0), Just(ONE / 2), Just(ONE), 0..=ONE];
    (0u8..(MAIN as u8 - 1), 1u8..(MAIN as u8), pos.clone(), pos).prop_map(
        |(first, len, start, stop)| {
            let end = (first + len).min(MAIN as u8 - 1).max(first + 1);
            Span {
                first,
                end,
                start,
                stop,
            }
        },
    )
}

/// A random window: IM and MM spans (nested or not: the scan must not rely on it), mini-ladder
/// positions.
fn window() -> impl Strategy<Value = Window> {
    let pos = prop_oneof![Just(0), Just(ONE / 2), Just(ONE), 0..=ONE];
    (
        span(),
        span(),
        prop::array::uniform4((0u8..(MINI as u8 - 1), pos)),
        any::<bool>(),
    )
        .prop_map(|(im, mm, mini, empty_mm)| Window {
            im,
            // An empty span (first = end) as the MM range.
            mm: if empty_mm {
                Span {
                    end: mm.first,
                    ..mm
                }
            } else {
                mm
            },
            mini,
            ..Window::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// The scan with its whole intervals in their own loops (unchecked on the exact path) gives
    /// the reference's worst IM and MM losses and intervals, bit for bit: on any values through
    /// the checked path (overflows included: the same `Err`), and on the exact path's domain
    /// (|P&L| ≤ 2^62, gaps in [0, 2^60]: twice and half the bound 2^61) through the unchecked
    /// one.
    #[test]
    fn the_scan_matches_the_reference(
        w in window(),
        seed in any::<u64>(),
        small in any::<bool>(),
        weights in prop::array::uniform3(0..=ONE),
        prior in (0i64..1000, 0u8..70),
    ) {
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut mr = MarketRisk { window: w, ..MarketRisk::default() };
        (mr.worst_im, mr.worst_im_interval) = prior;
        (mr.worst_mm, mr.worst_mm_interval) = prior;
        // Values from a tiny set in a third of the cases: equal losses (ties) are common there.
        let tiny = next() % 3 == 0;
        for p in 0..POINTS {
            let (v, g) = (next() as i64, next() as i64);
            let (v, g) = match (tiny, small) {
                (true, _) => ((v % 3) * 500, (g & 1) * 250),
                (false, true) => (v >> 1, (g as u64 >> 4) as i64),
                (false, false) => (v, g),
            };
            mr.pnl[p] = v;
            mr.gap[p] = g;
        }
        let mut params = RiskParams::DEFAULT;
        params.extreme_weight = Fx::from_bits(weights[0]);
        params.named_shocks[0].weight = Fx::from_bits(weights[1]);
        params.named_shocks[1].weight = Fx::from_bits(weights[2]);
        let mut want = mr;
        let want = reference_worst_losses(&mut want, &params).map(|_| want);
        let mut checked = mr;
        let checked = worst_losses(&mut checked, &params, false).map(|_| checked);
        prop_assert_eq!(checked, want);
        if small {
            let mut exact = mr;
            let exact = worst_losses(&mut exact, &params, true).map(|_| exact);
            prop_assert_eq!(exact, want);
        }
    }

    /// `loss_at` is `loss_between` at a single position.
    #[test]
    fn loss_at_is_loss_between_a_point(
        a in any::<i64>(), b in any::<i64>(), g in any::<i64>(),
        lambda in prop_oneof![Just(0), Just(ONE / 2), Just(ONE), 0..=ONE, any::<i64>()],
    ) {
        let mr = interval(a, b, g);
        prop_assert_eq!(loss_at(&mr, 0, lambda), loss_between(&mr, 0, lambda, lambda));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, max_global_rejects: 200_000, ..ProptestConfig::default() })]

    /// Books of several positions near `EXACT_BOUND` (log-uniform sizes): wherever
    /// `sums_are_exact` admits one, the unchecked path (sums, whole-interval losses, the
    /// products of `add_position`) gives the checked path's bits.
    #[test]
    fn unchecked_books_are_exact_where_admitted(
        seed in any::<u64>(), n in 1usize..8, spot_log2 in 10.0f64..40.0,
        qty_log2 in 0.0f64..44.0, sigma in 0.05f64..3.0,
        short_min in (0.0f64..2.0, 0.0f64..2.0), haircut in 0.0f64..1.0,
        moved in (-0.01f64..0.01, -0.01f64..0.01, 0u64..600),
    ) {
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let spot = spot_log2.exp2() as i64;
        // Short minimums above 1 (outside the parameter bounds) take the checked sums.
        let mut params = RiskParams::DEFAULT;
        params.short_min_im = Fx::from_num(short_min.0);
        params.short_min_mm = Fx::from_num(short_min.1);
        params.long_haircut = Fx::from_num(haircut);
        let mk = [market(spot, sigma, &params)];
        let mut pos = [PositionInput { market: 0, kind: SeriesKind::Future, strike: 0, expiry: 0, qty: 0, cash: 0 }; 8];
        for q in pos.iter_mut().take(n) {
            let kind = [SeriesKind::Call, SeriesKind::Put, SeriesKind::Future][(next() % 3) as usize];
            let size = (qty_log2 - (next() % 8) as f64).max(0.0).exp2() as i64;
            let qty = if next() % 2 == 0 { size } else { -size };
            *q = PositionInput {
                market: 0,
                kind,
                strike: if kind.is_option() { ((spot as f64) * (0.5 + (next() % 1000) as f64 / 1000.0)) as i64 } else { 0 },
                expiry: NOW + 3_600 * (1 + (next() % 2_000) as i64),
                qty,
                cash: if kind.is_option() { 0 } else { qty.saturating_mul(spot).saturating_neg() },
            };
        }
        let pos = &pos[..n];
        let p = Portfolio { collateral: 1 << 40, positions: pos, markets: &mk, correlations: &Correlations::NONE, now: NOW };
        let a = fresh_anchor(&p, 0).unwrap();
        // The check up to ten minutes later at prices up to 1% from the anchor's (inside its
        // window: positions strictly inside the mark-ladder intervals).
        let (dx, ds, age) = moved;
        let mk = [MarketInput {
            spot: ((spot as f64) * (1.0 + dx)) as i64,
            stable_spot: ((spot as f64) * (1.0 + ds)) as i64,
            ..mk[0]
        }];
        let p = Portfolio { markets: &mk, now: NOW + age as i64, ..p };
        prop_assume!(sums_are_exact(&p, &[&a]));
        let mut arrays = [SeriesArray::zeroed(); 8];
        for (q, arr) in pos.iter().zip(arrays.iter_mut()) {
            if q.kind.is_option() {
                price_series(&a, &params, q.kind, q.strike, q.expiry, arr).unwrap();
            }
        }
        let run = |exact: bool| -> RiskResult<MarginBreakdown> {
            let mut out = MarginBreakdown::default();
            begin(&p, &[&a], None, &mut out)?;
            for (i, q) in pos.iter().enumerate() {
                add_position(&p, &a, i, q.kind.is_option().then_some(&arrays[i]), exact, None, &mut out)?;
            }
            finish(&p, &[&a], exact, &mut out)?;
            Ok(out)
        };
        prop_assert_eq!(run(true), run(false));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `Totals` (wrapping sums and an overflow flag) gives `finish`'s checked sequential sums, or
    /// fails exactly when one of their steps would.
    #[test]
    fn totals_match_checked_sums(
        terms in prop::collection::vec(
            prop::array::uniform3(prop_oneof![any::<i64>(), -(1i64 << 40)..(1i64 << 40), Just(i64::MAX), Just(i64::MIN)]),
            0..32,
        ),
    ) {
        let mut t = Totals::default();
        let mut want = Ok([0i64; 3]);
        for x in &terms {
            t.add(*x);
            want = want.and_then(|mut s: [i64; 3]| {
                for (a, b) in s.iter_mut().zip(x) {
                    *a = add(*a, *b)?;
                }
                Ok(s)
            });
        }
        let got = if t.overflow < 0 { Err(RiskError::Overflow) } else { Ok(t.sums) };
        prop_assert_eq!(got, want);
    }
}
