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
    /// Per market, the strike points chosen, ascending.
    pub strikes: Vec<Vec<f64>>,
    pub worst_im: Vec<f64>,
    pub worst_mm: Vec<f64>,
    /// Per market, the P&L at every scenario point (the engine's layout, `keel_risk::array`).
    pub pnl: Vec<Vec<f64>>,
    /// Per market, Σ over longs of qty·gap per interval.
    pub gap: Vec<Vec<f64>>,
}

fn f(x: keel_risk::Fx) -> f64 {
    x.to_num()
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

/// ∂V/∂F from the right and from the left (they differ only at expiry, exactly at the strike).
pub fn deltas(kind: u8, fwd: f64, k: f64, sigma: f64, t_secs: f64) -> (f64, f64) {
    if kind == 2 {
        return (1.0, 1.0);
    }
    let w = sigma * (t_secs.max(0.0) / YEAR).sqrt();
    if w <= 0.0 {
        return if kind == 0 {
            (
                if fwd >= k { 1.0 } else { 0.0 },
                if fwd > k { 1.0 } else { 0.0 },
            )
        } else {
            (
                if fwd < k { -1.0 } else { 0.0 },
                if fwd <= k { -1.0 } else { 0.0 },
            )
        };
    }
    let n1 = ncdf((fwd / k).ln() / w + w / 2.0);
    let d = if kind == 0 { n1 } else { n1 - 1.0 };
    (d, d)
}

/// Ladder steps per IM range, steps beyond it, strike points, mini-ladder half width, mark steps
/// (docs/risk-model.md §4.8).
pub const RANGE_STEPS: i64 = 6;
pub const HALF_WIDTH: i64 = 8;
pub const STRIKE_POINTS: usize = 8;
pub const MOVE_STEPS: i64 = 2;

/// One market's scenario points at an anchor at `now`: per point its ladder (0 up, 1 down, 2/3
/// extreme down/up, 4/5 named), log move and forward. Main ladders: the steps −8…+8 of R/6 and
/// the strike points merged ascending (unused slots repeat the top point); mini ladders: the
/// centre ± 2 steps.
pub struct Points {
    pub range: f64,
    pub step: f64,
    pub strikes: Vec<f64>,
    pub ladder: Vec<usize>,
    pub x: Vec<f64>,
    pub fwd: Vec<f64>,
}

pub fn points(m: &Market, positions: &[Position], market: usize, now: f64) -> Points {
    let p = m.p;
    let r = (f(p.im_range_sigmas) * m.sigma * (p.im_horizon_secs as f64 / YEAR).sqrt())
        .clamp(f(p.range_floor), f(p.range_cap));
    let step = r / RANGE_STEPS as f64;
    let range = step * RANGE_STEPS as f64;
    // Strike points: the account's strikes strictly inside the main ladders, those expiring by
    // now + max age + horizon first, then nearest, then lowest.
    let kinked_by = now + p.array_max_age_secs as f64 + p.im_horizon_secs as f64;
    let mut c: Vec<(bool, f64, f64)> = Vec::new();
    for q in positions {
        if q.market != market || q.kind == 2 || q.qty == 0.0 {
            continue;
        }
        let x = (q.strike / m.spot).ln();
        if x.abs() >= HALF_WIDTH as f64 * step {
            continue;
        }
        let key = (q.expiry > kinked_by, x.abs(), q.strike);
        match c.iter_mut().find(|e| e.2 == q.strike) {
            Some(e) => {
                if (key.0, key.1) < (e.0, e.1) {
                    *e = key;
                }
            }
            None => c.push(key),
        }
    }
    c.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut strikes: Vec<f64> = c.iter().take(STRIKE_POINTS).map(|e| e.2).collect();
    strikes.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut main: Vec<(f64, f64)> = (-HALF_WIDTH..=HALF_WIDTH)
        .map(|i| {
            let x = step * i as f64;
            (x, m.spot * x.exp())
        })
        .collect();
    for &k in &strikes {
        main.push(((k / m.spot).ln(), k));
    }
    main.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    while main.len() < (2 * HALF_WIDTH + 1) as usize + STRIKE_POINTS {
        main.push(*main.last().unwrap());
    }
    let mut out = Points {
        range,
        step,
        strikes,
        ladder: vec![],
        x: vec![],
        fwd: vec![],
    };
    for l in 0..2 {
        for &(x, fw) in &main {
            out.ladder.push(l);
            out.x.push(x);
            out.fwd.push(fw);
        }
    }
    let e = f(p.extreme_multiple) * range;
    let centres = [
        -e,
        e,
        f(p.named_shocks[0].ln_move),
        f(p.named_shocks[1].ln_move),
    ];
    for (j, c) in centres.iter().enumerate() {
        for i in -MOVE_STEPS..=MOVE_STEPS {
            let x = c + step * i as f64;
            out.ladder.push(2 + j);
            out.x.push(x);
            out.fwd.push(m.spot * x.exp());
        }
    }
    out
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
    let pts: Vec<Points> = markets
        .iter()
        .enumerate()
        .map(|(i, m)| points(m, positions, i, now))
        .collect();
    out.strikes = pts.iter().map(|p| p.strikes.clone()).collect();
    out.pnl = pts.iter().map(|p| vec![0.0; p.x.len()]).collect();
    out.gap = pts.iter().map(|p| vec![0.0; p.x.len()]).collect();
    let mut nd = vec![0.0; markets.len()];
    let mut short_im = 0.0;
    let mut short_mm = 0.0;
    let mut eq_mm = collateral;
    let mut eq_im = collateral;
    for pos in positions {
        let m = &markets[pos.market];
        let pm = &pts[pos.market];
        let p = m.p;
        let t = (pos.expiry - now).clamp(0.0, 10.0 * YEAR);
        let age = p.array_max_age_secs as f64;
        let tol = f(p.array_vol_tol);
        let h = p.im_horizon_secs as f64;
        // The bound of the position's side: a long at lo (less time, lower vols), a short at
        // hi (docs/risk-model.md §4.8).
        let long = pos.qty > 0.0;
        let (t_b, vol_f) = if long {
            ((t - age).max(0.0), 1.0 - tol)
        } else {
            (t, 1.0 + tol)
        };
        let (t_lo, t_hi) = ((t - age).max(0.0), t);
        let (ml, mh) = (vol_mults(t_lo, p), vol_mults(t_hi, p));
        let mults = if long {
            [mh[0], ml[1], ml[2], ml[3]]
        } else {
            [ml[0], mh[1], mh[2], mh[3]]
        };
        let (mark, mark_st) = if pos.kind == 2 {
            (m.spot, m.stable)
        } else {
            (
                black76(pos.kind, m.spot, pos.strike, m.mark_sigma * vol_f, t_b),
                black76(pos.kind, m.stable, pos.strike, m.mark_sigma * vol_f, t_b),
            )
        };
        let t_end = (t_b - h).max(0.0);
        let value = |i: usize| {
            let lvl = match pm.ladder[i] {
                0 | 2 | 3 => 0,
                1 => 1,
                l => l - 2,
            };
            black76(
                pos.kind,
                pm.fwd[i],
                pos.strike,
                m.sigma * vol_f * mults[lvl],
                t_end,
            )
        };
        let n = pm.x.len();
        for i in 0..n {
            out.pnl[pos.market][i] += pos.qty * (value(i) - mark);
            if long && pos.kind != 2 && i + 1 < n && pm.ladder[i + 1] == pm.ladder[i] {
                let lvl = match pm.ladder[i] {
                    0 | 2 | 3 => 0,
                    1 => 1,
                    l => l - 2,
                };
                let vol = m.sigma * vol_f * mults[lvl];
                let da = deltas(pos.kind, pm.fwd[i], pos.strike, vol, t_end).0;
                let db = deltas(pos.kind, pm.fwd[i + 1], pos.strike, vol, t_end).1;
                let g = (pm.fwd[i + 1] - pm.fwd[i]) * (db - da).max(0.0) / 4.0;
                out.gap[pos.market][i] += pos.qty * g;
            }
        }
        // Net delta: the slope of the hi mark across the mark-ladder step above the price.
        let ms = pm.step * MOVE_STEPS as f64 / 4.0;
        let (fa, fb) = (m.spot, m.spot * ms.exp());
        let vh = |fw: f64| {
            if pos.kind == 2 {
                fw
            } else {
                black76(pos.kind, fw, pos.strike, m.mark_sigma * (1.0 + tol), t_hi)
            }
        };
        nd[pos.market] += pos.qty * (vh(fb) - vh(fa)) / (fb - fa);
        if pos.kind != 2 && pos.qty < 0.0 {
            short_im += -pos.qty * m.spot * f(p.short_min_im);
            short_mm += -pos.qty * m.spot * f(p.short_min_mm);
        }
        eq_mm += pos.qty * mark + pos.cash;
        let v_im = (pos.qty * mark).min(pos.qty * mark_st) + pos.cash;
        eq_im += if v_im > 0.0 {
            v_im * (1.0 - f(p.long_haircut))
        } else {
            v_im
        };
    }
    let mut addons = 0.0;
    for (i, m) in markets.iter().enumerate() {
        let pm = &pts[i];
        let p = m.p;
        let pnl = &out.pnl[i];
        let gap = &out.gap[i];
        let loss = |j: usize| gap[j] - pnl[j].min(pnl[j + 1]);
        let mm_edge = pm.step * p.mm_steps.min(6) as f64 + 1e-12;
        let im_edge = pm.range + 1e-12;
        let (mut wi, mut wm): (f64, f64) = (0.0, 0.0);
        for j in 0..pm.x.len() - 1 {
            if pm.ladder[j] > 1 || pm.ladder[j + 1] != pm.ladder[j] {
                continue;
            }
            // Intervals inside the range (at the anchor its ends are points).
            let inside = |e: f64| pm.x[j] >= -e && pm.x[j + 1] <= e && pm.x[j + 1] > pm.x[j];
            if inside(im_edge) {
                wi = wi.max(loss(j));
            }
            if inside(mm_edge) {
                wm = wm.max(loss(j));
            }
        }
        // Extremes and named shocks: the centre point of their mini ladder.
        let weights = [
            f(p.extreme_weight),
            f(p.extreme_weight),
            f(p.named_shocks[0].weight),
            f(p.named_shocks[1].weight),
        ];
        for (k, w) in weights.iter().enumerate() {
            let c = pm.ladder.iter().position(|&l| l == 2 + k).unwrap() + MOVE_STEPS as usize;
            wi = wi.max(w * -pnl[c]);
        }
        out.worst_im.push(wi.max(0.0));
        out.worst_mm.push(wm.max(0.0));
        let n = nd[i].abs() * m.spot;
        addons += f(p.conf_multiple) * m.conf * nd[i].abs();
        addons += f(p.impact_coef)
            * m.sigma
            * (p.im_horizon_secs as f64 / YEAR).sqrt()
            * n
            * (n / p.liquidity_notional as f64).sqrt();
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
