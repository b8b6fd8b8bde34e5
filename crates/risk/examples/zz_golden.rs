//! Temporary: digest of many margin computations, to compare two commits bit for bit.
use keel_risk::array::{price_series, StrikeCandidate};
use keel_risk::*;
use std::hash::{Hash, Hasher};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo) as u64)) as i64
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let n_books: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(3000);
    let now = 1_700_000_000i64;
    let mut n_ok = 0;
    let mut mism = 0;
    for b in 0..n_books {
        let nm = rng.range(1, 5) as usize;
        let mut params = [RiskParams::DEFAULT; 4];
        for p in params.iter_mut() {
            if rng.next() % 4 == 0 {
                p.mm_steps = rng.range(1, 7) as u32;
            }
        }
        let big = rng.next() % 10 == 0;
        let mut mk = Vec::new();
        for m in 0..nm {
            let spot = (rng.f() * 30.0 + 10.0).exp2() as i64;
            let sigma = Fx::from_num(0.15 + rng.f() * 2.0);
            let stable = (spot as f64 * (0.97 + 0.06 * rng.f())) as i64;
            mk.push(MarketInput {
                spot,
                stable_spot: stable,
                conf: spot / 5000,
                sigma,
                mark_sigma: sigma,
                params: &params[m],
            });
        }
        let np = rng.range(1, 33) as usize;
        let mut pos = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..np {
            let m = rng.range(0, nm as i64) as u8;
            let kind = match rng.next() % 5 {
                0 => SeriesKind::Future,
                1 | 2 => SeriesKind::Call,
                _ => SeriesKind::Put,
            };
            let spot = mk[m as usize].spot;
            let strike = if kind.is_option() {
                ((spot as f64) * (0.5 + 1.5 * rng.f())) as i64
            } else {
                0
            };
            let expiry = now + rng.range(600, 400 * 86_400);
            if !seen.insert((m, strike, expiry, kind as u8)) {
                continue;
            }
            let mut qty = rng.range(1, 200);
            if big {
                qty = rng.range(1, 1 << 30);
            }
            if rng.next() % 2 == 0 {
                qty = -qty;
            }
            if rng.next() % 20 == 0 {
                qty = 0;
            }
            let cash = if kind.is_option() {
                0
            } else {
                qty.saturating_mul(spot).saturating_neg() / 2
            };
            pos.push(PositionInput {
                market: m,
                kind,
                strike,
                expiry,
                qty,
                cash,
            });
        }
        let mut corr = Correlations::NONE;
        if nm > 1 && rng.next() % 2 == 0 {
            for u in 0..nm {
                for v in 0..nm {
                    if u != v {
                        corr.rho[u][v] = Fx::from_num(0.5);
                    }
                }
            }
        }
        let p = Portfolio {
            collateral: rng.range(0, 1 << 40),
            positions: &pos,
            markets: &mk,
            correlations: &corr,
            now,
        };
        let mut out = MarginBreakdown::default();
        let r = compute(&p, &mut out);
        format!("{b} {:?}", r).hash(&mut h);
        if r.is_ok() {
            format!("{:?}", out).hash(&mut h);
            n_ok += 1;
        }
        // Stale anchors: priced earlier at a moved price, the check inside the window.
        let age = rng.range(0, 200);
        let mut anchors = Vec::new();
        for (m, mi) in mk.iter().enumerate() {
            let shift = 1.0 + (rng.f() - 0.5) * 0.02;
            let held: Vec<_> = pos
                .iter()
                .filter(|q| q.market as usize == m && q.kind.is_option())
                .map(|q| StrikeCandidate {
                    strike: q.strike,
                    expiry: q.expiry,
                })
                .collect();
            let a = Anchor::new(
                now - age,
                (mi.spot as f64 * shift) as i64,
                (mi.stable_spot as f64 * shift) as i64,
                mi.sigma,
                mi.mark_sigma,
                mi.params,
                held,
            );
            anchors.push(a);
        }
        if anchors.iter().any(|a| a.is_err()) {
            format!("anchor err").hash(&mut h);
            continue;
        }
        let anchors: Vec<Anchor> = anchors.into_iter().map(|a| a.unwrap()).collect();
        let mut arrs: Vec<Option<Box<SeriesArray>>> = Vec::new();
        for q in &pos {
            if q.kind.is_option() {
                let mut s: Box<SeriesArray> = Box::new(bytemuck::Zeroable::zeroed());
                let r = price_series(
                    &anchors[q.market as usize],
                    mk[q.market as usize].params,
                    q.kind,
                    q.strike,
                    q.expiry,
                    &mut s,
                );
                format!("{:?}", r).hash(&mut h);
                arrs.push(Some(s));
            } else {
                arrs.push(None);
            }
        }
        let arefs: Vec<&Anchor> = anchors.iter().collect();
        let srefs: Vec<Option<&SeriesArray>> = arrs.iter().map(|a| a.as_deref()).collect();
        let mut out2 = MarginBreakdown::default();
        let r2 = compute_with_arrays(&p, &arefs, &srefs, &mut out2);
        format!("{b} w {:?}", r2).hash(&mut h);
        if r2.is_ok() {
            format!("{:?}", out2).hash(&mut h);
            n_ok += 1;
        } else {
            mism += 1;
        }
    }
    println!("digest {:016x} ok {n_ok} arrays-refused {mism}", h.finish());
}
