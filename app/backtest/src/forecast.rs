//! Volatility forecasting: EWMA, GARCH(1,1), HAR-RV (levels and logs, with and without implied
//! vol) and gradient-boosted trees, evaluated walk-forward by QLIKE and MSE with Diebold–Mariano
//! tests.
//!
//! **No look-ahead by construction**: a forecaster sees only `&periods[..=t]` — the slice ends at
//! the period whose close it forecasts from — both when it is (re)fitted and when it forecasts.
//! `tests::no_look_ahead` perturbs everything after t and checks that no forecast at t moves.

use crate::bs::YEAR;
use crate::data::Series;
use crate::gbt::{Gbt, GbtParams};
use crate::stats::{self, Test};
use serde::Serialize;

/// Walk-forward forecasts: `[model][t]`, the forecast made at the end of period t.
pub type Forecasts = Vec<Vec<Option<f64>>>;

/// One forecasting period (the margin horizon, one day by default).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Period {
    /// End of the period (a bar close).
    pub ts: i64,
    /// Realised variance of the period, annualised: Σ r² of the intraday bars when the bars are
    /// finer than the period, else the Garman–Klass range estimator plus the squared open gap.
    /// `None` when bars are missing inside the period.
    pub rv: Option<f64>,
    /// Close-to-close log return over the period (`None` after a gap).
    pub ret: Option<f64>,
    /// Annualised implied vol at the period's end (when an IV series is given and fresh).
    pub iv: Option<f64>,
    /// Index of the bar that ends the period.
    pub bar: usize,
}

/// Smallest realised variance used (vol 0.1%): keeps QLIKE finite on a flat bar.
pub const RV_FLOOR: f64 = 1e-6;

/// Splits a price series into periods of `h` seconds. Returns the periods and how many of them
/// had missing bars (their `rv` is `None`: nothing is filled in).
pub fn periods(prices: &Series, iv: Option<&Series>, h: i64) -> (Vec<Period>, usize) {
    let bars = &prices.bars;
    let iv_at = |ts: i64| -> Option<f64> {
        let s = iv?;
        let j = s.last_at_or_before(ts)?;
        (ts - s.bars[j].ts <= s.interval).then(|| s.bars[j].close / 100.0)
    };
    let mut out: Vec<Period> = Vec::new();
    let mut incomplete = 0;
    if prices.interval >= h {
        let per = prices.interval as f64;
        for (i, b) in bars.iter().enumerate() {
            let prev = (i > 0 && b.ts - bars[i - 1].ts == prices.interval).then(|| bars[i - 1]);
            let hl = (b.high / b.low).ln();
            let co = (b.close / b.open).ln();
            let gk = 0.5 * hl * hl - (2.0 * std::f64::consts::LN_2 - 1.0) * co * co;
            let gap = prev.map_or(0.0, |p| (b.open / p.close).ln().powi(2));
            out.push(Period {
                ts: b.ts,
                rv: Some(((gk + gap) * YEAR / per).max(RV_FLOOR)),
                ret: prev.map(|p| (b.close / p.close).ln()),
                iv: iv_at(b.ts),
                bar: i,
            });
        }
        return (out, 0);
    }
    let per_period = (h / prices.interval) as usize;
    let mut i = 0;
    while i < bars.len() {
        let end = (bars[i].ts + h - 1).div_euclid(h) * h; // the period's end on the h grid
        let mut j = i;
        let mut sum = 0.0;
        let mut n = 0usize;
        let mut complete = true;
        while j < bars.len() && bars[j].ts <= end {
            if j > 0 && bars[j].ts - bars[j - 1].ts == prices.interval {
                let r = (bars[j].close / bars[j - 1].close).ln();
                sum += r * r;
            } else {
                complete = false;
            }
            n += 1;
            j += 1;
        }
        let last = j - 1;
        complete &= n == per_period && bars[last].ts == end;
        if !complete {
            incomplete += 1;
        }
        let prev_end = out
            .last()
            .filter(|p| p.ts == end - h && bars[last].ts == end);
        out.push(Period {
            ts: bars[last].ts,
            rv: complete.then(|| (sum * YEAR / h as f64).max(RV_FLOOR)),
            ret: prev_end.map(|p| (bars[last].close / bars[p.bar].close).ln()),
            iv: iv_at(bars[last].ts),
            bar: last,
        });
        i = j;
    }
    (out, incomplete)
}

/// HAR regressors at t: daily, weekly (5) and monthly (22) mean realised variance, when the last
/// 22 periods are contiguous and complete.
pub fn har_terms(hist: &[Period], h: i64) -> Option<[f64; 3]> {
    let t = hist.len().checked_sub(1)?;
    if t < 21 {
        return None;
    }
    let w = &hist[t - 21..=t];
    if w[21].ts - w[0].ts != 21 * h {
        return None;
    }
    let rv: Vec<f64> = w.iter().map(|p| p.rv).collect::<Option<Vec<_>>>()?;
    Some([
        rv[21],
        rv[17..].iter().sum::<f64>() / 5.0,
        rv.iter().sum::<f64>() / 22.0,
    ])
}

/// The target of the forecast made at t: the next period's realised variance (if contiguous).
fn target(all: &[Period], t: usize, h: i64) -> Option<f64> {
    let next = all.get(t + 1)?;
    (next.ts - all[t].ts == h).then_some(next.rv).flatten()
}

/// A volatility forecaster: fitted on, and forecasting from, the history up to and including the
/// current period only. Forecasts are annualised variances of the next period.
pub trait Forecaster {
    /// Short name.
    fn name(&self) -> &'static str;
    /// Whether it needs implied vol.
    fn uses_iv(&self) -> bool {
        false
    }
    /// (Re)fits on `hist` (all periods up to now).
    fn fit(&mut self, hist: &[Period]);
    /// Forecast of the next period's variance from `hist`, if it has one.
    fn forecast(&self, hist: &[Period]) -> Option<f64>;
}

/// RiskMetrics EWMA of squared period returns, λ per period.
pub struct Ewma {
    /// Decay per period.
    pub lambda: f64,
    /// Period length (seconds).
    pub h: i64,
}

impl Forecaster for Ewma {
    fn name(&self) -> &'static str {
        "EWMA"
    }
    fn fit(&mut self, _: &[Period]) {}
    fn forecast(&self, hist: &[Period]) -> Option<f64> {
        let start = hist.len().saturating_sub(600);
        let mut v: Option<f64> = None;
        for p in &hist[start..] {
            if let Some(r) = p.ret {
                let s = r * r * YEAR / self.h as f64;
                v = Some(match v {
                    None => s,
                    Some(v) => self.lambda * v + (1.0 - self.lambda) * s,
                });
            }
        }
        v.map(|v| v.max(RV_FLOOR))
    }
}

/// GARCH(1,1) on period returns, fitted by Gaussian maximum likelihood with variance targeting
/// (ω = (1 − α − β)·sample variance) over a grid refined twice.
pub struct Garch {
    /// Period length (seconds).
    pub h: i64,
    /// Fitted (α, β, sample variance per period).
    pub fitted: Option<(f64, f64, f64)>,
}

impl Garch {
    fn returns(hist: &[Period]) -> Vec<f64> {
        hist.iter().filter_map(|p| p.ret).collect()
    }

    fn neg_loglik(r: &[f64], a: f64, b: f64, var: f64) -> f64 {
        let w = (1.0 - a - b) * var;
        let mut h = var;
        let mut nll = 0.0;
        for &x in r {
            nll += h.ln() + x * x / h;
            h = w + a * x * x + b * h;
        }
        nll
    }
}

impl Forecaster for Garch {
    fn name(&self) -> &'static str {
        "GARCH(1,1)"
    }
    fn fit(&mut self, hist: &[Period]) {
        let r = Self::returns(hist);
        if r.len() < 100 {
            self.fitted = None;
            return;
        }
        let var = r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64;
        let mut best = (f64::INFINITY, 0.1, 0.85);
        let (mut a_lo, mut a_hi, mut b_lo, mut b_hi) = (0.01, 0.35, 0.5, 0.99);
        for _ in 0..3 {
            for i in 0..=10 {
                for j in 0..=10 {
                    let a = a_lo + (a_hi - a_lo) * i as f64 / 10.0;
                    let b = b_lo + (b_hi - b_lo) * j as f64 / 10.0;
                    if a + b >= 0.999 || a <= 0.0 || b <= 0.0 {
                        continue;
                    }
                    let l = Self::neg_loglik(&r, a, b, var);
                    if l < best.0 {
                        best = (l, a, b);
                    }
                }
            }
            let (da, db) = ((a_hi - a_lo) / 10.0, (b_hi - b_lo) / 10.0);
            a_lo = (best.1 - da).max(0.001);
            a_hi = best.1 + da;
            b_lo = (best.2 - db).max(0.0);
            b_hi = (best.2 + db).min(0.998);
        }
        self.fitted = Some((best.1, best.2, var));
    }
    fn forecast(&self, hist: &[Period]) -> Option<f64> {
        let (a, b, var) = self.fitted?;
        let r = Self::returns(&hist[hist.len().saturating_sub(600)..]);
        let w = (1.0 - a - b) * var;
        let mut h = var;
        for &x in &r {
            h = w + a * x * x + b * h;
        }
        Some((h * YEAR / self.h as f64).max(RV_FLOOR))
    }
}

/// Which HAR specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HarKind {
    /// RV_{t+1} on RV_d, RV_w, RV_m (levels, OLS): Corsi (2009).
    Levels,
    /// ln RV_{t+1} on the logs (OLS), forecast exp(ŷ + s²/2).
    Logs,
    /// Logs plus ln IV² (implied variance) as a fourth regressor.
    LogsIv,
}

/// HAR-RV regression, fitted by least squares (optionally ridge) on every complete row so far.
pub struct Har {
    /// Specification.
    pub kind: HarKind,
    /// Period length (seconds).
    pub h: i64,
    /// Ridge penalty on the slopes (0 = OLS).
    pub ridge: f64,
    /// Fitted coefficients (intercept first) and residual variance.
    pub fitted: Option<(Vec<f64>, f64)>,
}

impl Har {
    /// A HAR model of the given kind.
    pub fn new(kind: HarKind, h: i64) -> Har {
        Har {
            kind,
            h,
            ridge: 0.0,
            fitted: None,
        }
    }

    fn row(&self, hist: &[Period]) -> Option<Vec<f64>> {
        let t = har_terms(hist, self.h)?;
        Some(match self.kind {
            HarKind::Levels => vec![1.0, t[0], t[1], t[2]],
            HarKind::Logs => vec![1.0, t[0].ln(), t[1].ln(), t[2].ln()],
            HarKind::LogsIv => {
                let iv = hist.last()?.iv?;
                vec![
                    1.0,
                    t[0].ln(),
                    t[1].ln(),
                    t[2].ln(),
                    (iv * iv).max(RV_FLOOR).ln(),
                ]
            }
        })
    }

    /// The fitted coefficients (intercept, daily, weekly, monthly[, implied]).
    pub fn coefficients(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|(b, _)| b.as_slice())
    }
}

impl Forecaster for Har {
    fn name(&self) -> &'static str {
        match self.kind {
            HarKind::Levels => "HAR-RV",
            HarKind::Logs => "HAR-RV (log)",
            HarKind::LogsIv => "HAR-RV-IV (log)",
        }
    }
    fn uses_iv(&self) -> bool {
        self.kind == HarKind::LogsIv
    }
    fn fit(&mut self, hist: &[Period]) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        // Rows whose target is inside `hist`: the last usable row forecasts hist's last period.
        for t in 21..hist.len().saturating_sub(1) {
            if let (Some(row), Some(tv)) = (self.row(&hist[..=t]), target(hist, t, self.h)) {
                x.push(row);
                y.push(if self.kind == HarKind::Levels {
                    tv
                } else {
                    tv.ln()
                });
            }
        }
        if x.len() < 50 {
            self.fitted = None;
            return;
        }
        self.fitted = stats::least_squares(&x, &y, self.ridge).map(|b| {
            let s2 = x
                .iter()
                .zip(&y)
                .map(|(r, t)| (r.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>() - t).powi(2))
                .sum::<f64>()
                / (x.len() - b.len()) as f64;
            (b, s2)
        });
    }
    fn forecast(&self, hist: &[Period]) -> Option<f64> {
        let (b, s2) = self.fitted.as_ref()?;
        let row = self.row(hist)?;
        let yhat: f64 = row.iter().zip(b).map(|(a, c)| a * c).sum();
        Some(
            match self.kind {
                HarKind::Levels => yhat,
                _ => (yhat + s2 / 2.0).exp(),
            }
            .max(RV_FLOOR),
        )
    }
}

/// Gradient-boosted trees on the log HAR terms, the last return (signed and absolute) and the
/// log implied variance (a sentinel where there is none), predicting ln RV_{t+1}.
pub struct Boosted {
    /// Period length (seconds).
    pub h: i64,
    /// Tree settings.
    pub params: GbtParams,
    /// Fitted model and residual variance.
    pub fitted: Option<(Gbt, f64)>,
}

impl Boosted {
    fn row(&self, hist: &[Period]) -> Option<Vec<f64>> {
        let t = har_terms(hist, self.h)?;
        let last = hist.last()?;
        let r = last.ret.unwrap_or(0.0);
        let iv = last.iv.map_or(-50.0, |v| (v * v).max(RV_FLOOR).ln());
        Some(vec![t[0].ln(), t[1].ln(), t[2].ln(), r, r.abs(), iv])
    }
}

impl Forecaster for Boosted {
    fn name(&self) -> &'static str {
        "boosted trees"
    }
    fn fit(&mut self, hist: &[Period]) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for t in 21..hist.len().saturating_sub(1) {
            if let (Some(row), Some(tv)) = (self.row(&hist[..=t]), target(hist, t, self.h)) {
                x.push(row);
                y.push(tv.ln());
            }
        }
        if x.len() < 200 {
            self.fitted = None;
            return;
        }
        let m = Gbt::fit(&x, &y, &self.params);
        let s2 = x
            .iter()
            .zip(&y)
            .map(|(r, t)| (m.predict(r) - t).powi(2))
            .sum::<f64>()
            / x.len() as f64;
        self.fitted = Some((m, s2));
    }
    fn forecast(&self, hist: &[Period]) -> Option<f64> {
        let (m, s2) = self.fitted.as_ref()?;
        Some((m.predict(&self.row(hist)?) + s2 / 2.0).exp().max(RV_FLOOR))
    }
}

/// The candidate forecasters for a series (the IV model only when implied vol is given).
pub fn candidates(h: i64, with_iv: bool) -> Vec<Box<dyn Forecaster>> {
    let lambda = (-(h as f64) / (86_400.0 / -(0.94f64.ln()))).exp();
    let mut v: Vec<Box<dyn Forecaster>> = vec![
        Box::new(Ewma { lambda, h }),
        Box::new(Garch { h, fitted: None }),
        Box::new(Har::new(HarKind::Levels, h)),
        Box::new(Har::new(HarKind::Logs, h)),
    ];
    if with_iv {
        v.push(Box::new(Har::new(HarKind::LogsIv, h)));
    }
    v.push(Box::new(Boosted {
        h,
        params: GbtParams::default(),
        fitted: None,
    }));
    v
}

/// Walk-forward forecasts: `out[m][t]` is model m's forecast, made at the end of period t, of
/// period t + 1. Models are refitted on `&periods[..=t]` every `refit_every` periods from
/// `min_train` on; nothing after t is ever passed to a model at t.
pub fn walk_forward(
    periods: &[Period],
    models: &mut [Box<dyn Forecaster>],
    min_train: usize,
    refit_every: usize,
    mut tick: impl FnMut(),
) -> Forecasts {
    let mut out = vec![vec![None; periods.len()]; models.len()];
    for t in min_train..periods.len() {
        let hist = &periods[..=t];
        if (t - min_train).is_multiple_of(refit_every.max(1)) {
            for m in models.iter_mut() {
                m.fit(hist);
            }
        }
        for (k, m) in models.iter().enumerate() {
            out[k][t] = m.forecast(hist);
        }
        tick();
    }
    out
}

/// QLIKE loss RV/F − ln(RV/F) − 1 (Patton 2011; 0 for a perfect forecast).
pub fn qlike(rv: f64, f: f64) -> f64 {
    let q = rv / f;
    q - q.ln() - 1.0
}

/// Scores of one forecaster on one evaluation sample.
#[derive(Clone, Debug, Serialize)]
pub struct Score {
    /// Model.
    pub model: String,
    /// Forecasts scored.
    pub n: usize,
    /// Mean QLIKE.
    pub qlike: f64,
    /// Mean squared error of the variance forecast.
    pub mse: f64,
    /// DM test of QLIKE against the reference (HAR-RV): stat < 0 = this model is better.
    pub dm_qlike: Test,
    /// DM test of squared error against the reference.
    pub dm_mse: Test,
}

/// Scores every model on the periods `idx` (forecast times t; targets t + 1) against the model
/// `reference`.
pub fn score(
    names: &[String],
    fc: &[Vec<Option<f64>>],
    periods: &[Period],
    h: i64,
    idx: &[usize],
    reference: usize,
) -> Vec<Score> {
    let lag = stats::nw_lag(idx.len());
    let losses = |m: usize| -> (Vec<f64>, Vec<f64>) {
        idx.iter()
            .map(|&t| {
                let (f, rv) = (
                    fc[m][t].unwrap_or(f64::NAN),
                    target(periods, t, h).unwrap_or(f64::NAN),
                );
                (qlike(rv, f), (rv - f).powi(2))
            })
            .unzip()
    };
    let (rq, rm) = losses(reference);
    (0..names.len())
        .map(|m| {
            let (q, e) = losses(m);
            let dq: Vec<f64> = q.iter().zip(&rq).map(|(a, b)| a - b).collect();
            let de: Vec<f64> = e.iter().zip(&rm).map(|(a, b)| a - b).collect();
            Score {
                model: names[m].clone(),
                n: idx.len(),
                qlike: stats::mean(&q),
                mse: stats::mean(&e),
                dm_qlike: stats::diebold_mariano(&dq, lag),
                dm_mse: stats::diebold_mariano(&de, lag),
            }
        })
        .collect()
}

/// The forecasting study of one asset.
#[derive(Clone, Debug, Serialize)]
pub struct Study {
    /// Asset.
    pub asset: String,
    /// Period length (seconds).
    pub period_secs: i64,
    /// Periods.
    pub periods: usize,
    /// Periods with missing bars (no realised variance; never filled).
    pub incomplete_periods: usize,
    /// First forecast made after this many periods.
    pub min_train: usize,
    /// Refit interval (periods).
    pub refit_every: usize,
    /// Model names.
    pub models: Vec<String>,
    /// Evaluation sample: periods where every model forecasts and the target exists.
    pub evaluated: usize,
    /// First and last forecast time of the sample.
    pub from: Option<String>,
    /// Last forecast time.
    pub to: Option<String>,
    /// Scores on the first half (used to choose).
    pub selection: Vec<Score>,
    /// Scores on the second half (reported out of sample).
    pub test: Vec<Score>,
    /// Scores on the whole sample.
    pub full: Vec<Score>,
    /// The chosen model.
    pub chosen: String,
    /// Whether the nonlinear model was admitted (it beat HAR on the selection half, DM p < 0.05).
    pub nonlinear_admitted: bool,
    /// The rule's reasoning in one line.
    pub choice_reason: String,
    /// HAR-RV (levels) coefficients at the last refit: intercept, daily, weekly, monthly.
    pub har_coefficients: Option<Vec<f64>>,
}

/// Index of HAR-RV (levels) in `candidates`.
pub const HAR_INDEX: usize = 2;

/// Settings of the walk-forward study.
#[derive(Clone, Copy, Debug)]
pub struct StudyConfig {
    /// Period length (seconds).
    pub h: i64,
    /// Periods before the first forecast.
    pub min_train: usize,
    /// Refit interval (periods).
    pub refit_every: usize,
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            h: crate::data::DAY,
            min_train: 365,
            refit_every: 63,
        }
    }
}

/// Runs the study: walk-forward, then choose on the first half and report the second.
pub fn study(
    name: &str,
    periods: &[Period],
    incomplete: usize,
    with_iv: bool,
    cfg: &StudyConfig,
    tick: impl FnMut(),
) -> (Study, Forecasts) {
    let (h, min_train, refit_every) = (cfg.h, cfg.min_train, cfg.refit_every);
    let mut models = candidates(h, with_iv);
    let names: Vec<String> = models.iter().map(|m| m.name().to_string()).collect();
    let fc = walk_forward(periods, &mut models, min_train, refit_every, tick);
    let idx: Vec<usize> = (0..periods.len())
        .filter(|&t| target(periods, t, h).is_some() && fc.iter().all(|f| f[t].is_some()))
        .collect();
    let half = idx.len() / 2;
    let selection = score(&names, &fc, periods, h, &idx[..half], HAR_INDEX);
    let test = score(&names, &fc, periods, h, &idx[half..], HAR_INDEX);
    let full = score(&names, &fc, periods, h, &idx, HAR_INDEX);
    let nl = names.len() - 1; // the boosted model is last
    let best_linear = (0..nl)
        .min_by(|&a, &b| selection[a].qlike.total_cmp(&selection[b].qlike))
        .unwrap_or(HAR_INDEX);
    let g = &selection[nl];
    let admitted =
        g.qlike < selection[HAR_INDEX].qlike && g.dm_qlike.stat < 0.0 && g.dm_qlike.p < 0.05;
    let (chosen, reason) = if admitted && g.qlike < selection[best_linear].qlike {
        (
            nl,
            format!(
                "{} beat HAR-RV on the selection half (DM {:.2}, p {:.3}) and every linear model",
                names[nl], g.dm_qlike.stat, g.dm_qlike.p
            ),
        )
    } else {
        (
            best_linear,
            format!(
                "lowest QLIKE on the selection half among the linear models; {} {} (DM vs HAR-RV {:.2}, p {:.3})",
                names[nl],
                if admitted { "beat HAR-RV but not the best linear model" } else { "was not admitted: it did not beat HAR-RV significantly" },
                g.dm_qlike.stat,
                g.dm_qlike.p
            ),
        )
    };
    // The HAR-RV coefficients on the whole history (for the report; not used in the evaluation).
    let mut har = Har::new(HarKind::Levels, cfg.h);
    har.fit(periods);
    let har_coefficients = har.coefficients().map(|c| c.to_vec());
    let fmt = |t: usize| crate::data::format_ts(periods[t].ts, h < crate::data::DAY);
    (
        Study {
            asset: name.to_string(),
            period_secs: h,
            periods: periods.len(),
            incomplete_periods: incomplete,
            min_train,
            refit_every,
            models: names.clone(),
            evaluated: idx.len(),
            from: idx.first().map(|&t| fmt(t)),
            to: idx.last().map(|&t| fmt(t)),
            selection,
            test,
            full,
            chosen: names[chosen].clone(),
            nonlinear_admitted: admitted,
            choice_reason: reason,
            har_coefficients,
        },
        fc,
    )
}

#[cfg(test)]
mod tests;

/// The value a keeper would publish to the market's vol-feed account.
#[derive(Clone, Debug, Serialize)]
pub struct Published {
    /// Asset.
    pub asset: String,
    /// Model used.
    pub model: String,
    /// Why this model.
    pub reason: String,
    /// The period the forecast is made at (its end).
    pub as_of: String,
    /// Period length (seconds).
    pub period_secs: i64,
    /// Forecast annualised variance of the next period.
    pub variance: f64,
    /// Its square root: the annualised vol to publish.
    pub vol: f64,
    /// `ImpliedVol::vol` as keel-risk stores it (Q32.32 bits of an `I32F32`).
    pub vol_fx_bits: i64,
    /// `ImpliedVol::ts`: the time the forecast is made at (unix seconds).
    pub ts: i64,
}

/// Fits the model named `model` (or, with `None`, the one the walk-forward study chooses) on the
/// whole history and forecasts the next period.
pub fn publishable(
    name: &str,
    periods: &[Period],
    incomplete: usize,
    with_iv: bool,
    cfg: &StudyConfig,
    model: Option<&str>,
) -> Result<Published, String> {
    let (model_name, reason) = match model {
        Some(m) => (m.to_string(), "chosen on the command line".to_string()),
        None => {
            let (st, _) = study(name, periods, incomplete, with_iv, cfg, || {});
            if st.evaluated == 0 {
                return Err(format!("{name}: too little history to evaluate the forecasters ({} periods, {} needed before the first forecast)", periods.len(), cfg.min_train));
            }
            (st.chosen.clone(), st.choice_reason.clone())
        }
    };
    let mut models = candidates(cfg.h, with_iv);
    let known: Vec<&str> = models.iter().map(|m| m.name()).collect();
    let k = models
        .iter()
        .position(|m| m.name().eq_ignore_ascii_case(&model_name))
        .ok_or_else(|| format!("no forecaster '{model_name}' (have: {})", known.join(", ")))?;
    let m = &mut models[k];
    m.fit(periods);
    let variance = m.forecast(periods).ok_or_else(|| {
        format!("{name}: {model_name} has no forecast at the last period (missing bars or implied vol in the last 22 periods?)")
    })?;
    let last = periods.last().ok_or("no periods")?;
    let vol = variance.sqrt();
    Ok(Published {
        asset: name.to_string(),
        model: model_name,
        reason,
        as_of: crate::data::format_ts(last.ts, cfg.h < crate::data::DAY),
        period_secs: cfg.h,
        variance,
        vol,
        vol_fx_bits: keel_risk::Fx::from_num(vol).to_bits(),
        ts: last.ts,
    })
}
