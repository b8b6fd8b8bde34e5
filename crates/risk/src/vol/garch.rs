//! GARCH(1,1) on irregular observations, and its forecast over the margin horizon
//! (docs/risk-model.md §3.2).
//!
//! Per step of `garch_step_secs` GARCH is h' = ω + α·s + β·h with ω = (1 − α − β)·V_L, which is
//! the same as: revert toward V_L by c = β/(1 − α), then move toward the sample by α:
//!   h_mid = V_L + c·(h − V_L);   h' = h_mid + α·(s − h_mid).
//! For an observation n = Δt/step steps after the last we use c_n = c^n and
//! a_n = 1 − (1 − α)^n: exact GARCH(1,1) at n = 1, continuous in n, and every weight stays in
//! [0, 1] for any gap (a month-long gap reverts fully to V_L and trusts the one sample).

use crate::error::RiskResult;
use crate::fx::{add, div, div_shift, mul, mul_ceil, sub, Round, ONE};
use crate::math::{exp, ln, one_minus_exp_neg};
use crate::params::RiskParams;

/// −n·ln x ≥ 0 for Q32.32 x ∈ (0, 1) and n ≥ 0, saturating (so that x^n = e^(−that)).
fn neg_log_pow(x: i64, n: i64) -> RiskResult<i64> {
    Ok(crate::fx::mul_shift(n, ln(x)?, 32, Round::Floor).map_or(i64::MAX, |e| e.saturating_neg()))
}

/// x^n for Q32.32 x ∈ [0, 1] and n ≥ 0: 0^n = 0, 1^n = 1.
fn pow_unit(x: i64, n: i64) -> RiskResult<i64> {
    if x <= 0 {
        return Ok(0);
    }
    if x >= ONE {
        return Ok(ONE);
    }
    exp(-neg_log_pow(x, n)?.min(i64::MAX >> 1))
}

/// 1 − x^n without cancellation for small n.
fn one_minus_pow_unit(x: i64, n: i64) -> RiskResult<i64> {
    if x <= 0 {
        return Ok(ONE);
    }
    if x >= ONE {
        return Ok(0);
    }
    one_minus_exp_neg(neg_log_pow(x, n)?)
}

/// One GARCH step for an annualised variance sample `sample` observed `dt_secs` after the last.
pub fn update(h: i64, sample: i64, dt_secs: i64, p: &RiskParams) -> RiskResult<i64> {
    let n =
        div_shift(dt_secs.max(0), p.garch_step_secs.max(1), 32, Round::Floor).unwrap_or(i64::MAX);
    let alpha = p.garch_alpha.to_bits();
    let keep = sub(ONE, alpha)?;
    let c = div(p.garch_beta.to_bits(), keep)?;
    let c_n = pow_unit(c, n)?;
    let v_l = p.garch_long_run_var.to_bits();
    let h_mid = add(v_l, mul_ceil(sub(h, v_l)?, c_n)?)?;
    // a_n·Δ = Δ·(1 − e^(−L·n)) with L = −ln(1 − α): `ewma::decay` keeps full precision for a
    // one-minute step of a daily GARCH, where 1 − (1 − α)^n would cancel.
    let l = if alpha <= 0 || keep <= 0 {
        0
    } else {
        ln(keep)?.saturating_neg()
    };
    add(
        h_mid,
        super::ewma::decay(sub(sample, h_mid)?, l, dt_secs, p.garch_step_secs)?,
    )
}

/// Average expected variance over the next `horizon_secs`:
/// V_L + (h − V_L)·(1 − φ^m)/(m·(1 − φ)), φ = α + β, m = horizon/step (the current h for m ≤ 1).
pub fn forecast(h: i64, horizon_secs: i64, p: &RiskParams) -> RiskResult<i64> {
    let m = div_shift(
        horizon_secs.max(0),
        p.garch_step_secs.max(1),
        32,
        Round::Floor,
    )
    .unwrap_or(i64::MAX);
    if m <= ONE {
        return Ok(h);
    }
    let phi = add(p.garch_alpha.to_bits(), p.garch_beta.to_bits())?;
    let one_minus_phi = sub(ONE, phi)?; // > 0 by RiskParams::validate
    let factor = div(one_minus_pow_unit(phi, m)?, mul(m, one_minus_phi)?.max(1))?;
    let v_l = p.garch_long_run_var.to_bits();
    add(v_l, mul_ceil(sub(h, v_l)?, factor.min(ONE))?)
}
