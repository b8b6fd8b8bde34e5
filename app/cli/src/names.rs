//! Names people read: series labels, amounts in quote units, scenario intervals.

use keel_migrations::units::{fmt_native, fmt_time, Decimal};
use keel_risk::array::{Anchor, Ladder};
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

/// What scenario interval `p` is (docs/risk-model.md §4.8: an interval is named by its first
/// scenario point in the `keel_risk::array` layout): its ladder and place in it and, given the
/// anchor its market's arrays were priced at, the prices per contract it spans with their moves
/// from the anchor's price.
pub fn interval(p: u8, anchor: Option<&Anchor>, decimals: u8) -> String {
    let p = p as usize;
    let mut s = keel_risk::scenario::ScenarioName(p).to_string();
    let Some((ladder, i)) = Ladder::of_point(p) else {
        return s;
    };
    if let Some(a) = anchor.filter(|a| a.spot > 0) {
        if i + 1 < ladder.len() {
            let moved = |f: i64| (f as f64 / a.spot as f64 - 1.0) * 100.0;
            s.push_str(&format!(
                ", price {} ({:+.1}%) to {} ({:+.1}%)",
                money(a.fwd[p], decimals),
                moved(a.fwd[p]),
                money(a.fwd[p + 1], decimals),
                moved(a.fwd[p + 1])
            ));
        }
    }
    s
}

#[cfg(test)]
mod interval_names {
    use super::*;
    use keel_risk::array::{HALF_WIDTH, LADDERS, MAIN, POINTS};
    use keel_risk::{Fx, RiskParams};

    #[test]
    fn every_interval_has_its_own_name() {
        let mut names = std::collections::BTreeSet::new();
        for l in LADDERS {
            for i in 0..l.len() - 1 {
                let p = (l.start() + i) as u8;
                let n = interval(p, None, 6);
                assert!(n.starts_with(&format!("#{p}: {} ", l.name())), "{n}");
                assert!(names.insert(n));
            }
        }
        assert_eq!(
            interval(MAIN as u8, None, 6),
            format!("#{MAIN}: vol down 1/{}", MAIN - 1)
        );
        assert_eq!(
            interval(POINTS as u8, None, 6),
            format!("#{POINTS}: not a scenario point")
        );
    }

    #[test]
    fn with_its_anchor_an_interval_names_its_prices() {
        let a = keel_risk::Anchor::new(
            1_767_225_600,
            600_000_000,
            600_000_000,
            Fx::from_num(0.6),
            Fx::from_num(0.6),
            &RiskParams::DEFAULT,
            [],
        )
        .unwrap();
        // The vol-up ladder's interval starting at the anchor's price.
        let p = HALF_WIDTH;
        let n = interval(p as u8, Some(&a), 6);
        assert!(
            n.starts_with(&format!(
                "#{p}: vol up {}/{}, price 600 (+0.0%) to {} (+",
                p + 1,
                MAIN - 1,
                money(a.fwd[p + 1], 6)
            )),
            "{n}"
        );
        assert!(a.fwd[p + 1] > a.fwd[p]);
    }
}
