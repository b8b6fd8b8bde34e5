use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

#[test]
fn chi2_critical_values() {
    // Textbook 5% critical values: 3.841 (1 df), 5.991 (2 df).
    assert!(close(chi2_sf(3.841_458_820_694_124, 1), 0.05, 1e-9));
    assert!(close(chi2_sf(5.991_464_547_107_979, 2), 0.05, 1e-9));
    assert!(close(chi2_sf(6.634_896_601_021_214, 1), 0.01, 1e-9));
    assert_eq!(chi2_sf(0.0, 1), 1.0);
    assert!(close(norm_cdf(1.959_963_984_540_054), 0.975, 1e-12));
}

#[test]
fn kupiec_non_rejection_regions_of_jorion() {
    // Jorion, Value at Risk (Table 6-3, after Kupiec 1995): at p = 1% and 5% test size the
    // non-rejection region is 1 < N < 11 for T = 510 and 4 < N < 17 for T = 1000; for T = 255 the
    // upper bound is N < 7.
    let accepted =
        |t: u64| -> Vec<u64> { (0..40).filter(|&x| kupiec(t, x, 0.01).p > 0.05).collect() };
    assert_eq!(accepted(510), (2..=10).collect::<Vec<_>>());
    assert_eq!(accepted(1000), (5..=16).collect::<Vec<_>>());
    assert_eq!(*accepted(255).last().unwrap(), 6);
    // Exactly at the expected count the statistic is 0.
    assert_eq!(kupiec(1000, 10, 0.01).stat, 0.0);
    // Worked value: T = 1000, N = 17: LR = 4.0910, p = 0.0431.
    let t = kupiec(1000, 17, 0.01);
    assert!(close(t.stat, 4.090_972_554_545_601, 1e-9), "{t:?}");
    assert!(close(t.p, 0.043_112_828_006_510_28, 1e-7), "{t:?}");
    // Zero exceedances in a long sample is over-coverage and rejects too.
    assert!(kupiec(1800, 0, 0.01).p < 1e-6);
}

/// The hit sequence of the worked example: 168 days, 8 exceedances, 3 of them right after
/// another (transition counts n00 = 154, n01 = 5, n10 = 5, n11 = 3).
fn clustered() -> Vec<bool> {
    let mut s = String::new();
    for (c, n) in [
        ('0', 40),
        ('1', 1),
        ('0', 30),
        ('1', 2),
        ('0', 25),
        ('1', 1),
        ('0', 10),
        ('1', 3),
        ('0', 50),
        ('1', 1),
        ('0', 5),
    ] {
        s.extend(std::iter::repeat_n(c, n));
    }
    s.chars().map(|c| c == '1').collect()
}

#[test]
fn christoffersen_worked_example() {
    let h = clustered();
    assert_eq!(transitions(&h), [[154, 5], [5, 3]]);
    // LR_ind = −2 ln[(1−π)^(n00+n10) π^(n01+n11)] + 2 ln[(1−π01)^n00 π01^n01 (1−π11)^n10 π11^n11]
    // with π = 8/167, π01 = 5/159, π11 = 3/8 (computed by hand in f64).
    let t = christoffersen(&h);
    assert!(close(t.stat, 9.206_564_925_462_68, 1e-10), "{t:?}");
    assert!(close(t.p, 0.002_411_487_612_862_902_7, 1e-8), "{t:?}");
    let cc = conditional_coverage(&h, 0.01);
    assert!(close(cc.stat, 21.780_183_836_599_57, 1e-10), "{cc:?}");
    assert!(close(cc.p, 1.864_202_870_917_792_7e-5, 1e-7), "{cc:?}");
    // The same hits spread out evenly are not clustered.
    let mut even = vec![false; 168];
    for i in 0..8 {
        even[10 + i * 20] = true;
    }
    assert!(christoffersen(&even).p > 0.3);
    // No hit: nothing to test.
    assert_eq!(christoffersen(&[false; 50]).p, 1.0);
}

#[test]
fn basel_traffic_light_table() {
    // The Committee's 1996 table for 250 observations at 99%: cumulative probabilities
    // 8.11%, 28.58%, 54.32%, 75.81%, 89.22%, 95.88%, 98.63%, 99.60%, 99.89%, 99.97%, 99.99%.
    let table = [
        8.11, 28.58, 54.32, 75.81, 89.22, 95.88, 98.63, 99.60, 99.89, 99.97, 99.99,
    ];
    for (x, want) in table.iter().enumerate() {
        let got = binom_cdf(250, x as u64, 0.01) * 100.0;
        assert!((got - want).abs() < 0.006, "{x}: {got} vs {want}");
    }
    let zones: Vec<Zone> = (0..12).map(|x| basel_zone(250, x, 0.01)).collect();
    assert_eq!(&zones[..5], &[Zone::Green; 5]);
    assert_eq!(&zones[5..10], &[Zone::Yellow; 5]);
    assert_eq!(&zones[10..], &[Zone::Red; 2]);
}

#[test]
fn expected_shortfall_is_the_mean_of_the_worst_tail() {
    let losses: Vec<f64> = (1..=200).map(|i| i as f64).collect();
    // 1% of 200 = the worst 2: (200 + 199) / 2.
    assert_eq!(expected_shortfall(&losses, 0.99), 199.5);
    // 2.5% of 200 = the worst 5.
    assert_eq!(expected_shortfall(&losses, 0.975), 198.0);
    // Fewer than 100 observations still count the worst one.
    assert_eq!(expected_shortfall(&[3.0, -1.0, 7.0], 0.99), 7.0);
    assert!(expected_shortfall(&[], 0.99).is_nan());
    assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
}

#[test]
fn diebold_mariano_worked_example() {
    let d = [1.0, 2.0, 3.0, 4.0, 5.0];
    // Lag 0: d̄ = 3, γ0 = 2, DM = 3/√(2/5) = 4.743416.
    let t = diebold_mariano(&d, 0);
    assert!(close(t.stat, 3.0 / (0.4f64).sqrt(), 1e-12), "{t:?}");
    assert!(close(
        t.p,
        2.0 * (1.0 - norm_cdf(4.743_416_490_252_569)),
        1e-9
    ));
    // Lag 1 (Bartlett weight 1/2): γ1 = 0.8, LRV = 2 + 0.8 = 2.8, DM = 3/√(2.8/5) = 4.008919.
    let t1 = diebold_mariano(&d, 1);
    assert!(close(t1.stat, 4.008_918_628_686_366, 1e-12), "{t1:?}");
    // Symmetric: swapping the models flips the sign, not the p-value.
    let neg: Vec<f64> = d.iter().map(|v| -v).collect();
    let tn = diebold_mariano(&neg, 1);
    assert_eq!(tn.stat, -t1.stat);
    assert_eq!(tn.p, t1.p);
    // Equal forecasts: no evidence either way.
    let zero = [0.0; 30];
    assert_eq!(diebold_mariano(&zero, 3).p, 1.0);
    assert_eq!(nw_lag(1000), 6);
}

#[test]
fn least_squares_worked_and_exact() {
    // y on [1, x] through (0,1), (1,3), (2,5), (3,7.5): a = 0.9, b = 2.15 by the normal equations.
    let x: Vec<Vec<f64>> = (0..4).map(|i| vec![1.0, i as f64]).collect();
    let b = least_squares(&x, &[1.0, 3.0, 5.0, 7.5], 0.0).unwrap();
    assert!(close(b[0], 0.9, 1e-12) && close(b[1], 2.15, 1e-12), "{b:?}");
    // Ridge shrinks the slope but not the intercept's column.
    let r = least_squares(&x, &[1.0, 3.0, 5.0, 7.5], 10.0).unwrap();
    assert!(r[1] < b[1] && r[1] > 0.0);
    // Singular design.
    let s: Vec<Vec<f64>> = (0..4).map(|_| vec![1.0, 2.0]).collect();
    assert!(least_squares(&s, &[1.0, 2.0, 3.0, 4.0], 0.0).is_none());
}
