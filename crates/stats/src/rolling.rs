//! Exceedances over a rolling window of consecutive horizons (the Basel backtest counts the last
//! 250): the live count the monitor publishes, and the worst window of a whole history that
//! keel-backtest reports.

use crate::{basel_zone, kupiec, Test, Zone};
use std::collections::VecDeque;

/// The last `len` hits (realised loss > margin) in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollingHits {
    len: usize,
    hits: VecDeque<bool>,
    exceedances: u64,
}

impl RollingHits {
    /// An empty window of `len` horizons.
    pub fn new(len: usize) -> Self {
        RollingHits {
            len,
            hits: VecDeque::with_capacity(len),
            exceedances: 0,
        }
    }

    /// Adds one realised horizon, dropping the oldest beyond the window.
    pub fn push(&mut self, hit: bool) {
        if self.hits.len() == self.len && self.hits.pop_front() == Some(true) {
            self.exceedances -= 1;
        }
        self.hits.push_back(hit);
        self.exceedances += hit as u64;
    }

    /// Horizons in the window (≤ its length).
    pub fn n(&self) -> u64 {
        self.hits.len() as u64
    }

    /// Exceedances in the window.
    pub fn exceedances(&self) -> u64 {
        self.exceedances
    }

    /// Kupiec's test of the window's count against exceedance probability `p`.
    pub fn kupiec(&self, p: f64) -> Test {
        kupiec(self.n(), self.exceedances, p)
    }

    /// The Basel zone of a full window holding the window's exceedances. Once the window is
    /// full that is its own zone; while it fills, the exceedances it holds stay in it until it
    /// is full, so this is the least zone the full window will have. (The cumulative-binomial
    /// rule itself is meaningless on a few observations: at n = 1, P(X ≤ 0) = 0.99 would make
    /// no exceedance at all "yellow".)
    pub fn zone(&self, p: f64) -> Zone {
        basel_zone(self.len as u64, self.exceedances, p)
    }

    /// The hits, oldest first.
    pub fn hits(&self) -> impl Iterator<Item = bool> + '_ {
        self.hits.iter().copied()
    }
}

/// The most exceedances in any `len` consecutive entries of `hits` (all of them if fewer).
pub fn worst_window(hits: &[bool], len: usize) -> u64 {
    let mut w = RollingHits::new(len);
    let mut worst = 0;
    for &h in hits {
        w.push(h);
        worst = worst.max(w.exceedances());
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_the_oldest_horizon() {
        let mut w = RollingHits::new(3);
        for h in [true, false, true] {
            w.push(h);
        }
        assert_eq!((w.n(), w.exceedances()), (3, 2));
        w.push(false); // drops the first hit
        assert_eq!((w.n(), w.exceedances()), (3, 1));
        w.push(false);
        w.push(false);
        assert_eq!(w.exceedances(), 0);
        assert_eq!(w.hits().collect::<Vec<_>>(), vec![false; 3]);
    }

    #[test]
    fn zones_at_250_follow_the_basel_table() {
        // Basel's table at 250 observations and 99%: green 0–4, yellow 5–9, red from 10.
        for (x, zone) in [
            (4, Zone::Green),
            (5, Zone::Yellow),
            (9, Zone::Yellow),
            (10, Zone::Red),
        ] {
            let mut w = RollingHits::new(250);
            for i in 0..250 {
                w.push(i < x);
            }
            assert_eq!(w.zone(0.01), zone, "{x}");
            assert_eq!(w.kupiec(0.01), kupiec(250, x as u64, 0.01));
        }
        // While the window fills: no exceedance is green, not yellow, and 5 already yellow.
        let mut w = RollingHits::new(250);
        w.push(false);
        assert_eq!(basel_zone(1, 0, 0.01), Zone::Yellow);
        assert_eq!(w.zone(0.01), Zone::Green);
        for _ in 0..5 {
            w.push(true);
        }
        assert_eq!(w.zone(0.01), Zone::Yellow);
    }

    #[test]
    fn worst_window_of_a_history() {
        let mut hits = vec![false; 600];
        for i in [10, 20, 300, 310, 320, 330, 599] {
            hits[i] = true;
        }
        assert_eq!(worst_window(&hits, 250), 4);
        assert_eq!(worst_window(&hits[..30], 250), 2);
        assert_eq!(worst_window(&[], 250), 0);
    }
}
