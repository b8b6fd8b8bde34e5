//! What the replay measures for each book and margin model: coverage (a VaR backtest of the
//! maintenance margin), procyclicality, and efficiency.

use crate::backtest::BookRun;
use crate::data::{format_ts, parse_time, DAY};
use crate::stats::{self, Test, Zone};
use serde::Serialize;

/// A named window of time (a stress episode).
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    /// Name.
    pub name: String,
    /// First day (unix seconds, start of day).
    pub from: i64,
    /// Last day (inclusive, start of day).
    pub to: i64,
}

impl Window {
    /// `name:YYYY-MM-DD:YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Window, String> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            return Err(format!(
                "stress window '{s}': want name:YYYY-MM-DD:YYYY-MM-DD"
            ));
        }
        let from = parse_time(parts[1])?.0;
        let to = parse_time(parts[2])?.0;
        if to < from {
            return Err(format!("stress window '{s}' ends before it starts"));
        }
        Ok(Window {
            name: parts[0].to_string(),
            from,
            to,
        })
    }

    /// Whether a bar closing at `ts` belongs to the window (bars of the window's days).
    pub fn contains(&self, ts: i64) -> bool {
        ts > self.from && ts <= self.to + DAY
    }
}

/// The stress windows: 2020-03, 2021-05, 2022-05/06 (LUNA, 3AC), 2022-11 (FTX).
pub fn default_windows() -> Vec<Window> {
    [
        ("2020-03 covid", "2020-03-01", "2020-03-31"),
        ("2021-05 crash", "2021-05-01", "2021-05-31"),
        ("2022-05/06 luna-3ac", "2022-05-01", "2022-06-30"),
        ("2022-11 ftx", "2022-11-01", "2022-11-30"),
    ]
    .iter()
    .map(|(n, a, b)| Window::parse(&format!("{n}:{a}:{b}")).expect("valid default window"))
    .collect()
}

/// Coverage of one model on one book.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// Observations in the test sample (non-overlapping horizons).
    pub n: u64,
    /// Exceedances (realised loss > margin) in the test sample.
    pub exceedances: u64,
    /// Their rate.
    pub rate: f64,
    /// Target rate (1 − confidence).
    pub target: f64,
    /// Kupiec proportion-of-failures test.
    pub kupiec: Test,
    /// Christoffersen independence test.
    pub christoffersen: Test,
    /// Christoffersen conditional coverage (χ²(2)).
    pub conditional: Test,
    /// Basel traffic-light zone of the whole sample (cumulative-binomial rule).
    pub zone: Zone,
    /// Most exceedances in any 250 consecutive test observations, and its zone.
    pub worst_250: u64,
    /// Zone of `worst_250`.
    pub worst_250_zone: Zone,
    /// Largest (loss − margin) as a fraction of notional (0 without exceedance).
    pub worst_excess: f64,
    /// Largest loss / margin on an exceedance (0 without exceedance).
    pub worst_ratio: f64,
    /// When the worst excess happened.
    pub worst_date: Option<String>,
    /// All evaluation times (overlapping horizons, intraday data): count and exceedances.
    pub n_all: u64,
    /// Exceedances over all evaluation times.
    pub exceedances_all: u64,
    /// Test observations where the margin in market terms was ≤ 0 (the engine marked the book
    /// above the market by more than its MM: the account held nothing above market value).
    pub nonpositive: u64,
}

/// Tail and efficiency figures (fractions of notional).
#[derive(Clone, Debug, Serialize)]
pub struct Efficiency {
    /// Average margin.
    pub avg_margin: f64,
    /// Realised 99% VaR of the loss (empirical quantile).
    pub realised_var: f64,
    /// Realised expected shortfall at the confidence (mean of the worst 1%).
    pub realised_es: f64,
    /// The model's side of the tail: average margin held on the days that make up the realised
    /// ES (≥ realised_es means the tail losses were covered on average).
    pub model_es: f64,
    /// avg_margin / realised_es: capital tied up per unit of tail protection.
    pub ratio: f64,
}

/// Procyclicality of the margin (in quote units, a fixed number of contracts) in one set of times.
#[derive(Clone, Debug, Serialize)]
pub struct Procyclicality {
    /// max margin / min margin.
    pub peak_to_trough: f64,
    /// Largest M(t)/M(t − 1 day) − 1.
    pub max_rise_1d: f64,
    /// Largest M(t)/M(t − 5 days) − 1.
    pub max_rise_5d: f64,
    /// When the largest 5-day rise ended.
    pub max_rise_5d_date: Option<String>,
    /// Largest 5-day rise of margin per unit notional (the price's own move taken out).
    pub max_rise_5d_per_notional: f64,
    /// When the largest 5-day rise per notional ended.
    pub max_rise_5d_per_notional_date: Option<String>,
}

/// One window's figures.
#[derive(Clone, Debug, Serialize)]
pub struct WindowStats {
    /// Window name ("calm" = outside every stress window).
    pub name: String,
    /// Test observations in it.
    pub n: u64,
    /// Exceedances in it.
    pub exceedances: u64,
    /// Average margin / notional in it.
    pub avg_margin: f64,
    /// Procyclicality of the margin in it (rises ending inside the window).
    pub procyclicality: Procyclicality,
}

/// Everything measured for one model on one book.
#[derive(Clone, Debug, Serialize)]
pub struct ModelStats {
    /// Model name.
    pub model: String,
    /// Coverage.
    pub coverage: Coverage,
    /// Efficiency.
    pub efficiency: Efficiency,
    /// Procyclicality over the whole run.
    pub procyclicality: Procyclicality,
    /// Per stress window, then "calm".
    pub windows: Vec<WindowStats>,
}

/// Everything measured for one book.
#[derive(Clone, Debug, Serialize)]
pub struct BookStats {
    /// Book name.
    pub book: String,
    /// Description.
    pub description: String,
    /// Assets.
    pub assets: Vec<String>,
    /// First and last evaluation time.
    pub from: Option<String>,
    /// Last evaluation time.
    pub to: Option<String>,
    /// Times skipped: no bar one horizon later (missing data).
    pub skipped_no_bar: usize,
    /// Times skipped: no market mark vol.
    pub skipped_no_mark: usize,
    /// Per model.
    pub models: Vec<ModelStats>,
}

/// Settings of the measurement.
#[derive(Clone, Debug)]
pub struct MeasureConfig {
    /// Horizon (seconds): the test sample keeps one observation per horizon.
    pub horizon: i64,
    /// Confidence.
    pub confidence: f64,
    /// Stress windows.
    pub windows: Vec<Window>,
    /// Whether bars are intraday (labels with time).
    pub intraday: bool,
}

/// Procyclicality of margins `m` (quote units) and notionals `n` at times `ts` (ascending),
/// counting rises that end at an index where `keep` is true.
pub fn procyclicality(
    ts: &[i64],
    m: &[f64],
    n: &[f64],
    keep: &dyn Fn(i64) -> bool,
    intraday: bool,
) -> Procyclicality {
    let lookup = |t: i64| ts.binary_search(&t).ok();
    let mut out = Procyclicality {
        peak_to_trough: f64::NAN,
        max_rise_1d: f64::NAN,
        max_rise_5d: f64::NAN,
        max_rise_5d_date: None,
        max_rise_5d_per_notional: f64::NAN,
        max_rise_5d_per_notional_date: None,
    };
    let (mut hi, mut lo) = (f64::NEG_INFINITY, f64::INFINITY);
    let nanmax = |a: f64, b: f64| if a.is_nan() || b > a { b } else { a };
    for (i, &t) in ts.iter().enumerate() {
        if !keep(t) || !m[i].is_finite() {
            continue;
        }
        hi = hi.max(m[i]);
        lo = lo.min(m[i]);
        if let Some(j) = lookup(t - DAY) {
            if m[j] > 0.0 {
                out.max_rise_1d = nanmax(out.max_rise_1d, m[i] / m[j] - 1.0);
            }
        }
        if let Some(j) = lookup(t - 5 * DAY) {
            if m[j] > 0.0 {
                let r = m[i] / m[j] - 1.0;
                if out.max_rise_5d.is_nan() || r > out.max_rise_5d {
                    out.max_rise_5d = r;
                    out.max_rise_5d_date = Some(format_ts(t, intraday));
                }
                let rn = (m[i] / n[i]) / (m[j] / n[j]) - 1.0;
                if out.max_rise_5d_per_notional.is_nan() || rn > out.max_rise_5d_per_notional {
                    out.max_rise_5d_per_notional = rn;
                    out.max_rise_5d_per_notional_date = Some(format_ts(t, intraday));
                }
            }
        }
    }
    if lo > 0.0 && hi.is_finite() {
        out.peak_to_trough = hi / lo;
    }
    out
}

/// Measures one book.
pub fn measure(run: &BookRun, cfg: &MeasureConfig) -> BookStats {
    let p = 1.0 - cfg.confidence;
    let models = run
        .models
        .iter()
        .enumerate()
        .map(|(j, _)| {
            // Points where this model ran.
            let pts: Vec<&crate::backtest::Point> = run
                .points
                .iter()
                .filter(|q| q.margin[j].is_finite())
                .collect();
            let phase = pts.first().map_or(0, |q| q.ts.rem_euclid(cfg.horizon));
            let test: Vec<&crate::backtest::Point> = pts
                .iter()
                .copied()
                .filter(|q| q.ts.rem_euclid(cfg.horizon) == phase)
                .collect();
            let hits: Vec<bool> = test.iter().map(|q| q.loss > q.margin[j]).collect();
            let x = hits.iter().filter(|&&h| h).count() as u64;
            let n = hits.len() as u64;
            let worst_250 = stats::rolling::worst_window(&hits, 250);
            let (mut worst_excess, mut worst_ratio, mut worst_date) = (0.0f64, 0.0f64, None);
            for q in test.iter().filter(|q| q.loss > q.margin[j]) {
                let e = (q.loss - q.margin[j]) / q.notional;
                if e > worst_excess {
                    worst_excess = e;
                    worst_date = Some(format_ts(q.ts, cfg.intraday));
                }
                if q.margin[j] > 0.0 {
                    worst_ratio = worst_ratio.max(q.loss / q.margin[j]);
                }
            }
            let coverage = Coverage {
                n,
                exceedances: x,
                rate: if n > 0 { x as f64 / n as f64 } else { f64::NAN },
                target: p,
                kupiec: stats::kupiec(n, x, p),
                christoffersen: stats::christoffersen(&hits),
                conditional: stats::conditional_coverage(&hits, p),
                zone: stats::basel_zone(n, x, p),
                worst_250,
                worst_250_zone: stats::basel_zone(250.min(n), worst_250, p),
                worst_excess,
                worst_ratio,
                worst_date,
                n_all: pts.len() as u64,
                exceedances_all: pts.iter().filter(|q| q.loss > q.margin[j]).count() as u64,
                nonpositive: test.iter().filter(|q| q.margin[j] <= 0.0).count() as u64,
            };
            let loss_n: Vec<f64> = test.iter().map(|q| q.loss / q.notional).collect();
            let marg_n: Vec<f64> = test.iter().map(|q| q.margin[j] / q.notional).collect();
            let tail = stats::tail_indices(&loss_n, cfg.confidence);
            let avg_margin = stats::mean(&marg_n);
            let realised_es = stats::expected_shortfall(&loss_n, cfg.confidence);
            let efficiency = Efficiency {
                avg_margin,
                realised_var: stats::quantile(&loss_n, cfg.confidence),
                realised_es,
                model_es: stats::mean(&tail.iter().map(|&i| marg_n[i]).collect::<Vec<_>>()),
                ratio: avg_margin / realised_es,
            };
            let ts: Vec<i64> = pts.iter().map(|q| q.ts).collect();
            let m: Vec<f64> = pts.iter().map(|q| q.margin[j]).collect();
            let nn: Vec<f64> = pts.iter().map(|q| q.notional).collect();
            let procyc = procyclicality(&ts, &m, &nn, &|_| true, cfg.intraday);
            let mut windows: Vec<WindowStats> = cfg
                .windows
                .iter()
                .map(|w| {
                    window_stats(
                        &w.name,
                        &test,
                        j,
                        &ts,
                        &m,
                        &nn,
                        &|t| w.contains(t),
                        cfg.intraday,
                    )
                })
                .collect();
            let calm = |t: i64| !cfg.windows.iter().any(|w| w.contains(t));
            windows.push(window_stats(
                "calm",
                &test,
                j,
                &ts,
                &m,
                &nn,
                &calm,
                cfg.intraday,
            ));
            ModelStats {
                model: run.model_names[j].clone(),
                coverage,
                efficiency,
                procyclicality: procyc,
                windows,
            }
        })
        .collect();
    BookStats {
        book: run.spec.name.to_string(),
        description: run.spec.description.to_string(),
        assets: run.assets.clone(),
        from: run.points.first().map(|q| format_ts(q.ts, cfg.intraday)),
        to: run.points.last().map(|q| format_ts(q.ts, cfg.intraday)),
        skipped_no_bar: run.skipped_no_bar,
        skipped_no_mark: run.skipped_no_mark,
        models,
    }
}

#[allow(clippy::too_many_arguments)]
fn window_stats(
    name: &str,
    test: &[&crate::backtest::Point],
    j: usize,
    ts: &[i64],
    m: &[f64],
    n: &[f64],
    keep: &dyn Fn(i64) -> bool,
    intraday: bool,
) -> WindowStats {
    let inside: Vec<&&crate::backtest::Point> = test.iter().filter(|q| keep(q.ts)).collect();
    WindowStats {
        name: name.to_string(),
        n: inside.len() as u64,
        exceedances: inside.iter().filter(|q| q.loss > q.margin[j]).count() as u64,
        avg_margin: stats::mean(
            &inside
                .iter()
                .map(|q| q.margin[j] / q.notional)
                .collect::<Vec<_>>(),
        ),
        procyclicality: procyclicality(ts, m, n, keep, intraday),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rises_are_measured_against_the_value_one_and_five_days_earlier() {
        let ts: Vec<i64> = (1..=12).map(|d| d * DAY).collect();
        let m = [
            10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 20.0, 16.0, 15.0, 15.0, 15.0,
        ];
        let n = [1.0; 12];
        let p = procyclicality(&ts, &m, &n, &|_| true, false);
        assert_eq!(p.peak_to_trough, 2.0);
        assert!((p.max_rise_1d - 1.0).abs() < 1e-12); // day 7 → 8: 10 → 20
        assert!((p.max_rise_5d - 1.0).abs() < 1e-12); // day 3 → 8: 10 → 20
        assert_eq!(p.max_rise_5d_date.as_deref(), Some("1970-01-09"));
        // Only rises ending in the kept set count.
        let late = procyclicality(&ts, &m, &n, &|t| t >= 9 * DAY, false);
        // Day 4 → 9: 10 → 16.
        assert!((late.max_rise_5d - 0.6).abs() < 1e-12, "{late:?}");
        // A price move alone does not count per notional.
        let n2: Vec<f64> = m.to_vec();
        let q = procyclicality(&ts, &m, &n2, &|_| true, false);
        assert!(q.max_rise_5d_per_notional.abs() < 1e-12);
    }

    #[test]
    fn windows_parse_and_contain_their_days() {
        let w = Window::parse("x:2022-11-01:2022-11-30").unwrap();
        let d = parse_time("2022-11-01").unwrap().0;
        assert!(!w.contains(d), "the bar of 10-31 closes at 11-01 00:00");
        assert!(w.contains(d + DAY));
        assert!(w.contains(parse_time("2022-12-01").unwrap().0));
        assert!(!w.contains(parse_time("2022-12-01").unwrap().0 + 1));
        assert!(Window::parse("x:2022-11-30:2022-11-01").is_err());
        assert!(Window::parse("x:2022-11-30").is_err());
        assert_eq!(default_windows().len(), 4);
    }
}
