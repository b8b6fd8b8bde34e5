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

/// ∂V/∂ln F from the right and from the left (they differ only at expiry, exactly at the strike).
pub fn slopes(kind: u8, f: f64, k: f64, sigma: f64, t_secs: f64) -> (f64, f64) {
    if kind == 2 {
        return (f, f);
    }
    let w = sigma * (t_secs.max(0.0) / YEAR).sqrt();
    if w <= 0.0 {
        return if kind == 0 {
            (if f >= k { f } else { 0.0 }, if f > k { f } else { 0.0 })
        } else {
            (if f < k { -f } else { 0.0 }, if f <= k { -f } else { 0.0 })
        };
    }
    let d1 = (f / k).ln() / w + w / 2.0;
    let s = if kind == 0 {
        f * ncdf(d1)
    } else {
        -f * ncdf(-d1)
    };
    (s, s)
}

/// The loss bound between adjacent price points a < b (x, P&L, right slope, left slope) where the
/// P&L falls into the interval and rises out of it: minus the value where the tangents meet.
pub fn between(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> Option<f64> {
    let w = b.0 - a.0;
    if w <= 0.0 || a.2 >= 0.0 || b.3 <= 0.0 {
        return None;
    }
    let u = ((b.1 - a.1 - b.3 * w) / (a.2 - b.3)).clamp(0.0, w);
    Some(-(a.1 + a.2 * u))
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

// ---------------------------------------------------------------------------------------------
// Portfolio margin (docs/risk-model.md §4), in f64.

use keel_risk::RiskParams;

pub struct Market<'a> {
    pub spot: f64,
    pub stable: f64,
    pub conf: f64,
    /// Margin vol (the scenario grid).
    pub sigma: f64,
    /// Mark vol (marks, equity, delta).
    pub mark_sigma: f64,
    pub p: &'a RiskParams,
}

pub struct Position {
    pub market: usize,
    pub kind: u8,
    pub strike: f64,
    pub expiry: f64,
    pub qty: f64,
    pub cash: f64,
}

#[derive(Debug, Default)]
pub struct Margin {
    pub im: f64,
    pub mm: f64,
    pub equity_mm: f64,
    pub equity_im: f64,
    pub scan_im: f64,
    pub scan_mm: f64,
    pub addons: f64,
    pub short_min_im: f64,
    pub short_min_mm: f64,
    /// Σ exact IM value of the positions when every one is a long option (the most such an
    /// account can lose: its margin is capped there), else None.
    pub long_value: Option<f64>,
    /// Per market, the strikes of its strike points in priority order.
    pub strikes: Vec<Vec<f64>>,
    pub worst_im: Vec<f64>,
    pub worst_mm: Vec<f64>,
    pub pnl: Vec<Vec<f64>>,
}

fn f(x: keel_risk::Fx) -> f64 {
    x.to_num()
}

/// Scenario log moves, vol multiplier selector and weight, in the engine's documented order:
/// ladder × vol up, ladder × vol down, extreme down/up (vol up), named shocks.
pub fn scenarios(sigma: f64, p: &RiskParams) -> Vec<(f64, usize, f64, bool)> {
    let r = (f(p.im_range_sigmas) * sigma * (p.im_horizon_secs as f64 / YEAR).sqrt())
        .clamp(f(p.range_floor), f(p.range_cap));
    let mut v = Vec::new();
    for level in 0..2 {
        for i in -6i64..=6 {
            v.push((
                r * i as f64 / 6.0,
                level,
                1.0,
                i.unsigned_abs() <= p.mm_steps as u64,
            ));
        }
    }
    let e = f(p.extreme_multiple) * r;
    v.push((-e, 0, f(p.extreme_weight), false));
    v.push((e, 0, f(p.extreme_weight), false));
    for (k, n) in p.named_shocks.iter().enumerate() {
        v.push((f(n.ln_move), 2 + k, f(n.weight), false));
    }
    v
}

/// Strike points per vol level (docs/risk-model.md §4.1).
pub const STRIKE_POINTS: usize = 2;

/// The strike points of one market: the distinct strikes of its options (qty ≠ 0) strictly inside
/// the IM range, sharpest first (least total vol left at the end of the horizon), then nearest to
/// spot, then lowest; at most STRIKE_POINTS. Returns (ln(K/S), K).
pub fn strike_points(
    m: &Market,
    positions: &[Position],
    market: usize,
    now: f64,
) -> Vec<(f64, f64)> {
    let r = (f(m.p.im_range_sigmas) * m.sigma * (m.p.im_horizon_secs as f64 / YEAR).sqrt())
        .clamp(f(m.p.range_floor), f(m.p.range_cap));
    let mut c: Vec<(f64, f64, f64)> = Vec::new(); // (w_end, |x|, K)
    for p in positions {
        if p.market != market || p.kind == 2 || p.qty == 0.0 {
            continue;
        }
        let t = (p.expiry - now).min(10.0 * YEAR);
        let t_end = (t - m.p.im_horizon_secs as f64).max(0.0);
        let w_end = m.sigma * (t_end / YEAR).sqrt();
        let x = (p.strike / m.spot).ln();
        if x.abs() >= r {
            continue;
        }
        match c.iter_mut().find(|e| e.2 == p.strike) {
            Some(e) => {
                if (w_end, x.abs()) < (e.0, e.1) {
                    *e = (w_end, x.abs(), p.strike);
                }
            }
            None => c.push((w_end, x.abs(), p.strike)),
        }
    }
    c.sort_by(|a, b| a.partial_cmp(b).unwrap());
    c.iter()
        .take(STRIKE_POINTS)
        .map(|&(_, _, k)| ((k / m.spot).ln(), k))
        .collect()
}

pub fn vol_mults(t: f64, p: &RiskParams) -> [f64; 4] {
    let tt = t.max(p.vol_ts_min_secs as f64).max(1.0);
    let pw = if tt < p.vol_ts_ref_secs as f64 {
        f(p.vol_ts_power_short)
    } else {
        f(p.vol_ts_power_long)
    };
    let factor = (p.vol_ts_ref_secs as f64 / tt).powf(pw);
    [
        1.0 + f(p.vol_up) * factor,
        (1.0 - f(p.vol_down) * factor).max(f(p.vol_down_floor)),
        f(p.named_shocks[0].vol_mult),
        f(p.named_shocks[1].vol_mult),
    ]
}

fn delta(kind: u8, s: f64, k: f64, sigma: f64, t: f64) -> f64 {
    if kind == 2 {
        return 1.0;
    }
    let w = sigma * (t.max(0.0) / YEAR).sqrt();
    if w <= 0.0 {
        return match kind {
            0 if s > k => 1.0,
            1 if s < k => -1.0,
            _ => 0.0,
        };
    }
    let n1 = ncdf((s / k).ln() / w + w / 2.0);
    if kind == 0 {
        n1
    } else {
        n1 - 1.0
    }
}

pub fn margin(
    collateral: f64,
    positions: &[Position],
    markets: &[Market],
    rho: &[[f64; 4]; 4],
    max_offset: f64,
    now: f64,
) -> Margin {
    let mut out = Margin::default();
    let mut strikes: Vec<Vec<f64>> = Vec::new();
    // The fixed grid, then each strike point at vol up and at vol down (MM when inside the MM
    // range: the ladder's MM edge). Forwards are S·e^x (for a strike point, K).
    let scen: Vec<Vec<(f64, usize, f64, bool)>> = markets
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut v = scenarios(m.sigma, m.p);
            let edge = v[6 + m.p.mm_steps.min(6) as usize].0;
            let pts = strike_points(m, positions, i, now);
            strikes.push(pts.iter().map(|p| p.1).collect());
            for lvl in 0..2 {
                for &(x, _) in &pts {
                    v.push((x, lvl, 1.0, x.abs() <= edge));
                }
                // Unused slots: no scenario (P&L 0, never a loss).
                for _ in pts.len()..STRIKE_POINTS {
                    v.push((f64::NAN, lvl, 0.0, false));
                }
            }
            v
        })
        .collect();
    out.pnl = scen.iter().map(|s| vec![0.0; s.len()]).collect();
    // Forwards: S·e^x on the fixed grid, exactly K at a strike point (the kink is at the point).
    let fwd: Vec<Vec<f64>> = scen
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.iter()
                .enumerate()
                .map(|(s, &(x, _, _, _))| {
                    if s >= 30 && !x.is_nan() {
                        strikes[i][(s - 30) % STRIKE_POINTS]
                    } else {
                        markets[i].spot * x.exp()
                    }
                })
                .collect()
        })
        .collect();
    out.strikes = strikes;
    let mut slope: Vec<Vec<(f64, f64)>> = scen.iter().map(|s| vec![(0.0, 0.0); s.len()]).collect();
    let mut nd = vec![0.0; markets.len()];
    let mut short_im = 0.0;
    let mut short_mm = 0.0;
    let mut eq_mm = collateral;
    let mut eq_im = collateral;
    for pos in positions {
        let m = &markets[pos.market];
        let t = (pos.expiry - now).min(10.0 * YEAR);
        let mark = black76(pos.kind, m.spot, pos.strike, m.mark_sigma, t);
        let mark_st = black76(pos.kind, m.stable, pos.strike, m.mark_sigma, t);
        let mults = vol_mults(t, m.p);
        // Scenarios at the end of the margin horizon (docs/risk-model.md §4.2).
        let t_end = (t - m.p.im_horizon_secs as f64).max(0.0);
        for (s, &(x, lvl, _, _)) in scen[pos.market].iter().enumerate() {
            if x.is_nan() {
                continue;
            }
            let v = black76(
                pos.kind,
                fwd[pos.market][s],
                pos.strike,
                m.sigma * mults[lvl],
                t_end,
            );
            out.pnl[pos.market][s] += pos.qty * (v - mark);
            let (r, l) = slopes(
                pos.kind,
                fwd[pos.market][s],
                pos.strike,
                m.sigma * mults[lvl],
                t_end,
            );
            slope[pos.market][s].0 += pos.qty * r;
            slope[pos.market][s].1 += pos.qty * l;
        }
        nd[pos.market] += pos.qty * delta(pos.kind, m.spot, pos.strike, m.mark_sigma, t);
        if pos.kind != 2 && pos.qty < 0.0 {
            short_im += -pos.qty * m.spot * f(m.p.short_min_im);
            short_mm += -pos.qty * m.spot * f(m.p.short_min_mm);
        }
        eq_mm += pos.qty * mark + pos.cash;
        let v_im = (pos.qty * mark).min(pos.qty * mark_st) + pos.cash;
        eq_im += if v_im > 0.0 {
            v_im * (1.0 - f(m.p.long_haircut))
        } else {
            v_im
        };
    }
    let mut addons = 0.0;
    for (i, m) in markets.iter().enumerate() {
        let mut wi: f64 = 0.0;
        let mut wm: f64 = 0.0;
        for (s, &(_, _, w, in_mm)) in scen[i].iter().enumerate() {
            let loss = -out.pnl[i][s];
            if loss > 0.0 {
                wi = wi.max(w * loss);
                if in_mm {
                    wm = wm.max(loss);
                }
            }
        }
        // Between adjacent price points of each vol level (ladder and strike points).
        for lvl in 0..2 {
            let mut pts: Vec<(f64, f64, f64, f64, bool)> = Vec::new();
            for (s, &(x, l, _, mm)) in scen[i].iter().enumerate() {
                let on_ladder = s < 26 && s / 13 == lvl;
                let strike = s >= 30 && l == lvl && !x.is_nan();
                if on_ladder || strike {
                    pts.push((x, out.pnl[i][s], slope[i][s].0, slope[i][s].1, mm));
                }
            }
            pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            for p in pts.windows(2) {
                let (a, b) = (p[0], p[1]);
                if let Some(loss) = between((a.0, a.1, a.2, a.3), (b.0, b.1, b.2, b.3)) {
                    wi = wi.max(loss);
                    if a.4 && b.4 {
                        wm = wm.max(loss);
                    }
                }
            }
        }
        out.worst_im.push(wi);
        out.worst_mm.push(wm);
        let n = nd[i].abs() * m.spot;
        addons += f(m.p.conf_multiple) * m.conf * nd[i].abs();
        addons += f(m.p.impact_coef)
            * m.sigma
            * (m.p.im_horizon_secs as f64 / YEAR).sqrt()
            * n
            * (n / m.p.liquidity_notional as f64).sqrt();
    }
    let combine = |l: &[f64]| {
        let total: f64 = l.iter().sum();
        if total == 0.0 || max_offset == 0.0 || l.len() < 2 {
            return total;
        }
        let mut q = 0.0;
        for u in 0..l.len() {
            for v in 0..l.len() {
                q += if u == v { 1.0 } else { rho[u][v] } * l[u] * l[v];
            }
        }
        q.sqrt().max((1.0 - max_offset) * total)
    };
    out.scan_im = combine(&out.worst_im);
    out.scan_mm = combine(&out.worst_mm);
    out.addons = addons;
    out.short_min_im = short_im;
    out.short_min_mm = short_mm;
    out.mm = (out.scan_mm + addons).max(short_mm);
    out.im = (out.scan_im + addons).max(short_im).max(out.mm);
    let long_only = positions
        .iter()
        .all(|p| p.cash >= 0.0 && (p.qty == 0.0 || (p.qty > 0.0 && p.kind != 2)));
    if long_only {
        let v = (eq_im - collateral).max(0.0);
        out.long_value = Some(v);
        out.mm = out.mm.min(v);
        out.im = out.im.min(v);
    }
    out.equity_mm = eq_mm;
    out.equity_im = eq_im;
    out
}
