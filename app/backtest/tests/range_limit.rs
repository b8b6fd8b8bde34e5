//! The range speed limit (`apc_max_rise_per_day`, docs/validation.md "Delta books") on the
//! calibration asset, BTC daily with DVOL (../shared/data or $KEEL_SHARED_DATA; skipped, saying
//! so, without it): both futures books meet the whole bar from 1% to 6% a day and neither does
//! without the limit (their 5-day rise); at the region's edges one of them fails.

mod shared_data;

use keel_backtest::backtest::{self, Asset};
use keel_backtest::calibrate::{Bar, Check};
use keel_backtest::run::{self, Options};
use keel_risk::{Fx, RiskParams};

/// (long future, short future) judged against the bar, with the range limit at `rise`.
fn futures(btc: &Asset, rise: &str) -> [Check; 2] {
    let opts = Options {
        params: RiskParams {
            apc_max_rise_per_day: Fx::lit(rise),
            ..RiskParams::DEFAULT
        },
        cfg: backtest::Config::default(),
        forecasting: false,
        cascade: false,
        ..Default::default()
    };
    let (r, _) = run::run_all(
        std::slice::from_ref(btc),
        &opts,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    ["long_future", "short_future"].map(|name| {
        let book = r.books.iter().find(|b| b.book == name).unwrap();
        let keel = book.models.iter().find(|m| m.model == "Keel").unwrap();
        let bar = Bar {
            futures: false,
            ..Bar::default()
        };
        let mut c = Check::of("btc_usdt_daily", keel, &bar, vec![]);
        c.judge(&bar);
        c
    })
}

#[test]
fn on_btc_daily_the_range_limit_brings_both_futures_within_the_bar() {
    let Some(btc) = shared_data::asset("btc_usdt_daily.csv", "btc_dvol_daily.csv") else {
        eprintln!("skipped: ../shared/data not present (set KEEL_SHARED_DATA)");
        return;
    };
    // Without it: coverage holds, the rise does not (+78% and +90% per notional).
    for c in futures(&btc, "0") {
        assert!(!c.pass && c.max_rise_5d > 0.7, "{}", c.reason);
        assert!(c.rate <= 0.01 && c.kupiec_p > 0.05 && c.christoffersen_p > 0.05);
    }
    // The region: 1% to 6% a day, both futures meet the bar.
    for rise in ["0.01", "0.03", "0.06"] {
        for c in futures(&btc, rise) {
            assert!(c.pass, "{rise}: {}", c.reason);
        }
    }
    // Its edges: at 0.5% the short future's exceedances pass 1%; at 7% its rise passes +40%.
    let [_, short] = futures(&btc, "0.005");
    assert!(!short.pass && short.rate > 0.01, "{}", short.reason);
    let [_, short] = futures(&btc, "0.07");
    assert!(!short.pass && short.max_rise_5d > 0.40, "{}", short.reason);
}
