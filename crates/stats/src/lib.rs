//! keel-stats: backtest statistics (f64) — Kupiec and Christoffersen tests, the Basel traffic
//! light, rolling exceedance windows ([`rolling`]), expected shortfall, Diebold–Mariano, least
//! squares. One implementation for keel-backtest (history) and keel-monitor (live, beside the
//! keeper).

pub mod rolling;

use serde::Serialize;

/// A test statistic and its p-value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Test {
    /// The statistic (a likelihood ratio, or DM's asymptotically normal statistic).
    pub stat: f64,
    /// Its p-value.
    pub p: f64,
}

/// Standard normal cdf.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Survival function of χ² with 1 or 2 degrees of freedom (the only ones the tests need).
pub fn chi2_sf(x: f64, df: u32) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    match df {
        1 => libm::erfc((x / 2.0).sqrt()),
        2 => (-x / 2.0).exp(),
        _ => f64::NAN,
    }
}

/// k·ln(q) with 0·ln(0) = 0.
fn xlogy(k: f64, q: f64) -> f64 {
    if k == 0.0 {
        0.0
    } else {
        k * q.ln()
    }
}

/// Kupiec's proportion-of-failures test: `x` exceedances in `n` observations against the
/// exceedance probability `p` (0.01 at 99%). LR ~ χ²(1). Two-sided: too few exceedances reject
/// as surely as too many.
pub fn kupiec(n: u64, x: u64, p: f64) -> Test {
    if n == 0 {
        return Test { stat: 0.0, p: 1.0 };
    }
    let (nf, xf) = (n as f64, x as f64);
    let h = xf / nf;
    let null = xlogy(nf - xf, 1.0 - p) + xlogy(xf, p);
    let alt = xlogy(nf - xf, 1.0 - h) + xlogy(xf, h);
    let stat = (-2.0 * (null - alt)).max(0.0);
    Test {
        stat,
        p: chi2_sf(stat, 1),
    }
}

/// Transition counts of a hit sequence: [[n00, n01], [n10, n11]].
pub fn transitions(hits: &[bool]) -> [[u64; 2]; 2] {
    let mut n = [[0u64; 2]; 2];
    for w in hits.windows(2) {
        n[w[0] as usize][w[1] as usize] += 1;
    }
    n
}

/// Christoffersen's independence test on a hit sequence (first-order Markov alternative).
/// LR ~ χ²(1). A sequence without two consecutive observations or without any hit gives 0.
pub fn christoffersen(hits: &[bool]) -> Test {
    let n = transitions(hits);
    let [[n00, n01], [n10, n11]] = n.map(|r| r.map(|v| v as f64));
    let total = n00 + n01 + n10 + n11;
    if total == 0.0 || n01 + n11 == 0.0 || n00 + n10 == 0.0 {
        return Test { stat: 0.0, p: 1.0 };
    }
    let pi = (n01 + n11) / total;
    let pi01 = if n00 + n01 > 0.0 {
        n01 / (n00 + n01)
    } else {
        0.0
    };
    let pi11 = if n10 + n11 > 0.0 {
        n11 / (n10 + n11)
    } else {
        0.0
    };
    let null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi);
    let alt = xlogy(n00, 1.0 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1.0 - pi11) + xlogy(n11, pi11);
    let stat = (-2.0 * (null - alt)).max(0.0);
    Test {
        stat,
        p: chi2_sf(stat, 1),
    }
}

/// Christoffersen's conditional coverage: Kupiec + independence, χ²(2).
pub fn conditional_coverage(hits: &[bool], p: f64) -> Test {
    let x = hits.iter().filter(|&&h| h).count() as u64;
    let stat = kupiec(hits.len() as u64, x, p).stat + christoffersen(hits).stat;
    Test {
        stat,
        p: chi2_sf(stat, 2),
    }
}

/// ln Γ via libm.
fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// Binomial P(X ≤ x) for X ~ B(n, p).
pub fn binom_cdf(n: u64, x: u64, p: f64) -> f64 {
    if x >= n {
        return 1.0;
    }
    let (nf, lp, lq) = (n as f64, p.ln(), (1.0 - p).ln());
    let mut s = 0.0;
    for k in 0..=x {
        let kf = k as f64;
        let ln_c = ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0);
        s += (ln_c + kf * lp + (nf - kf) * lq).exp();
    }
    s.min(1.0)
}

/// Basel traffic-light zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Zone {
    /// Cumulative binomial probability of the count < 95%.
    Green,
    /// < 99.99%.
    Yellow,
    /// ≥ 99.99%.
    Red,
}

/// The Basel zone of `x` exceedances in `n` observations at exceedance probability `p`, by the
/// Committee's cumulative-probability rule (at n = 250, p = 1%: green 0–4, yellow 5–9, red ≥ 10).
pub fn basel_zone(n: u64, x: u64, p: f64) -> Zone {
    let c = binom_cdf(n, x, p);
    if c < 0.95 {
        Zone::Green
    } else if c < 0.9999 {
        Zone::Yellow
    } else {
        Zone::Red
    }
}

/// Expected shortfall at confidence `alpha`: the mean of the worst ⌈(1 − α)·n⌉ losses
/// (losses positive). NaN for an empty sample.
pub fn expected_shortfall(losses: &[f64], alpha: f64) -> f64 {
    let idx = tail_indices(losses, alpha);
    if idx.is_empty() {
        return f64::NAN;
    }
    idx.iter().map(|&i| losses[i]).sum::<f64>() / idx.len() as f64
}

/// Indices of the worst ⌈(1 − α)·n⌉ losses.
pub fn tail_indices(losses: &[f64], alpha: f64) -> Vec<usize> {
    let k = (((1.0 - alpha) * losses.len() as f64) - 1e-9)
        .ceil()
        .max(1.0) as usize;
    let mut idx: Vec<usize> = (0..losses.len()).collect();
    idx.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]));
    idx.truncate(k.min(losses.len()));
    idx
}

/// Empirical quantile (linear interpolation between order statistics), NaN when empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// Mean (NaN when empty).
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Newey–West long-run variance of `d` with `lag` Bartlett-weighted autocovariances
/// (population moments, divisor n).
pub fn long_run_variance(d: &[f64], lag: usize) -> f64 {
    let n = d.len();
    let m = mean(d);
    let gamma =
        |k: usize| -> f64 { (k..n).map(|t| (d[t] - m) * (d[t - k] - m)).sum::<f64>() / n as f64 };
    let mut v = gamma(0);
    for k in 1..=lag.min(n.saturating_sub(1)) {
        v += 2.0 * (1.0 - k as f64 / (lag + 1) as f64) * gamma(k);
    }
    v
}

/// The Newey–West rule-of-thumb lag ⌊4·(n/100)^(2/9)⌋.
pub fn nw_lag(n: usize) -> usize {
    (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize
}

/// Diebold–Mariano test of equal predictive accuracy on the loss differential
/// d_t = L(model A)_t − L(model B)_t: DM = d̄ / √(LRV/n), two-sided normal p-value. DM < 0 means
/// A's losses are smaller. `lag` autocovariances enter the long-run variance (h − 1 for h-step
/// forecasts; more for robustness).
pub fn diebold_mariano(d: &[f64], lag: usize) -> Test {
    let n = d.len();
    if n < 2 {
        return Test {
            stat: f64::NAN,
            p: f64::NAN,
        };
    }
    let lrv = long_run_variance(d, lag);
    if lrv <= 0.0 {
        return Test { stat: 0.0, p: 1.0 };
    }
    let stat = mean(d) / (lrv / n as f64).sqrt();
    Test {
        stat,
        p: 2.0 * (1.0 - norm_cdf(stat.abs())),
    }
}

/// Least squares with an optional ridge penalty `lambda` on every coefficient but the first
/// (the intercept when the first column is ones): β = (XᵀX + λ·I')⁻¹ Xᵀy. `None` when singular.
pub fn least_squares(x: &[Vec<f64>], y: &[f64], lambda: f64) -> Option<Vec<f64>> {
    let k = x.first()?.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, &yi) in x.iter().zip(y) {
        for i in 0..k {
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
            a[i][k] += row[i] * yi;
        }
    }
    for (i, r) in a.iter_mut().enumerate().skip(1) {
        r[i] += lambda;
    }
    solve(a)
}

/// Gaussian elimination with partial pivoting on an augmented k×(k+1) matrix.
fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let k = a.len();
    for c in 0..k {
        let piv = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-300 {
            return None;
        }
        a.swap(c, piv);
        let pivot_row = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    let b: Vec<f64> = (0..k).map(|i| a[i][k] / a[i][i]).collect();
    b.iter().all(|v| v.is_finite()).then_some(b)
}

#[cfg(test)]
mod tests;
