//! f64 Black-76 (rate 0): the *market* marks of the backtest (options valued at the implied vol
//! of the day), independent of keel-risk's fixed-point pricing.

use crate::stats::norm_cdf;

/// Seconds in keel-risk's 365-day year.
pub const YEAR: f64 = 31_536_000.0;

/// Value of a call (`call = true`) or put on forward `f`, strike `k`, vol `sigma`, `t_secs` to
/// expiry; intrinsic at or after expiry or at zero vol.
pub fn black76(call: bool, f: f64, k: f64, sigma: f64, t_secs: f64) -> f64 {
    let w = sigma.max(0.0) * (t_secs.max(0.0) / YEAR).sqrt();
    if w <= 1e-12 {
        return if call {
            (f - k).max(0.0)
        } else {
            (k - f).max(0.0)
        };
    }
    let d1 = (f / k).ln() / w + w / 2.0;
    let d2 = d1 - w;
    if call {
        f * norm_cdf(d1) - k * norm_cdf(d2)
    } else {
        k * norm_cdf(-d2) - f * norm_cdf(-d1)
    }
}

/// Delta of a call or put (∂V/∂F).
pub fn delta(call: bool, f: f64, k: f64, sigma: f64, t_secs: f64) -> f64 {
    let w = sigma.max(0.0) * (t_secs.max(0.0) / YEAR).sqrt();
    if w <= 1e-12 {
        return match (call, f > k, f < k) {
            (true, true, _) => 1.0,
            (false, _, true) => -1.0,
            _ => 0.0,
        };
    }
    let n1 = norm_cdf((f / k).ln() / w + w / 2.0);
    if call {
        n1
    } else {
        n1 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_value_and_parity() {
        // Hull, Options, Futures and Other Derivatives (Black's model example): F = 20, K = 20,
        // σ = 25%, T = 4 months, r = 0 → call = put = 20·(2N(w/2) − 1), w = 0.25·√(1/3).
        let t = YEAR / 3.0;
        let c = black76(true, 20.0, 20.0, 0.25, t);
        let w: f64 = 0.25 * (1.0f64 / 3.0).sqrt();
        assert!((c - 20.0 * (2.0 * norm_cdf(w / 2.0) - 1.0)).abs() < 1e-12);
        assert!((c - 1.1506).abs() < 1e-4, "{c}");
        for k in [50.0, 90.0, 100.0, 130.0] {
            let (c, p) = (
                black76(true, 100.0, k, 0.6, 30.0 * 86_400.0),
                black76(false, 100.0, k, 0.6, 30.0 * 86_400.0),
            );
            assert!((c - p - (100.0 - k)).abs() < 1e-9);
        }
        assert_eq!(black76(false, 80.0, 100.0, 0.5, 0.0), 20.0);
        assert_eq!(delta(true, 120.0, 100.0, 0.0, 10.0), 1.0);
    }
}
