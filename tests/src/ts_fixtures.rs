//! Fixtures for the TypeScript SDK's tests (`sdk/ts/test/fixtures/bank.json`), exported from the
//! bank: account bytes with every field's value as keel-state reads it, instructions as
//! keel-client builds them (with the inputs, so the SDK builds the same), transaction logs with
//! the events keel-client decodes from them, the margin breakdown keel-client computes, and the
//! error table. The SDK's tests decode and build the same things and compare field by field.
//!
//! - Regenerate: `cargo run -p keel-tests --bin keel-ts-fixtures` (after a program change that
//!   alters layouts, instructions or events; the test below says when).
//! - The test in `ts_fixtures/tests.rs` checks that the committed file still holds for the
//!   current code: every account decodes to the values recorded, every instruction rebuilds to
//!   the bytes recorded, every event decodes to the values recorded.
//!
//! JSON conventions (the SDK's tests normalise Anchor's decoded values the same way): 64-bit
//! integers (and Q32.32 raw bits) as decimal strings, narrower integers as numbers, keys in
//! base58, field names as in Rust (snake_case).

use crate::context::{MarketHandle, TestContext};
use crate::idl::workspace_root;
use crate::scenario::{Scenario, DAY};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use base64::Engine;
use keel::events::{MarginReport, MarketRiskReport, PositionRiskReport, Traded};
use keel_client::ix::{self, ExchangeKeys};
use keel_client::view::{OracleDirectory, Snapshot};
use keel_state::{Field, PubkeyBytes};
use serde_json::{json, Map, Value};
use solana_signer::Signer;
use std::path::PathBuf;

/// Where the fixtures live.
pub fn fixture_path() -> PathBuf {
    workspace_root().join("sdk/ts/test/fixtures/bank.json")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes from base64.
pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// A value in the fixtures' JSON conventions.
pub trait ToJson {
    fn json(&self) -> Value;
}

macro_rules! as_string {
    ($($t:ty),*) => { $( impl ToJson for $t { fn json(&self) -> Value { Value::from(self.to_string()) } } )* };
}
macro_rules! as_number {
    ($($t:ty),*) => { $( impl ToJson for $t { fn json(&self) -> Value { Value::from(*self) } } )* };
}
as_string!(i64, u64, Pubkey);
as_number!(u8, u16, u32, i32, bool);

impl<T: ToJson> ToJson for Vec<T> {
    fn json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::json).collect())
    }
}

/// An event (or a struct in one) as JSON, every field named: the destructuring is exhaustive,
/// so a field added to the event fails to compile here until it is exported.
macro_rules! struct_json {
    ($v:expr, $ty:ident { $($f:ident),* $(,)? }) => {{
        let $ty { $($f),* } = $v;
        let mut m = Map::new();
        $( m.insert(stringify!($f).into(), $f.json()); )*
        Value::Object(m)
    }};
}

impl ToJson for MarketRiskReport {
    fn json(&self) -> Value {
        struct_json!(
            self,
            MarketRiskReport {
                market,
                spot,
                stable_spot,
                conf,
                sigma_q32,
                mark_sigma_q32,
                realised_sigma_q32,
                range_q32,
                anchor_ts,
                anchor_spot,
                worst_im,
                worst_im_interval,
                worst_mm,
                worst_mm_interval,
                net_delta_q32,
                short_min_im,
                short_min_mm,
                conf_addon,
                impact_addon,
                pnl,
                gap,
            }
        )
    }
}

impl ToJson for PositionRiskReport {
    fn json(&self) -> Value {
        struct_json!(
            self,
            PositionRiskReport {
                series,
                qty_contracts,
                mark,
                mark_stable,
                value,
                value_im,
                rounding,
                delta_q32,
                gamma_q32,
                vega,
                theta,
            }
        )
    }
}

impl ToJson for MarginReport {
    fn json(&self) -> Value {
        struct_json!(
            self,
            MarginReport {
                account,
                now,
                collateral,
                equity_mm,
                equity_im,
                mm,
                im,
                scan_mm,
                scan_im,
                offset_mm,
                offset_im,
                addons,
                short_min_mm,
                short_min_im,
                rounding,
                health_mm,
                health_im,
                withdrawable,
                liquidatable,
                liquidation_level,
                stress_q32,
                markets,
                positions,
            }
        )
    }
}

impl ToJson for Traded {
    fn json(&self) -> Value {
        struct_json!(
            self,
            Traded {
                series,
                market,
                taker,
                maker,
                qty_contracts,
                price_native,
                taker_fee_native,
                maker_fee_native,
                taker_qty_after,
                maker_qty_after,
                taker_collateral_native,
                maker_collateral_native,
                taker_equity_im,
                taker_im,
                maker_equity_im,
                maker_im,
                open_interest_contracts,
                ts,
            }
        )
    }
}

/// Size of a layout field type as written in keel-state's tables.
fn ty_size(ty: &str) -> usize {
    let ty = ty.trim();
    match ty {
        "u8" => 1,
        "u16" => 2,
        "u32" | "i32" => 4,
        "u64" | "i64" | "Fx" | "keel_risk::Fx" => 8,
        "PubkeyBytes" => 32,
        _ if ty.starts_with('[') => {
            let (inner, n) = split_array(ty);
            ty_size(inner) * n.parse::<usize>().unwrap_or_else(|_| array_len(n))
        }
        _ => {
            keel_state::layout_by_name(ty)
                .unwrap_or_else(|| panic!("layout {ty}"))
                .1
        }
    }
}

/// The named array lengths used in the layouts.
fn array_len(n: &str) -> usize {
    match n {
        "MAX_MARKETS" => keel_state::MAX_MARKETS,
        "MAX_POSITIONS" => keel_state::MAX_POSITIONS,
        other => panic!("array length {other}"),
    }
}

fn split_array(ty: &str) -> (&str, &str) {
    let body = &ty[1..ty.len() - 1];
    let mut depth = 0;
    let mut split = 0;
    for (i, c) in body.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ';' if depth == 0 => split = i,
            _ => {}
        }
    }
    (body[..split].trim(), body[split + 1..].trim())
}

fn le(bytes: &[u8]) -> u64 {
    let mut v = [0u8; 8];
    v[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(v)
}

/// One value of type `ty` at the start of `bytes`.
fn value_json(ty: &str, bytes: &[u8]) -> Value {
    let ty = ty.trim();
    match ty {
        "u8" | "u16" | "u32" => Value::from(le(&bytes[..ty_size(ty)])),
        "i32" => Value::from(i32::from_le_bytes(bytes[..4].try_into().unwrap())),
        "u64" => Value::from(le(&bytes[..8]).to_string()),
        "i64" | "Fx" | "keel_risk::Fx" => {
            Value::from(i64::from_le_bytes(bytes[..8].try_into().unwrap()).to_string())
        }
        "PubkeyBytes" => {
            let k: PubkeyBytes = bytes[..32].try_into().unwrap();
            Value::from(Pubkey::new_from_array(k).to_string())
        }
        _ if ty.starts_with('[') => {
            let (inner, _) = split_array(ty);
            let n = ty_size(inner);
            let len = ty_size(ty) / n;
            Value::Array(
                (0..len)
                    .map(|i| value_json(inner, &bytes[i * n..]))
                    .collect(),
            )
        }
        _ => {
            let (fields, _) = keel_state::layout_by_name(ty).unwrap_or_else(|| panic!("{ty}"));
            fields_json(fields, bytes)
        }
    }
}

/// Every field of a layout (its field table) read from `bytes` (the struct, no discriminator).
pub fn fields_json(fields: &[Field], bytes: &[u8]) -> Value {
    let mut m = Map::new();
    for f in fields {
        m.insert(
            f.name.into(),
            value_json(f.ty, &bytes[f.offset..f.offset + f.size]),
        );
    }
    Value::Object(m)
}

/// The account type (IDL name) of account data, by discriminator.
pub fn account_type(data: &[u8]) -> Option<&'static str> {
    use keel_state::discriminator as d;
    let disc: [u8; 8] = data.get(..8)?.try_into().ok()?;
    [
        (d::EXCHANGE, "Exchange"),
        (d::MARKET, "Market"),
        (d::SERIES, "Series"),
        (d::MARGIN_ACCOUNT, "MarginAccount"),
        (d::CORRELATION, "Correlation"),
        (d::ARRAY_PAGE, "ArrayPage"),
    ]
    .into_iter()
    .find(|(x, _)| *x == disc)
    .map(|(_, n)| n)
}

/// What keel-state reads from account data: every field of the layout after checking the
/// discriminator, size and version (`read_account`).
pub fn account_fields(data: &[u8]) -> Result<Value, String> {
    use keel_state::{discriminator as d, read_account, Layout};
    fn read<T: Layout>(data: &[u8], disc: &[u8; 8]) -> Result<Value, String> {
        let v: T = read_account(data, disc).map_err(|e| format!("{e:?}"))?;
        Ok(fields_json(T::FIELDS, bytemuck::bytes_of(&v)))
    }
    match account_type(data).ok_or("unknown discriminator")? {
        "Exchange" => read::<keel_state::Exchange>(data, &d::EXCHANGE),
        "Market" => read::<keel_state::Market>(data, &d::MARKET),
        "Series" => read::<keel_state::Series>(data, &d::SERIES),
        "MarginAccount" => read::<keel_state::MarginAccount>(data, &d::MARGIN_ACCOUNT),
        "ArrayPage" => read::<keel_state::ArrayPage>(data, &d::ARRAY_PAGE),
        _ => read::<keel_state::Correlation>(data, &d::CORRELATION),
    }
}

fn metas_json(metas: &[AccountMeta]) -> Value {
    Value::Array(
        metas
            .iter()
            .map(|m| json!({"pubkey": m.pubkey.to_string(), "isSigner": m.is_signer, "isWritable": m.is_writable}))
            .collect(),
    )
}

/// Account metas from the fixtures' JSON.
pub fn metas_from(v: &Value) -> Vec<AccountMeta> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| AccountMeta {
            pubkey: key(&m["pubkey"]),
            is_signer: m["isSigner"].as_bool().unwrap(),
            is_writable: m["isWritable"].as_bool().unwrap(),
        })
        .collect()
}

fn instruction_json(i: &Instruction) -> Value {
    json!({
        "programId": i.program_id.to_string(),
        "keys": metas_json(&i.accounts),
        "data": b64(&i.data),
    })
}

/// A key from JSON.
pub fn key(v: &Value) -> Pubkey {
    v.as_str().unwrap().parse().expect("base58 key")
}

fn int(v: &Value) -> i64 {
    v.as_str()
        .map(|s| s.parse().unwrap())
        .or_else(|| v.as_i64())
        .expect("integer")
}

/// The exchange keys recorded in the fixtures.
pub fn exchange_keys(v: &Value) -> ExchangeKeys {
    let exchange = key(&v["exchange"]);
    ExchangeKeys {
        exchange,
        vault: key(&v["vault"]),
        quote_mint: key(&v["quoteMint"]),
        token_program: key(&v["tokenProgram"]),
        ledgers: keel_client::pda::ledgers(&exchange),
    }
}

/// Builds instruction `name` with keel-client from the recorded inputs (what the SDK's builder
/// of the same name takes, in the same order).
pub fn build_instruction(ex: &ExchangeKeys, name: &str, i: &Value) -> Instruction {
    use keel::instructions::*;
    let k = |n: &str| key(&i[n]);
    let n = |n: &str| int(&i[n]);
    let metas = |n: &str| metas_from(&i[n]);
    let opt_k = |n: &str| i.get(n).filter(|v| !v.is_null()).map(key);
    match name {
        "openAccount" => ix::open_account(ex, &k("owner"), n("accountId") as u32),
        "setDelegate" => ix::set_delegate(&k("owner"), &k("account"), k("delegate")),
        "deposit" => ix::deposit(
            ex,
            &k("depositor"),
            &k("account"),
            &k("source"),
            n("amountNative") as u64,
        ),
        "withdraw" => ix::withdraw(
            ex,
            &k("owner"),
            &k("account"),
            &k("destination"),
            n("amountNative") as u64,
            &metas("margin"),
        ),
        "trade" => ix::trade(
            ex,
            &k("series"),
            &k("takerAccount"),
            &k("taker"),
            &k("makerAccount"),
            &k("maker"),
            TradeArgs {
                qty_contracts: n("qtyContracts"),
                price_native: n("priceNative"),
            },
            &metas("margin"),
        ),
        "closeAccount" => ix::close_account(&k("owner"), &k("account")),
        "fundInsurance" => {
            ix::fund_insurance(ex, &k("funder"), &k("source"), n("amountNative") as u64)
        }
        "updateVolatility" => {
            let series: Vec<Pubkey> = i["series"].as_array().unwrap().iter().map(key).collect();
            ix::update_volatility_with_fills(ex, &k("market"), &k("oracle"), &series)
        }
        "updateCorrelation" => ix::update_correlation(
            ex,
            (&k("marketA"), &k("oracleA")),
            (&k("marketB"), &k("oracleB")),
        ),
        "settleSeries" => ix::settle_series(
            ex,
            &k("caller"),
            &k("market"),
            &k("series"),
            &k("oracle"),
            opt_k("arrayPage"),
        ),
        "settlePositions" => {
            let series: Vec<Pubkey> = i["series"].as_array().unwrap().iter().map(key).collect();
            ix::settle_positions(ex, &k("account"), &series)
        }
        "liquidate" => ix::liquidate(
            ex,
            &k("liquidatee"),
            &k("liquidatorAccount"),
            &k("liquidator"),
            n("maxFractionBps") as u16,
            &metas("remaining"),
        ),
        "marginReport" => ix::margin_report(ex, &k("account"), &metas("margin")),
        "resolveBankruptcy" => ix::resolve_bankruptcy(ex, &k("account")),
        "listSeries" => ix::list_series(
            ex,
            &k("admin"),
            &k("market"),
            n("seriesIndex") as u32,
            opt_k("arrayPage"),
            ListSeriesArgs {
                kind: n("kind") as u8,
                strike_native: n("strikeNative"),
                expiry_ts: n("expiryTs"),
            },
        ),
        "setPause" => ix::set_pause(ex, &k("admin"), n("flags") as u8),
        "publishImpliedVol" => {
            ix::publish_implied_vol(&k("market"), &k("authority"), n("impliedVolBps") as u32)
        }
        other => panic!("no keel-client builder for {other} in the fixtures"),
    }
}

/// The inputs of every instruction the fixtures record, from the exported state.
fn instruction_inputs(
    t: &TestContext,
    s: &Scenario,
    eth: &MarketHandle,
    snap: &Snapshot,
) -> Vec<(&'static str, Value)> {
    let a = snap.accounts[&s.a];
    let b = snap.accounts[&s.b];
    let margin = metas_json(&snap.margin_metas(&[&a], &[]).unwrap());
    let liq = metas_json(&snap.liquidate_metas(&b, &a).unwrap());
    // Alice trades against Bob, so she holds his series on the other side (all writable); Bob
    // as his own liquidator holds every one on his side (all read-only).
    let held = metas_json(&snap.liquidate_metas_reading_held(&b, &a).unwrap());
    let held_self = metas_json(&snap.liquidate_metas_reading_held(&b, &b).unwrap());
    // The series whose option fills a crank of the BTC market folds (no vol authority).
    let fills: Vec<String> = snap
        .fill_series(&s.btc.key, 16)
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert!(
        !fills.is_empty(),
        "the scenario's option trades record fills"
    );
    let (alice, bob) = (s.alice.key().to_string(), s.bob.key().to_string());
    // The page holding an option's array (list_series takes a page with room: the market's
    // first page holds the scenario's two options of its 16 slots).
    let page_of = |series: &Pubkey| snap.pages_for(&[], &[*series])[0].to_string();
    vec![
        ("openAccount", json!({"owner": alice, "accountId": 7})),
        (
            "setDelegate",
            json!({"owner": alice, "account": s.a.to_string(), "delegate": bob}),
        ),
        (
            "deposit",
            json!({"depositor": alice, "account": s.a.to_string(), "source": s.alice.tokens.to_string(), "amountNative": "1234567"}),
        ),
        (
            "withdraw",
            json!({"owner": alice, "account": s.a.to_string(), "destination": s.alice.tokens.to_string(), "amountNative": "7654321", "margin": margin}),
        ),
        (
            "trade",
            json!({"series": s.call.to_string(), "takerAccount": s.a.to_string(), "taker": alice, "makerAccount": s.b.to_string(), "maker": bob, "qtyContracts": "-3", "priceNative": "12345678", "margin": metas_json(&snap.margin_metas(&[&a, &b], &[]).unwrap())}),
        ),
        (
            "closeAccount",
            json!({"owner": alice, "account": s.a.to_string()}),
        ),
        (
            "fundInsurance",
            json!({"funder": alice, "source": s.alice.tokens.to_string(), "amountNative": "1000"}),
        ),
        (
            "updateVolatility",
            json!({"market": s.btc.key.to_string(), "oracle": s.btc.oracle.to_string(), "series": fills}),
        ),
        (
            "updateCorrelation",
            json!({"marketA": s.btc.key.to_string(), "oracleA": s.btc.oracle.to_string(), "marketB": eth.key.to_string(), "oracleB": eth.oracle.to_string()}),
        ),
        (
            "settleSeries",
            json!({"caller": bob, "market": s.btc.key.to_string(), "series": s.put.to_string(), "oracle": s.btc.oracle.to_string(), "arrayPage": page_of(&s.put)}),
        ),
        (
            "settlePositions",
            json!({"account": s.b.to_string(), "series": [s.call.to_string(), s.fut.to_string()]}),
        ),
        (
            "liquidate",
            json!({"liquidatee": s.b.to_string(), "liquidatorAccount": s.a.to_string(), "liquidator": alice, "maxFractionBps": 2500, "remaining": liq, "remainingReadingHeld": held, "remainingReadingHeldBySelf": held_self}),
        ),
        (
            "marginReport",
            json!({"account": s.a.to_string(), "margin": margin}),
        ),
        ("resolveBankruptcy", json!({"account": s.b.to_string()})),
        (
            "listSeries",
            json!({"admin": t.admin.pubkey().to_string(), "market": s.btc.key.to_string(), "seriesIndex": 3, "arrayPage": page_of(&s.call), "kind": 1, "strikeNative": "55000000", "expiryTs": (s.expiry + DAY).to_string()}),
        ),
        (
            "setPause",
            json!({"admin": t.admin.pubkey().to_string(), "flags": 5}),
        ),
        (
            "publishImpliedVol",
            json!({"market": eth.key.to_string(), "authority": bob, "impliedVolBps": 6500}),
        ),
    ]
}

/// Runs the fixtures' scenario on the bank and exports it: two markets with a correlation, a
/// call, a put and a future, two accounts trading all three, a crank, margin reports.
pub async fn export() -> Value {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let eth = t.create_btc_market(3_000).await;
    let admin = t.admin.insecure_clone();
    let corr = ix::create_correlation(
        &t.ex,
        &admin.pubkey(),
        &s.btc.key,
        &eth.key,
        keel::instructions::CreateCorrelationArgs {
            tau_secs: 86_400,
            min_interval_secs: 60,
            max_sync_secs: 5,
        },
    );
    t.send(&[corr], &[&admin])
        .await
        .expect("create_correlation");
    let mut logs: Vec<(String, Vec<String>)> = Vec::new();
    for (name, series, qty) in [
        ("call", s.call, 4),
        ("put", s.put, -3),
        ("future", s.fut, 2),
    ] {
        let band = t.band(&s.btc, &series).await;
        let ok = t
            .trade(
                &series,
                (&s.alice, &s.a),
                (&s.bob, &s.b),
                qty,
                band.mark,
                &[&s.btc],
            )
            .await
            .expect("trade");
        logs.push((format!("trade {name}"), ok.logs));
    }
    t.advance(3_600).await;
    let ok = t.price_and_crank(&s.btc, 61_000).await;
    logs.push(("crank".into(), ok.logs));
    // The arrays re-anchored at the crank's price, so the snapshot's margin is the program's.
    t.crank_all_arrays().await;
    let payer = t.pt.payer.insecure_clone();
    let mut overrides = OracleDirectory::default();
    overrides.overrides.insert(s.btc.key, s.btc.oracle);
    overrides.overrides.insert(eth.key, eth.oracle);
    let snap = Snapshot::load(&t.chain(&payer), &overrides)
        .await
        .expect("snapshot");
    let mut reports = Vec::new();
    for acc in s.accounts() {
        let metas = snap
            .margin_metas(&[&snap.accounts[&acc]], &[])
            .expect("metas");
        let ok = t
            .simulate(&[ix::margin_report(&t.ex, &acc, &metas)], &[])
            .await
            .expect("margin_report");
        logs.push((format!("margin_report {acc}"), ok.logs));
        reports.push(snap.margin_report(&acc, None).expect("off-chain report"));
    }

    let mut keys = vec![snap.exchange_key];
    keys.extend([s.btc.key, eth.key]);
    keys.extend(s.series());
    keys.extend(s.accounts());
    keys.extend(snap.correlations.keys().copied());
    // The pages of the markets the accounts use (liquidate names every page of its markets);
    // the other market's are empty and would only add bytes.
    let accs: Vec<&keel_state::MarginAccount> =
        s.accounts().iter().map(|k| &snap.accounts[k]).collect();
    let used = snap.markets_of(&accs);
    keys.extend(
        snap.pages
            .iter()
            .filter(|(_, p)| used.contains(&Pubkey::new_from_array(p.market)))
            .map(|(k, _)| *k),
    );
    let accounts: Vec<Value> = t
        .snapshot(&keys)
        .await
        .into_iter()
        .zip(&keys)
        .map(|(a, k)| {
            let a = a.expect("account");
            json!({
                "address": k.to_string(),
                "type": account_type(&a.data).expect("Keel account"),
                "data": b64(&a.data),
                "fields": account_fields(&a.data).expect("decodes"),
            })
        })
        .collect();
    let oracles: Vec<Value> = t
        .snapshot(&[s.btc.oracle, eth.oracle])
        .await
        .into_iter()
        .zip([(s.btc.key, s.btc.oracle), (eth.key, eth.oracle)])
        .map(|(a, (m, o))| {
            let a = a.expect("oracle");
            json!({"market": m.to_string(), "address": o.to_string(), "owner": a.owner.to_string(), "data": b64(&a.data)})
        })
        .collect();
    let ex = &t.ex;
    let instructions: Vec<Value> = instruction_inputs(&t, &s, &eth, &snap)
        .into_iter()
        .map(|(name, inputs)| {
            let i = build_instruction(ex, name, &inputs);
            json!({"name": name, "inputs": inputs, "expected": instruction_json(&i)})
        })
        .collect();
    let transactions: Vec<Value> = logs
        .into_iter()
        .map(|(label, logs)| json!({"label": label, "logs": logs, "events": events_json(&logs)}))
        .collect();
    let margin: Vec<Value> = reports.iter().map(ToJson::json).collect();
    json!({
        "note": "Exported from the bank by `cargo run -p keel-tests --bin keel-ts-fixtures`; checked by tests/src/ts_fixtures/tests.rs",
        "programId": keel::ID.to_string(),
        "now": snap.now,
        "exchangeKeys": {
            "exchange": ex.exchange.to_string(),
            "vault": ex.vault.to_string(),
            "quoteMint": ex.quote_mint.to_string(),
            "tokenProgram": ex.token_program.to_string(),
        },
        "pdas": {
            "exchange": keel_client::pda::exchange().to_string(),
            "programData": keel_client::pda::program_data().to_string(),
            "vault": keel_client::pda::vault(&ex.exchange).to_string(),
            "markets": [s.btc.key.to_string(), eth.key.to_string()],
            "series": s.series().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "accounts": [
                {"owner": s.alice.key().to_string(), "accountId": 0, "address": s.a.to_string()},
                {"owner": s.bob.key().to_string(), "accountId": 0, "address": s.b.to_string()},
            ],
            "correlation": keel_client::pda::correlation(&s.btc.key, &eth.key).to_string(),
            "ledgers": ex.ledgers.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "pythFeedAccount": {
                "feedId": vec![1u8; 32],
                "address": keel_client::view::pyth_feed_account(&[1; 32], 0).to_string(),
            },
            "pythReceiver": pyth_solana_receiver_sdk::ID.to_string(),
        },
        "accounts": accounts,
        "oracles": oracles,
        "instructions": instructions,
        "transactions": transactions,
        "marginReports": margin,
        "errors": errors_json(),
        "fittedBudgets": fitted_budgets(),
    })
}

/// keel-client's `Budget::fitted` around its bounds (1,158,333 used asks for exactly the cap): what
/// the SDK's `fittedUnits` must give.
fn fitted_budgets() -> Vec<Value> {
    [
        0u64, 1, 4, 5, 6, 78_400, 104_080, 1_158_332, 1_158_333, 1_158_334, 1_400_000, 5_000_000,
    ]
    .iter()
    .map(|&c| json!({"consumed": c, "limit": keel_client::Budget::default().fitted(c).cu_limit}))
    .collect()
}

/// The events keel-client decodes from `logs`: every event's name (by discriminator, from the
/// IDL), and the full value of the ones the SDK's tests compare field by field.
pub fn events_json(logs: &[String]) -> Value {
    let idl: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::idl::idl_path()).expect("idl/keel.json"),
    )
    .expect("IDL");
    let names: Vec<Value> = keel_client::events::data_lines(logs)
        .filter_map(|bytes| {
            idl["events"].as_array().unwrap().iter().find_map(|e| {
                let d: Vec<u8> = e["discriminator"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_u64().unwrap() as u8)
                    .collect();
                (bytes.len() >= 8 && bytes[..8] == d[..]).then(|| e["name"].clone())
            })
        })
        .collect();
    let reports: Vec<MarginReport> = keel_client::events::decode(logs).expect("events decode");
    let traded: Vec<Traded> = keel_client::events::decode(logs).expect("events decode");
    json!({
        "names": names,
        "MarginReport": reports.iter().map(ToJson::json).collect::<Vec<_>>(),
        "Traded": traded.iter().map(ToJson::json).collect::<Vec<_>>(),
    })
}

/// Every Keel error with keel-client's name, message and hint.
pub fn errors_json() -> Value {
    let mut v = Vec::new();
    let mut code = anchor_lang::error::ERROR_CODE_OFFSET;
    while let Some(d) = keel_client::errors::describe(code) {
        v.push(json!({"code": d.code, "name": d.name, "message": d.message, "hint": d.hint}));
        code += 1;
    }
    // Two of Anchor's own, named by anchor_lang.
    for c in [
        anchor_lang::error::ErrorCode::ConstraintSeeds as u32,
        anchor_lang::error::ErrorCode::AccountNotInitialized as u32,
    ] {
        let d = keel_client::errors::describe(c).expect("anchor error");
        v.push(json!({"code": d.code, "name": d.name, "message": d.message, "hint": d.hint}));
    }
    Value::Array(v)
}

#[cfg(test)]
mod tests;
