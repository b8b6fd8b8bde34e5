//! The replay: at every evaluation time t, each reference book is struck at the day's spot,
//! margined by keel-risk (and by the baselines), and its realised loss over the liquidation
//! horizon h is measured at market marks. Margins are compared in *market terms*: the capital an
//! account must hold above the market value of its positions (for Keel, MM plus the gap between
//! the market's mark and the engine's mark at its mark vol; for the per-position rules, their
//! add-on above the mark). For Keel this is what decides liquidation: collateral at or above it
//! keeps the engine's MM health ≥ 0. Where the scan sets MM it equals the worst MM scenario's
//! value of the book at the margin vol less its market value, whatever vol the marks use.

use crate::bs;
use crate::data::{Series, DAY};
use crate::engine::{self, Feed, KeelMargin, Leg, MarketAt};
use crate::portfolio::PortfolioSpec;
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::{RiskParams, SeriesKind, VolState};

/// One asset: prices, optional implied vol, and its contract size.
#[derive(Clone, Debug)]
pub struct Asset {
    /// Price bars.
    pub prices: Series,
    /// Implied vol (percent), if given.
    pub iv: Option<Series>,
    /// Contract size in units of the asset.
    pub contract: f64,
    /// Republish the last implied vol at every price bar (see `engine::feed_from_iv`).
    pub iv_republish: bool,
}

impl Asset {
    /// Wraps a price series (and IV) with a contract size chosen from its first close.
    pub fn new(prices: Series, iv: Option<Series>) -> Asset {
        let contract = engine::contract_size(prices.bars[0].close);
        let iv_republish = iv.as_ref().is_some_and(|v| v.interval > prices.interval);
        Asset {
            prices,
            iv,
            contract,
            iv_republish,
        }
    }

    /// The asset's name (its price file stem).
    pub fn name(&self) -> &str {
        &self.prices.name
    }

    /// Whether the books' option marks are market prices: only with an implied-vol file.
    pub fn marks_are_market(&self) -> bool {
        self.iv.is_some()
    }

    /// What the books' option marks are, in words (for reports).
    pub fn marks_description(&self) -> String {
        match &self.iv {
            Some(iv) => format!("implied vol from {} (market prices)", iv.path),
            None => "trailing 30-day realised vol of the prices (a stand-in: not market prices)"
                .to_string(),
        }
    }

    /// The vol feed an IV file gives (none without one).
    pub fn iv_feed(&self) -> Option<Feed> {
        self.iv
            .as_ref()
            .map(|iv| engine::feed_from_iv(&self.prices, iv, self.iv_republish))
    }

    /// The market's mark vol at each bar: the IV of the day when an IV file is given (the last
    /// value at or before the bar, if at most one IV interval old; otherwise none, and option
    /// books are not evaluated there); without an IV file, the trailing 30-day close-to-close
    /// realised vol (a stand-in documented in docs/validation.md).
    pub fn mark_vols(&self) -> Vec<Option<f64>> {
        let bars = &self.prices.bars;
        match &self.iv {
            Some(iv) => bars
                .iter()
                .map(|b| {
                    iv.last_at_or_before(b.ts)
                        .filter(|&j| b.ts - iv.bars[j].ts <= iv.interval)
                        .map(|j| iv.bars[j].close / 100.0)
                })
                .collect(),
            None => {
                let mut out = vec![None; bars.len()];
                let mut start = 0;
                let mut sum = 0.0;
                for i in 1..bars.len() {
                    let r = (bars[i].close / bars[i - 1].close).ln();
                    sum += r * r;
                    while bars[i].ts - bars[start].ts > 30 * DAY {
                        let r0 = (bars[start + 1].close / bars[start].close).ln();
                        sum -= r0 * r0;
                        start += 1;
                    }
                    let span = (bars[i].ts - bars[start].ts) as f64;
                    if span >= 29.0 * DAY as f64 {
                        out[i] = Some((sum.max(0.0) * bs::YEAR / span).sqrt());
                    }
                }
                out
            }
        }
    }

    /// RiskMetrics EWMA vol (λ = 0.94 per day, time-scaled) at each bar, in f64: the naive
    /// baseline's vol, independent of keel-risk's parameters.
    pub fn ewma_vols(&self) -> Vec<f64> {
        let bars = &self.prices.bars;
        let tau = DAY as f64 / -(0.94f64.ln());
        let mut v: f64 = 0.36; // seeded like keel-risk's default long-run variance
        let mut out = vec![v.sqrt(); bars.len()];
        for i in 1..bars.len() {
            let dt = (bars[i].ts - bars[i - 1].ts) as f64;
            let r = (bars[i].close / bars[i - 1].close).ln();
            let w = 1.0 - (-dt / tau).exp();
            v += w * (r * r * bs::YEAR / dt - v);
            out[i] = v.sqrt();
        }
        out
    }
}

/// A Keel configuration under test: parameters and what feeds the vol-feed account.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Name in reports.
    pub name: String,
    /// keel-risk parameters.
    pub params: RiskParams,
    /// The feed per asset (index as `assets`); `None` entries publish nothing.
    pub feeds: Vec<Option<Feed>>,
    /// Run on every book (true) or only on the books in `focus`.
    pub all_books: bool,
    /// The implied vol from the market's own fills at its marks instead of `feeds`
    /// (`engine::Fills`), with these limits.
    pub fills: Option<engine::FillConfig>,
}

/// A margin rule compared on the same data.
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// Keel with the variant of this index, in market terms (MM + market value − engine value).
    Keel(usize),
    /// What-if: Keel's MM with scenario P&L relative to the margin vol (positions marked at the
    /// margin vol inside the engine) added to the market marks — an engine that marks at the
    /// market and applies its grid as shocks (`engine::margin_relative_what_if`; not the
    /// program's engine).
    KeelRelative(usize),
    /// A static fraction of the notional of futures and short options.
    Static(f64),
    /// Deribit-style standard margin (MM: 7.5% of spot per short option, 1% per future).
    DeribitStandard,
    /// Deribit-style standard initial margin: per short option max(0.15 − OTM/spot, 0.10) of
    /// spot (a put at least its MM), 2% per future, above the mark.
    DeribitStandardIm,
    /// The worst loss over a ±k·σ_EWMA·√h price ladder, revalued at the market vol.
    NaiveGrid(f64),
}

/// Run settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Liquidation horizon h in seconds.
    pub horizon: i64,
    /// Target confidence (0.99).
    pub confidence: f64,
    /// Seconds of history the vol state sees before evaluation starts.
    pub warmup: i64,
    /// Evaluate only at or after this time.
    pub from: Option<i64>,
    /// Evaluate only at or before this time.
    pub to: Option<i64>,
    /// Oracle confidence as a fraction of price (0: the add-on is off).
    pub conf_frac: f64,
    /// Books restricted variants run on.
    pub focus: Vec<&'static str>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            horizon: DAY,
            confidence: 0.99,
            warmup: 90 * DAY,
            from: None,
            to: None,
            conf_frac: 0.0,
            focus: vec!["short_straddle", "long_future"],
        }
    }
}

/// One evaluation time of one book.
#[derive(Clone, Debug, Default)]
pub struct Point {
    /// Valuation time (a bar close).
    pub ts: i64,
    /// Underlying notional (Σ per market of the largest leg × spot), native units.
    pub notional: f64,
    /// Realised loss over the horizon at market marks (positive = loss), native units.
    pub loss: f64,
    /// Margin in market terms per model (same order as `BookRun::models`), native units;
    /// NaN where a model does not run.
    pub margin: Vec<f64>,
    /// Keel's raw MM per variant (native), NaN where it does not run.
    pub keel_mm: Vec<f64>,
    /// Keel's IM per variant (native).
    pub keel_im: Vec<f64>,
}

/// All points of one book.
#[derive(Clone, Debug)]
pub struct BookRun {
    /// The book.
    pub spec: PortfolioSpec,
    /// Names of its assets.
    pub assets: Vec<String>,
    /// The models, in `Point::margin` order.
    pub models: Vec<Model>,
    /// Model display names.
    pub model_names: Vec<String>,
    /// Evaluation points in time order.
    pub points: Vec<Point>,
    /// Evaluation times skipped because no bar exists exactly one horizon later.
    pub skipped_no_bar: usize,
    /// Evaluation times skipped because the market mark vol was missing.
    pub skipped_no_mark: usize,
}

/// Per-asset precomputation shared by all books.
pub struct Prepared {
    /// Mark vols.
    pub marks: Vec<Option<f64>>,
    /// Naive-baseline EWMA vols.
    pub ewma: Vec<f64>,
    /// Vol states per variant (empty when the variant does not run on this asset).
    pub states: Vec<Vec<VolState>>,
}

/// Cranks every variant on every asset.
pub fn prepare(
    assets: &[Asset],
    variants: &[Variant],
) -> Result<Vec<Prepared>, engine::EngineError> {
    assets
        .iter()
        .enumerate()
        .map(|(a, asset)| {
            let marks = asset.mark_vols();
            let states = variants
                .iter()
                .map(|v| {
                    engine::crank_with(
                        &asset.prices,
                        asset.contract,
                        &v.params,
                        v.feeds.get(a).and_then(|f| f.as_ref()),
                        v.fills
                            .filter(|_| asset.marks_are_market())
                            .map(|c| engine::Fills {
                                marks: &marks,
                                params: c.params,
                                every: c.every,
                            })
                            .as_ref(),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Prepared {
                marks,
                ewma: asset.ewma_vols(),
                states,
            })
        })
        .collect()
}

/// Display name of a model.
pub fn model_name(m: &Model, variants: &[Variant]) -> String {
    match m {
        Model::Keel(i) => variants[*i].name.clone(),
        Model::KeelRelative(i) => format!("{} (what-if: relative scenarios)", variants[*i].name),
        Model::Static(f) => format!("static {:.0}%", f * 100.0),
        Model::DeribitStandard => "Deribit standard".into(),
        Model::DeribitStandardIm => "Deribit standard IM".into(),
        Model::NaiveGrid(k) => format!("naive {k}σ EWMA grid"),
    }
}

/// The baseline models every book is compared with.
pub fn baselines() -> Vec<Model> {
    vec![
        Model::Static(0.10),
        Model::Static(0.15),
        Model::DeribitStandard,
        Model::DeribitStandardIm,
        Model::NaiveGrid(3.0),
    ]
}

/// Deribit-style standard maintenance margin of one contract above its mark: 7.5% of spot per
/// short option (a put: 7.5% of the larger of spot and mark), 1% of spot per future, nothing for
/// a long option.
pub fn deribit_mm(kind: SeriesKind, qty: i64, spot: f64, mark: f64) -> f64 {
    match kind {
        SeriesKind::Future => 0.01 * spot,
        _ if qty > 0 => 0.0,
        SeriesKind::Call => 0.075 * spot,
        SeriesKind::Put => 0.075 * spot.max(mark),
    }
}

/// Deribit-style standard initial margin of one contract above its mark: per short option
/// max(0.15 − OTM/spot, 0.10) of spot (a put at least its maintenance margin), 2% of spot per
/// future, nothing for a long option.
pub fn deribit_im(kind: SeriesKind, qty: i64, spot: f64, strike: f64, mark: f64) -> f64 {
    let otm = match kind {
        SeriesKind::Future => return 0.02 * spot,
        _ if qty > 0 => return 0.0,
        SeriesKind::Call => (strike - spot).max(0.0),
        SeriesKind::Put => (spot - strike).max(0.0),
    };
    let im = (0.15 - otm / spot).max(0.10) * spot;
    if kind == SeriesKind::Put {
        im.max(deribit_mm(kind, qty, spot, mark))
    } else {
        im
    }
}

struct Ctx<'a> {
    assets: Vec<&'a Asset>,
    prep: Vec<&'a Prepared>,
    variants: &'a [Variant],
    cfg: &'a Config,
}

/// A leg struck at the time of evaluation, in native units.
#[derive(Clone, Copy)]
struct Struck {
    leg: Leg,
    market: usize,
}

/// Market value of struck legs at market marks: spots, vols and time per market.
fn market_value(legs: &[Struck], spot: &[f64], vol: &[f64], now: i64) -> f64 {
    legs.iter()
        .map(|s| {
            let l = &s.leg;
            let q = l.qty as f64;
            let f = spot[s.market];
            match l.kind {
                SeriesKind::Future => q * (f - l.entry as f64),
                k => {
                    q * bs::black76(
                        k == SeriesKind::Call,
                        f,
                        l.strike as f64,
                        vol[s.market],
                        (l.expiry - now) as f64,
                    )
                }
            }
        })
        .sum()
}

/// Runs one book over the timeline of its first asset (and the common bars of the others).
/// `assets` and `prep` are the book's markets in leg order.
#[allow(clippy::too_many_arguments)]
pub fn run_book(
    spec: &PortfolioSpec,
    assets: &[&Asset],
    prep: &[&Prepared],
    variants: &[Variant],
    models: &[Model],
    cfg: &Config,
    qty_scale: &[i64],
    mut tick: impl FnMut(),
) -> Result<BookRun, engine::EngineError> {
    let ctx = Ctx {
        assets: assets.to_vec(),
        prep: prep.to_vec(),
        variants,
        cfg,
    };
    let base = &ctx.assets[0].prices;
    let start = base.bars[0].ts + cfg.warmup;
    let mut out = BookRun {
        spec: spec.clone(),
        assets: ctx.assets.iter().map(|a| a.name().to_string()).collect(),
        models: models.to_vec(),
        model_names: models.iter().map(|m| model_name(m, variants)).collect(),
        points: Vec::new(),
        skipped_no_bar: 0,
        skipped_no_mark: 0,
    };
    let mut scratch = MarginBreakdown::default();
    let n_m = ctx.assets.len();
    for bar in &base.bars {
        tick();
        let t = bar.ts;
        if t < start || cfg.from.is_some_and(|f| t < f) || cfg.to.is_some_and(|e| t > e) {
            continue;
        }
        // Bars at t and t + h in every market.
        let mut idx = Vec::with_capacity(n_m);
        let mut idx_h = Vec::with_capacity(n_m);
        for a in &ctx.assets {
            match (a.prices.index_at(t), a.prices.index_at(t + cfg.horizon)) {
                (Some(i), Some(j)) => {
                    idx.push(i);
                    idx_h.push(j);
                }
                _ => break,
            }
        }
        if idx.len() < n_m {
            out.skipped_no_bar += 1;
            continue;
        }
        let marks: Option<Vec<(f64, f64)>> = (0..n_m)
            .map(|m| Some((ctx.prep[m].marks[idx[m]]?, ctx.prep[m].marks[idx_h[m]]?)))
            .collect();
        let marks = match (marks, spec.has_options()) {
            (Some(v), _) => v,
            (None, false) => vec![(0.0, 0.0); n_m],
            (None, true) => {
                out.skipped_no_mark += 1;
                continue;
            }
        };
        let point = evaluate(
            &ctx,
            spec,
            models,
            &idx,
            &idx_h,
            &marks,
            t,
            qty_scale,
            &mut scratch,
        )?;
        out.points.push(point);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    ctx: &Ctx,
    spec: &PortfolioSpec,
    models: &[Model],
    idx: &[usize],
    idx_h: &[usize],
    marks: &[(f64, f64)],
    t: i64,
    qty_scale: &[i64],
    scratch: &mut MarginBreakdown,
) -> Result<Point, engine::EngineError> {
    let n_m = ctx.assets.len();
    let h = ctx.cfg.horizon;
    let spot_n: Vec<i64> = (0..n_m)
        .map(|m| {
            engine::native(
                ctx.assets[m].prices.bars[idx[m]].close,
                ctx.assets[m].contract,
            )
        })
        .collect();
    let spot: Vec<f64> = spot_n.iter().map(|&s| s as f64).collect();
    let spot_h: Vec<f64> = (0..n_m)
        .map(|m| {
            engine::native(
                ctx.assets[m].prices.bars[idx_h[m]].close,
                ctx.assets[m].contract,
            ) as f64
        })
        .collect();
    let vol: Vec<f64> = marks.iter().map(|m| m.0).collect();
    let vol_h: Vec<f64> = marks.iter().map(|m| m.1).collect();
    let legs: Vec<Struck> = spec
        .legs
        .iter()
        .map(|l| {
            let m = l.market as usize;
            Struck {
                market: m,
                leg: Leg {
                    market: l.market,
                    kind: l.kind,
                    strike: if l.kind.is_option() {
                        (spot[m] * l.moneyness).round().max(1.0) as i64
                    } else {
                        0
                    },
                    expiry: t + l.tenor_days * DAY,
                    qty: l.qty * qty_scale[m],
                    entry: spot_n[m],
                },
            }
        })
        .collect();
    let v0 = market_value(&legs, &spot, &vol, t);
    let v1 = market_value(&legs, &spot_h, &vol_h, t + h);
    let mut notional_per_market = vec![0.0f64; n_m];
    for s in &legs {
        notional_per_market[s.market] =
            notional_per_market[s.market].max(s.leg.qty.unsigned_abs() as f64 * spot[s.market]);
    }
    let notional: f64 = notional_per_market.iter().sum();
    let n_var = ctx.variants.len();
    let mut keel: Vec<Option<KeelMargin>> = vec![None; n_var];
    let mut margin = Vec::with_capacity(models.len());
    let raw_legs: Vec<Leg> = legs.iter().map(|s| s.leg).collect();
    for model in models {
        let m = match model {
            Model::Keel(v) | Model::KeelRelative(v) => {
                let var = &ctx.variants[*v];
                if !var.all_books && !ctx.cfg.focus.contains(&spec.name) {
                    f64::NAN
                } else {
                    let mk: Vec<MarketAt> = (0..n_m)
                        .map(|m| MarketAt {
                            spot: spot_n[m],
                            vol: ctx.prep[m].states[*v][idx[m]],
                            conf_frac: ctx.cfg.conf_frac,
                        })
                        .collect();
                    if let Model::KeelRelative(_) = model {
                        let r = engine::margin_relative_what_if(
                            &raw_legs,
                            &mk,
                            &var.params,
                            t,
                            scratch,
                        )?;
                        r.mm as f64
                    } else {
                        let k = match keel[*v] {
                            Some(k) => k,
                            None => {
                                let k = engine::margin(&raw_legs, &mk, &var.params, t, scratch)?;
                                keel[*v] = Some(k);
                                k
                            }
                        };
                        k.mm as f64 + (v0 - k.value as f64)
                    }
                }
            }
            Model::Static(f) => legs
                .iter()
                .filter(|s| s.leg.kind == SeriesKind::Future || s.leg.qty < 0)
                .map(|s| f * s.leg.qty.unsigned_abs() as f64 * spot[s.market])
                .sum(),
            Model::DeribitStandard | Model::DeribitStandardIm => legs
                .iter()
                .map(|s| {
                    let l = &s.leg;
                    let f = spot[s.market];
                    let mark = if l.kind.is_option() {
                        bs::black76(
                            l.kind == SeriesKind::Call,
                            f,
                            l.strike as f64,
                            vol[s.market],
                            (l.expiry - t) as f64,
                        )
                    } else {
                        0.0
                    };
                    let per_contract = if *model == Model::DeribitStandard {
                        deribit_mm(l.kind, l.qty, f, mark)
                    } else {
                        deribit_im(l.kind, l.qty, f, l.strike as f64, mark)
                    };
                    l.qty.unsigned_abs() as f64 * per_contract
                })
                .sum(),
            Model::NaiveGrid(k) => {
                let range: Vec<f64> = (0..n_m)
                    .map(|m| k * ctx.prep[m].ewma[idx[m]] * (h as f64 / bs::YEAR).sqrt())
                    .collect();
                // Every market moves on its own ladder; the worst step is taken jointly
                // (all markets at the same fraction of their range, which is what a single
                // price-shock ladder per account gives).
                let mut worst = 0.0f64;
                for i in -6..=6 {
                    let s: Vec<f64> = (0..n_m)
                        .map(|m| spot[m] * (range[m] * i as f64 / 6.0).exp())
                        .collect();
                    worst = worst.max(v0 - market_value(&legs, &s, &vol, t));
                }
                worst
            }
        };
        margin.push(m);
    }
    Ok(Point {
        ts: t,
        notional,
        loss: v0 - v1,
        margin,
        keel_mm: keel
            .iter()
            .map(|k| k.map_or(f64::NAN, |k| k.mm as f64))
            .collect(),
        keel_im: keel
            .iter()
            .map(|k| k.map_or(f64::NAN, |k| k.im as f64))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn deribit_standard_margins_follow_the_published_formulas() {
        let s = 100.0;
        // Short ATM call: IM 15% of spot, MM 7.5%.
        assert!(close(deribit_im(SeriesKind::Call, -1, s, 100.0, 5.0), 15.0));
        assert!(close(deribit_mm(SeriesKind::Call, -1, s, 5.0), 7.5));
        // 10% OTM call: max(0.15 − 0.10, 0.10) = 10%; 3% OTM put: 12%.
        assert!(close(deribit_im(SeriesKind::Call, -1, s, 110.0, 1.0), 10.0));
        assert!(close(deribit_im(SeriesKind::Put, -1, s, 97.0, 3.0), 12.0));
        // 30% OTM: the 10% floor.
        assert!(close(deribit_im(SeriesKind::Put, -1, s, 70.0, 0.1), 10.0));
        // In the money: no OTM credit.
        assert!(close(deribit_im(SeriesKind::Put, -1, s, 120.0, 21.0), 15.0));
        // A put's MM is 7.5% of the larger of spot and mark, and its IM at least that.
        assert!(close(deribit_mm(SeriesKind::Put, -1, s, 150.0), 11.25));
        assert!(close(
            deribit_im(SeriesKind::Put, -1, s, 250.0, 150.0),
            15.0
        ));
        assert!(close(deribit_im(SeriesKind::Put, -1, s, 90.0, 200.0), 15.0));
        // Long options: premium only; futures: 1% MM, 2% IM, either side.
        assert_eq!(deribit_im(SeriesKind::Call, 3, s, 100.0, 5.0), 0.0);
        assert_eq!(deribit_mm(SeriesKind::Put, 3, s, 5.0), 0.0);
        assert!(close(deribit_mm(SeriesKind::Future, -2, s, 0.0), 1.0));
        assert!(close(deribit_im(SeriesKind::Future, 2, s, 0.0, 0.0), 2.0));
    }
}
