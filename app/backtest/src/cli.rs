//! Command-line helpers shared by the binary and its tests: input pairing, parameter overrides,
//! durations.

use keel_risk::{Fx, LiquidationParams, RiskParams};
use std::path::PathBuf;

/// Pairs each `--iv` with the `--prices` before it, from the positions clap reports.
pub fn pair_inputs(
    prices: &[PathBuf],
    prices_at: &[usize],
    iv: &[PathBuf],
    iv_at: &[usize],
) -> Result<Vec<(PathBuf, Option<PathBuf>)>, String> {
    let mut out: Vec<(PathBuf, Option<PathBuf>)> =
        prices.iter().map(|p| (p.clone(), None)).collect();
    for (v, &at) in iv.iter().zip(iv_at) {
        let owner = prices_at.iter().rposition(|&p| p < at).ok_or_else(|| {
            format!(
                "--iv {} comes before any --prices: put it after the --prices it belongs to",
                v.display()
            )
        })?;
        if let Some(prev) = &out[owner].1 {
            return Err(format!(
                "two --iv files ({} and {}) for --prices {}",
                prev.display(),
                v.display(),
                out[owner].0.display()
            ));
        }
        out[owner].1 = Some(v.clone());
    }
    Ok(out)
}

/// Parses a duration: `1d`, `12h`, `30m`, `45s` or plain seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bad duration '{s}' (e.g. 1d, 12h, 3600)"))?;
    let mult = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("bad duration unit in '{s}' (s, m, h, d)")),
    };
    let secs = (v * mult).round() as i64;
    if secs <= 0 {
        return Err(format!("duration '{s}' must be positive"));
    }
    Ok(secs)
}

/// Applies `name=value` overrides to `p` (any bounded field of `RiskParams` by its name in the
/// bounds tables) and validates the result.
pub fn apply_overrides(p: &mut RiskParams, sets: &[String]) -> Result<(), String> {
    for s in sets {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s}: want name=value"))?;
        let (name, value) = (name.trim(), value.trim());
        if let Some(i) = RiskParams::FX_BOUNDS
            .iter()
            .position(|(n, _, _)| *n == name)
        {
            let v: f64 = value
                .parse()
                .map_err(|_| format!("--set {s}: not a number"))?;
            *p.fx_fields_mut()[i] =
                Fx::checked_from_num(v).ok_or_else(|| format!("--set {s}: out of range"))?;
        } else {
            let v: i64 = value
                .parse()
                .map_err(|_| format!("--set {s}: not an integer"))?;
            match name {
                "im_horizon_secs" => p.im_horizon_secs = v,
                "mm_steps" => {
                    p.mm_steps = u32::try_from(v).map_err(|_| format!("--set {s}: out of range"))?
                }
                "vol_ts_ref_secs" => p.vol_ts_ref_secs = v,
                "vol_ts_min_secs" => p.vol_ts_min_secs = v,
                "ewma_tau_secs" => p.ewma_tau_secs = v,
                "garch_step_secs" => p.garch_step_secs = v,
                "iv_fresh_secs" => p.iv_fresh_secs = v,
                "iv_max_age_secs" => p.iv_max_age_secs = v,
                "min_obs_interval_secs" => p.min_obs_interval_secs = v,
                "liquidity_notional" => p.liquidity_notional = v,
                "array_max_age_secs" => p.array_max_age_secs = v,
                "realised_tau_secs" => p.realised_tau_secs = v,
                _ => return Err(format!("--set {s}: no parameter '{name}'")),
            }
        }
    }
    match p.violation() {
        None => Ok(()),
        Some(what) => Err(format!("parameters out of their hard bounds: {what}")),
    }
}

/// Applies `name=value` overrides to liquidation parameters and validates them.
pub fn apply_liq_overrides(p: &mut LiquidationParams, sets: &[String]) -> Result<(), String> {
    for s in sets {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("--liq-set {s}: want name=value"))?;
        let (name, value) = (name.trim(), value.trim());
        if let Some(i) = LiquidationParams::FX_BOUNDS
            .iter()
            .position(|(n, _, _)| *n == name)
        {
            let v: f64 = value
                .parse()
                .map_err(|_| format!("--liq-set {s}: not a number"))?;
            *p.fx_fields_mut()[i] =
                Fx::checked_from_num(v).ok_or_else(|| format!("--liq-set {s}: out of range"))?;
        } else if name == "bonus_horizon_secs" {
            p.bonus_horizon_secs = value
                .parse()
                .map_err(|_| format!("--liq-set {s}: not an integer"))?;
        } else {
            return Err(format!("--liq-set {s}: no parameter '{name}'"));
        }
    }
    match p.violation() {
        None => Ok(()),
        Some(what) => Err(format!(
            "liquidation parameters out of their hard bounds: {what}"
        )),
    }
}

/// Applies `--fill-set name=value` overrides to the fill-implied vol's limits (`rate`,
/// `band_low`, `band_high` as numbers; `rate_secs`, `full_notional`, `min_secs_to_expiry` as
/// integers).
pub fn apply_fill_overrides(
    p: &mut keel_risk::vol::fills::FillVolParams,
    sets: &[String],
) -> Result<(), String> {
    for s in sets {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("--fill-set {s}: want name=value"))?;
        let (name, value) = (name.trim(), value.trim());
        let num = || -> Result<Fx, String> {
            let v: f64 = value
                .parse()
                .map_err(|_| format!("--fill-set {s}: not a number"))?;
            Fx::checked_from_num(v).ok_or_else(|| format!("--fill-set {s}: out of range"))
        };
        let int = || -> Result<i64, String> {
            value
                .parse()
                .map_err(|_| format!("--fill-set {s}: not an integer"))
        };
        match name {
            "rate" => p.rate = num()?,
            "band_low" => p.band_low = num()?,
            "band_high" => p.band_high = num()?,
            "max_log_moneyness" => p.max_log_moneyness = num()?,
            "rate_secs" => p.rate_secs = int()?.max(1),
            "full_notional" => p.full_notional = int()?,
            "min_secs_to_expiry" => p.min_secs_to_expiry = int()?,
            _ => return Err(format!("--fill-set {s}: no parameter '{name}'")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn iv_files_attach_to_the_prices_before_them() {
        let got = pair_inputs(
            &[pb("a"), pb("b"), pb("c")],
            &[2, 6, 10],
            &[pb("ia"), pb("ic")],
            &[4, 12],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                (pb("a"), Some(pb("ia"))),
                (pb("b"), None),
                (pb("c"), Some(pb("ic")))
            ]
        );
        assert!(pair_inputs(&[pb("a")], &[4], &[pb("i")], &[2])
            .unwrap_err()
            .contains("before any --prices"));
        assert!(pair_inputs(&[pb("a")], &[2], &[pb("i"), pb("j")], &[4, 6])
            .unwrap_err()
            .contains("two --iv"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("0.5d"), Ok(43_200));
        assert!(parse_duration("3w").is_err());
        assert!(parse_duration("-1d").is_err());
    }

    #[test]
    fn fill_overrides_by_name() {
        use keel_risk::vol::fills::FillVolParams;
        let mut p = FillVolParams::DEFAULT;
        let sets = ["rate=0.05", "band_low=0.7", "rate_secs=60"].map(String::from);
        apply_fill_overrides(&mut p, &sets).unwrap();
        assert_eq!(
            (p.rate, p.band_low, p.rate_secs),
            (Fx::from_num(0.05), Fx::from_num(0.7), 60)
        );
        assert_eq!(p.band_high, FillVolParams::DEFAULT.band_high);
        assert!(apply_fill_overrides(&mut p, &["speed=1".into()]).is_err());
        assert!(apply_fill_overrides(&mut p, &["rate=fast".into()]).is_err());
    }

    #[test]
    fn overrides_by_name_and_bounds() {
        let mut p = RiskParams::DEFAULT;
        apply_overrides(&mut p, &["apc_buffer=0.5".into(), "mm_steps=3".into()]).unwrap();
        assert_eq!(p.apc_buffer, Fx::lit("0.5"));
        assert_eq!(p.mm_steps, 3);
        assert!(apply_overrides(&mut p, &["apc_buffer=5".into()])
            .unwrap_err()
            .contains("apc_buffer"));
        let mut q = RiskParams::DEFAULT;
        assert!(apply_overrides(&mut q, &["nope=1".into()]).is_err());
        assert!(apply_overrides(&mut q, &["apc_buffer".into()]).is_err());
        let mut l = LiquidationParams::DEFAULT;
        apply_liq_overrides(&mut l, &["target_im_fraction=0.8".into()]).unwrap();
        assert_eq!(l.target_im_fraction, Fx::lit("0.8"));
        assert!(apply_liq_overrides(&mut l, &["bonus_min=0.4".into()]).is_err());
    }
}
