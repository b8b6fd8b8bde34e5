//! Market history readers: OHLC price bars and implied-vol (DVOL-style, percent) series.
//!
//! Format: a header line, then one bar per line in strictly ascending time order:
//! `date|time,open,high,low,close[,volume]`. Columns are found by header name (any order,
//! case-insensitive; extra columns are ignored). The first column is the bar's **open** time:
//! `YYYY-MM-DD` (a daily bar), `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS][Z]` (UTC), or unix
//! seconds. A bar closes one interval later; the interval is the most common spacing in the file.
//!
//! Nothing is ever filled in: a spacing larger than the interval is a [`Gap`] (reported, the
//! bars around it are used as they are), and a row that cannot be read is an error naming the
//! file and line.

use serde::Serialize;
use std::fmt;
use std::path::Path;

/// Seconds per day.
pub const DAY: i64 = 86_400;

/// One OHLC bar. `ts` is the bar's close time (unix seconds, UTC).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    /// Close time: open time + interval.
    pub ts: i64,
    /// Open price.
    pub open: f64,
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
    /// Traded volume in units of the asset (0 when the file has no volume column).
    pub volume: f64,
}

/// Bars missing between two consecutive rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Open time of the last bar before the gap (as written in the file).
    pub after: String,
    /// Open time of the first bar after the gap.
    pub before: String,
    /// Whole intervals missing (0 when the spacing is irregular but shorter than two intervals).
    pub missing: i64,
    /// The spacing in seconds.
    pub spacing_secs: i64,
}

/// A price or implied-vol history read from one file.
#[derive(Clone, Debug)]
pub struct Series {
    /// Short name (the file stem), used in reports.
    pub name: String,
    /// The file it came from.
    pub path: String,
    /// Bars in ascending time order.
    pub bars: Vec<Bar>,
    /// The bar interval in seconds (the most common spacing).
    pub interval: i64,
    /// Every place where bars are missing or irregularly spaced.
    pub gaps: Vec<Gap>,
    /// Whether the file had a volume column.
    pub has_volume: bool,
}

impl Series {
    /// Total missing bars over all gaps.
    pub fn missing_bars(&self) -> i64 {
        self.gaps.iter().map(|g| g.missing).sum()
    }

    /// Index of the bar closing exactly at `ts`.
    pub fn index_at(&self, ts: i64) -> Option<usize> {
        self.bars.binary_search_by_key(&ts, |b| b.ts).ok()
    }

    /// Index of the last bar closing at or before `ts`.
    pub fn last_at_or_before(&self, ts: i64) -> Option<usize> {
        match self.bars.binary_search_by_key(&ts, |b| b.ts) {
            Ok(i) => Some(i),
            Err(0) => None,
            Err(i) => Some(i - 1),
        }
    }

    /// Human date of a close timestamp (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM`).
    pub fn label(&self, ts: i64) -> String {
        format_ts(ts, self.interval < DAY)
    }
}

/// A reading error: file, line (1-based, 0 for the file as a whole) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file.
    pub path: String,
    /// The line (1 = the header).
    pub line: u64,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.msg)
        } else {
            write!(f, "{}:{}: {}", self.path, self.line, self.msg)
        }
    }
}

impl std::error::Error for DataError {}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (y, m, d) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` (or with ` HH:MM`) of a unix time.
pub fn format_ts(ts: i64, with_time: bool) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(DAY));
    if with_time {
        let s = ts.rem_euclid(DAY);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s % 3600 / 60)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Parses a time: `YYYY-MM-DD`, `YYYY-MM-DD[ T]HH:MM[:SS][Z]` or unix seconds (or milliseconds
/// when above 1e11). Returns unix seconds and whether the value was a date only.
pub fn parse_time(s: &str) -> Result<(i64, bool), String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() != 8 {
        let v: i64 = s.parse().map_err(|_| format!("bad unix time '{s}'"))?;
        return Ok((if v > 100_000_000_000 { v / 1000 } else { v }, false));
    }
    let bad = || format!("bad time '{s}' (want YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])");
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let t = s.get(r).ok_or_else(bad)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse::<i64>().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(format!("no such date '{s}'"));
    }
    let mut ts = days_from_civil(y, m, d) * DAY;
    let rest = s[10..].trim_end_matches('Z');
    if rest.is_empty() {
        return Ok((ts, true));
    }
    let rb = rest.as_bytes();
    if !(rb[0] == b' ' || rb[0] == b'T') || rest.len() < 6 || rb[3] != b':' {
        return Err(bad());
    }
    let (hh, mm) = (num(11..13)?, num(14..16)?);
    let ss = if rest.len() >= 9 {
        if rb[6] != b':' {
            return Err(bad());
        }
        num(17..19)?
    } else {
        0
    };
    if rest.len() != 6 && rest.len() != 9 || hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    ts += hh * 3600 + mm * 60 + ss;
    Ok((ts, false))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What kind of file is being read (only changes the checks: an IV must be a positive percent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Prices.
    Prices,
    /// Implied vol in percent (55 = 55%).
    ImpliedVol,
}

/// Reads an OHLC price file.
pub fn read_prices(path: impl AsRef<Path>) -> Result<Series, DataError> {
    read(path.as_ref(), Kind::Prices)
}

/// Reads a DVOL-style implied-vol file: OHLC of the vol in percent, or `date,vol`.
pub fn read_iv(path: impl AsRef<Path>) -> Result<Series, DataError> {
    read(path.as_ref(), Kind::ImpliedVol)
}

fn read(path: &Path, kind: Kind) -> Result<Series, DataError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DataError {
        path: p.clone(),
        line: 0,
        msg: format!("cannot read: {e}"),
    })?;
    parse(&p, &text, kind)
}

/// Parses the text of a file (`path` only names it in errors and reports).
pub fn parse(path: &str, text: &str, kind: Kind) -> Result<Series, DataError> {
    let err = |line: u64, msg: String| DataError {
        path: path.to_string(),
        line,
        msg,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| err(1, format!("cannot read the header: {e}")))?
        .clone();
    let names: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if names.is_empty() || names.iter().all(|n| n.is_empty()) {
        return Err(err(1, "empty file: expected a header line".into()));
    }
    if parse_time(&names[0]).is_ok() {
        return Err(err(
            1,
            "no header line: expected e.g. date,open,high,low,close[,volume]".into(),
        ));
    }
    let col = |n: &str| names.iter().position(|h| h == n);
    let time_col = 0;
    let close_col = match kind {
        Kind::Prices => col("close"),
        // `date,vol` (any single value column) is accepted for an implied vol.
        Kind::ImpliedVol => col("close").or(if names.len() == 2 { Some(1) } else { None }),
    }
    .ok_or_else(|| {
        err(
            1,
            format!(
                "no 'close' column in header '{}'",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        )
    })?;
    let (open_col, high_col, low_col) = (col("open"), col("high"), col("low"));
    if kind == Kind::Prices && (open_col.is_none() || high_col.is_none() || low_col.is_none()) {
        return Err(err(
            1,
            "price files need open, high, low and close columns".into(),
        ));
    }
    let volume_col = col("volume");

    let mut bars: Vec<Bar> = Vec::new();
    let mut opens: Vec<(i64, String, u64)> = Vec::new();
    let mut date_only = None;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, format!("unreadable row: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.is_empty()) {
            continue; // a blank line
        }
        let field = |c: usize, name: &str| -> Result<&str, DataError> {
            rec.get(c)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(line, format!("missing '{name}' value")))
        };
        let num = |c: Option<usize>, name: &str| -> Result<Option<f64>, DataError> {
            let Some(c) = c else { return Ok(None) };
            let s = field(c, name)?;
            let v: f64 = s
                .parse()
                .map_err(|_| err(line, format!("'{name}' is not a number: '{s}'")))?;
            if !v.is_finite() {
                return Err(err(line, format!("'{name}' is not finite: '{s}'")));
            }
            Ok(Some(v))
        };
        let t = field(time_col, &names[0])?;
        let (open_ts, is_date) = parse_time(t).map_err(|m| err(line, m))?;
        match date_only {
            None => date_only = Some(is_date),
            Some(d) if d != is_date => {
                return Err(err(
                    line,
                    format!("'{t}' mixes dates and date-times in one file"),
                ))
            }
            _ => {}
        }
        let close = num(Some(close_col), "close")?.unwrap_or(0.0);
        let open = num(open_col, "open")?.unwrap_or(close);
        let high = num(high_col, "high")?.unwrap_or(open.max(close));
        let low = num(low_col, "low")?.unwrap_or(open.min(close));
        let volume = match volume_col {
            Some(c) if rec.get(c).is_some_and(|s| !s.is_empty()) => {
                num(Some(c), "volume")?.unwrap_or(0.0)
            }
            _ => 0.0,
        };
        for (v, name) in [
            (open, "open"),
            (high, "high"),
            (low, "low"),
            (close, "close"),
        ] {
            if v <= 0.0 {
                return Err(err(line, format!("'{name}' must be positive, got {v}")));
            }
        }
        if volume < 0.0 {
            return Err(err(line, format!("'volume' is negative: {volume}")));
        }
        if high < low || open > high || open < low || close > high || close < low {
            return Err(err(
                line,
                format!("inconsistent bar: open {open} high {high} low {low} close {close}"),
            ));
        }
        if kind == Kind::ImpliedVol && close > 10_000.0 {
            return Err(err(
                line,
                format!("implied vol {close}% is not a percent vol"),
            ));
        }
        if let Some((prev, prev_s, prev_line)) = opens.last() {
            if open_ts <= *prev {
                return Err(err(
                    line,
                    format!(
                        "time '{t}' is not after '{prev_s}' (line {prev_line}): rows must be strictly ascending"
                    ),
                ));
            }
        }
        opens.push((open_ts, t.to_string(), line));
        bars.push(Bar {
            ts: open_ts,
            open,
            high,
            low,
            close,
            volume,
        });
    }
    if bars.len() < 2 {
        return Err(err(0, format!("{} bars: need at least 2", bars.len())));
    }
    // The interval: the most common spacing (a date-only file is daily by definition).
    let interval = if date_only == Some(true) {
        DAY
    } else {
        let mut d: Vec<i64> = opens.windows(2).map(|w| w[1].0 - w[0].0).collect();
        d.sort_unstable();
        let (mut best, mut best_n, mut i) = (d[0], 0, 0);
        while i < d.len() {
            let j = d[i..].iter().take_while(|&&x| x == d[i]).count();
            if j > best_n {
                best = d[i];
                best_n = j;
            }
            i += j;
        }
        best
    };
    let mut gaps = Vec::new();
    for w in opens.windows(2) {
        let dt = w[1].0 - w[0].0;
        if dt != interval {
            gaps.push(Gap {
                after: w[0].1.clone(),
                before: w[1].1.clone(),
                missing: (dt / interval - 1).max(0),
                spacing_secs: dt,
            });
        }
    }
    for b in &mut bars {
        b.ts += interval;
    }
    let name = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    Ok(Series {
        name,
        path: path.to_string(),
        bars,
        interval,
        gaps,
        has_volume: volume_col.is_some(),
    })
}

#[cfg(test)]
mod tests;
