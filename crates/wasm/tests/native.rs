//! The engine this crate compiles to WebAssembly, run natively: on the bank's accounts it gives
//! keel-client's margin report field for field (and so the program's: the fixtures' own test
//! checks those are equal), and the what-if outputs the SDK's WebAssembly test compares with
//! are the ones committed in `sdk/ts/test/fixtures/engine.json`.

mod support;

use serde_json::Value;
use support::*;

#[test]
fn margin_is_keel_clients_on_the_bank_accounts() {
    let f = bank();
    for r in f["marginReports"].as_array().unwrap() {
        let owned = Owned::from_fixtures(&f, r["account"].as_str().unwrap());
        let out = keel_wasm::whatif::margin_json(&owned.frame(fx(1.0), fx(1.0)));
        let v: Value = serde_json::from_str(&out).expect("JSON output");
        assert_eq!(&v, r, "engine vs keel-client");
    }
}

#[test]
fn what_if_moves_the_margin() {
    let f = bank();
    let a = f["marginReports"][0]["account"]
        .as_str()
        .unwrap()
        .to_string();
    let owned = Owned::from_fixtures(&f, &a);
    let at = |s: f64, v: f64| -> Value {
        serde_json::from_str(&keel_wasm::whatif::margin_json(&owned.frame(fx(s), fx(v)))).unwrap()
    };
    let int = |v: &Value, k: &str| v[k].as_str().unwrap().parse::<i64>().unwrap();
    let base = at(1.0, 1.0);
    // The account is long a call, short a put and long a future: a rise in spot raises its
    // equity, a fall lowers it; a doubled vol raises the margin.
    assert!(int(&at(1.1, 1.0), "equity_mm") > int(&base, "equity_mm"));
    assert!(int(&at(0.9, 1.0), "equity_mm") < int(&base, "equity_mm"));
    assert!(int(&at(1.0, 2.0), "im") > int(&base, "im"));
    // The spot the engine saw moved by the multiplier (per contract, rounded down).
    let spot = |v: &Value| int(&v["markets"][0], "spot");
    let moved = spot(&at(1.25, 1.0)) as f64 / spot(&base) as f64;
    assert!((moved - 1.25).abs() < 1e-6, "{moved}");
}

#[test]
fn errors_are_reported_not_panicked() {
    let out = keel_wasm::whatif::margin_json(&[1, 2, 3]);
    assert_eq!(out, r#"{"error":"frame truncated"}"#);
    let f = bank();
    let a = f["marginReports"][0]["account"]
        .as_str()
        .unwrap()
        .to_string();
    let mut owned = Owned::from_fixtures(&f, &a);
    owned.markets.clear();
    let v: Value = serde_json::from_str(&keel_wasm::whatif::margin_json(
        &owned.frame(fx(1.0), fx(1.0)),
    ))
    .unwrap();
    assert_eq!(v["error"], "MissingMarket");
}

#[test]
fn committed_what_if_outputs_are_the_native_ones() {
    let f = bank();
    let path = sdk_fixtures().join("engine.json");
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .expect("engine.json: run `cargo run -p keel-wasm --example engine-cases`"),
    )
    .unwrap();
    assert_eq!(
        committed,
        cases(&f),
        "engine.json is stale: run `cargo run -p keel-wasm --example engine-cases`"
    );
}

#[test]
fn scenario_names_are_keel_risks() {
    let v: Vec<String> = serde_json::from_str(&keel_wasm::report::scenario_names()).unwrap();
    use keel_risk::array::POINTS;
    use keel_risk::scenario::ScenarioName;
    assert_eq!(v.len(), POINTS);
    for (s, n) in v.iter().enumerate() {
        assert_eq!(n, &ScenarioName(s).to_string());
    }
}
