//! What a scenario point is, in words (`worst_im_interval`, `worst_mm_interval` name an interval
//! by its first point): the one description the CLI (`keel margin`) and the dashboard (through
//! keel-wasm) print.

use crate::array::Ladder;
use core::fmt;

/// Scenario point `p` of the risk-array layout (`keel_risk::array`), displayed as
/// `#p: vol up 3/24` (its ladder, and its place among the ladder's intervals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenarioName(pub usize);

impl fmt::Display for ScenarioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        match Ladder::of_point(p) {
            Some((ladder, i)) => {
                write!(f, "#{p}: {} {}/{}", ladder.name(), i + 1, ladder.len() - 1)
            }
            None => write!(f, "#{p}: not a scenario point"),
        }
    }
}
