//! What the report says about the vol feed and the marks: an asset without an implied-vol file is
//! marked at a stand-in and never meets the bar, and the evaluation mode without a vol feed
//! (`--no-vol-feed`) withholds the feed from the engine while the market still marks at the
//! implied vol.

use keel_backtest::backtest::{Asset, BookRun};
use keel_backtest::data::{self, Kind, DAY};
use keel_backtest::run::{self, Options, FILLS, NO_FEED};
use keel_backtest::{backtest, report};

mod support;
use support::market;

/// The same synthetic prices under `name`, with or without their implied-vol file.
fn asset(name: &str, with_iv: bool) -> Asset {
    let (p, v) = market(420, 5);
    Asset::new(
        data::parse(&format!("{name}.csv"), &p, Kind::Prices).unwrap(),
        with_iv.then(|| data::parse(&format!("{name}_iv.csv"), &v, Kind::ImpliedVol).unwrap()),
    )
}

fn options(no_vol_feed: bool) -> Options {
    Options {
        cfg: backtest::Config {
            warmup: 30 * DAY,
            ..Default::default()
        },
        windows: vec![],
        forecasting: false,
        cascade: false,
        no_vol_feed,
        ..Default::default()
    }
}

fn run(assets: &[Asset], no_vol_feed: bool) -> (run::Report, run::Extras) {
    run::run_all(
        assets,
        &options(no_vol_feed),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap()
}

#[test]
fn a_book_not_marked_at_market_prices_never_meets_the_bar_and_the_report_says_why() {
    let assets = vec![asset("fed", true), asset("bare", false)];
    let (r, x) = run(&assets, false);
    let (fed, bare) = (&r.assets[0], &r.assets[1]);
    assert!(fed.vol_feed && fed.marks_are_market);
    assert!(
        fed.marks.starts_with("implied vol from fed_iv.csv"),
        "{}",
        fed.marks
    );
    assert!(!bare.vol_feed && !bare.marks_are_market);
    assert!(bare.marks.contains("not market prices"), "{}", bare.marks);

    assert_eq!(r.bar_checks.len(), 2);
    let cf = r.bar_checks.iter().find(|c| c.asset == "fed").unwrap();
    let cb = r.bar_checks.iter().find(|c| c.asset == "bare").unwrap();
    assert!(cf.vol_feed && cf.marks_are_market && cf.model == "Keel");
    assert!(!cf.reason.contains("marks are not market prices"));
    assert_eq!(cf.pass, cf.reason.is_empty(), "{}", cf.reason);
    assert!(!cb.vol_feed && !cb.marks_are_market);
    assert!(!cb.pass);
    assert!(
        cb.reason.starts_with("marks are not market prices"),
        "{}",
        cb.reason
    );
    assert!(cb.n > 300, "the stand-in book was measured: {}", cb.n);

    let dir = tempfile::tempdir().unwrap();
    report::write(dir.path(), &r, &x).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["assets"][1]["vol_feed"], false);
    assert_eq!(json["assets"][1]["marks_are_market"], false);
    assert_eq!(json["assets"][0]["marks_are_market"], true);
    let jb = &json["bar_checks"][1];
    assert_eq!(jb["asset"], "bare");
    assert_eq!(jb["pass"], false);
    assert_eq!(jb["marks_are_market"], false);
    assert!(jb["reason"]
        .as_str()
        .unwrap()
        .starts_with("marks are not market prices"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("**bare: the option books' marks are not market prices.**"));
    assert!(
        md.contains("| bare | Keel | no | **no** |"),
        "bar table row"
    );
}

/// Index of the model named `name` in a book run.
fn model(run: &BookRun, name: &str) -> usize {
    run.model_names.iter().position(|m| m == name).unwrap()
}

#[test]
fn no_vol_feed_withholds_the_feed_from_the_engine_and_keeps_the_market_marks() {
    let fed_asset = asset("aaa", true);
    let (r, x) = run(std::slice::from_ref(&fed_asset), true);
    let (r0, x0) = run(std::slice::from_ref(&fed_asset), false);
    let (_, xb) = run(&[asset("aaa", false)], false);
    assert!(r.no_vol_feed && !r0.no_vol_feed);
    let nf = r.variants.iter().position(|v| v == NO_FEED).unwrap();

    // The bar is checked on all three, the unfed engines labelled as such, marks at market
    // prices.
    assert_eq!(r.bar_checks.len(), 3);
    assert_eq!(r.bar_checks[0].model, "Keel");
    assert!(r.bar_checks[0].vol_feed);
    assert_eq!(r.bar_checks[1].model, NO_FEED);
    assert!(!r.bar_checks[1].vol_feed && r.bar_checks[1].marks_are_market);
    assert_eq!(r.bar_checks[2].model, FILLS);
    assert!(!r.bar_checks[2].vol_feed && r.bar_checks[2].marks_are_market);
    assert_eq!(r0.bar_checks.len(), 1);
    let straddle = r.books.iter().find(|b| b.book == "short_straddle").unwrap();
    for c in &r.bar_checks {
        let m = straddle.models.iter().find(|m| m.model == c.model).unwrap();
        assert_eq!((c.n, c.nonpositive), (m.coverage.n, m.coverage.nonpositive));
    }

    // The flag adds the unfed engine and moves nothing of the fed one.
    for (b, b0) in r.books.iter().zip(&r0.books) {
        let k = b.models.iter().find(|m| m.model == "Keel").unwrap();
        let k0 = b0.models.iter().find(|m| m.model == "Keel").unwrap();
        assert_eq!(
            serde_json::to_string(k).unwrap(),
            serde_json::to_string(k0).unwrap()
        );
    }

    // Every book is run both ways.
    assert_eq!(x.runs.len(), 7);
    for (book, run) in r.books.iter().zip(&x.runs) {
        for name in ["Keel", NO_FEED, FILLS] {
            let m = book.models.iter().find(|m| m.model == name).unwrap();
            assert!(m.coverage.n > 300, "{} {name}: {}", book.book, m.coverage.n);
        }
        let (k, u) = (model(run, "Keel"), model(run, NO_FEED));
        // The fill-implied engine is given no feed either, but its own fills at the market's
        // marks carry the implied vol back (the synthetic IV moves less than the rate allows):
        // its margin is the fed engine's within 0.1% wherever the unfed one differs.
        let f = model(run, FILLS);
        let near = run
            .points
            .iter()
            .filter(|p| (p.margin[f] - p.margin[k]).abs() <= 1e-3 * p.margin[k].abs())
            .count();
        assert!(
            near > run.points.len() * 95 / 100,
            "{}: fill-implied margin near the fed one on {near} of {} points",
            run.spec.name,
            run.points.len()
        );
        let differ = run
            .points
            .iter()
            .filter(|p| p.margin[k] != p.margin[u])
            .count();
        assert!(
            differ > run.points.len() / 2,
            "{}: the unfed margin equals the fed one on {} of {} points",
            run.spec.name,
            run.points.len() - differ,
            run.points.len()
        );

        // The engine's own MM is that of the engine run on the same prices with no IV file at
        // all, bit for bit: no implied vol reaches it.
        let bare = xb
            .runs
            .iter()
            .find(|b| b.spec.name == run.spec.name)
            .unwrap();
        let mut common = 0;
        for p in &run.points {
            if let Some(q) = bare.points.iter().find(|q| q.ts == p.ts) {
                assert_eq!(
                    p.keel_mm[nf].to_bits(),
                    q.keel_mm[0].to_bits(),
                    "{} at {}",
                    run.spec.name,
                    p.ts
                );
                common += 1;
            }
        }
        assert!(common > 300, "{}: {common} common points", run.spec.name);

        // The market marks are the implied vol's: the realised losses are those of the fed run
        // bit for bit, and (for option books) not those of marks at the realised-vol stand-in.
        let fed = x0
            .runs
            .iter()
            .find(|b| b.spec.name == run.spec.name)
            .unwrap();
        assert_eq!(run.points.len(), fed.points.len());
        for (p, q) in run.points.iter().zip(&fed.points) {
            assert_eq!((p.ts, p.loss.to_bits()), (q.ts, q.loss.to_bits()));
        }
        if run.spec.has_options() {
            let other = run
                .points
                .iter()
                .filter(|p| {
                    bare.points
                        .iter()
                        .find(|q| q.ts == p.ts)
                        .is_some_and(|q| q.loss != p.loss)
                })
                .count();
            assert!(other > 300, "{}: {other}", run.spec.name);
        }
    }

    // The mode needs market marks for every asset.
    let err = run::run_all(
        &[asset("aaa", false)],
        &options(true),
        &indicatif::ProgressBar::hidden(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("--no-vol-feed"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    report::write(dir.path(), &r, &x).unwrap();
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("### Every book with and without the vol feed"));
    assert!(
        md.contains("| short_straddle | aaa | fed |")
            && md.contains("| short_straddle | aaa | no feed |")
    );
    assert!(md.contains("| aaa | Keel, no vol feed | no | yes |"));
}
