use super::*;

fn fx(s: &str) -> Fx {
    Fx::lit(s)
}

fn account(equity: i64, mm: i64, im: i64) -> MarginBreakdown {
    MarginBreakdown {
        equity_mm: equity,
        mm,
        im,
        ..MarginBreakdown::default()
    }
}

#[test]
fn healthy_accounts_are_refused() {
    let p = LiquidationParams::DEFAULT;
    assert_eq!(
        plan(&account(100, 100, 150), fx("0.5"), 0, &p),
        Err(RiskError::NotLiquidatable)
    );
}

#[test]
fn the_cap_shrinks_and_the_bonus_grows_with_vol() {
    let p = LiquidationParams::DEFAULT;
    let vols = ["0.2", "0.5", "1", "2"];
    let caps = vols.map(|v| fraction_cap(fx(v), &p).unwrap());
    let rates = vols.map(|v| bonus_rate(fx(v), 0, &p).unwrap());
    assert_eq!(caps[0], Fx::ONE);
    assert!((caps[1] - fx("0.5")).abs() <= Fx::DELTA);
    assert!(caps.windows(2).all(|w| w[0] >= w[1]));
    assert!(caps[3] >= p.fraction_min);
    assert!(rates.windows(2).all(|w| w[0] <= w[1]));
    assert!(rates[3] <= p.bonus_max);
}

#[test]
fn the_bonus_ramps_with_time_up_to_its_cap() {
    let p = LiquidationParams::DEFAULT;
    let r0 = bonus_rate(fx("0.5"), 0, &p).unwrap();
    let r1 = bonus_rate(fx("0.5"), 600, &p).unwrap();
    assert_eq!(r1 - r0, p.bonus_ramp_per_sec * 600);
    assert_eq!(bonus_rate(fx("0.5"), 1_000_000, &p).unwrap(), p.bonus_cap);
}

#[test]
fn the_planned_fraction_restores_the_target() {
    let p = LiquidationParams::DEFAULT;
    // E = 900, MM = 1000, IM = 1400 (USD, 6 decimals): target 1200.
    let usd = 1_000_000;
    let b = account(900 * usd, 1000 * usd, 1400 * usd);
    let plan = plan(&b, fx("0.3"), 0, &p).unwrap();
    assert_eq!(plan.target, 1200 * usd);
    assert!(plan.restores_target);
    let f: f64 = plan.fraction.to_num();
    let rate: f64 = plan.bonus_rate.to_num();
    // After the slice: E − rate·f·MM ≥ (1 − f)·T, and f is the smallest such (to rounding).
    assert!(900.0 - rate * f * 1000.0 >= (1.0 - f) * 1200.0);
    let f_exact = (1200.0 - 900.0) / (1200.0 - rate * 1000.0);
    assert!(f >= f_exact && f - f_exact < 1e-8, "{f} vs {f_exact}");
}

#[test]
fn high_vol_caps_the_call_and_bankrupt_accounts_go_whole_and_report_the_shortfall() {
    let p = LiquidationParams::DEFAULT;
    // E = 0.9·MM at 200% vol: vol cap 0.125, grown by (1 − 0.9)/(1 − 0.5) = 0.2 of the way to 1.
    let capped = plan(&account(900, 1000, 1400), fx("2"), 0, &p).unwrap();
    assert!(!capped.restores_target);
    assert_eq!(capped.fraction, capped.fraction_cap);
    let expected = 0.125 + 0.875 * 0.2;
    assert!((capped.fraction_cap.to_num::<f64>() - expected).abs() < 1e-8);
    let bankrupt = plan(&account(-250, 1000, 1400), fx("0.3"), 0, &p).unwrap();
    assert_eq!(bankrupt.shortfall, 250);
    assert!(!bankrupt.restores_target);
    assert_eq!(
        (bankrupt.fraction, bankrupt.fraction_cap),
        (Fx::ONE, Fx::ONE)
    );
    // Nothing left to pay a bonus from: the floor bonus_min only.
    assert_eq!(bankrupt.bonus_rate, p.bonus_min);
    let flat = plan(&account(-10, 0, 0), fx("0.3"), 0, &p).unwrap();
    assert_eq!((flat.fraction, flat.shortfall), (Fx::ZERO, 10));
}

#[test]
fn bonus_and_insurance_round_up() {
    let p = LiquidationParams::DEFAULT;
    let (b, fee) = bonus(fx("0.05"), fx("0.5"), 1001, &p).unwrap();
    assert_eq!(b, 26); // ⌈0.05 × ⌈500.5⌉⌉
    assert_eq!(fee, 6); // ⌈0.2 × 26⌉
}

#[test]
fn slices_round_up_and_never_exceed_the_position() {
    assert_eq!(slice(10, fx("0.25")).unwrap(), 3);
    assert_eq!(slice(-10, fx("0.25")).unwrap(), -3);
    assert_eq!(slice(1, fx("0.01")).unwrap(), 1);
    assert_eq!(slice(7, Fx::ONE).unwrap(), 7);
    assert_eq!(slice(0, fx("0.5")).unwrap(), 0);
    assert_eq!(slice(i64::MIN, Fx::ONE).unwrap(), i64::MIN);
    assert_eq!(slice(i64::MAX, fx("0.5")).unwrap(), i64::MAX / 2 + 1);
}

#[test]
fn the_cap_grows_to_the_whole_account_as_equity_nears_the_danger_level() {
    let p = LiquidationParams::DEFAULT; // δ = 0.5
    let sigma = fx("1"); // vol cap 0.25
    let vol_cap = fraction_cap(sigma, &p).unwrap();
    assert!((vol_cap - fx("0.25")).abs() <= Fx::DELTA);
    let mm = 1_000_000_000;
    let mut caps = [Fx::ZERO; 21];
    for (i, c) in caps.iter_mut().enumerate() {
        *c = urgency_cap(sigma, mm - i as i64 * mm / 20, mm, &p).unwrap();
    }
    assert_eq!(caps[0], vol_cap); // E = MM
    assert!(caps.windows(2).all(|w| w[0] <= w[1]), "{caps:?}");
    // E = 0.75·MM: halfway from MM to δ·MM.
    assert!((caps[5].to_num::<f64>() - (0.25 + 0.75 * 0.5)).abs() < 1e-8);
    // At the danger level, below it, and at or below zero equity: the whole account.
    assert!(caps[10..].iter().all(|&c| c == Fx::ONE));
    assert!(caps[..10].iter().all(|&c| c < Fx::ONE));
    assert_eq!(urgency_cap(sigma, -5, mm, &p).unwrap(), Fx::ONE);
    let whole = plan(&account(mm / 2, mm, 14 * mm / 10), sigma, 0, &p).unwrap();
    assert_eq!(whole.fraction, Fx::ONE);
    // δ = 0: the cap reaches 1 only at zero equity; δ = 1: always the whole account.
    let mut q = p;
    q.danger_mm_fraction = Fx::ZERO;
    assert!(urgency_cap(sigma, mm / 100, mm, &q).unwrap() < Fx::ONE);
    assert_eq!(urgency_cap(sigma, 0, mm, &q).unwrap(), Fx::ONE);
    q.danger_mm_fraction = Fx::ONE;
    assert_eq!(urgency_cap(sigma, mm - 1, mm, &q).unwrap(), Fx::ONE);
}

#[test]
fn a_slice_never_pays_more_bonus_than_the_equity_it_carries() {
    let mut p = LiquidationParams::DEFAULT;
    p.danger_mm_fraction = Fx::ZERO; // partial steps all the way down
    let usd = 1_000_000;
    for e in [30, 100, 200, 300, 349, 600, 900] {
        let b = account(e * usd, 1000 * usd, 1400 * usd);
        // Ramp at its cap: rate 35% of MM.
        let plan = plan(&b, fx("0.5"), 1_000_000, &p).unwrap();
        let d = e as f64 / 1000.0;
        assert!(plan.bonus_rate.to_num::<f64>() <= d.max(p.bonus_min.to_num::<f64>()));
        let (bonus, _) = bonus(plan.bonus_rate, plan.fraction, b.mm, &p).unwrap();
        let f: f64 = plan.fraction.to_num();
        // E/MM does not fall: (E − bonus)/((1 − f)·MM) ≥ E/MM, to a unit of rounding.
        let after = (b.equity_mm - bonus) as f64;
        assert!(
            after >= (1.0 - f) * b.equity_mm as f64 - 2.0,
            "E {e}: bonus {bonus}, f {f}"
        );
        if e >= 350 {
            assert_eq!(plan.bonus_rate, p.bonus_cap); // the limit did not bind
        }
    }
    // The whole account at the danger level pays at most its equity (bonus_min floor aside).
    let b = account(200 * usd, 1000 * usd, 1400 * usd);
    let whole = plan(&b, fx("0.5"), 1_000_000, &LiquidationParams::DEFAULT).unwrap();
    let (paid, _) = bonus(whole.bonus_rate, whole.fraction, b.mm, &p).unwrap();
    assert_eq!(whole.fraction, Fx::ONE);
    assert!((paid - 200 * usd).abs() <= 1, "{paid}");
}

#[test]
fn the_trigger_moves_earlier_as_vol_rises_and_never_above_im() {
    let p = LiquidationParams::DEFAULT; // b = 1, reference vol 50%
    let b = account(1100, 1000, 1400);
    assert_eq!(trigger_level(&b, fx("0.5"), &p).unwrap(), 1000);
    assert_eq!(trigger_level(&b, fx("0.3"), &p).unwrap(), 1000);
    // 60% vol: (0.6 − 0.5)/0.5 = 0.2 above MM (rounded up: 0.6 is not exact in Q32.32).
    assert!((1200..=1201).contains(&trigger_level(&b, fx("0.6"), &p).unwrap()));
    assert_eq!(trigger_level(&b, fx("5"), &p).unwrap(), 1400);
    assert_eq!(plan(&b, fx("0.5"), 0, &p), Err(RiskError::NotLiquidatable));
    assert!(!is_liquidatable(&b, fx("0.5"), &p).unwrap());
    assert!(is_liquidatable(&b, fx("0.6"), &p).unwrap());
    let early = plan(&b, fx("0.6"), 0, &p).unwrap();
    // The target sits τ of the way from the raised level to IM: 1200 + 0.5·200.
    assert!((1300..=1301).contains(&early.target), "{}", early.target);
    assert!(early.restores_target && early.fraction > Fx::ZERO);
    // At IM nothing is liquidatable, whatever the vol.
    let at_im = account(1400, 1000, 1400);
    assert!(!is_liquidatable(&at_im, fx("50"), &p).unwrap());
    // b = 0 (an exchange created before the field): the trigger is MM.
    let mut q = p;
    q.trigger_vol_buffer = Fx::ZERO;
    assert_eq!(trigger_level(&b, fx("5"), &q).unwrap(), 1000);
    assert!(!is_liquidatable(&b, fx("5"), &q).unwrap());
}

/// An account over markets with margin vols `sigma` and realised vols `realised`.
fn stressed_account(equity: i64, mm: i64, im: i64, vols: &[(&str, &str)]) -> MarginBreakdown {
    let mut b = account(equity, mm, im);
    b.n_markets = vols.len() as u8;
    for (m, (sigma, realised)) in b.markets.iter_mut().zip(vols) {
        m.sigma = fx(sigma);
        m.realised_sigma = fx(realised);
    }
    b
}

#[test]
fn realised_stress_is_the_largest_ratio_between_one_and_the_cap() {
    let mut p = LiquidationParams::DEFAULT;
    assert_eq!(p.realised_stress_cap, fx("2"));
    let one = |v: &[(&str, &str)], p: &LiquidationParams| {
        realised_stress(&stressed_account(0, 1, 1, v), p)
    };
    // Below or at the margin vol, or none kept: no stress.
    assert_eq!(one(&[("0.5", "0.4")], &p), Fx::ONE);
    assert_eq!(one(&[("0.5", "0.5")], &p), Fx::ONE);
    assert_eq!(one(&[("0.5", "0")], &p), Fx::ONE);
    // The largest ratio over the markets, rounded up.
    let k = one(&[("0.5", "0.6"), ("0.4", "0.6")], &p);
    assert!(k >= fx("1.5") && k - fx("1.5") <= Fx::DELTA * 4, "{k}");
    // Capped, and the cap read exactly.
    assert_eq!(one(&[("0.5", "0.6"), ("0.4", "1.0")], &p), fx("2"));
    p.realised_stress_cap = fx("3");
    assert!((one(&[("0.4", "1.0")], &p) - fx("2.5")).abs() <= Fx::DELTA * 4);
    // A cap of 1 or less (an exchange created before the field) is no stress at all.
    for cap in ["1", "0"] {
        p.realised_stress_cap = fx(cap);
        assert_eq!(one(&[("0.4", "1.0")], &p), Fx::ONE);
    }
    // Markets past n_markets do not count.
    let mut b = stressed_account(0, 1, 1, &[("0.5", "0.5"), ("0.1", "1")]);
    b.n_markets = 1;
    assert_eq!(realised_stress(&b, &LiquidationParams::DEFAULT), Fx::ONE);
}

#[test]
fn while_realised_vol_runs_ahead_an_account_at_im_is_liquidated_earlier_to_more() {
    let p = LiquidationParams::DEFAULT;
    let usd = 1_000_000i64;
    // MM 1000, IM 1400; the margin vol 0.4 is below the reference (no vol buffer).
    let (mm, im) = (1000 * usd, 1400 * usd);
    let calm = stressed_account(1400 * usd, mm, im, &[("0.4", "0.3")]);
    assert!(!is_liquidatable(&calm, fx("0.4"), &p).unwrap());
    // Realised vol at twice the margin vol: MM and IM read as 2000 and 2800.
    let b = stressed_account(1400 * usd, mm, im, &[("0.4", "0.8")]);
    assert_eq!(stressed_margins(&b, &p), (2000 * usd, 2800 * usd));
    assert_eq!(trigger_level(&b, fx("0.4"), &p).unwrap(), 2000 * usd);
    assert!(is_liquidatable(&b, fx("0.4"), &p).unwrap());
    // Exactly at the stressed trigger: not liquidatable (strictly below is).
    let at = stressed_account(2000 * usd, mm, im, &[("0.4", "0.8")]);
    assert!(!is_liquidatable(&at, fx("0.4"), &p).unwrap());
    let plan = plan(&b, fx("0.4"), 0, &p).unwrap();
    // The target lies between the stressed trigger and the stressed IM.
    assert_eq!(plan.target, 2400 * usd);
    // The bonus stays a rate of the real MM, limited by E/MM (1.4): the base rate here.
    assert_eq!(plan.bonus_rate, bonus_rate(fx("0.4"), 0, &p).unwrap());
    // Danger level at δ·k·MM = 1000: an account with E = MM goes whole, where unstressed it
    // would take a capped slice.
    let edge = stressed_account(1000 * usd, mm, im, &[("0.4", "0.8")]);
    assert_eq!(plan_of(&edge, &p).fraction, Fx::ONE);
    let unstressed = stressed_account(999 * usd, mm, im, &[("0.4", "0.3")]);
    assert!(plan_of(&unstressed, &p).fraction < Fx::ONE);
}

fn plan_of(b: &MarginBreakdown, p: &LiquidationParams) -> LiquidationPlan {
    plan(b, fx("0.4"), 0, p).unwrap()
}

#[test]
fn withdrawable_stops_at_im_and_at_the_stressed_trigger() {
    let p = LiquidationParams::DEFAULT;
    let with = |e_mm: i64, e_im: i64, vols: &[(&str, &str)]| {
        let mut b = stressed_account(e_mm, 1000, 1400, vols);
        (b.equity_im, b.collateral) = (e_im, 1_000_000);
        withdrawable(&b, &p).unwrap()
    };
    // No stress: what IM leaves (the trigger, MM here, is further away).
    assert_eq!(with(1500, 1450, &[("0.4", "0.3")]), 50);
    // Realised vol at twice the margin vol: the trigger (2·MM = 2000) binds, not IM.
    assert_eq!(with(2500, 2450, &[("0.4", "0.8")]), 500);
    // Withdrawing exactly that leaves the account at its trigger, not below it.
    let mut b = stressed_account(2000, 1000, 1400, &[("0.4", "0.8")]);
    b.equity_im = 1950;
    assert!(!is_liquidatable(&b, fx("0.4"), &p).unwrap());
    // Below the trigger, nothing.
    assert_eq!(with(1900, 1850, &[("0.4", "0.8")]), 0);
}

proptest::proptest! {
    /// For any account and vols: k is within [1, cap]; the stressed trigger is never below the
    /// unstressed one nor above k·max(IM, MM) (rounded up); a plan under stress is at least as
    /// large as without; and what may be withdrawn never exceeds what IM alone allows.
    #[test]
    fn the_stress_only_ever_liquidates_earlier_and_more(
        mm in 1i64..1_000_000_000_000,
        im_over in 0i64..1_000_000_000_000,
        e in -1_000_000_000_000i64..4_000_000_000_000,
        sigma in (1i64 << 26)..(8i64 << 32),
        realised in 0i64..(20i64 << 32),
        cap in 0i64..(4i64 << 32),
    ) {
        let mut p = LiquidationParams::DEFAULT;
        p.realised_stress_cap = Fx::from_bits(cap);
        let im = mm + im_over;
        let mut b = account(e, mm, im);
        (b.equity_im, b.collateral) = (e, e.max(0));
        b.n_markets = 1;
        b.markets[0].sigma = Fx::from_bits(sigma);
        let calm = b;
        b.markets[0].realised_sigma = Fx::from_bits(realised);
        let s = Fx::from_bits(sigma);
        let k = realised_stress(&b, &p);
        proptest::prop_assert!(k >= Fx::ONE && k.to_bits() <= cap.max(1 << 32));
        let (lo, hi) = (trigger_level(&calm, s, &p).unwrap(), trigger_level(&b, s, &p).unwrap());
        proptest::prop_assert!(hi >= lo);
        let bound = ((im as i128 * k.to_bits() as i128) >> 32) as i64 + 1;
        proptest::prop_assert!(hi <= bound, "{} > {}", hi, bound);
        if is_liquidatable(&calm, s, &p).unwrap() {
            proptest::prop_assert!(is_liquidatable(&b, s, &p).unwrap());
            let (a, z) = (plan(&calm, s, 0, &p).unwrap(), plan(&b, s, 0, &p).unwrap());
            proptest::prop_assert!(z.fraction >= a.fraction, "{:?} < {:?}", z, a);
        }
        proptest::prop_assert!(withdrawable(&b, &p).unwrap() <= b.withdrawable());
        proptest::prop_assert!(withdrawable(&b, &p).unwrap() <= withdrawable(&calm, &p).unwrap());
        // The report's status is these functions, computed once.
        let st = status(&b, &p).unwrap();
        proptest::prop_assert_eq!(st, LiquidationStatus {
            level: trigger_level(&b, max_sigma(&b), &p).unwrap(),
            liquidatable: is_liquidatable(&b, max_sigma(&b), &p).unwrap(),
            withdrawable: withdrawable(&b, &p).unwrap(),
            stress: k,
        });
    }
}
