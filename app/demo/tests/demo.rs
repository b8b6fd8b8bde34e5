//! The demo on a short window of the real history (the crash day, 2020-03-12): it liquidates,
//! the insurance fund absorbs what it must, the keeper closes what it takes over and profits,
//! and its summary balances to the unit.

use keel_demo::{run, DemoConfig};

#[tokio::test]
async fn the_crash_day_balances_to_the_unit() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let cfg = DemoConfig {
        from: "2020-03-11".into(),
        to: "2020-03-13".into(),
        out_dir: out.path().to_path_buf(),
        ..DemoConfig::default_at(&root)
    };
    if !cfg.prices.is_file() {
        println!(
            "skipped: {} not present (set KEEL_SHARED_DATA to the market history's folder)",
            cfg.prices.display()
        );
        return;
    }
    let mut progress = Vec::new();
    let s = run(&cfg, |done, total| progress.push((done, total)))
        .await
        .unwrap();
    println!("{}", s.table());
    assert_eq!(
        progress.last(),
        Some(&(s.bars, s.bars)),
        "progress reaches the end"
    );
    assert!(s.bars >= 24, "{} bars", s.bars);
    assert!(s.keeper_errors.is_empty(), "{:?}", s.keeper_errors);

    // Money: the vault holds exactly what the exchange owes; every account's collateral adds up.
    let y = &s.system;
    assert!(y.conservation_holds);
    assert_eq!(
        y.vault_native as i64,
        y.total_collateral_native
            + y.insurance_fund_native
            + y.fees_native
            + y.settlement_pools_native
            - y.social_loss_pending_native
    );
    // The crash is liquidated in AVSL steps, the fund pays bankruptcies before anything is
    // socialised, the weekly expiry is settled by the keeper.
    assert!(y.liquidation_calls > 0 && y.liquidated_notional > 0.0);
    assert!(s
        .liquidations
        .iter()
        .all(|l| l.fraction <= l.fraction_cap + 1e-9));
    // The redesigned AVSL: the cap grows toward the whole book as equity nears bankruptcy, so a
    // call restores the target in one step more often than not; some steps still move only part
    // of a book and leave the trader trading.
    let rows: Vec<(f64, f64, bool)> = s
        .liquidations
        .iter()
        .map(|l| (l.fraction, l.fraction_cap, l.healthy_after))
        .collect();
    assert!(
        s.liquidations
            .iter()
            .any(|l| l.fraction < 1.0 && l.healthy_after),
        "some steps are partial: {rows:?}"
    );
    for b in &s.bankruptcies {
        assert!((b.shortfall - b.insurance_paid - b.socialised).abs() < 1e-6);
    }
    assert!(y.insurance_paid <= y.insurance_fund_start + y.bonus_paid);
    assert!(y.settlements > 0, "the 13 March expiry settles");
    let liqs: u64 = s.accounts.iter().map(|a| a.liquidations).sum();
    assert_eq!(liqs as usize, y.liquidation_calls);
    // The liquidator's economics: the keeper closes what it takes over with the maker at the
    // series' mark after each liquidating pass, so it ends flat and earns the bonuses it kept
    // less the closing fees — a liquidator that holds the book instead loses on the crash.
    let k = &y.keeper;
    assert_eq!(k.positions_left, 0, "{k:?}");
    assert!(k.closing_trades > 0, "{k:?}");
    assert!(k.bonus_kept > 0.0 && k.bonus_kept < y.bonus_paid, "{k:?}");
    assert!(k.closing_fees > 0.0, "{k:?}");
    // Closed in the same slot at the price it was transferred at: nothing left to the marks.
    assert!(k.mark_to_market.abs() < 0.01, "{k:?}");
    assert!(k.pnl > 0.0, "a closing liquidator does not lose: {k:?}");
    let keeper_row = s.accounts.iter().find(|a| a.name == "keeper").unwrap();
    assert!((keeper_row.equity_end - keeper_row.equity_start - k.pnl).abs() < 1e-6);
    // Margin rose with the vol: the vol in force at the end is well above where it started.
    assert!(y.peak_margin_vol > 1.0, "peak vol {}", y.peak_margin_vol);

    // The chart and the JSON summary.
    let svg = std::fs::read_to_string(s.chart_svg.as_ref().unwrap()).unwrap();
    assert!(svg.contains("maintenance margin per trader"));
    if let Some(png) = &s.chart_png {
        assert_eq!(&std::fs::read(png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    }
    let json: serde_json::Value = serde_json::to_value(&s).unwrap();
    for k in [
        "vault_native",
        "total_collateral_native",
        "insurance_fund_native",
        "fees_native",
        "liquidated_notional",
        "bad_debt_socialised",
    ] {
        assert!(json["system"][k].is_number(), "{k}");
    }
    assert_eq!(json["accounts"].as_array().unwrap().len(), 8);
}
