//! The synthetic market the backtest's integration tests share: calm, then a high-vol regime
//! (days 250–279) with a 30% one-day crash on day 260, and its implied vol.

use keel_backtest::calibrate::Rng;
use keel_backtest::data;

/// A daily market with a crash in a high-vol regime, and its implied vol (percent).
pub fn market(days: usize, seed: u64) -> (String, String) {
    let mut rng = Rng(seed);
    let mut px: f64 = 20_000.0;
    let mut prices = String::from("date,open,high,low,close,volume\n");
    let mut iv = String::from("date,open,high,low,close\n");
    let d0 = data::days_from_civil(2021, 1, 1);
    for i in 0..days {
        let vol: f64 = if (250..280).contains(&i) { 1.4 } else { 0.5 };
        let r = vol / (365.0f64).sqrt() * rng.normal() - if i == 260 { 0.3 } else { 0.0 };
        let open = px;
        px *= r.exp();
        let hi = open.max(px) * (1.0 + 0.01 * rng.uniform());
        let lo = open.min(px) * (1.0 - 0.01 * rng.uniform());
        let (y, m, d) = data::civil_from_days(d0 + i as i64);
        prices.push_str(&format!(
            "{y:04}-{m:02}-{d:02},{open},{hi},{lo},{px},1000\n"
        ));
        let v = 100.0 * vol * (1.0 + 0.1 * rng.normal()).max(0.5);
        iv.push_str(&format!("{y:04}-{m:02}-{d:02},{v},{v},{v},{v}\n"));
    }
    (prices, iv)
}
