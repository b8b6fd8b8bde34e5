//! `keel-backtest`: replays market history through keel-risk and writes a report.
//!
//! ```text
//! keel-backtest --prices <csv> [--iv <csv>] [--prices <csv> [--iv <csv>] ...] [--no-vol-feed] --out <dir>
//! keel-backtest forecast --prices <csv> [--iv <csv>] [--model <name>] [--json]
//! keel-backtest calibrate --prices <csv> --iv <csv> [--prices <csv> --iv <csv>] --out <dir>
//! ```

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use keel_backtest::backtest::Asset;
use keel_backtest::calibrate::{self, Bar};
use keel_backtest::cli::{apply_liq_overrides, apply_overrides, pair_inputs, parse_duration};
use keel_backtest::data::{self, parse_time, DAY};
use keel_backtest::forecast::{self, StudyConfig};
use keel_backtest::metrics::{self, Window};
use keel_backtest::run::{self, Options};
use keel_backtest::{charts, report};
use keel_risk::RiskParams;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Replays real price and implied-vol history through keel-risk — the same code the program
/// runs — and reports coverage, procyclicality, efficiency, baselines, liquidation cascades and
/// volatility forecasts.
#[derive(Parser)]
#[command(
    name = "keel-backtest",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Print the volatility forecast a keeper would publish to the market's vol-feed account.
    Forecast(ForecastArgs),
    /// Search keel-risk's parameters against the bar and write the frontier.
    Calibrate(CalibrateArgs),
}

#[derive(Args)]
struct Inputs {
    /// OHLC price file: date|time,open,high,low,close[,volume] (repeat for more assets).
    #[arg(long = "prices", required = true, value_name = "CSV")]
    prices: Vec<PathBuf>,
    /// Implied-vol file (percent, DVOL-style) for the --prices before it.
    #[arg(long = "iv", value_name = "CSV")]
    iv: Vec<PathBuf>,
    /// Stamp implied vols with their own time even when the IV file is coarser than the prices
    /// (by default the last value is republished at every bar, like a live feed).
    #[arg(long)]
    iv_stale: bool,
}

#[derive(Args)]
struct Common {
    /// Liquidation horizon (1d, 12h, seconds).
    #[arg(long, default_value = "1d", value_parser = parse_duration)]
    horizon: i64,
    /// Target confidence of the maintenance margin.
    #[arg(long, default_value_t = 0.99)]
    confidence: f64,
    /// History the vol state sees before evaluation starts (days).
    #[arg(long, default_value_t = 90)]
    warmup_days: i64,
    /// Evaluate from this date (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Evaluate up to this date.
    #[arg(long)]
    to: Option<String>,
    /// Override a keel-risk parameter: name=value (repeatable; names as in RiskParams).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Oracle confidence in basis points of price (feeds the confidence add-on; 0 = off).
    #[arg(long, default_value_t = 0.0)]
    conf_bp: f64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Output directory (report.md, report.json, charts/).
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
    /// A stress window name:YYYY-MM-DD:YYYY-MM-DD (repeatable; added to the issue's four).
    #[arg(long = "stress", value_name = "NAME:FROM:TO")]
    stress: Vec<String>,
    /// Drop the default stress windows (2020-03, 2021-05, 2022-05/06, 2022-11).
    #[arg(long)]
    no_default_stress: bool,
    /// Skip the forecasting study.
    #[arg(long)]
    no_forecast: bool,
    /// Skip the cascade simulation.
    #[arg(long)]
    no_cascade: bool,
    /// Accounts in the cascade population.
    #[arg(long, default_value_t = 200)]
    cascade_accounts: usize,
    /// Cascade open interest as a fraction of average daily volume.
    #[arg(long, default_value_t = 0.5)]
    cascade_oi: f64,
    /// Keeper rounds per bar in the cascade simulation (0: one per 2 hours of bar, at least one;
    /// more splits each bar along its open/high/low/close path, e.g. 4 on 2-hourly bars = a
    /// keeper every 30 minutes).
    #[arg(long, default_value_t = 0)]
    cascade_rounds: usize,
    /// Add a fourth cascade regime: whole accounts liquidated at AVSL's own trigger level
    /// (raised by the vol buffer and the realised-vol stress), to separate what AVSL's partial
    /// sizing does from what its trigger does.
    #[arg(long)]
    cascade_same_trigger: bool,
    /// Run the throughput study (issue 15 §2): the cascade under Solana's limits on the
    /// liquidation calls a slot can hold, the former one-Exchange layout vs the program's ledger shards, for
    /// growing populations holding the same open interest (docs/liquidation.md, "Throughput").
    #[arg(long)]
    throughput: bool,
    /// Throughput study: real population sizes (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100,1000,10000,30000,100000,300000,1000000"
    )]
    throughput_populations: Vec<f64>,
    /// Throughput study: liquidator accounts (keepers); every liquidation writes one.
    #[arg(long, default_value_t = 4)]
    throughput_keepers: u64,
    /// Throughput study: compute-unit limit requested per `liquidate` (1,400,000: the keeper's
    /// former default; it now fits the request to a simulation: for the population's shape,
    /// 1x1, `Budget::fitted` of its measured budget in `chain::MEASURED`).
    #[arg(long, default_value_t = 1_400_000)]
    throughput_cu: u64,
    /// Throughput study: compute-unit limit requested per competing trade.
    #[arg(long, default_value_t = 1_400_000)]
    throughput_trade_cu: u64,
    /// Throughput study: competing trades per slot (each writing the Exchange today).
    #[arg(long, default_value_t = 0)]
    throughput_trades: u64,
    /// Throughput study: keeper latency (seconds from reading a state to its first call landing).
    #[arg(long, default_value_t = 2.0)]
    throughput_latency: f64,
    /// Throughput study: share of each block Keel's transactions may use (1: all of it).
    #[arg(long, default_value_t = 1.0)]
    throughput_block_share: f64,
    /// Throughput study: split bars whose path spans at least --throughput-fine-range in log
    /// price into keeper rounds of at most this many seconds (0: the cascade's rounds only).
    #[arg(long, default_value_t = 600)]
    throughput_fine_secs: i64,
    /// Throughput study: the span that makes a bar a crash bar (log price).
    #[arg(long, default_value_t = 0.03)]
    throughput_fine_range: f64,
    /// Override a liquidation parameter: name=value (repeatable; names as in LiquidationParams).
    #[arg(long = "liq-set", value_name = "NAME=VALUE")]
    liq_set: Vec<String>,
    /// Evaluation mode: the market marks options at the --iv file, but the engine is also run
    /// with no vol feed on every book (as on a market without an implied-vol oracle), reported
    /// and checked against the bar beside the fed run. Needs an --iv for every --prices.
    #[arg(long)]
    no_vol_feed: bool,
    /// Override a limit of the fill-implied vol (variant "Keel, fill-implied vol"): name=value
    /// (repeatable; names as in keel_risk::vol::fills::FillVolParams).
    #[arg(long = "fill-set", value_name = "NAME=VALUE")]
    fill_set: Vec<String>,
    /// Variant "Keel, fill-implied vol": a fill before every N-th crank only (a thinner
    /// market; 1 = every crank).
    #[arg(long, default_value_t = 1)]
    fill_every: usize,
}

#[derive(Args)]
struct ForecastArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Forecaster: EWMA, "GARCH(1,1)", HAR-RV, "HAR-RV (log)", "HAR-RV-IV (log)", "boosted trees";
    /// default: the one the walk-forward study chooses.
    #[arg(long)]
    model: Option<String>,
    /// Forecast period (default: one day, or the bar interval if longer).
    #[arg(long, default_value = "1d", value_parser = parse_duration)]
    period: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CalibrateArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Output directory (calibration.md, calibration.json, charts/frontier.svg).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Parameter sets to try.
    #[arg(long, default_value_t = 2000)]
    trials: usize,
    /// Seed of the search.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Weight of the 5-day rise in the search objective (the other criteria weigh 1).
    #[arg(long, default_value_t = 1.0)]
    rise_weight: f64,
    /// Weight of coverage and efficiency in the search objective.
    #[arg(long, default_value_t = 1.0)]
    coverage_weight: f64,
    /// Judge the what-if of scenario P&L relative to the margin vol, added to market marks (not
    /// the program's engine; docs/validation.md) instead of the engine as it is.
    #[arg(long)]
    relative_what_if: bool,
    /// Do not require coverage of the futures books.
    #[arg(long)]
    straddle_only: bool,
    /// Judge the 5-day rise in quote units (fixed contracts) instead of per unit of notional.
    #[arg(long)]
    rise_quote: bool,
    /// Search against a stricter bar than the issue's (headroom for data not seen): largest
    /// 5-day rise.
    #[arg(long, default_value_t = 0.40)]
    max_rise: f64,
    /// Smallest Kupiec and Christoffersen p-value of the search's bar.
    #[arg(long, default_value_t = 0.05)]
    min_p: f64,
    /// Narrow or pin a knob of the search: name=lo:hi or name=value (repeatable).
    #[arg(long = "range", value_name = "NAME=LO:HI")]
    range: Vec<String>,
    /// After the search, count how many of the 81 neighbours (calibrate::NEIGHBOURHOOD) of every
    /// set meeting the whole bar also meet it, and pick the most robust (then lowest rise, then
    /// lowest margin/ES): the BTC-only choice rule of docs/validation.md, "Calibration".
    #[arg(long)]
    robustness: bool,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn indices(m: &ArgMatches, id: &str) -> Vec<usize> {
    m.indices_of(id).map(|i| i.collect()).unwrap_or_default()
}

fn load(m: &ArgMatches, inputs: &Inputs) -> Res<Vec<Asset>> {
    let pairs = pair_inputs(
        &inputs.prices,
        &indices(m, "prices"),
        &inputs.iv,
        &indices(m, "iv"),
    )?;
    let mut assets = Vec::new();
    for (p, iv) in pairs {
        let prices = data::read_prices(&p)?;
        let iv = iv.map(data::read_iv).transpose()?;
        let mut asset = Asset::new(prices, iv);
        asset.iv_republish &= !inputs.iv_stale;
        assets.push(asset);
    }
    let mut names: Vec<&str> = assets.iter().map(|a| a.name()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err("two price files have the same name (file stem); rename one".into());
    }
    Ok(assets)
}

fn config(c: &Common) -> Res<(keel_backtest::backtest::Config, RiskParams)> {
    let mut params = RiskParams::DEFAULT;
    apply_overrides(&mut params, &c.set)?;
    if !(0.5..1.0).contains(&c.confidence) {
        return Err("--confidence must be in [0.5, 1)".into());
    }
    let date = |s: &Option<String>| -> Res<Option<i64>> {
        Ok(match s {
            Some(s) => Some(parse_time(s)?.0),
            None => None,
        })
    };
    Ok((
        keel_backtest::backtest::Config {
            horizon: c.horizon,
            confidence: c.confidence,
            warmup: c.warmup_days * DAY,
            from: date(&c.from)?,
            to: date(&c.to)?.map(|t| t + DAY),
            conf_frac: c.conf_bp / 10_000.0,
            ..Default::default()
        },
        params,
    ))
}

fn progress(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len} {elapsed_precise}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb
}

fn real_main() -> Res<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        None => run_report(&matches, cli.run),
        Some(Command::Forecast(a)) => run_forecast(
            matches.subcommand_matches("forecast").expect("subcommand"),
            a,
        ),
        Some(Command::Calibrate(a)) => run_calibrate(
            matches.subcommand_matches("calibrate").expect("subcommand"),
            a,
        ),
    }
}

fn run_report(m: &ArgMatches, a: RunArgs) -> Res<()> {
    let t0 = Instant::now();
    let assets = load(m, &a.inputs)?;
    let (cfg, params) = config(&a.common)?;
    let mut windows = if a.no_default_stress {
        vec![]
    } else {
        metrics::default_windows()
    };
    for s in &a.stress {
        windows.push(Window::parse(s)?);
    }
    let mut liq = keel_risk::LiquidationParams::DEFAULT;
    apply_liq_overrides(&mut liq, &a.liq_set)?;
    let mut fills = keel_risk::vol::fills::FillVolParams::DEFAULT;
    keel_backtest::cli::apply_fill_overrides(&mut fills, &a.fill_set)?;
    let opt = Options {
        liq,
        fills: keel_backtest::engine::FillConfig {
            params: fills,
            every: a.fill_every.max(1),
        },
        cfg,
        windows,
        params,
        forecasting: !a.no_forecast,
        study: StudyConfig {
            h: a.common.horizon,
            ..Default::default()
        },
        cascade: !a.no_cascade,
        no_vol_feed: a.no_vol_feed,
        cascade_cfg: keel_backtest::cascade::CascadeConfig {
            accounts: a.cascade_accounts,
            oi_frac: a.cascade_oi,
            rounds_per_bar: a.cascade_rounds,
            regimes: {
                use keel_backtest::cascade::Regime;
                let mut r = vec![Regime::Avsl, Regime::KeelFull, Regime::Static];
                if a.cascade_same_trigger {
                    r.push(Regime::TriggerFull);
                }
                r
            },
            ..Default::default()
        },
        throughput: a.throughput.then(|| {
            use keel_backtest::chain::{Chain, Layout, Tx};
            keel_backtest::cascade::ThroughputConfig {
                chain: Chain {
                    liquidate: Tx::liquidate(a.throughput_cu, 1),
                    trade: Tx::trade(a.throughput_trade_cu),
                    trades_per_slot: a.throughput_trades,
                    keepers: a.throughput_keepers,
                    keeper_latency_secs: a.throughput_latency,
                    block_share: a.throughput_block_share,
                    ..Chain::new(Layout::Today)
                },
                populations: a.throughput_populations.clone(),
                fine_round_secs: a.throughput_fine_secs,
                fine_range: a.throughput_fine_range,
            }
        }),
        ..Default::default()
    };
    let load_secs = t0.elapsed().as_secs_f64();
    for asset in &assets {
        let info = run::asset_info(asset);
        eprintln!(
            "{}: {} bars every {} s, {} .. {}, {} missing bars in {} gaps (reported, not filled){}",
            info.name,
            info.bars,
            info.interval_secs,
            info.first,
            info.last,
            info.missing_bars,
            info.gap_count,
            info.iv.as_ref().map_or(String::new(), |iv| format!(
                "; implied vol {} bars {} .. {}",
                iv.bars, iv.first, iv.last
            ))
        );
    }
    let pb = progress(a.common.quiet);
    let (report_data, extras) = run::run_all(&assets, &opt, &pb)?;
    pb.finish_and_clear();
    let out = a.out.expect("required by clap");
    let t = Instant::now();
    report::write(&out, &report_data, &extras)?;
    let t_report = t.elapsed().as_secs_f64();
    for c in &report_data.bar_checks {
        eprintln!("bar on {} ({}): {}/{} exceedances, Kupiec p {:.3}, Christoffersen p {:.3}, margin/ES {:.2}, max 5-day rise {:+.0}% per notional ({:+.0}% in quote units) → {}", c.asset, c.model, c.exceedances, c.n, c.kupiec_p, c.christoffersen_p, c.ratio, c.max_rise_5d_per_notional * 100.0, c.max_rise_5d_quote * 100.0, if c.pass { "PASS".to_string() } else { format!("FAIL: {}", c.reason) });
    }
    let tm = &report_data.timings;
    eprintln!("times: load {load_secs:.2} s, forecasting {:.2} s, coverage {:.2} s, cascades {:.2} s, throughput {:.2} s, report {t_report:.2} s; total {:.2} s", tm.forecasting, tm.coverage, tm.cascade, tm.throughput.unwrap_or(0.0), t0.elapsed().as_secs_f64());
    eprintln!("wrote {}", out.join("report.md").display());
    Ok(())
}

fn run_forecast(m: &ArgMatches, a: ForecastArgs) -> Res<()> {
    let assets = load(m, &a.inputs)?;
    let mut all = Vec::new();
    for asset in &assets {
        let cfg = StudyConfig {
            h: a.period.max(asset.prices.interval),
            ..Default::default()
        };
        let (periods, incomplete) = forecast::periods(&asset.prices, asset.iv.as_ref(), cfg.h);
        let p = forecast::publishable(
            asset.name(),
            &periods,
            incomplete,
            asset.iv.is_some(),
            &cfg,
            a.model.as_deref(),
        )?;
        if !a.json {
            println!(
                "{}: {} forecast for the {} after {}: vol {:.2}% annualised (variance {:.5})",
                p.asset,
                p.model,
                if p.period_secs == DAY {
                    "day".to_string()
                } else {
                    format!("{} s", p.period_secs)
                },
                p.as_of,
                p.vol * 100.0,
                p.variance
            );
            println!(
                "  vol feed: ImpliedVol {{ vol: I32F32::from_bits({}), ts: {} }}",
                p.vol_fx_bits, p.ts
            );
            println!("  why: {}", p.reason);
        }
        all.push(p);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(())
}

fn run_calibrate(m: &ArgMatches, a: CalibrateArgs) -> Res<()> {
    let t0 = Instant::now();
    let assets = load(m, &a.inputs)?;
    if assets.iter().any(|x| x.iv.is_none()) {
        eprintln!("note: the bar's book is marked at the implied vol; assets without --iv are marked at a trailing realised vol, not market prices, and never meet the bar");
    }
    let (cfg, params) = config(&a.common)?;
    let bar = Bar {
        rise_weight: a.rise_weight,
        coverage_weight: a.coverage_weight,
        relative_what_if: a.relative_what_if,
        futures: !a.straddle_only,
        rise_per_notional: !a.rise_quote,
        max_rise_5d: a.max_rise,
        min_p: a.min_p,
        ..Default::default()
    };
    let pb = progress(a.common.quiet);
    pb.set_length(a.trials as u64);
    pb.set_message("calibration search");
    let ranges = calibrate::ranges(&a.range)?;
    let mut trials = calibrate::search(
        &assets,
        &params,
        &cfg,
        &bar,
        &ranges,
        a.trials,
        a.seed,
        || pb.inc(1),
    );
    pb.finish_and_clear();
    let base = trials.first().cloned();
    trials.sort_by(|x, y| x.violation.total_cmp(&y.violation));
    let robust = if a.robustness {
        let meet: Vec<usize> = (0..trials.len())
            .filter(|&i| trials[i].violation == 0.0)
            .collect();
        let pb = progress(a.common.quiet);
        pb.set_length((meet.len() * calibrate::neighbours(&trials[0].knobs).len()) as u64);
        pb.set_message("neighbourhoods");
        let counts =
            calibrate::robustness(&assets, &params, &cfg, &bar, &trials, &meet, || pb.inc(1));
        pb.finish_and_clear();
        Some(counts)
    } else {
        None
    };
    write_calibration(
        &a.out,
        &trials,
        base.as_ref(),
        &bar,
        &params,
        robust.as_deref(),
    )?;
    eprintln!(
        "{} trials in {:.1} s; wrote {}",
        trials.len(),
        t0.elapsed().as_secs_f64(),
        a.out.join("calibration.md").display()
    );
    Ok(())
}

fn write_calibration(
    dir: &Path,
    trials: &[calibrate::Trial],
    base: Option<&calibrate::Trial>,
    bar: &Bar,
    params: &RiskParams,
    robust: Option<&[calibrate::Robustness]>,
) -> Res<()> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir.join("charts"))?;
    let front = calibrate::frontier(trials, bar);
    let mut s = String::new();
    let names: Vec<&str> = calibrate::KNOBS.iter().map(|k| k.0).collect();
    let _ = writeln!(s, "# Calibration search\n\n{} parameter sets; bar: rate ≤ {:.1}%, Kupiec and Christoffersen p > {}, margin/ES ≤ {}, 5-day rise ≤ {:+.0}% ({}){}.\n", trials.len(), bar.max_rate * 100.0, bar.min_p, bar.max_ratio, bar.max_rise_5d * 100.0, if bar.rise_per_notional { "per unit of notional" } else { "in quote units" }, if bar.relative_what_if { " (judged on the what-if of relative scenarios)" } else { "" });
    for c in base
        .into_iter()
        .flat_map(|t| &t.checks)
        .filter(|c| !c.marks_are_market)
    {
        let _ = writeln!(s, "**{}: the bar's book is not marked at market prices** (no implied-vol file: a trailing 30-day realised vol stands in), so no parameter set meets the bar on it; its figures below measure nothing a market would have charged.\n", c.asset);
    }
    let row = |s: &mut String, label: &str, t: &calibrate::Trial| {
        let checks: Vec<String> = t
            .checks
            .iter()
            .map(|c| {
                let fut: String = c
                    .futures
                    .iter()
                    .map(|f| format!("; {} {}/{} Kup {:.3} Chr {:.3}", f.0, f.1, f.2, f.3, f.4))
                    .collect();
                format!(
                    "{}: {}/{} Kup {:.3} Chr {:.3} M/ES {:.2} 5d {:+.0}% (quote {:+.0}%){fut}",
                    c.asset,
                    c.exceedances,
                    c.n,
                    c.kupiec_p,
                    c.christoffersen_p,
                    c.ratio,
                    c.max_rise_5d * 100.0,
                    c.max_rise_5d_quote * 100.0
                )
            })
            .collect();
        let knobs: Vec<String> = names
            .iter()
            .zip(&t.knobs)
            .map(|(n, v)| format!("{n}={v:.3}"))
            .collect();
        let _ = writeln!(
            s,
            "| {label} | {:.3} | {} | {} |",
            t.violation,
            checks.join("<br>"),
            knobs.join(" ")
        );
    };
    let _ = writeln!(
        s,
        "| set | violation | per asset | knobs |\n|---|---:|---|---|"
    );
    if let Some(b) = base {
        row(&mut s, "**defaults**", b);
    }
    for (i, t) in trials.iter().take(20).enumerate() {
        row(&mut s, &format!("best {}", i + 1), t);
    }
    let _ = writeln!(s, "\n## Frontier (coverage holds on every asset): worst margin/ES vs worst 5-day rise\n\n| set | violation | per asset | knobs |\n|---|---:|---|---|");
    for &i in &front {
        row(&mut s, "frontier", &trials[i]);
    }
    if let Some(counts) = robust {
        let chosen = calibrate::most_robust(trials, counts);
        let _ = writeln!(s, "\n## Robustness: neighbours meeting the whole bar\n\nEvery set meeting the whole bar on every asset ({}), with how many of its {} neighbours ({}) also do; the rule picks the most, then the lowest worst rise, then the lowest worst margin/ES.\n\n| set | violation | per asset | knobs |\n|---|---:|---|---|", counts.len(), counts.first().map_or(81, |c| c.total), calibrate::NEIGHBOURHOOD.iter().map(|(n, d)| format!("{n} ±{d}")).collect::<Vec<_>>().join(", "));
        let mut order: Vec<&calibrate::Robustness> = counts.iter().collect();
        order.sort_by_key(|c| std::cmp::Reverse(c.passing));
        for c in order {
            let mark = if Some(c.trial) == chosen {
                " **chosen**"
            } else {
                ""
            };
            row(
                &mut s,
                &format!("{}/{}{mark}", c.passing, c.total),
                &trials[c.trial],
            );
        }
        if let Some(i) = chosen {
            let _ = writeln!(
                s,
                "\nThe chosen set, as arguments of `keel-backtest`:\n\n```\n{}\n```",
                calibrate::set_args(params, &trials[i].knobs)
            );
        }
    }
    std::fs::write(dir.join("calibration.md"), s)?;
    std::fs::write(
        dir.join("calibration.json"),
        serde_json::to_string_pretty(&trials)?,
    )?;
    let pts = |f: &dyn Fn(&calibrate::Trial) -> bool| -> Vec<(f64, f64)> {
        trials
            .iter()
            .filter(|t| f(t))
            .map(|t| {
                let (r, u) = calibrate::worst(t);
                (r, 100.0 * u)
            })
            .filter(|(r, u)| *r < 6.0 && *u < 400.0)
            .collect()
    };
    let mut dots = vec![
        charts::Line {
            name: "coverage fails".into(),
            color: 6,
            points: pts(&|t| !calibrate::coverage_ok(t, bar)),
        },
        charts::Line {
            name: "coverage holds".into(),
            color: 0,
            points: pts(&|t| calibrate::coverage_ok(t, bar)),
        },
    ];
    if let Some(b) = base {
        let (r, u) = calibrate::worst(b);
        dots.push(charts::Line {
            name: "defaults".into(),
            color: 1,
            points: vec![(r, 100.0 * u)],
        });
    }
    let frontier_line = charts::Line {
        name: "frontier".into(),
        color: 3,
        points: front
            .iter()
            .map(|&i| {
                let (r, u) = calibrate::worst(&trials[i]);
                (r, 100.0 * u)
            })
            .collect(),
    };
    let bar_box = charts::Line {
        name: "bar".into(),
        color: 2,
        points: vec![
            (0.0, 100.0 * bar.max_rise_5d),
            (bar.max_ratio, 100.0 * bar.max_rise_5d),
            (bar.max_ratio, 0.0),
        ],
    };
    charts::draw(
        &dir.join("charts/frontier.svg"),
        &[charts::Panel {
            title: "calibration: worst margin/ES99 vs worst 5-day margin rise".into(),
            y_label: "max 5-day rise (%)".into(),
            lines: vec![frontier_line, bar_box],
            dots,
            ..Default::default()
        }],
        1000,
        600,
    )?;
    Ok(())
}
