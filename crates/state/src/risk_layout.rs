//! Field tables of keel-risk's Pod structs that Keel's accounts embed (`RiskParams` and
//! `VolState` in a market, `LiquidationParams` in the exchange, `CorrelationState` in a
//! correlation), so clients and the IDL read them as typed structs.
//!
//! The structs themselves stay in keel-risk (the engine owns them); each table here is checked
//! against them at compile time: every field has the type written here (a type change fails to
//! compile), and the fields follow each other without gap and cover the whole struct (a field
//! added in keel-risk, taken from its `reserved` tail, fails the check until it is listed).

use crate::{Field, Layout};
use keel_risk::array::{Anchor, Bound};
use keel_risk::vol::fills::FillVol;
use keel_risk::vol::CorrelationState;
use keel_risk::{Fx, LiquidationParams, NamedShock, RiskParams, SeriesArray, VolState};

/// `impl Layout` for a keel-risk struct from its field list, with the compile-time checks.
macro_rules! risk_layout {
    ($name:ident { $( $field:ident : $ty:ty, )* }) => {
        impl Layout for $name {
            const SIZE: usize = core::mem::size_of::<$name>();
            const FIELDS: &'static [Field] = &[
                $( Field {
                    name: stringify!($field),
                    offset: core::mem::offset_of!($name, $field),
                    size: core::mem::size_of::<$ty>(),
                    ty: stringify!($ty),
                    docs: &[],
                }, )*
            ];
        }

        // Every field has the type listed.
        const _: fn(&$name) = |v| {
            $( let _: &$ty = &v.$field; )*
        };

        // The list is complete.
        const _: () = crate::assert_contiguous(<$name as Layout>::FIELDS, core::mem::size_of::<$name>());
    };
}

risk_layout!(NamedShock {
    ln_move: Fx,
    vol_mult: Fx,
    weight: Fx,
});

risk_layout!(RiskParams {
    im_horizon_secs: i64,
    im_range_sigmas: Fx,
    range_floor: Fx,
    range_cap: Fx,
    mm_steps: u32,
    padding0: u32,
    vol_up: Fx,
    vol_down: Fx,
    vol_down_floor: Fx,
    vol_ts_ref_secs: i64,
    vol_ts_min_secs: i64,
    vol_ts_power_short: Fx,
    vol_ts_power_long: Fx,
    extreme_multiple: Fx,
    extreme_weight: Fx,
    named_shocks: [NamedShock; 2],
    short_min_im: Fx,
    short_min_mm: Fx,
    conf_multiple: Fx,
    impact_coef: Fx,
    liquidity_notional: i64,
    long_haircut: Fx,
    ewma_tau_secs: i64,
    garch_alpha: Fx,
    garch_beta: Fx,
    garch_long_run_var: Fx,
    garch_step_secs: i64,
    garch_weight: Fx,
    iv_weight: Fx,
    iv_fresh_secs: i64,
    iv_max_age_secs: i64,
    min_obs_interval_secs: i64,
    max_sample_var: Fx,
    apc_floor_vol: Fx,
    apc_stressed_vol: Fx,
    apc_stressed_weight: Fx,
    apc_buffer: Fx,
    apc_max_fall_per_day: Fx,
    stable_growth_per_sec: Fx,
    corr_floor: Fx,
    corr_max_offset: Fx,
    corr_tau_secs: i64,
    array_max_age_secs: i64,
    array_vol_tol: Fx,
    hist_vol_premium: Fx,
    apc_max_rise_per_day: Fx,
    realised_tau_secs: i64,
    reserved: [u64; 11],
});

risk_layout!(LiquidationParams {
    target_im_fraction: Fx,
    bonus_base: Fx,
    bonus_vol_coef: Fx,
    bonus_horizon_secs: i64,
    bonus_min: Fx,
    bonus_max: Fx,
    bonus_ramp_per_sec: Fx,
    bonus_cap: Fx,
    fraction_ref: Fx,
    fraction_ref_vol: Fx,
    fraction_min: Fx,
    insurance_share: Fx,
    danger_mm_fraction: Fx,
    trigger_vol_buffer: Fx,
    realised_stress_cap: Fx,
    reserved: [u64; 5],
});

risk_layout!(VolState {
    last_price: i64,
    last_ts: i64,
    ewma_var: Fx,
    garch_var: Fx,
    hist_vol: Fx,
    raw_vol: Fx,
    margin_vol: Fx,
    stable_price: i64,
    n_obs: u64,
    range_vol: Fx,
    realised_var: Fx,
    realised_vol: Fx,
    reserved: [u64; 4],
});

risk_layout!(FillVol {
    level: Fx,
    ts: i64,
    fills: u64,
    reserved: u64,
});

risk_layout!(CorrelationState {
    last_price_a: i64,
    last_price_b: i64,
    last_ts: i64,
    var_a: Fx,
    var_b: Fx,
    cov: Fx,
    n_obs: u64,
    reserved: [u64; 4],
});

// The risk arrays (`keel_risk::array`): array lengths are written as numbers so the tables read
// without keel-risk's constants (the type check fails to compile if one changes): 8 strike
// points, 70 scenario points (`POINTS`), 9 mark-ladder points (`MARK`).
risk_layout!(Anchor {
    ts: i64,
    spot: i64,
    stable_spot: i64,
    sigma: Fx,
    mark_sigma: Fx,
    range: Fx,
    step: Fx,
    mark_step: Fx,
    ln_spot: i64,
    ln_stable: i64,
    max_fwd: i64,
    strikes: [i64; 8],
    mults: [i64; 8],
    ln_move: [i64; 70],
    fwd: [i64; 70],
    mark_fwd: [i64; 9],
    stable_fwd: [i64; 9],
});

risk_layout!(Bound {
    value: [i64; 70],
    mark: [i64; 9],
    stable: [i64; 9],
});

risk_layout!(SeriesArray {
    lo: Bound,
    hi: Bound,
    gap: [i64; 70],
    mark_gap: [i64; 9],
    stable_gap: [i64; 9],
    greeks: [i64; 4],
});
