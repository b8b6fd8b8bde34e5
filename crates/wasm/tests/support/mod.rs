//! Frames built from the TypeScript SDK's bank fixtures (`sdk/ts/test/fixtures/bank.json`), and
//! the what-if cases whose outputs `sdk/ts/test/fixtures/engine.json` records.

use base64::Engine;
use keel_wasm::frame::{Frame, MarketBlob};
use serde_json::Value;
use std::path::PathBuf;

pub fn sdk_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sdk/ts/test/fixtures")
}

pub fn bank() -> Value {
    let p = sdk_fixtures().join("bank.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("bank fixtures")).expect("JSON")
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

fn key(v: &Value) -> [u8; 32] {
    // Keys in the fixtures are base58; the accounts carry them in their bytes too, so look
    // them up by decoding base58 here.
    let s = v.as_str().unwrap();
    let mut n: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let d = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
            .iter()
            .position(|a| *a == c)
            .expect("base58") as u32;
        let mut carry = d;
        for x in n.iter_mut() {
            carry += (*x as u32) * 58;
            *x = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            n.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|c| *c == b'1').count();
    let mut out = vec![0u8; zeros];
    out.extend(n.iter().rev());
    let mut k = [0u8; 32];
    k[32 - out.len()..].copy_from_slice(&out);
    k
}

/// A market's address and account, and its oracle's address, owner and data.
pub struct OwnedMarket {
    pub key: [u8; 32],
    pub data: Vec<u8>,
    pub oracle_key: [u8; 32],
    pub oracle_owner: [u8; 32],
    pub oracle_data: Vec<u8>,
}

/// The owned bytes of a frame for account `account` of the fixtures.
pub struct Owned {
    pub now: i64,
    pub exchange: Vec<u8>,
    pub account_key: [u8; 32],
    pub account: Vec<u8>,
    pub markets: Vec<OwnedMarket>,
    pub correlations: Vec<Vec<u8>>,
    pub pages: Vec<Vec<u8>>,
}

impl Owned {
    pub fn from_fixtures(f: &Value, account: &str) -> Owned {
        let accounts = f["accounts"].as_array().unwrap();
        let of = |t: &'static str| accounts.iter().filter(move |a| a["type"] == t);
        let markets = of("Market")
            .map(|m| {
                let o = f["oracles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|o| o["market"] == m["address"])
                    .unwrap();
                OwnedMarket {
                    key: key(&m["address"]),
                    data: b64(&m["data"]),
                    oracle_key: key(&o["address"]),
                    oracle_owner: key(&o["owner"]),
                    oracle_data: b64(&o["data"]),
                }
            })
            .collect();
        let acc = accounts
            .iter()
            .find(|a| a["address"] == account)
            .expect("account in fixtures");
        Owned {
            now: f["now"].as_i64().unwrap(),
            exchange: b64(&of("Exchange").next().unwrap()["data"]),
            account_key: key(&acc["address"]),
            account: b64(&acc["data"]),
            markets,
            correlations: of("Correlation").map(|c| b64(&c["data"])).collect(),
            pages: of("ArrayPage").map(|p| b64(&p["data"])).collect(),
        }
    }

    pub fn frame(&self, spot_mult: i64, vol_mult: i64) -> Vec<u8> {
        Frame {
            now: self.now,
            spot_mult,
            vol_mult,
            exchange: &self.exchange,
            account_key: self.account_key,
            account: &self.account,
            markets: self
                .markets
                .iter()
                .map(|m| MarketBlob {
                    key: m.key,
                    market: &m.data,
                    oracle_key: m.oracle_key,
                    oracle_owner: m.oracle_owner,
                    oracle_data: &m.oracle_data,
                })
                .collect(),
            correlations: self.correlations.iter().map(Vec::as_slice).collect(),
            pages: self.pages.iter().map(Vec::as_slice).collect(),
        }
        .write()
    }
}

/// Q32.32 bits of `x`, rounded to nearest (as the SDK's `toFx`).
pub fn fx(x: f64) -> i64 {
    (x * 4294967296.0).round() as i64
}

/// The what-if grid recorded in engine.json: spot moves × vol shocks.
pub const SPOT: [f64; 5] = [0.8, 0.9, 1.0, 1.1, 1.25];
pub const VOL: [f64; 3] = [0.5, 1.0, 2.0];

/// Every case of the grid for every margin account of the fixtures, with its native output.
pub fn cases(f: &Value) -> Value {
    let mut v = Vec::new();
    for r in f["marginReports"].as_array().unwrap() {
        let account = r["account"].as_str().unwrap();
        let owned = Owned::from_fixtures(f, account);
        for s in SPOT {
            for vm in VOL {
                let (sb, vb) = (fx(s), fx(vm));
                let out = keel_wasm::whatif::margin_json(&owned.frame(sb, vb));
                v.push(serde_json::json!({
                    "account": account,
                    "spotMult": sb.to_string(),
                    "volMult": vb.to_string(),
                    "output": out,
                }));
            }
        }
    }
    Value::Array(v)
}
