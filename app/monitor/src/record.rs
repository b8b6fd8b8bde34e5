//! The monitor's records: one JSON line per realised horizon (market, the book as struck with its
//! margin and margin rate, the realised move and loss, whether it exceeded), appended as they
//! happen and replayed at start so the rolling window survives restarts.

use crate::tracker::Horizon;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::Path;

/// One line of the records file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The market's address (base58).
    pub market: String,
    /// Its display name.
    pub name: String,
    /// Margin per unit of notional when struck.
    pub margin_rate: f64,
    /// Realised move of spot over the horizon (fraction).
    pub realised_move: f64,
    /// The horizon.
    pub horizon: Horizon,
}

impl Line {
    pub fn new(market: String, name: String, h: Horizon) -> Line {
        Line {
            market,
            name,
            margin_rate: h.open.margin_rate(),
            realised_move: h.spot as f64 / h.open.spot as f64 - 1.0,
            horizon: h,
        }
    }
}

/// Appends `line` to the file at `path`.
pub fn append(path: &Path, line: &Line) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{}", serde_json::to_string(line).expect("record JSON"))
}

/// Every line of the file at `path` (none when it does not exist); a malformed line is an error.
pub fn load(path: &Path) -> Result<Vec<Line>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    std::io::BufReader::new(f)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.as_ref().is_ok_and(|l| l.trim().is_empty()))
        .map(|(i, l)| {
            let l = l.map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}
