//! The implied-vol feed the demo's vol authority publishes: an exponentially weighted realised
//! vol of the replayed bars with a one-day half-life, annualised — what a keeper without an
//! options venue to read from would publish (issue 7's forecasters can replace it; the program
//! only bounds its weight and staleness).

/// EWMA of squared log returns.
#[derive(Clone, Debug)]
pub struct RealisedVol {
    var: f64,
    last: Option<f64>,
    alpha: f64,
    bars_per_year: f64,
}

impl RealisedVol {
    /// A feed for bars `interval_secs` apart with a `half_life_secs` half-life, starting at
    /// `initial` annualised vol.
    pub fn new(interval_secs: i64, half_life_secs: i64, initial: f64) -> Self {
        let n = half_life_secs as f64 / interval_secs as f64;
        RealisedVol {
            var: initial * initial,
            last: None,
            alpha: 1.0 - 0.5f64.powf(1.0 / n.max(1e-9)),
            bars_per_year: 365.0 * 86_400.0 / interval_secs as f64,
        }
    }

    /// Folds in the next close and returns the annualised vol.
    pub fn update(&mut self, close: f64) -> f64 {
        if let Some(prev) = self.last {
            let r = (close / prev).ln();
            self.var += self.alpha * (r * r * self.bars_per_year - self.var);
        }
        self.last = Some(close);
        self.vol()
    }

    /// The current annualised vol.
    pub fn vol(&self) -> f64 {
        self.var.sqrt()
    }

    /// The vol in the program's unit, basis points, within its bounds (0.01% … 1 000%).
    pub fn bps(&self) -> u32 {
        (self.vol() * 10_000.0).round().clamp(1.0, 100_000.0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_prices_decay_to_zero_and_a_steady_move_is_its_vol() {
        let mut f = RealisedVol::new(7_200, 86_400, 0.6);
        for _ in 0..13 {
            f.update(100.0);
        }
        // Twelve returns (after the first price) is one half-life: the variance halves.
        assert!((f.vol() - 0.6 * 0.5f64.sqrt()).abs() < 1e-9, "{}", f.vol());
        // Alternating ±1% every 2 h is 1% × √4380 ≈ 66% annualised, reached as the EWMA settles.
        let mut p = 100.0;
        for i in 0..500 {
            p *= if i % 2 == 0 { 1.01 } else { 1.0 / 1.01 };
            f.update(p);
        }
        let want = 1.01f64.ln() * (365.0 * 12.0f64).sqrt();
        assert!((f.vol() - want).abs() < 1e-3, "{} vs {want}", f.vol());
        assert_eq!(f.bps(), (want * 10_000.0).round() as u32);
    }
}
