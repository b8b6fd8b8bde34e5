//! Exact decimal and time parsing for human-written amounts, prices, contract sizes and
//! expiries (no floating point anywhere between a config file and the chain).

/// A decimal number `mantissa · 10^-scale`, parsed exactly from text like `62000`, `0.01`,
/// `-1.5`, `1e-2` or `1_000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    /// The digits as an integer.
    pub mantissa: i128,
    /// Digits after the decimal point.
    pub scale: u32,
}

impl Decimal {
    /// Parses `s` exactly.
    pub fn parse(s: &str) -> Result<Decimal, String> {
        let t: String = s.trim().chars().filter(|c| *c != '_').collect();
        let bad = || format!("`{s}` is not a decimal number");
        let (num, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (t.as_str(), 0),
        };
        let (neg, digits) = match num.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, num.strip_prefix('+').unwrap_or(num)),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((a, b)) => (a, b),
            None => (digits, ""),
        };
        if int.is_empty() && frac.is_empty()
            || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let mut mantissa: i128 = 0;
        for c in int.chars().chain(frac.chars()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add((c as u8 - b'0') as i128))
                .ok_or_else(|| format!("`{s}` has too many digits"))?;
        }
        let mut scale = frac.len() as i64 - exp as i64;
        while scale < 0 {
            mantissa = mantissa
                .checked_mul(10)
                .ok_or_else(|| format!("`{s}` is too large"))?;
            scale += 1;
        }
        if scale > 36 {
            return Err(format!("`{s}` has too many decimal places"));
        }
        Ok(Decimal {
            mantissa: if neg { -mantissa } else { mantissa },
            scale: scale as u32,
        }
        .normalised())
    }

    /// Trailing zeros of the fraction removed.
    pub fn normalised(mut self) -> Decimal {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }

    /// `self · 10^decimals` as an integer, if it is one and fits in `i64`.
    pub fn to_native(self, decimals: u32) -> Result<i64, String> {
        let d = self.normalised();
        let v = if decimals >= d.scale {
            10i128
                .checked_pow(decimals - d.scale)
                .and_then(|p| d.mantissa.checked_mul(p))
        } else {
            let p = 10i128.pow(d.scale - decimals);
            (d.mantissa % p == 0).then(|| d.mantissa / p)
        };
        let v = v.ok_or_else(|| {
            format!("{d} has more than {decimals} decimal places (or is too large)")
        })?;
        i64::try_from(v).map_err(|_| format!("{d} is too large"))
    }

    /// `self` as a `mantissa · 10^expo` pair with an `i64` mantissa (a contract size).
    pub fn to_mantissa_expo(self) -> Result<(i64, i32), String> {
        let d = self.normalised();
        let mut m = d.mantissa;
        let mut e = -(d.scale as i32);
        while m != 0 && m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        Ok((
            i64::try_from(m).map_err(|_| format!("{d} is too large"))?,
            e,
        ))
    }

    /// The number `native · 10^-decimals`.
    pub fn from_native(native: i128, decimals: u32) -> Decimal {
        Decimal {
            mantissa: native,
            scale: decimals,
        }
        .normalised()
    }

    /// Product of two decimals.
    pub fn checked_mul(self, o: Decimal) -> Result<Decimal, String> {
        Ok(Decimal {
            mantissa: self
                .mantissa
                .checked_mul(o.mantissa)
                .ok_or("product too large")?,
            scale: self.scale + o.scale,
        }
        .normalised())
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let neg = self.mantissa < 0;
        let digits = self.mantissa.unsigned_abs().to_string();
        let s = self.scale as usize;
        let (int, frac) = if digits.len() > s {
            (
                digits[..digits.len() - s].to_string(),
                &digits[digits.len() - s..],
            )
        } else {
            ("0".to_string(), "")
        };
        let frac = if digits.len() > s {
            frac.to_string()
        } else {
            format!("{}{}", "0".repeat(s - digits.len()), digits)
        };
        if neg {
            f.write_str("-")?;
        }
        if frac.is_empty() {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{frac}")
        }
    }
}

/// Formats `native` quote units with `decimals` decimals (`1234500` with 6 → `1.2345`).
pub fn fmt_native(native: i64, decimals: u8) -> String {
    Decimal::from_native(native as i128, decimals as u32).to_string()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of `days` since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a UTC time: unix seconds, `YYYY-MM-DD` (midnight), `YYYY-MM-DDTHH:MM[:SS]Z`.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    let bad = || format!("`{s}` is not a time (unix seconds or YYYY-MM-DD[THH:MM[:SS]Z], UTC)");
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (d, Some(tm.strip_suffix('Z').ok_or_else(bad)?)),
        None => (t, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let num = |p: &str| p.parse::<i64>().map_err(|_| bad());
    let (y, m, d) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || civil_from_days(days_from_civil(y, m, d)) != (y, m, d)
    {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(tm) = time {
        let hms: Vec<&str> = tm.split(':').collect();
        if !(2..=3).contains(&hms.len()) {
            return Err(bad());
        }
        let h = num(hms[0])?;
        let mi = num(hms[1])?;
        let se = hms.get(2).map(|x| num(x)).transpose()?.unwrap_or(0);
        if h > 23 || mi > 59 || se > 59 || h < 0 || mi < 0 || se < 0 {
            return Err(bad());
        }
        secs += h * 3_600 + mi * 60 + se;
    }
    Ok(secs)
}

/// `ts` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn fmt_time(ts: i64) -> String {
    let (days, secs) = (ts.div_euclid(86_400), ts.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        let d = Decimal::parse("0.01").unwrap();
        assert_eq!(d.to_mantissa_expo().unwrap(), (1, -2));
        assert_eq!(
            Decimal::parse("62000").unwrap().to_native(6).unwrap(),
            62_000_000_000
        );
        assert_eq!(
            Decimal::parse("1.5e3").unwrap().to_native(0).unwrap(),
            1_500
        );
        assert_eq!(Decimal::parse("-2.250").unwrap().to_string(), "-2.25");
        assert_eq!(
            Decimal::parse("100").unwrap().to_mantissa_expo().unwrap(),
            (1, 2)
        );
        assert!(Decimal::parse("0.0000001").unwrap().to_native(6).is_err());
        assert!(Decimal::parse("1.2.3").is_err());
        assert!(Decimal::parse("").is_err());
        assert_eq!(fmt_native(1_234_500, 6), "1.2345");
        assert_eq!(fmt_native(-5, 6), "-0.000005");
        assert_eq!(fmt_native(0, 6), "0");
        let p = Decimal::parse("62000")
            .unwrap()
            .checked_mul(Decimal::parse("0.01").unwrap())
            .unwrap();
        assert_eq!(p.to_native(6).unwrap(), 620_000_000);
    }

    #[test]
    fn times_round_trip() {
        assert_eq!(parse_time("2026-01-01").unwrap(), 1_767_225_600);
        assert_eq!(parse_time("2026-01-01T08:00:00Z").unwrap(), 1_767_254_400);
        assert_eq!(parse_time("1767225600").unwrap(), 1_767_225_600);
        assert_eq!(fmt_time(1_767_254_400), "2026-01-01T08:00:00Z");
        assert_eq!(parse_time("2024-02-29T00:00Z").unwrap() % 86_400, 0);
        assert!(parse_time("2025-02-29").is_err());
        assert!(parse_time("2026-01-01T08:00:00").is_err());
        for ts in [0, 951_782_400, 4_102_444_799] {
            assert_eq!(parse_time(&fmt_time(ts)).unwrap(), ts);
        }
    }
}
