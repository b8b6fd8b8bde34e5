//! The bootstrap config file (TOML): what a deployment should contain. See `localnet.toml` and
//! `devnet.toml` beside this crate for annotated examples.
//!
//! Markets are identified by their position in the file (market `i` is the PDA of index `i`),
//! series by (kind, strike, expiry) within their market, correlations by their two markets. So
//! a config file only ever grows: append markets and series, never reorder them.

use crate::units::{parse_time, Decimal};
use anchor_lang::prelude::Pubkey;
use keel::bounds::MarketGuards;
use keel_risk::RiskParams;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A whole bootstrap config.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The exchange.
    pub exchange: ExchangeConfig,
    /// Markets, in index order.
    #[serde(default)]
    pub markets: Vec<MarketConfig>,
    /// Correlation states between pairs of markets.
    #[serde(default)]
    pub correlations: Vec<CorrelationConfig>,
}

/// The exchange (`init_exchange`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// The collateral mint (must exist).
    pub quote_mint: String,
    /// `spl-token`, `token-2022`, or a program address.
    #[serde(default = "default_token_program")]
    pub token_program: String,
    /// Taker fee, basis points of notional.
    pub taker_fee_bps: u16,
    /// Maker fee, basis points of notional.
    pub maker_fee_bps: u16,
    /// The admin the exchange must have (default: whoever signs the bootstrap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

fn default_token_program() -> String {
    "spl-token".into()
}

/// Oracle kinds in config files.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OracleKind {
    /// Pyth pull oracle (`PriceUpdateV2`).
    PythPull,
    /// Legacy Pyth push price account.
    PythLegacy,
}

/// Where a market's price comes from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// `pyth-pull` or `pyth-legacy`.
    pub kind: OracleKind,
    /// Pull: the feed id, 32 bytes hex (`0x` optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<String>,
    /// Pull: pins one `PriceUpdateV2` account (omit to accept any update of the feed). Legacy:
    /// the price account (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The account read when the market is created (its price seeds the volatility state).
    /// Default: the pinned account, else the feed's Pyth sponsored feed account (shard 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_account: Option<String>,
    /// The program that must own the oracle account (default: the Pyth receiver for pull, the
    /// Pyth oracle program for legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
}

/// Oracle and timing guards (defaults are the values the integration tests use).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GuardsConfig {
    /// An oracle price older than this (seconds) is stale.
    pub max_staleness_secs: i64,
    /// Largest confidence/price, basis points.
    pub max_conf_bps: u64,
    /// Pull oracle: 0 requires full verification, n > 0 accepts n guardian signatures.
    pub min_signatures: u8,
    /// Margin checks refuse a volatility state older than this.
    pub max_vol_age_secs: i64,
    /// Permissionless settlement window after expiry.
    pub settle_window_secs: i64,
    /// Trade band for options: the values at mark vol × (1 ∓ this), a decimal (`"0.5"`).
    pub band_vol_frac: f64,
    /// Trade band for options: plus this much of spot on either side, basis points.
    pub band_option_spot_bps: u32,
    /// Trade band for futures: spot ± this, basis points.
    pub band_future_bps: u32,
}

impl Default for GuardsConfig {
    fn default() -> Self {
        let band = keel_state::TradeBand::DEFAULT;
        GuardsConfig {
            max_staleness_secs: 60,
            max_conf_bps: 200,
            min_signatures: 0,
            max_vol_age_secs: 3_600,
            settle_window_secs: 300,
            band_vol_frac: band.vol_frac.to_num(),
            band_option_spot_bps: band.option_spot_bps,
            band_future_bps: band.future_bps,
        }
    }
}

impl GuardsConfig {
    /// The guards a market holds on chain (an all-zero trade band reads as the default).
    pub fn from_market(m: &keel_state::Market) -> Self {
        let band = m.trade_band.effective();
        GuardsConfig {
            max_staleness_secs: m.oracle.max_staleness_secs,
            max_conf_bps: m.oracle.max_conf_bps,
            min_signatures: m.oracle.min_signatures,
            max_vol_age_secs: m.max_vol_age_secs,
            settle_window_secs: m.settle_window_secs,
            band_vol_frac: band.vol_frac.to_num(),
            band_option_spot_bps: band.option_spot_bps,
            band_future_bps: band.future_bps,
        }
    }

    /// These guards as they will be stored (the vol fraction rounded to Q32.32), so a config
    /// compares equal to the chain state it produced.
    pub fn normalized(self) -> Self {
        GuardsConfig {
            band_vol_frac: keel_risk::Fx::from_num(self.band_vol_frac).to_num(),
            ..self
        }
    }
}

impl From<GuardsConfig> for MarketGuards {
    fn from(g: GuardsConfig) -> Self {
        MarketGuards {
            max_staleness_secs: g.max_staleness_secs,
            max_conf_bps: g.max_conf_bps,
            min_signatures: g.min_signatures,
            max_vol_age_secs: g.max_vol_age_secs,
            settle_window_secs: g.settle_window_secs,
            band_vol_frac_q32: keel_risk::Fx::from_num(g.band_vol_frac).to_bits(),
            band_option_spot_bps: g.band_option_spot_bps,
            band_future_bps: g.band_future_bps,
        }
    }
}

/// A market (`create_market`) and its series.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Display name (≤ 16 bytes UTF-8), e.g. `BTC/USD`.
    pub name: String,
    /// Underlying units per contract, a decimal (`"0.01"`).
    pub contract_size: String,
    /// The oracle.
    pub oracle: OracleConfig,
    /// Oracle and timing guards.
    #[serde(default)]
    pub guards: GuardsConfig,
    /// May publish implied vols (omit: nobody).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vol_authority: Option<String>,
    /// keel-risk parameters that differ from `RiskParams::DEFAULT`, by field name; Q32.32
    /// fields as decimals (`im_range_sigmas = "3.5"`), integers as integers.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub risk_params: toml::Table,
    /// Series of this market.
    #[serde(default)]
    pub series: Vec<SeriesConfig>,
}

/// Series kinds in config files.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SeriesKindConfig {
    /// Call option.
    Call,
    /// Put option.
    Put,
    /// Future.
    Future,
}

impl SeriesKindConfig {
    /// The program's kind byte.
    pub fn code(self) -> u8 {
        match self {
            SeriesKindConfig::Call => 0,
            SeriesKindConfig::Put => 1,
            SeriesKindConfig::Future => 2,
        }
    }
}

/// A series (`list_series`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeriesConfig {
    /// `call`, `put` or `future`.
    pub kind: SeriesKindConfig,
    /// Strike in quote currency per unit of underlying (`"62000"`); omit for futures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strike: Option<String>,
    /// Expiry, UTC: `2026-06-26T08:00:00Z` or unix seconds (as a string or integer).
    pub expiry: toml::Value,
}

/// A correlation state (`create_correlation`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorrelationConfig {
    /// The two markets, by name.
    pub markets: [String; 2],
    /// EWMA time constant (seconds).
    pub tau_secs: i64,
    /// Minimum interval between observations (seconds).
    pub min_interval_secs: i64,
    /// Largest gap between the two publish times (seconds).
    pub max_sync_secs: i64,
}

impl Config {
    /// Parses a TOML config.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        let c: Config = toml::from_str(text).map_err(|e| format!("config: {e}"))?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks everything that can be checked without the chain.
    pub fn validate(&self) -> Result<(), String> {
        pubkey(&self.exchange.quote_mint, "exchange.quote_mint")?;
        self.exchange.token_program()?;
        if let Some(a) = &self.exchange.admin {
            pubkey(a, "exchange.admin")?;
        }
        for (i, m) in self.markets.iter().enumerate() {
            let at = format!("markets[{i}] ({})", m.name);
            m.name_bytes().map_err(|e| format!("{at}: {e}"))?;
            m.contract_size()
                .map_err(|e| format!("{at}: contract_size: {e}"))?;
            m.oracle_args().map_err(|e| format!("{at}: {e}"))?;
            m.risk_params()
                .map_err(|e| format!("{at}: risk_params: {e}"))?;
            if self.markets[..i].iter().any(|o| o.name == m.name) {
                return Err(format!("{at}: two markets are named {}", m.name));
            }
            for (j, s) in m.series.iter().enumerate() {
                s.expiry_ts()
                    .and_then(|_| s.strike_decimal().map(|_| ()))
                    .map_err(|e| format!("{at}: series[{j}]: {e}"))?;
            }
        }
        for c in &self.correlations {
            for n in &c.markets {
                if !self.markets.iter().any(|m| &m.name == n) {
                    return Err(format!("correlation: no market named {n}"));
                }
            }
        }
        Ok(())
    }

    /// The index of the market named `name`.
    pub fn market_index(&self, name: &str) -> Option<u16> {
        self.markets
            .iter()
            .position(|m| m.name == name)
            .map(|i| i as u16)
    }
}

/// Parses a base58 address, naming the field on failure.
pub fn pubkey(s: &str, what: &str) -> Result<Pubkey, String> {
    Pubkey::from_str(s.trim()).map_err(|_| format!("{what}: `{s}` is not a base58 address"))
}

/// Parses 32 bytes of hex (`0x` optional).
pub fn hex32(s: &str) -> Result<[u8; 32], String> {
    let h = s.trim().trim_start_matches("0x");
    if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("`{s}` is not 32 bytes of hex"));
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// 32 bytes as lowercase hex with `0x`.
pub fn to_hex(b: &[u8; 32]) -> String {
    let mut s = String::from("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

impl ExchangeConfig {
    /// The token program's address.
    pub fn token_program(&self) -> Result<Pubkey, String> {
        match self.token_program.as_str() {
            "spl-token" => Ok(anchor_lang::pubkey!(
                "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
            )),
            "token-2022" => Ok(anchor_lang::pubkey!(
                "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
            )),
            other => pubkey(other, "exchange.token_program"),
        }
    }
}

impl MarketConfig {
    /// The name, zero padded.
    pub fn name_bytes(&self) -> Result<[u8; 16], String> {
        let b = self.name.as_bytes();
        if b.is_empty() || b.len() > 16 || b.contains(&0) {
            return Err(format!("name `{}` must be 1 to 16 bytes", self.name));
        }
        let mut out = [0u8; 16];
        out[..b.len()].copy_from_slice(b);
        Ok(out)
    }

    /// (mantissa, exponent) of the contract size.
    pub fn contract_size(&self) -> Result<(i64, i32), String> {
        let d = Decimal::parse(&self.contract_size)?;
        if d.mantissa <= 0 {
            return Err("must be positive".into());
        }
        d.to_mantissa_expo()
    }

    /// The oracle as `create_market` takes it.
    pub fn oracle_args(&self) -> Result<keel::instructions::OracleArgs, String> {
        let o = &self.oracle;
        let account = o
            .account
            .as_deref()
            .map(|a| pubkey(a, "oracle.account"))
            .transpose()?;
        let program = o
            .program
            .as_deref()
            .map(|a| pubkey(a, "oracle.program"))
            .transpose()?;
        if let Some(p) = &o.price_account {
            pubkey(p, "oracle.price_account")?;
        }
        Ok(match o.kind {
            OracleKind::PythPull => keel::instructions::OracleArgs {
                kind: keel_state::market::ORACLE_PYTH_PULL,
                account: account.unwrap_or_default(),
                program: program.unwrap_or(pyth_solana_receiver_sdk::ID),
                feed_id: hex32(
                    o.feed_id
                        .as_deref()
                        .ok_or("oracle.feed_id is required for pyth-pull")?,
                )?,
            },
            OracleKind::PythLegacy => {
                if o.feed_id.is_some() {
                    return Err("oracle.feed_id must be omitted for pyth-legacy".into());
                }
                keel::instructions::OracleArgs {
                    kind: keel_state::market::ORACLE_PYTH_LEGACY,
                    account: account.ok_or("oracle.account is required for pyth-legacy")?,
                    program: program.unwrap_or(keel_client::oracle::PYTH_LEGACY_PROGRAM),
                    feed_id: [0; 32],
                }
            }
        })
    }

    /// The oracle account read at creation.
    pub fn price_account(&self) -> Result<Pubkey, String> {
        if let Some(p) = &self.oracle.price_account {
            return pubkey(p, "oracle.price_account");
        }
        let a = self.oracle_args()?;
        if a.account != Pubkey::default() {
            return Ok(a.account);
        }
        Ok(keel_client::view::pyth_feed_account(&a.feed_id, 0))
    }

    /// The vol authority (`Pubkey::default()`: none).
    pub fn vol_authority(&self) -> Result<Pubkey, String> {
        self.vol_authority
            .as_deref()
            .map(|a| pubkey(a, "vol_authority"))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// `RiskParams::DEFAULT` with the overrides applied and bounds checked.
    pub fn risk_params(&self) -> Result<RiskParams, String> {
        let p = apply_overrides(&RiskParams::DEFAULT, &self.risk_params)?;
        if let Some(name) = p.violation() {
            return Err(format!("{name} is outside its hard bounds"));
        }
        Ok(p)
    }

    /// The full `create_market` arguments.
    pub fn create_args(&self) -> Result<keel::instructions::CreateMarketArgs, String> {
        let (m, e) = self.contract_size()?;
        let params = self.risk_params()?;
        Ok(keel::instructions::CreateMarketArgs {
            name: self.name_bytes()?,
            oracle: self.oracle_args()?,
            contract_size_mantissa: m,
            contract_size_expo: e,
            guards: self.guards.into(),
            vol_authority: self.vol_authority()?,
            risk_params: if params == RiskParams::DEFAULT {
                vec![]
            } else {
                bytemuck::bytes_of(&params).to_vec()
            },
        })
    }

    /// One contract's size as a decimal.
    pub fn contract_size_decimal(&self) -> Result<Decimal, String> {
        Decimal::parse(&self.contract_size)
    }
}

impl SeriesConfig {
    /// The expiry, unix seconds.
    pub fn expiry_ts(&self) -> Result<i64, String> {
        match &self.expiry {
            toml::Value::Integer(i) => Ok(*i),
            toml::Value::String(s) => parse_time(s),
            toml::Value::Datetime(d) => parse_time(&d.to_string()),
            other => Err(format!("expiry `{other}` is not a time")),
        }
    }

    /// The strike as written (per unit of underlying).
    pub fn strike_decimal(&self) -> Result<Option<Decimal>, String> {
        match (self.kind, &self.strike) {
            (SeriesKindConfig::Future, None) => Ok(None),
            (SeriesKindConfig::Future, Some(_)) => Err("a future has no strike".into()),
            (_, None) => Err("an option needs a strike".into()),
            (_, Some(s)) => Decimal::parse(s).map(Some),
        }
    }

    /// The strike per contract in quote native units, for a market of `contract_size` and a
    /// quote mint of `decimals`.
    pub fn strike_native(&self, contract_size: Decimal, decimals: u8) -> Result<i64, String> {
        match self.strike_decimal()? {
            None => Ok(0),
            Some(k) => k.checked_mul(contract_size)?.to_native(decimals as u32),
        }
    }
}

/// `base` with the fields named in `overrides` replaced. Q32.32 fields (serialised by `fixed`
/// as `{bits}`) accept a decimal string, a float or an integer; nested structs (the named
/// shocks) accept tables/arrays of the same shape.
pub fn apply_overrides<T: Serialize + serde::de::DeserializeOwned>(
    base: &T,
    overrides: &toml::Table,
) -> Result<T, String> {
    let mut v = serde_json::to_value(base).map_err(|e| e.to_string())?;
    for (k, o) in overrides {
        let slot = v
            .get_mut(k)
            .ok_or_else(|| format!("no parameter named {k}"))?;
        merge(slot, o, k)?;
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn merge(slot: &mut serde_json::Value, o: &toml::Value, path: &str) -> Result<(), String> {
    use serde_json::Value as J;
    match slot {
        J::Object(m) if m.len() == 1 && m.contains_key("bits") => {
            let text = match o {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                _ => return Err(format!("{path}: expected a decimal")),
            };
            let fx = keel_risk::Fx::from_str(text.trim())
                .map_err(|_| format!("{path}: `{text}` is not a Q32.32 decimal"))?;
            m.insert("bits".into(), J::from(fx.to_bits()));
        }
        J::Object(m) => {
            let t = o
                .as_table()
                .ok_or_else(|| format!("{path}: expected a table"))?;
            for (k, ov) in t {
                let s = m
                    .get_mut(k)
                    .ok_or_else(|| format!("{path}: no field named {k}"))?;
                merge(s, ov, &format!("{path}.{k}"))?;
            }
        }
        J::Array(a) => {
            let oa = o
                .as_array()
                .ok_or_else(|| format!("{path}: expected an array"))?;
            if oa.len() > a.len() {
                return Err(format!("{path}: at most {} entries", a.len()));
            }
            for (i, ov) in oa.iter().enumerate() {
                merge(&mut a[i], ov, &format!("{path}[{i}]"))?;
            }
        }
        J::Number(_) => {
            let i = o
                .as_integer()
                .ok_or_else(|| format!("{path}: expected an integer"))?;
            *slot = J::from(i);
        }
        _ => return Err(format!("{path}: cannot be overridden")),
    }
    Ok(())
}

/// The names of the fields in which `a` and `b` differ (dotted paths; Q32.32 values shown as
/// decimals).
pub fn differing_fields<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let (va, vb) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    let mut out = Vec::new();
    diff(&va, &vb, "", &mut out);
    out
}

fn show(v: &serde_json::Value) -> String {
    match v.get("bits").and_then(|b| b.as_i64()) {
        Some(bits) if v.as_object().map(|m| m.len()) == Some(1) => {
            keel_risk::Fx::from_bits(bits).to_string()
        }
        _ => v.to_string(),
    }
}

fn diff(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value as J;
    if a == b {
        return;
    }
    let is_fx = |v: &J| {
        v.as_object()
            .is_some_and(|m| m.len() == 1 && m.contains_key("bits"))
    };
    match (a, b) {
        (J::Object(x), J::Object(y)) if !is_fx(a) => {
            for (k, va) in x {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(va, y.get(k).unwrap_or(&J::Null), &p, out);
            }
        }
        (J::Array(x), J::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, &format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(format!("{path}: {} vs {}", show(a), show(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[exchange]
quote_mint = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"
taker_fee_bps = 5
maker_fee_bps = 2

[[markets]]
name = "BTC/USD"
contract_size = "0.01"
oracle = { kind = "pyth-pull", feed_id = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43" }
risk_params = { im_range_sigmas = "3.5", im_horizon_secs = 43200 }

[[markets.series]]
kind = "call"
strike = "62000"
expiry = "2026-06-26T08:00:00Z"

[[markets.series]]
kind = "future"
expiry = 1782460800
"#;

    #[test]
    fn parses_and_applies_overrides() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        let m = &c.markets[0];
        assert_eq!(m.contract_size().unwrap(), (1, -2));
        let p = m.risk_params().unwrap();
        assert_eq!(p.im_range_sigmas, keel_risk::Fx::from_str("3.5").unwrap());
        assert_eq!(p.im_horizon_secs, 43_200);
        assert_eq!(p.range_cap, RiskParams::DEFAULT.range_cap);
        let d = differing_fields(&RiskParams::DEFAULT, &p);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d
            .iter()
            .any(|s| s.starts_with("im_range_sigmas: ") && s.ends_with("vs 3.5")));
        let size = m.contract_size_decimal().unwrap();
        assert_eq!(m.series[0].strike_native(size, 6).unwrap(), 620_000_000);
        assert_eq!(m.series[0].expiry_ts().unwrap(), 1_782_460_800);
        assert_eq!(m.series[1].strike_native(size, 6).unwrap(), 0);
        assert_eq!(m.create_args().unwrap().risk_params.len(), 496);
        assert_eq!(
            m.price_account().unwrap(),
            keel_client::view::pyth_feed_account(&m.oracle_args().unwrap().feed_id, 0)
        );
    }

    #[test]
    fn rejects_what_the_chain_would() {
        let bad = EXAMPLE.replace("im_range_sigmas = \"3.5\"", "no_such_param = 1");
        assert!(Config::from_toml(&bad)
            .unwrap_err()
            .contains("no parameter named no_such_param"));
        let bad = EXAMPLE.replace("\"3.5\"", "\"1000\"");
        assert!(Config::from_toml(&bad)
            .unwrap_err()
            .contains("im_range_sigmas"));
        let bad = EXAMPLE.replace("strike = \"62000\"\n", "");
        assert!(Config::from_toml(&bad)
            .unwrap_err()
            .contains("needs a strike"));
        let bad = EXAMPLE.replace("taker_fee_bps", "taker_fee");
        assert!(Config::from_toml(&bad).is_err());
    }

    #[test]
    fn example_files_parse() {
        for f in ["localnet.toml", "devnet.toml"] {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            Config::from_file(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
}
