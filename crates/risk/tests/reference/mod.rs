//! f64 reference implementations of keel-risk's formulas, written straight from
//! docs/risk-model.md with no shared code: the fixed-point engine is checked against these.
#![allow(dead_code)]

pub const YEAR: f64 = 31_536_000.0;

pub fn ncdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

pub fn npdf(x: f64) -> f64 {
    (-x * x / 2.0).exp() / (2.0 * core::f64::consts::PI).sqrt()
}

/// Black-76, rate 0. kind: 0 call, 1 put, 2 future.
pub fn black76(kind: u8, f: f64, k: f64, sigma: f64, t_secs: f64) -> f64 {
    if kind == 2 {
        return f;
    }
    let w = sigma * (t_secs.max(0.0) / YEAR).sqrt();
    if w <= 0.0 {
        return if kind == 0 {
            (f - k).max(0.0)
        } else {
            (k - f).max(0.0)
        };
    }
    let d1 = (f / k).ln() / w + w / 2.0;
    let d2 = d1 - w;
    if kind == 0 {
        f * ncdf(d1) - k * ncdf(d2)
    } else {
        k * ncdf(-d2) - f * ncdf(-d1)
    }
}

pub struct Greeks {
    pub d1: f64,
    pub w: f64,
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
}

pub fn greeks(kind: u8, f: f64, k: f64, sigma: f64, t_secs: f64) -> Greeks {
    let t = t_secs / YEAR;
    let w = sigma * t.sqrt();
    let d1 = (f / k).ln() / w + w / 2.0;
    let phi = npdf(d1);
    Greeks {
        d1,
        w,
        delta: if kind == 0 { ncdf(d1) } else { ncdf(d1) - 1.0 },
        gamma: phi / w,
        vega: f * phi * t.sqrt() / 100.0,
        theta: -f * phi * sigma / (2.0 * t.sqrt()) / 365.0,
    }
}
