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
fn high_vol_caps_the_call_and_bankrupt_accounts_report_the_shortfall() {
    let p = LiquidationParams::DEFAULT;
    let capped = plan(&account(500, 1000, 1400), fx("2"), 0, &p).unwrap();
    assert!(!capped.restores_target);
    assert_eq!(capped.fraction, capped.fraction_cap);
    let bankrupt = plan(&account(-250, 1000, 1400), fx("0.3"), 0, &p).unwrap();
    assert_eq!(bankrupt.shortfall, 250);
    assert!(!bankrupt.restores_target);
    assert_eq!(bankrupt.fraction, bankrupt.fraction_cap);
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
