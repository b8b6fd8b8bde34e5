//! The committed IDL is what the program generates, describes the zero-copy layouts byte for
//! byte, and derives every PDA as keel-client does.

use super::*;
use anchor_lang::prelude::Pubkey;
use keel_client::pda;
use serde_json::Value;
use std::collections::BTreeMap;

fn committed() -> Value {
    serde_json::from_str(&std::fs::read_to_string(idl_path()).expect("idl/keel.json"))
        .expect("IDL JSON")
}

#[test]
fn committed_idl_is_up_to_date() {
    let idl = build().expect("IDL generation");
    let stale = stale(&outputs(&idl));
    assert!(
        stale.is_empty(),
        "{stale:?} stale: regenerate with `cargo run -p keel-tests --bin keel-idl`"
    );
    // It describes what clients need.
    let idl = committed();
    let names = |k: &str| -> Vec<String> {
        idl[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(idl["address"], keel::ID.to_string());
    for a in [
        "Exchange",
        "Market",
        "Series",
        "MarginAccount",
        "Correlation",
        "ArrayPage",
        "Ledger",
    ] {
        assert!(names("accounts").contains(&a.to_string()), "{a}");
    }
    assert!(names("instructions").len() >= 22);
    assert!(names("events").contains(&"MarginReport".to_string()));
    assert_eq!(
        idl["errors"].as_array().unwrap().len(),
        keel::error::KeelError::LiquidatorLeavesLiquidatable as usize + 1
    );
}

fn types(idl: &Value) -> BTreeMap<String, Value> {
    idl["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
        .collect()
}

/// Bytes of an IDL type in Anchor's borsh encoding (fixed-size types only).
fn idl_size(ty: &Value, types: &BTreeMap<String, Value>) -> usize {
    if let Some(p) = ty.as_str() {
        return match p {
            "u8" | "i8" | "bool" => 1,
            "u16" | "i16" => 2,
            "u32" | "i32" => 4,
            "u64" | "i64" => 8,
            "u128" | "i128" => 16,
            "pubkey" => 32,
            other => panic!("not fixed-size: {other}"),
        };
    }
    if let Some(a) = ty.get("array") {
        return idl_size(&a[0], types) * a[1].as_u64().unwrap() as usize;
    }
    let name = ty["defined"]["name"].as_str().expect("defined type");
    fields(&types[name])
        .iter()
        .map(|f| idl_size(&f["type"], types))
        .sum()
}

fn fields(def: &Value) -> &Vec<Value> {
    def["type"]["fields"].as_array().expect("named struct")
}

/// Whether an IDL type is `pubkey` or an array (of arrays) of it.
fn is_pubkey(ty: &Value) -> bool {
    ty.as_str() == Some("pubkey") || ty.get("array").is_some_and(|a| is_pubkey(&a[0]))
}

#[test]
fn idl_layouts_are_the_zero_copy_layouts() {
    let idl = committed();
    let types = types(&idl);
    let mut checked = 0;
    for (name, def) in &types {
        if def["serialization"] != "bytemuck" {
            continue;
        }
        let (table, size) = keel_state::layout_by_name(name)
            .unwrap_or_else(|| panic!("{name}: no Rust layout in this test"));
        let idl_fields = fields(def);
        assert_eq!(idl_fields.len(), table.len(), "{name}: field count");
        let mut offset = 0;
        for (f, r) in idl_fields.iter().zip(table) {
            let n = idl_size(&f["type"], &types);
            assert_eq!(f["name"], r.name, "{name}: field order");
            assert_eq!((offset, n), (r.offset, r.size), "{name}.{}", r.name);
            // Keys are `pubkey`s, and nothing else is.
            let rust_key = r.ty.trim_start_matches('[').starts_with("PubkeyBytes");
            assert_eq!(is_pubkey(&f["type"]), rust_key, "{name}.{}", r.name);
            offset += n;
        }
        assert_eq!(offset, size, "{name}: size");
        checked += 1;
    }
    // Seven accounts (ArrayPage and Ledger among them), twelve nested layouts (Totals and
    // FillVol among them), and the risk arrays' Anchor, Bound, SeriesArray, ArraySlot and
    // ListedOption.
    assert_eq!(checked, 24, "every layout described");
    // The risk-engine structs are typed, not bytes.
    let market = fields(&types["Market"]);
    let rp = market.iter().find(|f| f["name"] == "risk_params").unwrap();
    assert_eq!(rp["type"]["defined"]["name"], "RiskParams");
    let vs = market.iter().find(|f| f["name"] == "vol_state").unwrap();
    assert_eq!(vs["type"]["defined"]["name"], "VolState");
    let fv = market.iter().find(|f| f["name"] == "fill_vol").unwrap();
    assert_eq!(fv["type"]["defined"]["name"], "FillVol");
    let anchor = market.iter().find(|f| f["name"] == "anchor").unwrap();
    assert_eq!(anchor["type"]["defined"]["name"], "Anchor");
    // Account sizes as Anchor's client computes them (discriminator + layout).
    for (name, space) in [
        ("Exchange", keel::state::Exchange::SPACE),
        ("Market", keel::state::Market::SPACE),
        ("Series", keel::state::Series::SPACE),
        ("MarginAccount", keel::state::MarginAccount::SPACE),
        ("Correlation", keel::state::Correlation::SPACE),
    ] {
        let ty = serde_json::json!({ "defined": { "name": name } });
        assert_eq!(8 + idl_size(&ty, &types), space, "{name}");
    }
}

/// The bytes of `field` (a top-level field) of an account of IDL type `ty`, located by the
/// IDL's description (what Anchor's client decodes).
fn field_bytes<'a>(
    data: &'a [u8],
    ty: &str,
    field: &str,
    types: &BTreeMap<String, Value>,
) -> (&'a [u8], Value) {
    let mut offset = 8;
    for f in fields(&types[ty]) {
        let n = idl_size(&f["type"], types);
        if f["name"] == field {
            return (&data[offset..offset + n], f["type"].clone());
        }
        offset += n;
    }
    panic!("{ty}.{field} not in the IDL")
}

/// An integer seed encoded as Anchor's TypeScript resolver does (`toBufferValue`): little-endian
/// in the type's width.
fn int_seed(value: u64, ty: &Value) -> Vec<u8> {
    let width = match ty.as_str().unwrap() {
        "u8" | "i8" => 1,
        "u16" | "i16" => 2,
        "u32" | "i32" => 4,
        "u64" | "i64" => 8,
        other => panic!("seed type {other}"),
    };
    value.to_le_bytes()[..width].to_vec()
}

/// Derives every PDA the IDL describes following the rules of Anchor's TypeScript client's
/// `AccountsResolver` (const bytes; an argument by its type; an account's address; an account's
/// field read from the account's data by its IDL type), and compares it with keel-client's.
#[test]
fn every_idl_pda_is_keel_clients() {
    let idl = committed();
    let types = types(&idl);
    let program = Pubkey::try_from(idl["address"].as_str().unwrap()).unwrap();
    let ex = pda::exchange();
    let owner = Pubkey::new_from_array([7; 32]);
    let (market_count, series_count, account_id) = (3u16, 7u32, 9u32);
    let market = pda::market(&ex, 5);
    let (market_a, market_b) = (pda::market(&ex, 0), pda::market(&ex, 1));
    let keys: BTreeMap<&str, Pubkey> = [
        ("exchange", ex),
        ("owner", owner),
        ("market", market),
        ("market_a", market_a),
        ("market_b", market_b),
    ]
    .into();
    // The accounts the program reads a seed from, as stored on chain.
    let mut exchange: keel_state::Exchange = bytemuck::Zeroable::zeroed();
    exchange.market_count = market_count;
    let mut m: keel_state::Market = bytemuck::Zeroable::zeroed();
    m.series_count = series_count;
    let data: BTreeMap<&str, Vec<u8>> = [
        (
            "exchange",
            [
                &keel_state::discriminator::EXCHANGE[..],
                bytemuck::bytes_of(&exchange),
            ]
            .concat(),
        ),
        (
            "market",
            [
                &keel_state::discriminator::MARKET[..],
                bytemuck::bytes_of(&m),
            ]
            .concat(),
        ),
    ]
    .into();
    let args: BTreeMap<&str, u64> = [("args.account_id", account_id as u64)].into();
    let expected = |account: &str| -> Pubkey {
        match account {
            "exchange" => ex,
            "vault" => pda::vault(&ex),
            "program_data" => pda::program_data(),
            "market" => pda::market(&ex, market_count),
            "series" => pda::series(&market, series_count),
            "margin_account" => pda::margin_account(&ex, &owner, account_id),
            "correlation" => pda::correlation(&market_a, &market_b),
            other => panic!("PDA `{other}` in the IDL: add keel-client's derivation here"),
        }
    };
    let mut derived = 0;
    for ix in idl["instructions"].as_array().unwrap() {
        let ix_name = ix["name"].as_str().unwrap();
        let ix_args = ix["args"].as_array().unwrap();
        for acc in ix["accounts"].as_array().unwrap() {
            let Some(p) = acc.get("pda") else { continue };
            let name = acc["name"].as_str().unwrap();
            let seed_bytes = |seed: &Value| -> Vec<u8> {
                let path = seed["path"].as_str().unwrap_or_default();
                match seed["kind"].as_str().unwrap() {
                    "const" => seed["value"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b.as_u64().unwrap() as u8)
                        .collect(),
                    "arg" => {
                        let (arg, field) = path.split_once('.').unwrap();
                        let def = ix_args.iter().find(|a| a["name"] == arg).unwrap();
                        let ty_name = def["type"]["defined"]["name"].as_str().unwrap();
                        let f = fields(&types[ty_name])
                            .iter()
                            .find(|f| f["name"] == field)
                            .unwrap();
                        int_seed(args[path], &f["type"])
                    }
                    "account" => match path.split_once('.') {
                        None => keys[path].to_bytes().to_vec(),
                        Some((owner_acc, field)) => {
                            let ty = seed["account"].as_str().unwrap_or_else(|| {
                                panic!("{ix_name}.{name}: seed `{path}` without its account type")
                            });
                            let (bytes, fty) = field_bytes(&data[owner_acc], ty, field, &types);
                            let mut v = [0u8; 8];
                            v[..bytes.len()].copy_from_slice(bytes);
                            int_seed(u64::from_le_bytes(v), &fty)
                        }
                    },
                    k => panic!("seed kind {k}"),
                }
            };
            let seeds: Vec<Vec<u8>> = p["seeds"]
                .as_array()
                .unwrap()
                .iter()
                .map(seed_bytes)
                .collect();
            let program_id = match p.get("program") {
                Some(s) => Pubkey::try_from(seed_bytes(s).as_slice()).unwrap(),
                None => program,
            };
            let refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
            let (got, _) = Pubkey::find_program_address(&refs, &program_id);
            assert_eq!(got, expected(name), "{ix_name}.{name}");
            derived += 1;
        }
    }
    // init_exchange (program_data, exchange, vault), create_market, list_series,
    // create_correlation, open_account.
    assert!(derived >= 7, "{derived} PDAs derived");
}

#[test]
fn camel_case_is_anchors() {
    for (s, c) in [
        ("create_market", "createMarket"),
        ("MarginAccount", "marginAccount"),
        ("social_loss_index_q60", "socialLossIndexQ60"),
        ("fraction_q32", "fractionQ32"),
        ("args.account_id", "args.accountId"),
        ("a1bReceive", "a1bReceive"),
        ("HTTPServer", "httpServer"),
        ("PDA", "pda"),
        ("named_shocks", "namedShocks"),
    ] {
        let got: Vec<String> = s.split('.').map(lower_camel_case).collect();
        assert_eq!(got.join("."), c, "{s}");
    }
}
