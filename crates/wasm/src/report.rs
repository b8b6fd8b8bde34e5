//! JSON output in the shape of the program's `MarginReport` event (`keel::events`), with the
//! SDK fixtures' conventions: 64-bit integers (and Q32.32 raw bits) as decimal strings, narrower
//! ones as numbers, keys in base58, snake_case names.

use keel_risk::MarginBreakdown;

/// Base58 (Bitcoin alphabet) of 32 bytes, as Solana prints keys.
pub fn base58(bytes: &[u8; 32]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::with_capacity(44);
    for &b in bytes {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().rev().map(|d| ALPHABET[*d as usize] as char));
    s
}

fn q(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Writes `"name":value` pairs into an object.
struct Obj(Vec<String>);

impl Obj {
    fn new() -> Self {
        Obj(Vec::new())
    }
    fn raw(mut self, k: &str, v: String) -> Self {
        self.0.push(format!("{}:{}", q(k), v));
        self
    }
    fn i64(self, k: &str, v: i64) -> Self {
        self.raw(k, q(&v.to_string()))
    }
    fn u8(self, k: &str, v: u8) -> Self {
        self.raw(k, v.to_string())
    }
    fn key(self, k: &str, v: &[u8; 32]) -> Self {
        self.raw(k, q(&base58(v)))
    }
    fn done(self) -> String {
        format!("{{{}}}", self.0.join(","))
    }
}

/// Every scenario point's description, as a JSON array (points `0..POINTS` of the risk-array
/// layout).
pub fn scenario_names() -> String {
    use keel_risk::array::POINTS;
    use keel_risk::scenario::ScenarioName;
    let v: Vec<String> = (0..POINTS)
        .map(|s| q(&ScenarioName(s).to_string()))
        .collect();
    format!("[{}]", v.join(","))
}

/// `{"error": e}`.
pub fn error(e: &str) -> String {
    Obj::new().raw("error", q(e)).done()
}

/// One market's price row of [`crate::whatif::prices_json`].
pub fn price(key: &[u8; 32], r: Result<(i64, i64, i64), String>) -> String {
    let o = Obj::new().key("market", key);
    match r {
        Ok((p, c, t)) => o
            .i64("price_native", p)
            .i64("conf_native", c)
            .i64("publish_time", t)
            .done(),
        Err(e) => o.raw("error", q(&e)).done(),
    }
}

/// The `MarginReport` of a breakdown (`keel::events::MarginReport::from_breakdown`, field for
/// field); `status` (the liquidation level, the test `liquidate` applies and what `withdraw`
/// accepts) computed by the caller with the exchange's liquidation parameters.
pub fn margin_report(
    account: &[u8; 32],
    now: i64,
    b: &MarginBreakdown,
    market_keys: &[[u8; 32]],
    positions: &[([u8; 32], i64)],
    status: &keel_risk::liquidation::LiquidationStatus,
) -> String {
    let markets: Vec<String> = market_keys
        .iter()
        .zip(&b.markets)
        .map(|(k, m)| {
            let list = |v: &[i64]| {
                let v: Vec<String> = v.iter().map(|p| q(&p.to_string())).collect();
                format!("[{}]", v.join(","))
            };
            Obj::new()
                .key("market", k)
                .i64("spot", m.spot)
                .i64("stable_spot", m.stable_spot)
                .i64("conf", m.conf)
                .i64("sigma_q32", m.sigma.to_bits())
                .i64("mark_sigma_q32", m.mark_sigma.to_bits())
                .i64("realised_sigma_q32", m.realised_sigma.to_bits())
                .i64("range_q32", m.range.to_bits())
                .i64("anchor_ts", m.anchor_ts)
                .i64("anchor_spot", m.anchor_spot)
                .i64("worst_im", m.worst_im)
                .u8("worst_im_interval", m.worst_im_interval)
                .i64("worst_mm", m.worst_mm)
                .u8("worst_mm_interval", m.worst_mm_interval)
                .i64("net_delta_q32", m.net_delta.to_bits())
                .i64("short_min_im", m.short_min_im)
                .i64("short_min_mm", m.short_min_mm)
                .i64("conf_addon", m.conf_addon)
                .i64("impact_addon", m.impact_addon)
                .raw("pnl", list(&m.pnl))
                .raw("gap", list(&m.gap))
                .done()
        })
        .collect();
    let positions: Vec<String> = positions
        .iter()
        .zip(&b.positions)
        .map(|((series, qty), p)| {
            Obj::new()
                .key("series", series)
                .i64("qty_contracts", *qty)
                .i64("mark", p.mark)
                .i64("mark_stable", p.mark_stable)
                .i64("value", p.value)
                .i64("value_im", p.value_im)
                .i64("rounding", p.rounding)
                .i64("delta_q32", p.greeks.delta.to_bits())
                .i64("gamma_q32", p.greeks.gamma.to_bits())
                .i64("vega", p.greeks.vega)
                .i64("theta", p.greeks.theta)
                .done()
        })
        .collect();
    Obj::new()
        .key("account", account)
        .i64("now", now)
        .i64("collateral", b.collateral)
        .i64("equity_mm", b.equity_mm)
        .i64("equity_im", b.equity_im)
        .i64("mm", b.mm)
        .i64("im", b.im)
        .i64("scan_mm", b.scan_mm)
        .i64("scan_im", b.scan_im)
        .i64("offset_mm", b.offset_mm)
        .i64("offset_im", b.offset_im)
        .i64("addons", b.addons)
        .i64("short_min_mm", b.short_min_mm)
        .i64("short_min_im", b.short_min_im)
        .i64("rounding", b.rounding)
        .i64("health_mm", b.health_mm())
        .i64("health_im", b.health_im())
        .i64("withdrawable", status.withdrawable)
        .raw("liquidatable", status.liquidatable.to_string())
        .i64("liquidation_level", status.level)
        .i64("stress_q32", status.stress.to_bits())
        .raw("markets", format!("[{}]", markets.join(",")))
        .raw("positions", format!("[{}]", positions.join(",")))
        .done()
}
