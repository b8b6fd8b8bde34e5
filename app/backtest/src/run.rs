//! The whole study: forecasting (whose forecasts can drive the vol feed), the coverage /
//! procyclicality / efficiency replay of every book under Keel variants and baselines, the
//! cascade simulation, and the bar check.

use crate::backtest::{self, Asset, BookRun, Config, Model, Variant};
use crate::calibrate::{self, Bar, Check};
use crate::cascade::{self, CascadeConfig, ThroughputConfig, ThroughputResult, WindowResult};
use crate::chain::{self, Capacity};
use crate::data::{format_ts, DAY};
use crate::engine::{self, Feed};
use crate::forecast::{self, Period, Study, StudyConfig};
use crate::metrics::{self, BookStats, MeasureConfig, Window};
use crate::portfolio;
use indicatif::ProgressBar;
use keel_risk::vol::fills::FillVolParams;
use keel_risk::{Fx, ImpliedVol, LiquidationParams, RiskParams};
use serde::Serialize;
use std::time::Instant;

/// Everything a run needs besides the data.
#[derive(Clone, Debug)]
pub struct Options {
    /// Replay settings.
    pub cfg: Config,
    /// Stress windows.
    pub windows: Vec<Window>,
    /// keel-risk parameters under test.
    pub params: RiskParams,
    /// Liquidation parameters.
    pub liq: LiquidationParams,
    /// Run the forecasting study (and drive margin with each forecaster).
    pub forecasting: bool,
    /// Its settings.
    pub study: StudyConfig,
    /// Run the cascade simulation.
    pub cascade: bool,
    /// Its settings.
    pub cascade_cfg: CascadeConfig,
    /// The throughput study (the cascade under the chain's limits; `None`: not run).
    pub throughput: Option<ThroughputConfig>,
    /// The bar.
    pub bar: Bar,
    /// Evaluation mode without a vol feed: the engine is also run with no vol feed on every
    /// book (its margin vol only from its own historical estimate) while the market still marks
    /// at the implied vol, and the bar is checked on it beside the fed run.
    pub no_vol_feed: bool,
    /// The fills of variant `FILLS`: the fill-implied vol's limits, and a fill before every
    /// how many cranks.
    pub fills: engine::FillConfig,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cfg: Config::default(),
            windows: metrics::default_windows(),
            params: RiskParams::DEFAULT,
            liq: LiquidationParams::DEFAULT,
            forecasting: true,
            study: StudyConfig::default(),
            cascade: true,
            cascade_cfg: CascadeConfig::default(),
            throughput: None,
            bar: Bar::default(),
            no_vol_feed: false,
            fills: engine::FillConfig {
                params: FillVolParams::DEFAULT,
                every: 1,
            },
        }
    }
}

/// What was read, per asset.
#[derive(Clone, Debug, Serialize)]
pub struct AssetInfo {
    /// Name (file stem).
    pub name: String,
    /// File.
    pub path: String,
    /// Bars.
    pub bars: usize,
    /// Bar interval (seconds).
    pub interval_secs: i64,
    /// First bar close.
    pub first: String,
    /// Last bar close.
    pub last: String,
    /// Missing bars (never filled).
    pub missing_bars: i64,
    /// Gaps (first 50).
    pub gaps: Vec<crate::data::Gap>,
    /// Gaps in all.
    pub gap_count: usize,
    /// Contract size used (units of the asset).
    pub contract_size: f64,
    /// The implied-vol file, if any.
    pub iv: Option<IvInfo>,
    /// Whether the engine ("Keel") is given an implied-vol feed on this asset.
    pub vol_feed: bool,
    /// Whether the books' option marks are market prices (an implied-vol file was given).
    pub marks_are_market: bool,
    /// What the books' option marks are, in words.
    pub marks: String,
}

/// What was read from an implied-vol file.
#[derive(Clone, Debug, Serialize)]
pub struct IvInfo {
    /// File.
    pub path: String,
    /// Bars.
    pub bars: usize,
    /// First.
    pub first: String,
    /// Last.
    pub last: String,
    /// Missing bars.
    pub missing_bars: i64,
    /// Republished at every price bar (a coarser IV file standing for a live feed).
    pub republished: bool,
}

/// Wall-clock seconds per stage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    /// Forecasting study.
    pub forecasting: f64,
    /// Coverage replay (all books, variants, baselines) and measurement.
    pub coverage: f64,
    /// Cascade simulation.
    pub cascade: f64,
    /// Throughput study (when run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput: Option<f64>,
}

/// The machine-readable report (report.json).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Producer.
    pub generated_by: String,
    /// Liquidation horizon (seconds).
    pub horizon_secs: i64,
    /// Target confidence.
    pub confidence: f64,
    /// Oracle confidence add-on input (fraction of price).
    pub conf_frac: f64,
    /// The knobs of the parameters under test (calibrate::KNOBS order and names).
    pub params: Vec<(String, f64)>,
    /// Stress windows.
    pub windows: Vec<Window>,
    /// Inputs.
    pub assets: Vec<AssetInfo>,
    /// Whether the run is in the evaluation mode without a vol feed (`Options::no_vol_feed`).
    pub no_vol_feed: bool,
    /// The Keel variants compared (name, what feeds the vol feed).
    pub variants: Vec<String>,
    /// Per book.
    pub books: Vec<BookStats>,
    /// The bar, checked on the bar's book for every asset.
    pub bar: Bar,
    /// Per asset.
    pub bar_checks: Vec<Check>,
    /// Forecasting study per asset.
    pub forecasting: Vec<Study>,
    /// Cascade simulation per window.
    pub cascade: Vec<WindowResult>,
    /// Liquidation calls the chain can land, per layout, request and trade load (when the
    /// throughput study ran).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub throughput_capacity: Vec<Capacity>,
    /// The throughput study per window.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub throughput: Vec<ThroughputResult>,
    /// The realised-vol stress of the liquidation trigger per asset, when the parameters keep
    /// a realised vol (`realised_tau_secs` > 0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stress: Vec<crate::stress::StressStats>,
    /// Run times.
    pub timings: Timings,
}

/// What the charts need beyond the report.
pub struct Extras {
    /// Every book run.
    pub runs: Vec<BookRun>,
    /// Per asset: the vol states of the main Keel variant and of Keel without APC or floors.
    pub states: Vec<(Vec<keel_risk::VolState>, Vec<keel_risk::VolState>)>,
    /// Per asset: periods and walk-forward forecasts of each model.
    pub forecasts: Vec<(Vec<Period>, forecast::Forecasts)>,
}

/// The feed a forecaster gives: at each bar, the last forecast made at or before it, republished
/// (stamped with the bar's time) as a keeper keeping the feed fresh would.
fn feed_from_forecasts(asset: &Asset, periods: &[Period], fc: &[Option<f64>]) -> Feed {
    let mut out = vec![None; asset.prices.bars.len()];
    let mut last: Option<ImpliedVol> = None;
    let mut k = 0;
    for (i, b) in asset.prices.bars.iter().enumerate() {
        while k < periods.len() && periods[k].ts <= b.ts {
            if let Some(v) = fc[k] {
                last = Some(ImpliedVol {
                    vol: Fx::from_num(v.sqrt()),
                    ts: periods[k].ts,
                });
            }
            k += 1;
        }
        // The keeper keeps the latest forecast fresh: it is republished at every crank.
        out[i] = last.map(|v| ImpliedVol { ts: b.ts, ..v });
    }
    out
}

/// `f` over `jobs` on 2 threads (the machine this targets has 2 cores), results in order.
fn par_map<T: Sync, R: Send>(jobs: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(k) else { break };
                        out.push((k, f(job)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    });
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Summarises the inputs.
pub fn asset_info(a: &Asset) -> AssetInfo {
    let s = &a.prices;
    let intraday = s.interval < DAY;
    AssetInfo {
        name: a.name().to_string(),
        path: s.path.clone(),
        bars: s.bars.len(),
        interval_secs: s.interval,
        first: format_ts(s.bars[0].ts, intraday),
        last: format_ts(s.bars[s.bars.len() - 1].ts, intraday),
        missing_bars: s.missing_bars(),
        gaps: s.gaps.iter().take(50).cloned().collect(),
        gap_count: s.gaps.len(),
        contract_size: a.contract,
        iv: a.iv.as_ref().map(|iv| IvInfo {
            path: iv.path.clone(),
            bars: iv.bars.len(),
            first: format_ts(iv.bars[0].ts, iv.interval < DAY),
            last: format_ts(iv.bars[iv.bars.len() - 1].ts, iv.interval < DAY),
            missing_bars: iv.missing_bars(),
            republished: a.iv_republish,
        }),
        vol_feed: a.iv.is_some(),
        marks_are_market: a.marks_are_market(),
        marks: a.marks_description(),
    }
}

/// Every book run on the assets: the single-asset books on each asset, the mixed book on the
/// first two. `tick` is called once per bar visited.
pub fn run_books(
    assets: &[Asset],
    variants: &[Variant],
    models: &[Model],
    cfg: &Config,
    mut tick: impl FnMut(),
) -> Result<(Vec<BookRun>, Vec<backtest::Prepared>), engine::EngineError> {
    let prep = backtest::prepare(assets, variants)?;
    let mut runs = Vec::new();
    for (a, asset) in assets.iter().enumerate() {
        for spec in portfolio::single_asset() {
            runs.push(backtest::run_book(
                &spec,
                &[asset],
                &[&prep[a]],
                variants,
                models,
                cfg,
                &[1],
                &mut tick,
            )?);
        }
    }
    if assets.len() >= 2 {
        let spec = portfolio::mixed();
        // Equal notional per market at the first bar.
        let cv: Vec<f64> = assets[..2]
            .iter()
            .map(|a| a.prices.bars[0].close * a.contract)
            .collect();
        let top = cv.iter().cloned().fold(0.0, f64::max);
        let scale: Vec<i64> = cv
            .iter()
            .map(|c| (top / c).round().max(1.0) as i64)
            .collect();
        runs.push(backtest::run_book(
            &spec,
            &[&assets[0], &assets[1]],
            &[&prep[0], &prep[1]],
            variants,
            models,
            cfg,
            &scale,
            &mut tick,
        )?);
    }
    Ok((runs, prep))
}

/// Bars visited by `run_books` (for the progress bar).
pub fn bars_to_visit(assets: &[Asset]) -> u64 {
    let single: usize =
        assets.iter().map(|a| a.prices.bars.len()).sum::<usize>() * portfolio::single_asset().len();
    let mixed = if assets.len() >= 2 {
        assets[0].prices.bars.len()
    } else {
        0
    };
    (single + mixed) as u64
}

/// Whether any asset has intraday bars.
pub fn intraday(assets: &[Asset]) -> bool {
    assets.iter().any(|a| a.prices.interval < DAY)
}

/// The bar's figures from measured books: the Keel model on the bar's book of each asset, and
/// with `no_vol_feed` also the Keel variant given no vol feed (`NO_FEED`), judged with the same
/// bar. `assets` says per asset whether its marks are market prices; a book whose marks are not
/// is never judged to meet the bar.
pub fn bar_checks(
    books: &[BookStats],
    bar: &Bar,
    assets: &[AssetInfo],
    no_vol_feed: bool,
) -> Vec<Check> {
    let judged: &[&str] = if no_vol_feed {
        &["Keel", NO_FEED, FILLS]
    } else {
        &["Keel"]
    };
    let mut out = Vec::new();
    for b in books.iter().filter(|b| b.book == "short_straddle") {
        for &model in judged {
            let Some(m) = b.models.iter().find(|m| m.model == model) else {
                continue;
            };
            let mut c = Check::of(
                &b.assets[0],
                m,
                bar,
                books
                    .iter()
                    .filter(|f| f.assets == b.assets && f.book.ends_with("_future"))
                    .filter_map(|f| {
                        let c = &f.models.iter().find(|m| m.model == model)?.coverage;
                        Some((
                            f.book.clone(),
                            c.exceedances,
                            c.n,
                            c.kupiec.p,
                            c.christoffersen.p,
                        ))
                    })
                    .collect(),
            );
            let info = assets.iter().find(|a| a.name == b.assets[0]);
            c.marks_are_market = info.is_some_and(|a| a.marks_are_market);
            c.vol_feed = model == "Keel" && info.is_some_and(|a| a.vol_feed);
            c.judge(&Bar {
                futures: false,
                ..*bar
            });
            out.push(c);
        }
    }
    out
}

/// Runs everything. `pb` shows progress (hidden when not on a terminal).
pub fn run_all(
    assets: &[Asset],
    opt: &Options,
    pb: &ProgressBar,
) -> Result<(Report, Extras), Box<dyn std::error::Error>> {
    let mut timings = Timings::default();
    let intraday = intraday(assets);

    // 1. Forecasting (first: its forecasts can drive the vol feed).
    let t = Instant::now();
    let mut studies = Vec::new();
    let mut forecasts = Vec::new();
    if opt.forecasting {
        let mut all = Vec::new();
        for a in assets {
            let h = opt.study.h.max(a.prices.interval);
            all.push(forecast::periods(&a.prices, a.iv.as_ref(), h));
        }
        let total: u64 = all
            .iter()
            .map(|(p, _)| p.len().saturating_sub(opt.study.min_train) as u64)
            .sum();
        pb.set_length(total);
        pb.set_position(0);
        pb.set_message("forecasting (walk-forward)");
        // One thread per asset (the study of an asset is sequential by nature).
        let results: Vec<(Study, forecast::Forecasts)> = std::thread::scope(|scope| {
            let handles: Vec<_> = assets
                .iter()
                .zip(&all)
                .map(|(a, (periods, incomplete))| {
                    let cfg = StudyConfig {
                        h: opt.study.h.max(a.prices.interval),
                        ..opt.study
                    };
                    scope.spawn(move || {
                        forecast::study(
                            a.name(),
                            periods,
                            *incomplete,
                            a.iv.is_some(),
                            &cfg,
                            || pb.inc(1),
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("forecasting thread"))
                .collect()
        });
        for ((s, fc), (periods, _)) in results.into_iter().zip(all) {
            studies.push(s);
            forecasts.push((periods, fc));
        }
    }
    timings.forecasting = t.elapsed().as_secs_f64();

    // 2. Coverage, procyclicality, efficiency.
    let t = Instant::now();
    let mut variants = standard_variants(assets, &opt.params);
    for v in variants.iter_mut().filter(|v| v.fills.is_some()) {
        v.fills = Some(opt.fills);
    }
    if opt.no_vol_feed {
        if let Some(assets_without) = assets.iter().find(|a| a.iv.is_none()) {
            return Err(format!(
                "--no-vol-feed marks at the implied vol: give an --iv for {}",
                assets_without.name()
            )
            .into());
        }
        for v in variants
            .iter_mut()
            .filter(|v| v.name == NO_FEED || v.name == FILLS)
        {
            v.all_books = true;
        }
    }
    if opt.forecasting {
        let names = forecast::candidates(DAY, true)
            .iter()
            .map(|m| m.name().to_string())
            .collect::<Vec<_>>();
        for name in names {
            let feeds: Vec<Option<Feed>> = assets
                .iter()
                .zip(&studies)
                .zip(&forecasts)
                .map(|((a, s), (periods, fc))| {
                    s.models
                        .iter()
                        .position(|m| *m == name)
                        .map(|k| feed_from_forecasts(a, periods, &fc[k]))
                })
                .collect();
            if feeds.iter().any(|f| f.is_some()) {
                variants.push(Variant {
                    name: format!("Keel, {name} feed"),
                    params: opt.params,
                    feeds,
                    all_books: false,
                    fills: None,
                });
            }
        }
    }
    let mut models = vec![Model::Keel(0), Model::KeelRelative(0)];
    models.extend((1..variants.len()).map(Model::Keel));
    models.extend(backtest::baselines());
    pb.set_length(bars_to_visit(assets));
    pb.set_position(0);
    pb.set_message("coverage replay");
    let (runs, prep) = run_books(assets, &variants, &models, &opt.cfg, || pb.inc(1))?;
    let mc = MeasureConfig {
        horizon: opt.cfg.horizon,
        confidence: opt.cfg.confidence,
        windows: opt.windows.clone(),
        intraday,
    };
    let books: Vec<BookStats> = runs.iter().map(|r| metrics::measure(r, &mc)).collect();
    timings.coverage = t.elapsed().as_secs_f64();

    // 3. Cascades.
    let t = Instant::now();
    let mut cascades = Vec::new();
    if opt.cascade {
        pb.set_length((opt.windows.len() * assets.len()) as u64);
        pb.set_position(0);
        pb.set_message("cascade simulation");
        // Windows run in parallel (2 threads: the machine this targets has 2 cores).
        let jobs: Vec<(&Asset, &Window)> = assets
            .iter()
            .flat_map(|a| opt.windows.iter().map(move |w| (a, w)))
            .collect();
        let results = par_map(&jobs, |(a, w)| {
            let r = cascade::simulate(a, &opt.params, &opt.liq, w, &opt.cascade_cfg)
                .map_err(|e| e.to_string());
            pb.inc(1);
            r
        });
        for r in results {
            cascades.extend(r?);
        }
    }
    timings.cascade = t.elapsed().as_secs_f64();

    // 4. Throughput: the cascade under the chain's limits.
    let mut throughput = Vec::new();
    let mut throughput_capacity = Vec::new();
    if let Some(tc) = &opt.throughput {
        let t = Instant::now();
        throughput_capacity = chain::capacities(
            &tc.chain,
            chain::CAPACITY_SHAPES,
            &[0, 4],
            &[1, tc.chain.keepers],
        );
        let windows: Vec<(&Asset, &Window)> = assets
            .iter()
            .flat_map(|a| opt.windows.iter().map(move |w| (a, w)))
            .collect();
        pb.set_message("throughput study");
        // The unconstrained reference of every window, then the grid runs it calls for.
        let reference = cascade::reference_job(&opt.cascade_cfg, tc);
        let refs = par_map(&windows, |(a, w)| {
            cascade::simulate(a, &opt.params, &opt.liq, w, &reference.cfg)
                .map_err(|e| e.to_string())
        })
        .into_iter()
        .collect::<Result<Vec<_>, String>>()?;
        let grids: Vec<Vec<cascade::ThroughputJob>> = refs
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or_else(Vec::new, |r| cascade::grid_jobs(&opt.cascade_cfg, tc, r))
            })
            .collect();
        let jobs: Vec<(&Asset, &Window, &CascadeConfig)> = windows
            .iter()
            .zip(&grids)
            .flat_map(|(&(a, w), g)| g.iter().map(move |j| (a, w, &j.cfg)))
            .collect();
        pb.set_length(jobs.len() as u64);
        pb.set_position(0);
        let mut results = par_map(&jobs, |(a, w, cfg)| {
            let r = cascade::simulate(a, &opt.params, &opt.liq, w, cfg).map_err(|e| e.to_string());
            pb.inc(1);
            r
        })
        .into_iter()
        .collect::<Result<Vec<_>, String>>()?
        .into_iter();
        for (r, g) in refs.iter().zip(&grids) {
            let res: Vec<WindowResult> = results.by_ref().take(g.len()).flatten().collect();
            if let Some(r) = r {
                throughput.push(cascade::throughput_result(tc, r, g, &res));
            }
        }
        timings.throughput = Some(t.elapsed().as_secs_f64());
    }

    let asset_infos: Vec<AssetInfo> = assets.iter().map(asset_info).collect();
    let stress = if opt.params.realised_tau_secs > 0 {
        assets
            .iter()
            .zip(&prep)
            .map(|(a, p)| {
                crate::stress::stats(
                    a.name(),
                    &a.prices.bars,
                    &p.states[0],
                    &opt.windows,
                    &opt.liq,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let bar_checks = bar_checks(&books, &opt.bar, &asset_infos, opt.no_vol_feed);
    let report = Report {
        generated_by: format!("keel-backtest {}", env!("CARGO_PKG_VERSION")),
        horizon_secs: opt.cfg.horizon,
        confidence: opt.cfg.confidence,
        conf_frac: opt.cfg.conf_frac,
        params: calibrate::KNOBS
            .iter()
            .zip(calibrate::knobs_of(&opt.params))
            .map(|((n, _, _), v)| (n.to_string(), v))
            .collect(),
        windows: opt.windows.clone(),
        assets: asset_infos,
        no_vol_feed: opt.no_vol_feed,
        variants: variants.iter().map(|v| v.name.clone()).collect(),
        books,
        bar: opt.bar,
        bar_checks,
        forecasting: studies,
        cascade: cascades,
        throughput_capacity,
        throughput,
        stress,
        timings,
    };
    let states = prep
        .into_iter()
        .map(|mut p| {
            let noapc = std::mem::take(&mut p.states[1]);
            (std::mem::take(&mut p.states[0]), noapc)
        })
        .collect();
    Ok((
        report,
        Extras {
            runs,
            states,
            forecasts,
        },
    ))
}

/// Name of the Keel variant without any anti-procyclicality control or static floor.
pub const NO_APC: &str = "Keel without APC or floors";
/// Name of the Keel variant given no vol feed (marks still at the implied vol).
pub const NO_FEED: &str = "Keel, no vol feed";
/// Name of the Keel variant whose implied vol comes from the market's own option fills at the
/// market's marks (`engine::Fills`), with no vol feed.
pub const FILLS: &str = "Keel, fill-implied vol";
/// Name of the Keel variant with a 25% APC buffer.
pub const APC_BUFFER: &str = "Keel with a 25% APC buffer";

/// The Keel variants every run compares: the parameters under test with the asset's implied vol
/// on the vol feed (the production set-up); the same without APC and static floors; the same
/// with a 25% APC buffer (EMIR's tool (a)); and without a feed.
pub fn standard_variants(assets: &[Asset], p: &RiskParams) -> Vec<Variant> {
    let iv: Vec<Option<Feed>> = assets.iter().map(|a| a.iv_feed()).collect();
    let any_iv = iv.iter().any(|f| f.is_some());
    let mut v = vec![
        Variant {
            name: "Keel".into(),
            params: *p,
            feeds: iv.clone(),
            all_books: true,
            fills: None,
        },
        Variant {
            name: NO_APC.into(),
            params: engine::without_apc_or_floors(p),
            feeds: iv.clone(),
            all_books: true,
            fills: None,
        },
        Variant {
            name: APC_BUFFER.into(),
            params: engine::with_apc_buffer(p),
            feeds: iv.clone(),
            all_books: true,
            fills: None,
        },
    ];
    if any_iv {
        v.push(Variant {
            name: NO_FEED.into(),
            params: *p,
            feeds: vec![None; assets.len()],
            all_books: false,
            fills: None,
        });
        v.push(Variant {
            name: FILLS.into(),
            params: *p,
            feeds: vec![None; assets.len()],
            all_books: false,
            fills: Some(engine::FillConfig {
                params: FillVolParams::DEFAULT,
                every: 1,
            }),
        });
    }
    v
}
