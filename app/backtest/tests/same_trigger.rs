//! The cascade's opt-in fourth regime (`--cascade-same-trigger`) on the shared synthetic crash:
//! whole accounts liquidated at AVSL's own trigger level. It takes each account in one call, no
//! later than whole-account liquidation at MM (its trigger is never below MM: in the crash's high
//! vol it takes them earlier, at higher prices), and it moves more notional than AVSL's partial
//! steps at the same trigger.

use keel_backtest::backtest::Asset;
use keel_backtest::cascade::{self, CascadeConfig, Regime};
use keel_backtest::data::{self, Kind};
use keel_backtest::metrics::Window;
use keel_risk::{LiquidationParams, RiskParams};

mod support;
use support::market;

#[test]
fn whole_accounts_at_avsls_trigger_take_one_call_each_and_more_notional_than_avsl() {
    let (prices, iv) = market(300, 7);
    let a = Asset::new(
        data::parse("crash.csv", &prices, Kind::Prices).unwrap(),
        Some(data::parse("crash_iv.csv", &iv, Kind::ImpliedVol).unwrap()),
    );
    let cfg = CascadeConfig {
        accounts: 60,
        regimes: vec![Regime::Avsl, Regime::TriggerFull, Regime::KeelFull],
        ..Default::default()
    };
    let w = cascade::simulate(
        &a,
        &RiskParams::DEFAULT,
        &LiquidationParams::DEFAULT,
        &Window::parse("crash:2021-09-10:2021-09-25").unwrap(),
        &cfg,
    )
    .unwrap()
    .unwrap();
    let [avsl, same, mm] = [0, 1, 2].map(|i| &w.regimes[i]);
    assert_eq!(same.regime, "AVSL's trigger, full liquidation");
    assert!(same.accounts_liquidated > 0);
    assert_eq!(
        same.calls, same.accounts_liquidated,
        "one call takes the whole account"
    );
    assert!(avsl.calls > avsl.accounts_liquidated, "AVSL steps");
    assert!(same.accounts_liquidated >= mm.accounts_liquidated);
    // In the crash's high vol the raised trigger takes the accounts earlier, at higher prices,
    // than the trigger at MM (60 accounts each here: 1.18 against 1.16 of the starting notional).
    assert!(same.liquidated_frac > mm.liquidated_frac);
    assert!(same.liquidated_frac > avsl.liquidated_frac);
}
