//! The real history the backtest's data tests read: ../shared/data, or $KEEL_SHARED_DATA.

use keel_backtest::backtest::Asset;
use keel_backtest::data::{self, Kind};
use std::path::PathBuf;

fn read(name: &str) -> Option<String> {
    let dir = std::env::var_os("KEEL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    std::fs::read_to_string(dir.join(name)).ok()
}

/// The asset of price file `prices` with implied-vol file `iv`, or `None` (the caller skips,
/// saying so) when the data is not there.
pub fn asset(prices: &str, iv: &str) -> Option<Asset> {
    let (p, v) = (read(prices)?, read(iv)?);
    Some(Asset::new(
        data::parse(prices, &p, Kind::Prices).unwrap(),
        Some(data::parse(iv, &v, Kind::ImpliedVol).unwrap()),
    ))
}
