//! End-to-end: the whole study on a synthetic market (no shared data needed), and the margin's
//! own no-look-ahead property.

use keel_backtest::backtest::{self, Asset, Config, Model};
use keel_backtest::calibrate::Rng;
use keel_backtest::data::{self, Kind, DAY};
use keel_backtest::forecast::StudyConfig;
use keel_backtest::metrics::Window;
use keel_backtest::run::{self, Options};
use keel_backtest::{portfolio, report};

/// A daily market with a volatility regime change (calm, then a crash), and its implied vol.
fn market(days: usize, seed: u64) -> (String, String) {
    let mut rng = Rng(seed);
    let mut px: f64 = 20_000.0;
    let mut prices = String::from("date,open,high,low,close,volume\n");
    let mut iv = String::from("date,open,high,low,close\n");
    let d0 = data::days_from_civil(2021, 1, 1);
    for i in 0..days {
        let vol: f64 = if (250..280).contains(&i) { 1.4 } else { 0.5 };
        let r = vol / (365.0f64).sqrt() * rng.normal() - if i == 260 { 0.3 } else { 0.0 };
        let open = px;
        px *= r.exp();
        let hi = open.max(px) * (1.0 + 0.01 * rng.uniform());
        let lo = open.min(px) * (1.0 - 0.01 * rng.uniform());
        let (y, m, d) = data::civil_from_days(d0 + i as i64);
        prices.push_str(&format!(
            "{y:04}-{m:02}-{d:02},{open},{hi},{lo},{px},{}\n",
            1000.0 + 100.0 * rng.uniform()
        ));
        let v = 100.0 * vol * (1.0 + 0.1 * rng.normal()).max(0.5);
        iv.push_str(&format!("{y:04}-{m:02}-{d:02},{v},{v},{v},{v}\n"));
    }
    (prices, iv)
}

fn asset(name: &str, seed: u64) -> Asset {
    let (p, v) = market(420, seed);
    Asset::new(
        data::parse(&format!("{name}.csv"), &p, Kind::Prices).unwrap(),
        Some(data::parse(&format!("{name}_iv.csv"), &v, Kind::ImpliedVol).unwrap()),
    )
}

#[test]
fn the_whole_study_runs_and_writes_its_report() {
    let assets = vec![asset("aaa", 1), asset("bbb", 2)];
    let opt = Options {
        cfg: Config {
            warmup: 30 * DAY,
            ..Default::default()
        },
        windows: vec![Window::parse("crash:2021-09-01:2021-10-15").unwrap()],
        study: StudyConfig {
            min_train: 200,
            refit_every: 100,
            ..Default::default()
        },
        cascade_cfg: keel_backtest::cascade::CascadeConfig {
            accounts: 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let (r, x) = run::run_all(&assets, &opt, &indicatif::ProgressBar::hidden()).unwrap();
    // 7 books per asset + the mixed book.
    assert_eq!(r.books.len(), 15);
    let straddle = r.books.iter().find(|b| b.book == "short_straddle").unwrap();
    let keel = straddle.models.iter().find(|m| m.model == "Keel").unwrap();
    assert!(keel.coverage.n > 300, "{}", keel.coverage.n);
    assert!(keel.efficiency.avg_margin > 0.0 && keel.efficiency.realised_es > 0.0);
    // The crash is in the data: some book saw losses beyond the naive grid.
    let naive = straddle
        .models
        .iter()
        .find(|m| m.model.starts_with("naive"))
        .unwrap();
    assert!(naive.coverage.exceedances > 0);
    assert_eq!(r.bar_checks.len(), 2);
    // The bar judges the rise per unit of notional and reports both measures.
    for c in &r.bar_checks {
        assert_eq!(
            c.max_rise_5d.to_bits(),
            c.max_rise_5d_per_notional.to_bits()
        );
        assert!(c.max_rise_5d_quote.is_finite());
    }
    assert!(r.variants.iter().any(|v| v == run::NO_APC));
    assert!(r.variants.iter().any(|v| v == run::APC_BUFFER));
    assert!(straddle
        .models
        .iter()
        .any(|m| m.model == "Deribit standard IM" && m.coverage.n > 0));
    assert_eq!(r.forecasting.len(), 2);
    assert!(r.forecasting[0].evaluated > 100);
    assert_eq!(r.cascade.len(), 2);
    assert_eq!(r.cascade[0].regimes.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    report::write(dir.path(), &r, &x).unwrap();
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("## The bar")
            && md.contains("short_straddle")
            && md.contains("## Liquidation cascades")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["books"].as_array().unwrap().len(), 15);
    assert!(json["books"][0]["models"][0]["coverage"]["kupiec"]["p"].is_number());
    // Every point behind the tables is written as CSV, one file per book and one per asset.
    let series = std::fs::read_to_string(dir.path().join("series/short_straddle_aaa.csv")).unwrap();
    let header = series.lines().next().unwrap();
    assert!(
        header.starts_with("ts,date,notional,loss,\"margin: Keel\""),
        "{header}"
    );
    assert!(header.contains("\"MM: Keel\",\"IM: Keel\""), "{header}");
    assert_eq!(series.lines().count() - 1, straddle_points(&x, "aaa"));
    let vol = std::fs::read_to_string(dir.path().join("series/vol_aaa.csv")).unwrap();
    assert_eq!(vol.lines().count() - 1, 420, "one row per bar");
    let charts = std::fs::read_dir(dir.path().join("charts"))
        .unwrap()
        .count();
    assert!(charts >= 6, "{charts} charts");
}

fn straddle_points(x: &run::Extras, asset: &str) -> usize {
    x.runs
        .iter()
        .find(|r| r.spec.name == "short_straddle" && r.assets == [asset])
        .map_or(0, |r| r.points.len())
}

/// Margin at t is computed from bars up to t only: changing every bar after t leaves it (and the
/// vol state) bit-for-bit unchanged, while the realised loss, which looks one horizon ahead,
/// does change when the bar at t + h changes.
#[test]
fn margin_at_t_never_reads_bars_after_t() {
    let base = asset("aaa", 3);
    let spec = portfolio::single_asset()
        .into_iter()
        .find(|s| s.name == "short_straddle")
        .unwrap();
    let cfg = Config {
        warmup: 30 * DAY,
        ..Default::default()
    };
    let models = [
        Model::Keel(0),
        Model::KeelRelative(0),
        Model::NaiveGrid(3.0),
        Model::DeribitStandard,
    ];
    let margins_at = |a: &Asset| {
        let variants =
            run::standard_variants(std::slice::from_ref(a), &keel_risk::RiskParams::DEFAULT);
        let prep = backtest::prepare(std::slice::from_ref(a), &variants).unwrap();
        backtest::run_book(
            &spec,
            &[a],
            &[&prep[0]],
            &variants,
            &models,
            &cfg,
            &[1],
            || {},
        )
        .unwrap()
    };
    let full = margins_at(&base);
    for &k in &[40usize, 150, 300] {
        let t = full.points[k].ts;
        let mut altered = base.clone();
        for b in altered.prices.bars.iter_mut().filter(|b| b.ts > t) {
            b.close *= 1.7;
            b.open *= 1.7;
            b.high *= 1.9;
            b.low *= 1.5;
        }
        if let Some(iv) = altered.iv.as_mut() {
            for b in iv.bars.iter_mut().filter(|b| b.ts > t) {
                b.close *= 2.0;
            }
        }
        let other = margins_at(&altered);
        let p = other.points.iter().find(|p| p.ts == t).unwrap();
        for (a, b) in full.points[k].margin.iter().zip(&p.margin) {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "a margin at t moved when only bars after t changed"
            );
        }
        assert_ne!(
            full.points[k].loss, p.loss,
            "the loss over (t, t + h] must see the changed bar"
        );
    }
}
