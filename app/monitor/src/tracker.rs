//! One market's horizons: strike the reference book at a crank, realise it at the first crank a
//! margin horizon later, count the exceedances of the last [`crate::WINDOW`].

use crate::book::Book;
use keel_risk::{RiskParams, VolState};
use keel_stats::rolling::RollingHits;
use keel_stats::Zone;
use serde::{Deserialize, Serialize};

/// A book struck at a crank, waiting for its horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// The crank's time (the vol state's `last_ts`).
    pub ts: i64,
    /// Spot per contract then.
    pub spot: i64,
    /// The book.
    pub book: Book,
    /// Its maintenance margin then.
    pub margin: i64,
    /// Its value then.
    pub value: i64,
    /// The horizon it is judged over (`im_horizon_secs`).
    pub horizon: i64,
}

impl Open {
    /// Margin per unit of notional (one contract of the underlying at spot).
    pub fn margin_rate(&self) -> f64 {
        self.margin as f64 / self.spot as f64
    }
}

/// A realised horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Horizon {
    /// The book as struck.
    pub open: Open,
    /// When it was revalued (≥ open.ts + horizon).
    pub ts: i64,
    /// Spot then.
    pub spot: i64,
    /// The book's value then.
    pub value: i64,
    /// Realised loss: value when struck − value now (> 0: the short options gained value).
    pub loss: i64,
    /// loss > margin.
    pub exceeded: bool,
}

/// What the tracker did with one crank.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Not a new crank (same `last_ts` as before).
    Seen,
    /// A book was struck (none was open).
    Struck(Open),
    /// The open book's horizon was realised and a new one struck.
    Realised(Horizon, Open),
    /// A crank inside the open book's horizon.
    Waiting,
}

/// One market's state.
#[derive(Clone, Debug)]
pub struct Tracker {
    /// The last crank seen.
    pub last_ts: Option<i64>,
    /// The book waiting for its horizon.
    pub open: Option<Open>,
    /// The last horizons.
    pub window: RollingHits,
    /// Horizons realised since the tracker started (or since the records began).
    pub total: u64,
    /// The last realised horizon.
    pub last: Option<Horizon>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            last_ts: None,
            open: None,
            window: RollingHits::new(crate::WINDOW),
            total: 0,
            last: None,
        }
    }
}

/// The window's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Horizons in the window.
    pub horizons: u64,
    /// Exceedances in it.
    pub exceedances: u64,
    /// Expected exceedances (horizons × p).
    pub expected: f64,
    /// Kupiec p-value (`None` before the first horizon).
    pub kupiec_p: Option<f64>,
    /// Basel zone of a full window with these exceedances (`RollingHits::zone`: while the window
    /// fills, the least zone it will have).
    pub zone: Zone,
}

impl Tracker {
    /// Feeds one observation of the market: its vol state (and spot per contract, the crank's
    /// price) and parameters. Only a new `last_ts` is a new crank.
    pub fn observe(&mut self, vol: &VolState, p: &RiskParams) -> Result<Step, String> {
        let ts = vol.last_ts;
        if self.last_ts.is_some_and(|t| ts <= t) {
            return Ok(Step::Seen);
        }
        self.last_ts = Some(ts);
        let spot = vol.last_price;
        let strike = |ts: i64| -> Result<Open, String> {
            let book = Book::strike(spot, ts);
            let v = book.value(spot, vol, p, ts)?;
            Ok(Open {
                ts,
                spot,
                book,
                margin: v.mm,
                value: v.value,
                horizon: p.im_horizon_secs,
            })
        };
        match self.open {
            None => {
                let o = strike(ts)?;
                self.open = Some(o);
                Ok(Step::Struck(o))
            }
            Some(o) if ts < o.ts + o.horizon => Ok(Step::Waiting),
            Some(o) => {
                let now = o.book.value(spot, vol, p, ts)?;
                let loss = o.value - now.value;
                let h = Horizon {
                    open: o,
                    ts,
                    spot,
                    value: now.value,
                    loss,
                    exceeded: loss > o.margin,
                };
                self.record(h);
                let next = strike(ts)?;
                self.open = Some(next);
                Ok(Step::Realised(h, next))
            }
        }
    }

    /// Counts a realised horizon (also when replaying records).
    pub fn record(&mut self, h: Horizon) {
        self.window.push(h.exceeded);
        self.total += 1;
        self.last = Some(h);
    }

    /// The window's statistics at exceedance probability `p`.
    pub fn stats(&self, p: f64) -> Stats {
        let n = self.window.n();
        Stats {
            horizons: n,
            exceedances: self.window.exceedances(),
            expected: n as f64 * p,
            kupiec_p: (n > 0).then(|| self.window.kupiec(p).p),
            zone: self.window.zone(p),
        }
    }
}
