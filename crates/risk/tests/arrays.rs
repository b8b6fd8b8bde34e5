//! The risk arrays bound the truth over their whole window (docs/risk-model.md §4.8): for a
//! random option, anchor and check — any age up to `array_max_age_secs`, any oracle price the
//! anchor covers, margin and mark vols anywhere in their tolerance — the exact (f64) value at any
//! forward between two scenario points lies between the lo bound (chord minus the gap's share)
//! and the hi bound (chord), at the end of the horizon at the check's vol levels; the same on the
//! mark ladders at the check's time and mark vol. Up to the valuation error of the fixed-point
//! values (4e-9·F + 1 per value, tests/pricing.rs), which the rounding allowance carries.

mod reference;

use keel_risk::array::{price_series, Anchor, Ladder, SeriesArray, StrikeCandidate, LADDERS, MARK};
use keel_risk::pricing::SeriesKind;
use keel_risk::{Fx, RiskParams};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;
const SPOT: i64 = 100_000_000_000;

/// What the check looks like relative to the anchor: its age (fraction of the largest) and vol
/// drifts (fractions of the tolerance). Where the oracle price is does not matter here: the
/// bounds hold at every forward of every interval.
#[derive(Clone, Copy, Debug)]
struct Check {
    age: f64,
    dvol: f64,
    dmark: f64,
}

fn check() -> impl Strategy<Value = Check> {
    (0.0f64..=1.0, -1.0f64..=1.0, -1.0f64..=1.0).prop_map(|(age, dvol, dmark)| Check {
        age,
        dvol,
        dmark,
    })
}

/// (kind, strike multiple, seconds to expiry, margin vol, mark vol / margin vol)
fn series() -> impl Strategy<Value = (SeriesKind, f64, i64, f64, f64)> {
    (
        prop_oneof![Just(SeriesKind::Call), Just(SeriesKind::Put)],
        0.5f64..2.0,
        prop_oneof![60i64..7_200, 3_600i64..200_000, 86_400i64..63_072_000],
        0.1f64..3.0,
        0.7f64..1.0,
    )
}

fn f(x: i64) -> f64 {
    x as f64
}

/// The tolerance of one comparison: the fixed-point valuation error of the two chord ends and
/// the gap (each within 4e-9·F + 1), and f64 noise.
fn tol(fwd: f64) -> f64 {
    3.0 * (4e-9 * fwd + 1.0) + 1e-9 * fwd
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arrays_bound_every_value_over_their_window(
        (kind, kmult, t, sigma, mark_ratio) in series(),
        c in check(),
        lambda in 0.0f64..=1.0,
        which in 0usize..1_000,
        listed_kinked in any::<bool>(),
    ) {
        let params = RiskParams::DEFAULT;
        let strike = (SPOT as f64 * kmult) as i64;
        let expiry = NOW + t;
        // The series' own strike listed (a strike point when inside the ladder), with a
        // kinked neighbour sometimes.
        let listed = [
            StrikeCandidate { strike, expiry },
            StrikeCandidate { strike: (strike as f64 * 1.013) as i64, expiry: if listed_kinked { NOW + 100 } else { expiry } },
        ];
        let (sig, msig) = (Fx::from_num(sigma), Fx::from_num(sigma * mark_ratio));
        let a = Anchor::new(NOW, SPOT, SPOT, sig, msig, &params, listed).unwrap();
        let mut arr: SeriesArray = bytemuck::Zeroable::zeroed();
        price_series(&a, &params, kind, strike, expiry, &mut arr).unwrap();

        // The check's state inside the window.
        let age = (c.age * params.array_max_age_secs as f64).round();
        let tolv = params.array_vol_tol.to_num::<f64>();
        let sig_now = sig.to_num::<f64>() * (1.0 + c.dvol * tolv * 0.999);
        let msig_now = msig.to_num::<f64>() * (1.0 + c.dmark * tolv * 0.999);
        let t_now = f(t) - age;
        let t_end = (t_now - params.im_horizon_secs as f64).max(0.0);
        let mults = reference::vol_mults(t_now, &params);
        let k = strike as f64;

        // A scenario interval of some ladder, and a forward inside it.
        let l = LADDERS[which % LADDERS.len()];
        let i = (which / LADDERS.len()) % (l.len() - 1);
        let p = l.start() + i;
        let (fa, fb) = (f(a.fwd[p]), f(a.fwd[p + 1]));
        let fwd = fa + lambda * (fb - fa);
        let vol = sig_now * match l {
            Ladder::Up | Ladder::ExtremeDown | Ladder::ExtremeUp => mults[0],
            Ladder::Down => mults[1],
            Ladder::Named0 => mults[2],
            Ladder::Named1 => mults[3],
        };
        let truth = reference::black76(kind as u8, fwd, k, vol, t_end);
        let chord = |v: &[i64]| f(v[p]) + lambda * (f(v[p + 1]) - f(v[p]));
        let shape = 4.0 * lambda * (1.0 - lambda);
        let lo = chord(&arr.lo.value) - shape * f(arr.gap[p]);
        let hi = chord(&arr.hi.value);
        prop_assert!(truth >= lo - tol(fb), "{l:?}[{i}] λ {lambda}: truth {truth} < lo {lo}");
        prop_assert!(truth <= hi + tol(fb), "{l:?}[{i}] λ {lambda}: truth {truth} > hi {hi}");

        // The mark ladders, now, at the mark vol.
        let km = which % (MARK - 1);
        for (fwds, lo_v, hi_v, gaps) in [
            (&a.mark_fwd, &arr.lo.mark, &arr.hi.mark, &arr.mark_gap),
            (&a.stable_fwd, &arr.lo.stable, &arr.hi.stable, &arr.stable_gap),
        ] {
            let (fa, fb) = (f(fwds[km]), f(fwds[km + 1]));
            let fwd = fa + lambda * (fb - fa);
            let truth = reference::black76(kind as u8, fwd, k, msig_now, t_now);
            let lo = f(lo_v[km]) + lambda * (f(lo_v[km + 1]) - f(lo_v[km])) - shape * f(gaps[km]);
            let hi = f(hi_v[km]) + lambda * (f(hi_v[km + 1]) - f(hi_v[km]));
            prop_assert!(truth >= lo - tol(fb), "mark[{km}] λ {lambda}: truth {truth} < lo {lo}");
            prop_assert!(truth <= hi + tol(fb), "mark[{km}] λ {lambda}: truth {truth} > hi {hi}");
        }
    }
}
