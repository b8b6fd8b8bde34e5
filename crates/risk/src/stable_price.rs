//! The stable price (docs/risk-model.md §4.4, after Mango v4): a price that follows the oracle
//! but moves at most `growth_per_sec` (relative) per second. Initial margin values assets at the
//! worse of oracle and stable price, so pumping the oracle for a few minutes moves borrowing
//! power by at most growth × minutes.

use crate::error::{RiskError, RiskResult};
use crate::fx::{add, imul_sat, mul, sub, Fx, ONE};

/// The stable price after `dt_secs` toward `oracle`, from `stable` (≤ 0: none yet, take the oracle).
pub fn step(stable: i64, oracle: i64, dt_secs: i64, growth_per_sec: Fx) -> RiskResult<i64> {
    if oracle <= 0 {
        return Err(RiskError::NonPositivePrice);
    }
    if stable <= 0 {
        return Ok(oracle);
    }
    let g = imul_sat(growth_per_sec.to_bits().max(0), dt_secs.max(0)).min(ONE);
    let band = mul(stable, g)?;
    Ok(oracle
        .max(sub(stable, band)?.max(1))
        .min(add(stable, band)?))
}
