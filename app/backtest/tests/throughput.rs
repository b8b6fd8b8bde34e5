//! The cascade under Solana's throughput limits (issue 15 §2) on a synthetic crash: with
//! unlimited capacity it is the study without limits, bit for bit; below the critical population
//! nothing waits and nothing changes; and when the queue of liquidatable accounts exceeds what
//! the chain lands, today's layout (every liquidation writing the one Exchange account) ends
//! with strictly more bad debt than the hypothetical sharded layout and than the unconstrained
//! cascade.

use keel_backtest::backtest::Asset;
use keel_backtest::cascade::{self, CascadeConfig, Regime, WindowResult};
use keel_backtest::chain::{Chain, Layout};
use keel_backtest::data::{self, Kind};
use keel_backtest::metrics::Window;
use keel_risk::{LiquidationParams, RiskParams};

mod support;
use support::market;

/// The shared crash market (day 260: −30%) over 300 days, and its implied vol.
fn asset() -> Asset {
    let (prices, iv) = market(300, 7);
    Asset::new(
        data::parse("crash.csv", &prices, Kind::Prices).unwrap(),
        Some(data::parse("crash_iv.csv", &iv, Kind::ImpliedVol).unwrap()),
    )
}

fn window() -> Window {
    Window::parse("crash:2021-09-10:2021-09-25").unwrap()
}

fn base() -> CascadeConfig {
    CascadeConfig {
        accounts: 60,
        regimes: vec![Regime::Avsl, Regime::KeelFull],
        // Keeper rounds of 15 minutes in the crash bars.
        fine_round_secs: 900,
        ..Default::default()
    }
}

fn run(a: &Asset, cfg: &CascadeConfig) -> WindowResult {
    cascade::simulate(
        a,
        &RiskParams::DEFAULT,
        &LiquidationParams::DEFAULT,
        &window(),
        cfg,
    )
    .unwrap()
    .unwrap()
}

fn with_chain(layout: Layout, population: f64) -> CascadeConfig {
    let b = base();
    CascadeConfig {
        chain: Some(Chain::new(layout)),
        scale: population / b.accounts as f64,
        ..b
    }
}

#[test]
fn unlimited_capacity_is_the_cascade_without_limits_bit_for_bit() {
    let a = asset();
    let plain = run(&a, &base());
    let unlimited = run(&a, &with_chain(Layout::Unconstrained, 1e6));
    for (p, u) in plain.regimes.iter().zip(&unlimited.regimes) {
        assert_eq!(p.calls, u.calls, "{}", p.regime);
        assert_eq!(p.bankruptcies, u.bankruptcies, "{}", p.regime);
        assert_eq!(p.bad_debt.to_bits(), u.bad_debt.to_bits(), "{}", p.regime);
        assert_eq!(
            p.liquidator_mtm.to_bits(),
            u.liquidator_mtm.to_bits(),
            "{}",
            p.regime
        );
        assert!(p.queue.is_none());
        assert_eq!(u.queue.as_ref().unwrap().rounds_short, 0);
    }
    // The crash liquidates: the test below is about a real queue.
    assert!(plain.regimes.iter().all(|r| r.calls > 0));
}

#[test]
fn below_the_critical_population_nothing_waits_and_above_it_accounts_do() {
    let a = asset();
    let reference = run(&a, &with_chain(Layout::Unconstrained, 60.0));
    let today = Chain::new(Layout::Today);
    for (k, r) in reference.regimes.iter().enumerate() {
        let n_star = cascade::critical_population(&today, reference.accounts, r);
        assert!(n_star.is_finite() && n_star > 0.0, "{}", r.regime);
        let below = run(&a, &with_chain(Layout::Today, 0.95 * n_star));
        let g = &below.regimes[k];
        assert_eq!(g.queue.as_ref().unwrap().rounds_short, 0, "{}", r.regime);
        assert_eq!(g.bad_debt.to_bits(), r.bad_debt.to_bits(), "{}", r.regime);
        assert_eq!(g.calls, r.calls, "{}", r.regime);
        let above = run(&a, &with_chain(Layout::Today, 3.0 * n_star));
        assert!(
            above.regimes[k].queue.as_ref().unwrap().rounds_short > 0,
            "{}",
            r.regime
        );
    }
}

#[test]
fn when_the_queue_exceeds_capacity_todays_layout_has_more_bad_debt_than_sharded_and_unconstrained()
{
    let a = asset();
    // Ten million accounts holding the population's open interest: the queue binds in both
    // layouts, for hours today.
    let population = 1e7;
    let unconstrained = run(&a, &with_chain(Layout::Unconstrained, population));
    let today = run(&a, &with_chain(Layout::Today, population));
    let sharded = run(&a, &with_chain(Layout::Sharded, population));
    // Capacity: 16 calls per slot today (the keeper's 1.4M request against the Exchange's 24M),
    // 42 sharded (the 60M block; 4 keepers could land 64).
    assert_eq!(Chain::new(Layout::Today).liquidations_per_slot(), 16);
    assert_eq!(Chain::new(Layout::Sharded).liquidations_per_slot(), 42);
    for k in 0..today.regimes.len() {
        let (t, s, u) = (
            &today.regimes[k],
            &sharded.regimes[k],
            &unconstrained.regimes[k],
        );
        eprintln!(
            "{}: bad debt today {:.4}% sharded {:.4}% unconstrained {:.4}% of notional; bankruptcies {} {} {}; waits {} {}",
            t.regime,
            100.0 * t.bad_debt / today.notional,
            100.0 * s.bad_debt / today.notional,
            100.0 * u.bad_debt / today.notional,
            t.bankruptcies,
            s.bankruptcies,
            u.bankruptcies,
            t.queue.as_ref().unwrap().longest_wait_secs,
            s.queue.as_ref().unwrap().longest_wait_secs,
        );
        let (tq, sq) = (t.queue.as_ref().unwrap(), s.queue.as_ref().unwrap());
        assert!(tq.rounds_short > sq.rounds_short, "{}", t.regime);
        assert!(sq.rounds_short > 0, "{}", t.regime);
        assert!(t.bad_debt > s.bad_debt, "{}", t.regime);
        assert!(t.bad_debt > u.bad_debt, "{}", t.regime);
        assert!(t.bankruptcies >= u.bankruptcies, "{}", t.regime);
        // Only AVSL's partial slices, to keepers already holding that side, leave a series
        // read-only; whole-account calls close positions and write every series they touch.
        if t.regime.contains("partial") {
            assert!(sq.series_read_only > 0.0, "{}", t.regime);
        } else {
            assert_eq!(sq.series_read_only, 0.0, "{}", t.regime);
        }
    }
}
