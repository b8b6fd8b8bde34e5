use super::*;
use crate::fx::ONE;

const DAY: i64 = 86_400;
/// How long an observation pulls the stable price: a market's default oracle staleness.
const PULL: i64 = 60;

fn state() -> (VolState, RiskParams) {
    let p = RiskParams::DEFAULT;
    (VolState::new(1_000_000_000, 0, &p).unwrap(), p)
}

#[test]
fn rejects_bad_observations_without_changing_anything() {
    let (mut s, p) = state();
    s.observe(1_010_000_000, DAY, None, &p, PULL).unwrap();
    let before = s;
    assert_eq!(
        s.observe(1_020_000_000, DAY, None, &p, PULL),
        Err(RiskError::OutOfOrderObservation)
    );
    assert_eq!(
        s.observe(1_020_000_000, DAY - 5, None, &p, PULL),
        Err(RiskError::OutOfOrderObservation)
    );
    assert_eq!(
        s.observe(1_020_000_000, DAY + 10, None, &p, PULL),
        Err(RiskError::ObservationTooSoon)
    );
    assert_eq!(
        s.observe(0, 2 * DAY, None, &p, PULL),
        Err(RiskError::NonPositivePrice)
    );
    assert_eq!(
        s.observe(-1, 2 * DAY, None, &p, PULL),
        Err(RiskError::NonPositivePrice)
    );
    assert_eq!(s, before);
}

#[test]
fn a_crash_raises_vol_at_once_and_it_decays_slowly() {
    // The mechanism with its parameters stated (not the calibrated defaults, which
    // docs/validation.md chose with the backtest): without a vol feed, the historical vol is a
    // 195-day EWMA blended with 15% of a daily GARCH(1,1) (α 0.10, β 0.85, long-run 60% vol),
    // the margin vol has no buffer, floor or stressed weight, and it may fall at most 3% a day
    // (slower than the estimate decays after the crash, so the cap binds).
    let p = RiskParams {
        ewma_tau_secs: 195 * DAY,
        garch_alpha: Fx::lit("0.1"),
        garch_beta: Fx::lit("0.85"),
        garch_long_run_var: Fx::lit("0.36"),
        garch_step_secs: DAY,
        garch_weight: Fx::lit("0.15"),
        min_obs_interval_secs: 60,
        max_sample_var: Fx::lit("100"),
        apc_floor_vol: Fx::ZERO,
        apc_stressed_weight: Fx::ZERO,
        apc_buffer: Fx::ZERO,
        apc_max_fall_per_day: Fx::lit("0.03"),
        ..RiskParams::DEFAULT
    };
    assert_eq!(p.violation(), None);
    let mut s = VolState::new(1_000_000_000, 0, &p).unwrap();
    let mut px = 1_000_000_000i64;
    for d in 1..60 {
        px += if d % 2 == 0 { 10_000_000 } else { -10_000_000 }; // ±1% a day: ~19% vol
        s.observe(px, d * DAY, None, &p, PULL).unwrap();
    }
    let calm = s.margin_vol;
    s.observe(px * 7 / 10, 60 * DAY, None, &p, PULL).unwrap(); // −30% in a day
    let spiked = s.margin_vol;
    // Risk first: one crash day more than doubles the margin vol at once, with no feed.
    assert!(spiked > calm * 2, "{calm} → {spiked}");
    assert_eq!(
        s.margin_vol, s.raw_vol,
        "no buffer: the rise is taken in full"
    );
    // Quiet days afterwards: margin vol falls, but no faster than the APC's daily cap.
    let mut prev = spiked;
    for d in 61..70 {
        s.observe(px * 7 / 10, d * DAY, None, &p, PULL).unwrap();
        let max_fall = prev * (Fx::ONE - p.apc_max_fall_per_day) - Fx::DELTA * 4;
        assert!(
            s.margin_vol >= max_fall,
            "day {d}: {prev} → {}",
            s.margin_vol
        );
        assert!(s.margin_vol <= prev, "day {d}: quiet days never raise it");
        prev = s.margin_vol;
    }
    assert!(prev < spiked, "it does decay");
    assert!(
        prev > s.raw_vol,
        "slowly: the cap, not the estimate, sets the pace ({prev} vs raw {})",
        s.raw_vol
    );
}

#[test]
fn a_fresh_implied_vol_is_blended_and_a_stale_one_ignored() {
    let (mut s, p) = state();
    s.observe(1_000_000_000, DAY, None, &p, PULL).unwrap();
    let iv = ImpliedVol {
        vol: Fx::lit("1.5"),
        ts: 2 * DAY - 60,
    };
    let mut with = s;
    with.observe(1_000_000_000, 2 * DAY, Some(iv), &p, PULL)
        .unwrap();
    let mut without = s;
    without
        .observe(1_000_000_000, 2 * DAY, None, &p, PULL)
        .unwrap();
    let mut stale = s;
    stale
        .observe(
            1_000_000_000,
            2 * DAY,
            Some(ImpliedVol { ts: 0, ..iv }),
            &p,
            PULL,
        )
        .unwrap();
    let expected = without.hist_vol + (iv.vol - without.hist_vol) * p.iv_weight;
    assert!((with.raw_vol - expected).abs() <= Fx::DELTA * 4);
    assert_eq!(stale.raw_vol, without.raw_vol);
}

#[test]
fn implied_weight_decays_linearly() {
    let p = RiskParams::DEFAULT;
    let full = p.iv_weight.to_bits();
    assert_eq!(blend::implied_weight(0, &p).unwrap(), full);
    assert_eq!(blend::implied_weight(p.iv_fresh_secs, &p).unwrap(), full);
    let mid = (p.iv_fresh_secs + p.iv_max_age_secs) / 2;
    assert!((blend::implied_weight(mid, &p).unwrap() - full / 2).abs() <= 2);
    assert_eq!(blend::implied_weight(p.iv_max_age_secs, &p).unwrap(), 0);
}

#[test]
fn the_premium_applies_only_to_the_implied_weight_no_feed_supplies() {
    let hist = Fx::lit("0.5").to_bits();
    let iv = |age: i64, p: &RiskParams| {
        Some(ImpliedVol {
            vol: Fx::lit("0.8"),
            ts: 1_000_000 - age,
        })
        .filter(|_| age <= p.iv_max_age_secs * 2)
    };
    let blend = |p: &RiskParams, age: Option<i64>| {
        blend::with_implied(hist, age.and_then(|a| iv(a, p)), 1_000_000, p).unwrap()
    };
    let plain = RiskParams::DEFAULT;
    let with = RiskParams {
        hist_vol_premium: Fx::lit("0.2"),
        ..plain
    };
    // A fresh feed: the premium changes nothing.
    assert_eq!(blend(&with, Some(0)), blend(&plain, Some(0)));
    // No feed, or one past its maximum age: σ_hist·(1 + π), rounded up.
    let expected = Fx::lit("0.6").to_bits();
    for age in [None, Some(plain.iv_max_age_secs)] {
        let got = blend(&with, age);
        assert!(
            (expected..=expected + 2).contains(&got),
            "{got} vs {expected}"
        );
        assert_eq!(blend(&plain, age), hist);
    }
    // Half-way through the fade: half the premium on the historical part, then the blend.
    let mid = (plain.iv_fresh_secs + plain.iv_max_age_secs) / 2;
    let w = blend::implied_weight(mid, &plain).unwrap();
    let m = Fx::from_bits(plain.iv_weight.to_bits() - w) / plain.iv_weight;
    let h = Fx::lit("0.5") * (Fx::ONE + Fx::lit("0.2") * m);
    let want = h + (Fx::lit("0.8") - h) * Fx::from_bits(w);
    let got = Fx::from_bits(blend(&with, Some(mid)));
    assert!((got - want).abs() <= Fx::DELTA * 4, "{got} vs {want}");
    assert!(got > Fx::from_bits(blend(&plain, Some(mid))));
    // With no implied weight at all (iv_weight 0) the premium always applies.
    let no_iv = RiskParams {
        iv_weight: Fx::ZERO,
        ..with
    };
    let got = blend(&no_iv, Some(0));
    assert!(
        (expected..=expected + 2).contains(&got),
        "{got} vs {expected}"
    );
}

#[test]
fn apc_band_buffer_and_release() {
    // The mechanism at a buffer of 25%, a floor of 30% and a 5%/day fall cap (not the
    // calibrated defaults, which docs/validation.md chose with the backtest).
    let p = RiskParams {
        apc_buffer: Fx::lit("0.25"),
        apc_floor_vol: Fx::lit("0.3"),
        apc_max_fall_per_day: Fx::lit("0.05"),
        ..RiskParams::DEFAULT
    };
    let v = |s: &str| Fx::lit(s).to_bits();
    // First step sits at the top of the band.
    assert_eq!(apc::step(0, v("0.5"), 0, &p).unwrap(), v("0.625"));
    // A rise inside the buffer does not move margin vol …
    assert_eq!(
        apc::step(v("0.625"), v("0.6"), DAY, &p).unwrap(),
        v("0.625")
    );
    // … a rise beyond it is taken at once (the buffer is released).
    assert_eq!(apc::step(v("0.625"), v("0.9"), DAY, &p).unwrap(), v("0.9"));
    // The floor holds in calm markets.
    assert!((apc::step(0, v("0.1"), 0, &p).unwrap() - v("0.375")).abs() <= 2);
    // A fall is rate-limited: one day at most 5% down.
    let fell = apc::step(v("1.0"), v("0.4"), DAY, &p).unwrap();
    assert!((fell - v("0.95")).abs() < 64, "{fell}");
    // With a stressed weight, σ_f = √(0.75σ² + 0.25σ_s²).
    let mut q = p;
    q.apc_stressed_weight = Fx::lit("0.25");
    let f = apc::floored(v("0.4"), &q).unwrap() as f64 / ONE as f64;
    assert!((f - (0.75f64 * 0.16 + 0.25 * 1.44).sqrt()).abs() < 1e-8);
}

#[test]
fn stable_price_moves_at_the_capped_rate() {
    let g = Fx::lit("0.0001");
    assert_eq!(crate::stable_price::step(0, 500, 10, g).unwrap(), 500);
    // 20× pump over 5 minutes: the stable price moves 3% (to the Q32 grid of the rate).
    let s = crate::stable_price::step(1_000_000_000, 20_000_000_000, 300, g).unwrap();
    assert!((s - 1_030_000_000).abs() <= 100, "{s}");
    let s = crate::stable_price::step(1_000_000_000, 1, 300, g).unwrap();
    assert!((s - 970_000_000).abs() <= 100, "{s}");
    assert_eq!(
        crate::stable_price::step(1_000_000_000, 1_001_000_000, 300, g).unwrap(),
        1_001_000_000
    );
    assert!(crate::stable_price::step(1, 0, 1, g).is_err());
}

/// The speed limit holds whatever the crank cadence (the attack: a pump right after an hour
/// without a crank used to move the stable price by g·3600 at once). The last observation of
/// the pump still pulls for `PULL` seconds, so the bound is e^(g·(Δt + PULL)) − 1, reached at
/// the end of that window and never exceeded however long nobody cranks afterwards.
#[test]
fn a_pump_after_an_idle_hour_moves_the_stable_price_at_most_its_documented_speed() {
    let p = RiskParams::DEFAULT;
    let g = p.stable_growth_per_sec.to_num::<f64>();
    let p0 = 1_000_000_000i64;
    let t0 = 1_700_000_000i64;
    let mut s = VolState::new(p0, t0, &p).unwrap();
    // The crank is idle for an hour; then the oracle is 20× for five minutes, and the attacker
    // cranks as often as the market allows and checks margin at the last second.
    let pump = 20 * p0;
    let start = t0 + 3_600;
    let hold = 300;
    let mut t = start;
    while t <= start + hold {
        s.observe(pump, t, None, &p, PULL).unwrap();
        t += p.min_obs_interval_secs;
    }
    let bound = (g * (hold + PULL) as f64).exp() - 1.0;
    let moved = |now: i64| s.stable_price_at(now, &p, PULL).unwrap() as f64 / p0 as f64 - 1.0;
    for now in [start + hold, start + hold + PULL, start + hold + 3_600] {
        assert!(
            moved(now) <= bound + 1e-9,
            "at +{}: moved {} > e^(g·(Δt + pull)) − 1 = {bound}",
            now - start,
            moved(now)
        );
    }
    // … and it does follow, to the bound: six observations each pulling a full minute,
    // (1 + 60·g)⁶ − 1 (the bound's e^x compounds continuously; to the Q32 grid of the rate) —
    // the last pumped observation pulls for the whole window after it, no longer.
    let steps = ((hold + PULL) / PULL) as i32;
    let reached = (1.0 + g * PULL as f64).powi(steps) - 1.0;
    assert!(
        moved(start + hold + PULL) > reached - 1e-6,
        "{}",
        moved(start + hold + PULL)
    );
    assert_eq!(moved(start + hold + PULL), moved(start + hold + 3_600));
    // Margin checked during the pump before any crank saw it: no move at all.
    let fresh = VolState::new(p0, t0, &p).unwrap();
    assert_eq!(fresh.stable_price_at(start + hold, &p, PULL).unwrap(), p0);
}

/// The attack on the cadence: a spike lasting one second, cranked at once by the attacker (the
/// crank is permissionless), used to pull the stable price until the keeper's next crank —
/// 540 s later, 5.4% toward a 20× spike. An observation now pulls for at most `PULL` seconds
/// after its publish time: a move held Δt seconds moves the stable price at most
/// e^(g·(Δt + PULL)) − 1, whatever the cadence.
#[test]
fn a_one_second_spike_pulls_the_stable_price_for_at_most_the_pull_window() {
    let p = RiskParams::DEFAULT;
    let g = p.stable_growth_per_sec.to_num::<f64>();
    let p0 = 1_000_000_000i64;
    let t0 = 1_700_000_000i64;
    let mut s = VolState::new(p0, t0, &p).unwrap();
    let t1 = t0 + 600;
    s.observe(20 * p0, t1, None, &p, PULL).unwrap();
    let bound = (g * (1 + PULL) as f64).exp() - 1.0;
    // Margin checks before the keeper's crank see the spike's pull stop after the window …
    for now in [t1 + PULL, t1 + 539] {
        let moved = s.stable_price_at(now, &p, PULL).unwrap() as f64 / p0 as f64 - 1.0;
        assert!(
            moved <= bound,
            "at +{}: moved {moved}, bound {bound}",
            now - t1
        );
    }
    // … and so does the keeper's crank at +540 (the spike ended at +1).
    s.observe(p0, t1 + 540, None, &p, PULL).unwrap();
    let moved = s.stable_price as f64 / p0 as f64 - 1.0;
    assert!(moved <= bound, "moved {moved}, bound {bound}");
    assert!(
        moved > g * PULL as f64 - 1e-6,
        "the spike pulled for the window: {moved}"
    );
    // A later observation pulls back toward the price it saw.
    let back = s.stable_price_at(t1 + 540 + PULL, &p, PULL).unwrap();
    assert!(back < s.stable_price && back >= p0, "{back}");
}

#[test]
fn correlation_of_co_moving_and_opposite_markets() {
    let mut together = CorrelationState::default();
    let mut opposite = CorrelationState::default();
    let (mut a, mut b, mut c) = (1_000_000i64, 2_000_000i64, 2_000_000i64);
    for d in 0..200i64 {
        let up = (d * 7919) % 3 != 0;
        let m = if up { 1.02 } else { 0.98 };
        a = (a as f64 * m) as i64;
        b = (b as f64 * m) as i64;
        c = (c as f64 / m) as i64;
        together
            .observe(a, b, d * DAY, 1_396_314, 60, Fx::lit("100"))
            .unwrap();
        opposite
            .observe(a, c, d * DAY, 1_396_314, 60, Fx::lit("100"))
            .unwrap();
    }
    assert!(together.rho().unwrap() > Fx::lit("0.99"));
    assert!(opposite.rho().unwrap() < Fx::lit("-0.99"));
    assert_eq!(
        correlation::effective(opposite.rho().unwrap(), Fx::lit("0.5")),
        Fx::lit("0.5")
    );
    assert_eq!(correlation::effective(Fx::lit("-0.3"), Fx::ZERO), Fx::ZERO);
    assert_eq!(CorrelationState::default().rho().unwrap(), Fx::ONE);
    let before = together;
    assert_eq!(
        together.observe(1, 1, 0, 1, 60, Fx::ONE),
        Err(RiskError::OutOfOrderObservation)
    );
    assert_eq!(together, before);
}

#[test]
fn apc_fall_rate_at_its_upper_bound_releases_at_once() {
    // `apc_max_fall_per_day = 1` is inside the hard bounds: it must not hit ln(0).
    let mut p = RiskParams::DEFAULT;
    p.apc_max_fall_per_day = Fx::ONE;
    assert_eq!(p.violation(), None);
    let lo = apc::floored(Fx::lit("0.4").to_bits(), &p).unwrap();
    let hi = lo + crate::fx::mul_ceil(lo, p.apc_buffer.to_bits()).unwrap();
    assert_eq!(apc::step(3 * hi, Fx::lit("0.4").to_bits(), 60, &p), Ok(hi));
}

#[test]
fn without_a_speed_limit_the_range_vol_is_the_margin_vol() {
    // The default (no limit) sets the range from the margin vol bit for bit, through a crash.
    let (mut s, p) = state();
    assert_eq!(p.apc_max_rise_per_day, Fx::ZERO);
    let mut px = 1_000_000_000i64;
    for d in 1..40 {
        px = if d == 20 {
            px * 6 / 10
        } else {
            px + (d % 3 - 1) * 5_000_000
        };
        s.observe(px, d * DAY, None, &p, PULL).unwrap();
        assert_eq!(s.range_vol, s.margin_vol, "day {d}");
        assert_eq!(s.range_sigma(), s.margin_vol);
    }
    // A state stepped before the field existed reads the margin vol.
    let old = VolState {
        range_vol: Fx::ZERO,
        ..s
    };
    assert_eq!(old.range_sigma(), s.margin_vol);
}

#[test]
fn the_range_vol_rises_no_faster_than_its_limit_and_falls_with_the_margin_vol() {
    let p = RiskParams {
        apc_max_rise_per_day: Fx::lit("0.03"),
        ..RiskParams::DEFAULT
    };
    assert_eq!(p.violation(), None);
    let mut s = VolState::new(1_000_000_000, 0, &p).unwrap();
    let mut px = 1_000_000_000i64;
    for d in 1..60 {
        px += if d % 2 == 0 { 10_000_000 } else { -10_000_000 };
        s.observe(px, d * DAY, None, &p, PULL).unwrap();
    }
    assert_eq!(s.range_vol, s.margin_vol, "calm: no lag");
    s.observe(px * 6 / 10, 60 * DAY, None, &p, PULL).unwrap(); // −40% in a day
    assert!(s.margin_vol.to_num::<f64>() > s.range_vol.to_num::<f64>() * 1.2);
    // Each day the range vol rises by at most 3% and never past the margin vol, until it
    // reaches it.
    let mut d = 61;
    let mut prev = s.range_vol;
    assert!(prev.to_num::<f64>() <= 1.03 * s.margin_vol.to_num::<f64>());
    while s.range_vol < s.margin_vol {
        s.observe(px * 6 / 10, d * DAY, None, &p, PULL).unwrap();
        let (r, was) = (s.range_vol.to_num::<f64>(), prev.to_num::<f64>());
        assert!(r <= was * 1.03, "day {d}: {was} → {r}");
        assert!(s.range_vol <= s.margin_vol);
        if s.range_vol < s.margin_vol {
            assert!(r >= was * 1.0299, "day {d}: the limit binds: {was} → {r}");
        }
        prev = s.range_vol;
        d += 1;
        assert!(d < 200, "it catches up");
    }
    // A fall of the margin vol below it is followed at once.
    for _ in 0..400 {
        let before = s.margin_vol;
        s.observe(px * 6 / 10, d * DAY, None, &p, PULL).unwrap();
        d += 1;
        if s.margin_vol < before {
            break;
        }
    }
    assert_eq!(s.range_vol, s.margin_vol);
}

#[test]
fn a_range_limit_at_its_bound_and_after_a_long_gap_stays_total() {
    let mut p = RiskParams::DEFAULT;
    p.apc_max_rise_per_day = Fx::lit("10");
    assert_eq!(p.violation(), None);
    let (prev, margin) = (Fx::lit("0.2").to_bits(), Fx::lit("2").to_bits());
    // 11^(1/24) ≈ 1.105 in an hour; 11^3650 overflows: the margin vol at once.
    let hour = apc::range_step(prev, margin, 3_600, &p).unwrap();
    assert!((hour as f64 / prev as f64 - 11f64.powf(1.0 / 24.0)).abs() < 1e-6);
    assert_eq!(apc::range_step(prev, margin, 3_650 * DAY, &p), Ok(margin));
    assert_eq!(apc::range_step(prev, margin, i64::MAX, &p), Ok(margin));
    assert_eq!(
        apc::range_step(prev, margin, 0, &p),
        Ok(prev),
        "no time, no rise"
    );
}

proptest::proptest! {
    /// Over any sequence of margin vols and step times, the range vol never exceeds the margin
    /// vol, equals it whenever it is at or below the previous range vol, and between any two
    /// steps rises by at most (1 + rate)^(Δt/day).
    #[test]
    fn the_range_vol_rise_is_bounded_between_any_two_steps(
        rate in 0u32..2_000,
        steps in proptest::collection::vec(
            (proptest::prop_oneof![1i64..2 * DAY, 1i64..4_000 * DAY], 1i64..(8i64 << 32)),
            1..40,
        ),
    ) {
        let mut p = RiskParams::DEFAULT;
        p.apc_max_rise_per_day = Fx::from_bits((((rate as i64) << 32) / 1_000).max(1));
        let g = p.apc_max_rise_per_day.to_num::<f64>();
        let mut r = 0i64;
        let mut t = 0i64;
        let mut seen = [(0i64, 0i64); 40];
        for (n, (dt, margin)) in steps.into_iter().enumerate() {
            let next = apc::range_step(r, margin, dt, &p).unwrap();
            proptest::prop_assert!(next <= margin);
            if r <= 0 || margin <= r {
                proptest::prop_assert_eq!(next, margin);
            }
            t += dt;
            r = next;
            for &(t1, r1) in &seen[..n] {
                let bound = r1 as f64 * (1.0 + g).powf((t - t1) as f64 / DAY as f64);
                proptest::prop_assert!(r as f64 <= bound * (1.0 + 1e-12) + 1.0,
                    "{} after {} s from {}: bound {}", r, t - t1, r1, bound);
            }
            seen[n] = (t, r);
        }
    }
}

#[test]
fn the_realised_vol_follows_the_last_half_day_and_leaves_the_margin_alone() {
    let (mut s, mut p) = state();
    assert_eq!(p.realised_tau_secs, 0, "off by default");
    p.realised_tau_secs = 12 * 3600;
    let mut off = p;
    off.realised_tau_secs = 0;
    let mut t = s;
    // A quiet day of hourly cranks (±0.2%), then four hours falling 3% an hour.
    let mut price = 1_000_000_000i64;
    for h in 1..=28i64 {
        price = if h > 24 {
            price * 97 / 100
        } else if h % 2 == 0 {
            price * 1002 / 1000
        } else {
            price * 998 / 1000
        };
        s.observe(price, h * 3600, None, &p, PULL).unwrap();
        t.observe(price, h * 3600, None, &off, PULL).unwrap();
        // Kept or not, it changes nothing else.
        let mut masked = s;
        (masked.realised_var, masked.realised_vol) = (Fx::ZERO, Fx::ZERO);
        assert_eq!(masked, t);
        if h == 24 {
            // 0.2% an hour is 0.002·√8760 ≈ 18.7% a year; the EWMA started at zero.
            let v: f64 = s.realised_vol.to_num();
            assert!(v > 0.15 && v < 0.19, "quiet {v}");
            assert!(s.realised_vol < s.margin_vol);
        }
    }
    // Four 3% hours: ≈ 0.03·√8760 ≈ 2.8 a year with weight 1 − e^(−4/12) ≈ 0.28 on them, while
    // the 161-day EWMA barely moves.
    let v: f64 = s.realised_vol.to_num();
    assert!(v > 1.4 && v < 1.7, "after the fall {v}");
    assert!(s.realised_vol.to_num::<f64>() > 2.0 * s.margin_vol.to_num::<f64>());
    // √ of the variance, rounded up.
    let var: f64 = s.realised_var.to_num();
    assert!((var.sqrt() - v).abs() < 1e-8);
    assert_eq!(t.realised_vol, Fx::ZERO);
}
