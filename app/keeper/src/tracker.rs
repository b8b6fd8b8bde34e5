//! Retries with exponential backoff, and no duplicate in-flight work: an action whose last
//! attempt failed waits `base · 2^(failures−1)` (capped) before it is tried again, and an action
//! is never started while an attempt with the same key is unresolved (a transport error may
//! mean the transaction still lands).

use crate::plan::ActionKey;
use std::collections::HashMap;

/// The backoff schedule.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Wait after the first failure (seconds).
    pub base_secs: i64,
    /// Longest wait (seconds).
    pub max_secs: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_secs: 2,
            max_secs: 120,
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures.
    pub fn wait(&self, failures: u32) -> i64 {
        if failures == 0 {
            return 0;
        }
        let exp = (failures - 1).min(30);
        self.base_secs
            .saturating_mul(1i64 << exp)
            .min(self.max_secs)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    failures: u32,
    next_at: i64,
    in_flight: bool,
}

/// Per-action attempt state.
#[derive(Debug, Default)]
pub struct Tracker {
    backoff: Backoff,
    entries: HashMap<ActionKey, Entry>,
}

impl Tracker {
    /// A tracker with `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        Tracker {
            backoff,
            entries: HashMap::new(),
        }
    }

    /// Whether `key` may be attempted at `now` (not in flight, not backing off); if so, marks it
    /// in flight.
    pub fn begin(&mut self, key: ActionKey, now: i64) -> bool {
        let e = self.entries.entry(key).or_default();
        if e.in_flight || now < e.next_at {
            return false;
        }
        e.in_flight = true;
        true
    }

    /// The attempt succeeded: forget the failures.
    pub fn succeeded(&mut self, key: ActionKey) {
        self.entries.remove(&key);
    }

    /// The attempt failed at `now`: back off.
    pub fn failed(&mut self, key: ActionKey, now: i64) {
        let e = self.entries.entry(key).or_default();
        e.failures = e.failures.saturating_add(1);
        e.next_at = now.saturating_add(self.backoff.wait(e.failures));
        e.in_flight = false;
    }

    /// Consecutive failures of `key`.
    pub fn failures(&self, key: &ActionKey) -> u32 {
        self.entries.get(key).map_or(0, |e| e.failures)
    }

    /// Whether `key` is in flight.
    pub fn in_flight(&self, key: &ActionKey) -> bool {
        self.entries.get(key).is_some_and(|e| e.in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_client::Pubkey;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            base_secs: 2,
            max_secs: 60,
        };
        let waits: Vec<i64> = (0..8).map(|f| b.wait(f)).collect();
        assert_eq!(waits, vec![0, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.wait(u32::MAX), 60);
    }

    #[test]
    fn no_duplicate_in_flight_and_retry_after_backoff() {
        let mut t = Tracker::new(Backoff {
            base_secs: 5,
            max_secs: 100,
        });
        let k = ActionKey::Liquidate(Pubkey::new_unique());
        let other = ActionKey::Liquidate(Pubkey::new_unique());
        assert!(t.begin(k, 100));
        assert!(!t.begin(k, 100), "already in flight");
        assert!(t.begin(other, 100), "another key is independent");
        t.failed(k, 100);
        assert!(!t.in_flight(&k));
        assert!(!t.begin(k, 104), "backing off 5 s");
        assert!(t.begin(k, 105));
        t.failed(k, 105);
        assert_eq!(t.failures(&k), 2);
        assert!(!t.begin(k, 114), "then 10 s");
        assert!(t.begin(k, 115));
        t.succeeded(k);
        assert_eq!(t.failures(&k), 0);
        assert!(t.begin(k, 115), "success resets");
    }
}
