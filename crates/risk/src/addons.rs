//! Margin add-ons on top of the scenario loss (docs/risk-model.md §4.3). All round up.

use crate::error::RiskResult;
use crate::fx::{div_shift, imul, mul, mul_ceil, mul_frac, mul_frac_ceil, sub, Round, ONE};
use crate::math::sqrt;
use crate::params::RiskParams;
use crate::pricing::{per_sqrt_year, sqrt_secs};

/// Short option minimum charge of `contracts` short contracts: contracts·⌈spot·frac⌉. SPAN-style:
/// deep out-of-the-money shorts are never free.
#[inline(always)]
pub fn short_minimum(contracts: u64, spot: i64, frac: i64) -> RiskResult<i64> {
    imul(
        contracts.min(i64::MAX as u64) as i64,
        mul_frac_ceil(spot, frac)?,
    )
}

/// Oracle-confidence add-on: k × conf × |net delta| (conf is money per contract, net delta in
/// contracts as Q32.32). An uncertain oracle price is an uncertain mark.
pub fn confidence(net_delta_abs: i64, conf: i64, p: &RiskParams) -> RiskResult<i64> {
    mul_frac_ceil(mul_ceil(net_delta_abs, conf)?, p.conf_multiple.to_bits())
}

/// Square-root market-impact add-on: c · σ√h · N · √(N / L) for the net delta notional N, the
/// market depth L (`liquidity_notional`) and the IM horizon h. The cost of unwinding N grows like
/// N^1.5 (the square-root law of market impact), so concentration is charged more than linearly.
pub fn impact(notional: i64, sigma: i64, p: &RiskParams) -> RiskResult<i64> {
    impact_with(notional, sigma, p, &mut HorizonRoot::default())
}

/// √h of an IM horizon h (`sqrt_secs`), remembered for the last horizon asked: the markets of a
/// check mostly share their horizon, and the root is ≈ 95 SBF instructions. A pure function of
/// the horizon, so a remembered root is the bits a fresh one would be.
#[derive(Clone, Copy, Debug, Default)]
pub struct HorizonRoot(Option<(i64, i64)>);

impl HorizonRoot {
    /// `sqrt_secs(secs)`, computed only when `secs` is not the last horizon asked.
    #[inline(always)]
    pub fn get(&mut self, secs: i64) -> RiskResult<i64> {
        match self.0 {
            Some((s, root)) if s == secs => Ok(root),
            _ => {
                let root = sqrt_secs(secs)?;
                self.0 = Some((secs, root));
                Ok(root)
            }
        }
    }
}

/// [`impact`], taking √h through `root` (shared by the markets of one check). Same results.
pub fn impact_with(
    notional: i64,
    sigma: i64,
    p: &RiskParams,
    root: &mut HorizonRoot,
) -> RiskResult<i64> {
    if notional <= 0 || p.impact_coef.to_bits() == 0 {
        return Ok(0);
    }
    let ratio = div_shift(notional, p.liquidity_notional, 32, Round::Ceil).unwrap_or(i64::MAX);
    // `TotalVol::new(sigma, √h).w`, without the reciprocal it also computes (which never fails
    // where it is taken: w > 2) and which is not used here.
    let w = per_sqrt_year(mul(sigma.max(0), root.get(p.im_horizon_secs)?)?)?;
    let sigma_sqrt_h = if w <= 2 { 0i64 } else { w }.saturating_add(1);
    let n = mul_frac_ceil(
        mul_frac_ceil(notional, p.impact_coef.to_bits())?,
        sigma_sqrt_h,
    )?;
    mul_ceil(n, sqrt(ratio)? + 1)
}

/// IM value of a position worth `v`: gains (v > 0) count at (1 − haircut), losses in full.
pub fn haircut(v: i64, p: &RiskParams) -> RiskResult<i64> {
    if v <= 0 {
        return Ok(v);
    }
    mul_frac(v, sub(ONE, p.long_haircut.to_bits())?)
}

#[cfg(test)]
mod tests;
