//! The committed fixtures still hold for the current code (else: regenerate them with
//! `cargo run -p keel-tests --bin keel-ts-fixtures`).

use super::*;
use keel_client::pda;
use keel_client::view::MarketView;
use keel_state::{discriminator as d, read_account};
use std::collections::BTreeMap;

const REGENERATE: &str = "regenerate with `cargo run -p keel-tests --bin keel-ts-fixtures`";

fn fixtures() -> Value {
    let text = std::fs::read_to_string(fixture_path())
        .unwrap_or_else(|_| panic!("{} missing: {REGENERATE}", fixture_path().display()));
    serde_json::from_str(&text).expect("fixtures JSON")
}

/// keel-client's snapshot of the recorded accounts.
fn snapshot(f: &Value) -> Snapshot {
    let mut markets = BTreeMap::new();
    let mut series = BTreeMap::new();
    let mut accounts = BTreeMap::new();
    let mut correlations = BTreeMap::new();
    let mut pages = BTreeMap::new();
    let mut exchange = None;
    for a in f["accounts"].as_array().unwrap() {
        let (k, data) = (key(&a["address"]), unb64(a["data"].as_str().unwrap()));
        match a["type"].as_str().unwrap() {
            "Exchange" => exchange = Some(read_account(&data, &d::EXCHANGE).unwrap()),
            "Market" => {
                let market = read_account(&data, &d::MARKET).unwrap();
                let o = f["oracles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|o| key(&o["market"]) == k)
                    .expect("oracle of the market");
                let oracle = solana_account::Account {
                    lamports: 1,
                    data: unb64(o["data"].as_str().unwrap()),
                    owner: key(&o["owner"]),
                    executable: false,
                    rent_epoch: 0,
                };
                markets.insert(
                    k,
                    MarketView {
                        key: k,
                        market,
                        oracle_key: key(&o["address"]),
                        oracle: Some(oracle),
                    },
                );
            }
            "Series" => {
                series.insert(k, read_account(&data, &d::SERIES).unwrap());
            }
            "MarginAccount" => {
                accounts.insert(k, read_account(&data, &d::MARGIN_ACCOUNT).unwrap());
            }
            "ArrayPage" => {
                let page: keel_state::ArrayPage = read_account(&data, &d::ARRAY_PAGE).unwrap();
                pages.insert(k, Box::new(page));
            }
            _ => {
                correlations.insert(k, read_account(&data, &d::CORRELATION).unwrap());
            }
        }
    }
    Snapshot {
        now: f["now"].as_i64().unwrap(),
        exchange_key: pda::exchange(),
        exchange: exchange.expect("exchange"),
        markets,
        series,
        accounts,
        correlations,
        pages,
    }
}

#[test]
fn committed_fixtures_hold_for_the_current_code() {
    let f = fixtures();
    assert_eq!(f["programId"], keel::ID.to_string(), "{REGENERATE}");
    for a in f["accounts"].as_array().unwrap() {
        let data = unb64(a["data"].as_str().unwrap());
        assert_eq!(
            account_fields(&data).as_ref(),
            Ok(&a["fields"]),
            "{} {}: {REGENERATE}",
            a["type"],
            a["address"]
        );
    }
    let ex = exchange_keys(&f["exchangeKeys"]);
    for i in f["instructions"].as_array().unwrap() {
        let name = i["name"].as_str().unwrap();
        let built = build_instruction(&ex, name, &i["inputs"]);
        assert_eq!(
            instruction_json(&built),
            i["expected"],
            "{name}: {REGENERATE}"
        );
    }
    for tx in f["transactions"].as_array().unwrap() {
        let logs: Vec<String> = serde_json::from_value(tx["logs"].clone()).unwrap();
        assert_eq!(
            events_json(&logs),
            tx["events"],
            "{}: {REGENERATE}",
            tx["label"]
        );
    }
    assert_eq!(errors_json(), f["errors"], "error table: {REGENERATE}");
    let p = &f["pdas"];
    assert_eq!(key(&p["exchange"]), pda::exchange());
    assert_eq!(key(&p["programData"]), pda::program_data());
    assert_eq!(key(&p["vault"]), pda::vault(&ex.exchange));
    for (i, m) in p["markets"].as_array().unwrap().iter().enumerate() {
        assert_eq!(key(m), pda::market(&ex.exchange, i as u16));
    }
    let btc = key(&p["markets"][0]);
    for (i, s) in p["series"].as_array().unwrap().iter().enumerate() {
        assert_eq!(key(s), pda::series(&btc, i as u32));
    }
    for a in p["accounts"].as_array().unwrap() {
        let id = a["accountId"].as_u64().unwrap() as u32;
        assert_eq!(
            key(&a["address"]),
            pda::margin_account(&ex.exchange, &key(&a["owner"]), id)
        );
    }
}

/// The recorded margin reports are keel-client's off-chain computation on the recorded
/// accounts, and equal the program's own `MarginReport` events in the recorded logs (what
/// `keel verify` checks); the SDK's WebAssembly engine is compared with them.
#[test]
fn recorded_margin_reports_are_keel_clients_and_the_programs() {
    let f = fixtures();
    let snap = snapshot(&f);
    let recorded = f["marginReports"].as_array().unwrap();
    assert_eq!(recorded.len(), 2);
    for r in recorded {
        let k = key(&r["account"]);
        let report = snap.margin_report(&k, None).expect("margin report");
        assert_eq!(&report.json(), r, "{k}: {REGENERATE}");
        let on_chain: Vec<&Value> = f["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|tx| tx["events"]["MarginReport"].as_array().unwrap())
            .filter(|e| e["account"] == r["account"])
            .collect();
        assert_eq!(on_chain, vec![r], "{k}: program and keel-client differ");
    }
    // The accounts hold positions in several series and the reports have scenario P&L.
    assert!(recorded[0]["positions"].as_array().unwrap().len() >= 3);
    assert!(!recorded[0]["markets"][0]["pnl"]
        .as_array()
        .unwrap()
        .is_empty());
}
