//! What a scenario number is, in words (`worst_im_scenario`, `worst_mm_scenario`): the one
//! description the CLI (`keel margin`) and the dashboard (through keel-wasm) print.

use super::{ladder_step, strike_slot, vol_level, VolLevel, EXTREME, NAMED, PRICE_STEPS};
use core::fmt;

/// Scenario `s` of the grid, displayed as `#s: price +2/6 of range, vol up`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenarioName(pub usize);

impl fmt::Display for ScenarioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let vol = if vol_level(s) == VolLevel::Up {
            "vol up"
        } else {
            "vol down"
        };
        if let Some(step) = ladder_step(s) {
            return write!(f, "#{s}: price {step:+}/{PRICE_STEPS} of range, {vol}");
        }
        if s == EXTREME {
            return write!(f, "#{s}: extreme move down, vol up");
        }
        if s == EXTREME + 1 {
            return write!(f, "#{s}: extreme move up, vol up");
        }
        if let Some(j) = strike_slot(s) {
            return write!(f, "#{s}: at held strike {}, {vol}", j + 1);
        }
        write!(f, "#{s}: named shock {}", s - NAMED)
    }
}
