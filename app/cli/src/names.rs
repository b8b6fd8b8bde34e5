//! Names people read: series labels, amounts in quote units, scenario descriptions.

use keel_migrations::units::{fmt_native, fmt_time, Decimal};
use keel_state::{Market, Series};

/// The market's display name.
pub fn market_name(m: &Market) -> String {
    let n = m.name.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&m.name[..n]).into_owned()
}

/// `call`, `put` or `future`.
pub fn kind_name(kind: u8) -> &'static str {
    match kind {
        0 => "call",
        1 => "put",
        2 => "future",
        _ => "unknown",
    }
}

/// One contract's size as a decimal.
pub fn contract_size(m: &Market) -> Decimal {
    let (mant, e) = (m.contract_size_mantissa as i128, m.contract_size_expo);
    if e >= 0 {
        Decimal {
            mantissa: mant * 10i128.pow(e as u32),
            scale: 0,
        }
    } else {
        Decimal {
            mantissa: mant,
            scale: (-e) as u32,
        }
        .normalised()
    }
}

/// A strike per contract (native) as a price per unit of underlying, if it divides exactly.
pub fn strike_per_unit(strike_native: i64, m: &Market) -> Option<String> {
    // strike_native · 10^-decimals / (mantissa · 10^expo)
    let mant = m.contract_size_mantissa as i128;
    if mant <= 0 || strike_native as i128 % mant != 0 {
        return None;
    }
    let q = strike_native as i128 / mant;
    let scale = m.quote_decimals as i64 + m.contract_size_expo as i64;
    Some(if scale >= 0 {
        Decimal::from_native(q, scale as u32).to_string()
    } else {
        Decimal {
            mantissa: q * 10i128.pow((-scale) as u32),
            scale: 0,
        }
        .to_string()
    })
}

/// `BTC/USD call 62000 2026-01-08T00:00:00Z`.
pub fn series_label(s: &Series, m: Option<&Market>) -> String {
    let market = m.map(market_name).unwrap_or_else(|| "?".into());
    let strike = match (s.kind, m) {
        (2, _) => String::new(),
        (_, Some(m)) => format!(
            " {}",
            strike_per_unit(s.strike_native, m)
                .unwrap_or_else(|| format!("{}native", s.strike_native))
        ),
        (_, None) => format!(" {}native", s.strike_native),
    };
    format!(
        "{market} {}{strike} {}",
        kind_name(s.kind),
        fmt_time(s.expiry_ts)
    )
}

/// Quote native units as quote units.
pub fn money(native: i64, decimals: u8) -> String {
    fmt_native(native, decimals)
}

/// A Q32.32 value as a decimal with `places` places.
pub fn q32(bits: i64, places: usize) -> String {
    format!(
        "{:.*}",
        places,
        keel_risk::Fx::from_bits(bits).to_num::<f64>()
    )
}

/// What scenario `s` of the grid is (docs/risk-model.md §4.1; keel-risk's `ScenarioName`, which
/// the dashboard prints too).
pub fn scenario(s: u8) -> String {
    keel_risk::scenario::ScenarioName(s as usize).to_string()
}

#[cfg(test)]
mod scenario_names {
    use super::scenario;
    use keel_risk::scenario::{NAMED, STRIKE, STRIKE_POINTS};

    #[test]
    fn every_scenario_number_has_its_own_name() {
        assert_eq!(
            scenario(NAMED as u8 + 1),
            format!("#{}: named shock 1", NAMED + 1)
        );
        assert_eq!(
            scenario(STRIKE as u8),
            format!("#{STRIKE}: at held strike 1, vol up")
        );
        let last = STRIKE + 2 * STRIKE_POINTS - 1;
        assert_eq!(
            scenario(last as u8),
            format!("#{last}: at held strike {STRIKE_POINTS}, vol down")
        );
    }
}
