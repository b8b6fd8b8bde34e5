//! Generates `crates/risk/src/math/tables.rs`: the piecewise-polynomial coefficient tables behind
//! keel-risk's `exp2`, `ln`, `sqrt` and normal tail.
//!
//! ```text
//! cargo run -p keel-risk --example gen_tables > crates/risk/src/math/tables.rs
//! ```
//!
//! Per segment: interpolate the f64 function at Chebyshev nodes (near-minimax), convert to the
//! monomial basis in the local coordinate t ∈ [0,1), round the coefficients to Q32, then re-centre
//! the constant term on the error of the *exact integer evaluation* (`keel_risk::math::poly::horner`,
//! the same code the engine runs) over a dense grid. The maximum error of that evaluation is printed
//! to stderr and written into the file's comments; `math::tests` re-checks it independently.

use keel_risk::math::poly::horner;

struct Spec {
    name: &'static str,
    doc: &'static str,
    f: fn(f64) -> f64,
    start: f64,
    width: f64,
    segments: usize,
    degree: usize,
    t_bits: u32,
}

fn q(x: f64) -> f64 {
    0.5 * libm::erfc(x / core::f64::consts::SQRT_2)
}

fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

/// Monomial coefficients (lowest degree first) of the interpolant at Chebyshev nodes on [0,1).
fn fit(spec: &Spec, seg: usize) -> Vec<f64> {
    let n = spec.degree + 1;
    let a0 = spec.start + spec.width * seg as f64;
    let nodes: Vec<f64> = (0..n)
        .map(|k| 0.5 * (1.0 - (core::f64::consts::PI * (k as f64 + 0.5) / n as f64).cos()))
        .collect();
    let m: Vec<Vec<f64>> = nodes
        .iter()
        .map(|&t| (0..n).map(|j| t.powi(j as i32)).collect())
        .collect();
    let rhs: Vec<f64> = nodes
        .iter()
        .map(|&t| (spec.f)(a0 + spec.width * t))
        .collect();
    solve(m, rhs)
}

/// Evaluates a quantized segment (highest degree first) exactly as the engine does.
fn eval(c: &[i64], t_bits: u32, t: i64) -> i64 {
    match c.len() {
        5 => horner_dyn::<5>(c, t_bits, t),
        6 => horner_dyn::<6>(c, t_bits, t),
        7 => horner_dyn::<7>(c, t_bits, t),
        8 => horner_dyn::<8>(c, t_bits, t),
        n => panic!("degree {} not supported", n - 1),
    }
}

fn horner_dyn<const D: usize>(c: &[i64], t_bits: u32, t: i64) -> i64 {
    let arr: [i64; D] = c.try_into().unwrap();
    match t_bits {
        29 => horner::<D, 29>(&arr, t),
        30 => horner::<D, 30>(&arr, t),
        b => panic!("t_bits {b} not supported"),
    }
}

const SAMPLES: i64 = 1 << 13;

/// Max |error| in Q32 ulps of the integer evaluation over a dense grid of the segment.
fn seg_error(spec: &Spec, seg: usize, c: &[i64]) -> (f64, f64) {
    let a0 = spec.start + spec.width * seg as f64;
    let tmax = 1i64 << spec.t_bits;
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for k in 0..=SAMPLES {
        let t = (tmax - 1) * k / SAMPLES;
        let x = a0 + spec.width * (t as f64 / tmax as f64);
        let exact = (spec.f)(x) * 4294967296.0;
        let err = eval(c, spec.t_bits, t) as f64 - exact;
        lo = lo.min(err);
        hi = hi.max(err);
    }
    (lo, hi)
}

fn gen(spec: &Spec, out: &mut String) -> f64 {
    let mut rows = Vec::new();
    let mut worst: f64 = 0.0;
    for seg in 0..spec.segments {
        let mono = fit(spec, seg);
        // Highest degree first, Q32.
        let mut c: Vec<i64> = mono
            .iter()
            .rev()
            .map(|v| (v * 4294967296.0).round() as i64)
            .collect();
        let (lo, hi) = seg_error(spec, seg, &c);
        let last = c.len() - 1;
        c[last] -= ((lo + hi) / 2.0).round() as i64;
        let (lo, hi) = seg_error(spec, seg, &c);
        worst = worst.max(lo.abs()).max(hi.abs());
        // The Horner bound: every partial accumulator < 2^(63 - T).
        let bound = 1i64 << (63 - spec.t_bits);
        let mut partial = 0i64;
        for v in &c {
            partial = partial.abs() + v.abs();
            assert!(partial < bound, "{}: Horner bound violated", spec.name);
        }
        rows.push(c);
    }
    out.push_str(&format!(
        "/// {}\n/// {} segments of width {} from {}, degree {}, t in Q{}. Max error of the integer\n/// evaluation (dense grid, generator): {:.2} Q32 ulps = {:.2e}.\n#[rustfmt::skip]\npub const {}: [[i64; {}]; {}] = [\n",
        spec.doc,
        spec.segments,
        spec.width,
        spec.start,
        spec.degree,
        spec.t_bits,
        worst,
        worst / 4294967296.0,
        spec.name,
        spec.degree + 1,
        spec.segments
    ));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|v| v.to_string()).collect();
        out.push_str(&format!("    [{}],\n", cells.join(", ")));
    }
    out.push_str("];\n\n");
    eprintln!(
        "{:>10}: max error {:.3} ulp ({:.3e})",
        spec.name,
        worst,
        worst / 4294967296.0
    );
    worst
}

fn main() {
    let specs = [
        Spec {
            name: "EXP2_FRAC",
            doc: "2^u for u ∈ [0, 1) (`math::exp`).",
            f: |u| u.exp2(),
            start: 0.0,
            width: 0.125,
            segments: 8,
            degree: 5,
            t_bits: 29,
        },
        Spec {
            name: "LN_MANT",
            doc: "ln(m) for m ∈ [1, 2) (`math::ln`).",
            f: |m| m.ln(),
            start: 1.0,
            width: 0.0625,
            segments: 16,
            degree: 5,
            t_bits: 30,
        },
        Spec {
            name: "SQRT_MANT",
            doc: "√m for m ∈ [1, 4) (`math::sqrt`).",
            f: |m| m.sqrt(),
            start: 1.0,
            width: 0.125,
            segments: 24,
            degree: 5,
            t_bits: 29,
        },
        Spec {
            name: "NORM_TAIL",
            doc: "Upper normal tail Q(x) = 1 − N(x) for x ∈ [0, 8.5) (`math::normal`).",
            f: q,
            start: 0.0,
            width: 0.25,
            segments: 34,
            degree: 5,
            t_bits: 30,
        },
    ];
    let mut out = String::from(
        "//! Generated by `cargo run -p keel-risk --example gen_tables > crates/risk/src/math/tables.rs`.\n//! Do not edit by hand. Coefficients are Q32, highest degree first (see `math::poly`).\n\n",
    );
    for s in &specs {
        gen(s, &mut out);
    }
    println!("{}", out.trim_end());
}
