//! Risk parameters: one `RiskParams` per market, one `LiquidationParams` per exchange.
//!
//! Both are `repr(C)` plain old data so the program stores them zero-copy in its accounts and
//! hands them to the engine by reference. Every field has hard bounds (`BOUNDS` tables below):
//! the admin can move parameters only inside them (`validate`), and the engine's totality
//! arguments (no overflow on valid inputs) assume them. Defaults and the reasons for them are in
//! docs/risk-model.md §5; the backtest (docs/validation.md) calibrates them.

use crate::error::{RiskError, RiskResult};
use crate::fx::Fx;
use bytemuck::{Pod, Zeroable};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

const fn lit(s: &str) -> Fx {
    Fx::lit(s)
}

/// A named historical shock counted in the IM scenarios (SPAN-style stress).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NamedShock {
    /// The price move as a log return (ln(0.61) = −0.494 for 2020-03-12's −39%).
    pub ln_move: Fx,
    /// Multiplier applied to the vol in force in this scenario.
    pub vol_mult: Fx,
    /// Fraction of this scenario's loss counted (0 disables it).
    pub weight: Fx,
}

/// Everything keel-risk needs to margin one underlying. Field order is the account ABI: append only.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RiskParams {
    // ---- scenario grid (docs/risk-model.md §4.1) ----
    /// IM liquidation horizon h in seconds: the IM price range is k·σ·√h.
    pub im_horizon_secs: i64,
    /// k: the IM price range in standard deviations of the horizon return.
    pub im_range_sigmas: Fx,
    /// Smallest IM range (log move), whatever the vol.
    pub range_floor: Fx,
    /// Largest IM range (log move).
    pub range_cap: Fx,
    /// MM uses the inner `mm_steps` of the `PRICE_STEPS` grid steps: MM range = mm_steps/6 · IM range.
    pub mm_steps: u32,
    /// Reserved padding (zero).
    pub padding0: u32,
    /// Vol-up shock u: σ_up = σ·(1 + u·(T_ref/T)^p).
    pub vol_up: Fx,
    /// Vol-down shock d: σ_down = σ·max(1 − d·(T_ref/T)^p, vol_down_floor).
    pub vol_down: Fx,
    /// Lower bound of the vol-down multiplier.
    pub vol_down_floor: Fx,
    /// T_ref of the vol-shock term structure (seconds).
    pub vol_ts_ref_secs: i64,
    /// Expiries shorter than this use it in the term structure (caps short-dated shocks).
    pub vol_ts_min_secs: i64,
    /// Term-structure power p for T < T_ref.
    pub vol_ts_power_short: Fx,
    /// Term-structure power p for T ≥ T_ref.
    pub vol_ts_power_long: Fx,
    /// Extreme moves are ±E × the IM range (vol up).
    pub extreme_multiple: Fx,
    /// Fraction of an extreme-move loss counted (SPAN counts 35%).
    pub extreme_weight: Fx,
    /// Named historical shocks (IM only).
    pub named_shocks: [NamedShock; 2],
    // ---- add-ons (§4.3) ----
    /// Short option minimum charge for IM, per contract, as a fraction of spot.
    pub short_min_im: Fx,
    /// Short option minimum charge for MM (≤ IM's).
    pub short_min_mm: Fx,
    /// Oracle-confidence add-on: this many confidence intervals × |net delta|.
    pub conf_multiple: Fx,
    /// Square-root market-impact add-on coefficient (see `addons::impact`).
    pub impact_coef: Fx,
    /// Depth of the underlying's market in quote native units (the impact add-on's scale).
    pub liquidity_notional: i64,
    /// IM counts long option value and unrealised gains at (1 − haircut) (§4.4).
    pub long_haircut: Fx,
    // ---- volatility (§3) ----
    /// EWMA time constant τ in seconds: weight of a new observation 1 − e^(−Δt/τ).
    pub ewma_tau_secs: i64,
    /// GARCH(1,1) α per `garch_step_secs`.
    pub garch_alpha: Fx,
    /// GARCH(1,1) β per `garch_step_secs`.
    pub garch_beta: Fx,
    /// GARCH long-run annualised variance V_L.
    pub garch_long_run_var: Fx,
    /// The GARCH step (one day for daily-estimated α, β).
    pub garch_step_secs: i64,
    /// Weight of the GARCH forecast against EWMA in the historical variance.
    pub garch_weight: Fx,
    /// Weight of a fresh implied vol in the blend.
    pub iv_weight: Fx,
    /// An implied vol younger than this counts at full weight …
    pub iv_fresh_secs: i64,
    /// … and its weight falls linearly to zero at this age.
    pub iv_max_age_secs: i64,
    /// Minimum interval between two accepted volatility observations.
    pub min_obs_interval_secs: i64,
    /// Cap on one observation's annualised variance sample (a glitch cannot explode the state).
    pub max_sample_var: Fx,
    // ---- anti-procyclicality (§3.5) ----
    /// Margin vol never falls below this (long-run / 10-year-lookback floor).
    pub apc_floor_vol: Fx,
    /// Stressed vol (the 10-year lookback's stressed period).
    pub apc_stressed_vol: Fx,
    /// Weight of the stressed variance in the margin variance (EMIR art. 28(1)(b): ≥ 25% if used).
    pub apc_stressed_weight: Fx,
    /// Release buffer: margin vol is held up to (1 + buffer)·σ and released when vol rises.
    pub apc_buffer: Fx,
    /// Largest relative fall of margin vol per day.
    pub apc_max_fall_per_day: Fx,
    // ---- stable price (§4.4) ----
    /// The stable price moves toward the oracle at most this fraction per second.
    pub stable_growth_per_sec: Fx,
    // ---- cross-underlying correlation (§4.5) ----
    /// Correlations used for offsets are never below this floor (crisis correlation).
    pub corr_floor: Fx,
    /// Largest offset as a fraction of the summed per-underlying losses (0 = off).
    pub corr_max_offset: Fx,
    /// EWMA time constant of the covariance estimate.
    pub corr_tau_secs: i64,
    // ---- risk arrays (§4.8) ----
    /// How long a market's risk arrays stay valid after their anchor (seconds): arrays bound
    /// every value over this window (a long at its end, a short at its start).
    pub array_max_age_secs: i64,
    /// How far the margin and mark vols may drift from the anchor's (relative) before the
    /// arrays are stale: arrays bound every value over σ·(1 ± this).
    pub array_vol_tol: Fx,
    // ---- a market without an implied-vol feed (§3.3) ----
    /// Premium on the historical vol for the part of `iv_weight` no fresh implied vol supplies:
    /// σ_hist·(1 + this·missing share) stands in for the variance risk premium a missing
    /// implied vol would carry (0 = none).
    pub hist_vol_premium: Fx,
    // ---- anti-procyclicality, continued (§3.5) ----
    /// Largest relative rise of margin vol per day, compounded over the time between steps (a
    /// speed limit on margin calls; 0 = none: a rise is taken at once).
    pub apc_max_rise_per_day: Fx,
    // ---- liquidation (docs/liquidation.md §1) ----
    /// τ of the realised vol (`VolState::realised_vol`): an EWMA of the crank's own returns
    /// (12 h: the last half day), which the liquidation trigger compares with the margin vol
    /// (`liquidation::realised_stress`; 0 = not kept, no stress: the default).
    pub realised_tau_secs: i64,
    /// Room to grow without a migration.
    pub reserved: [u64; 11],
}

/// AVSL liquidation parameters (docs/liquidation.md). One per exchange.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LiquidationParams {
    /// τ: liquidate to the target MM + τ·(IM − MM).
    pub target_im_fraction: Fx,
    /// Bonus rate base (fraction of the maintenance margin taken over).
    pub bonus_base: Fx,
    /// Bonus rate per unit of σ√h.
    pub bonus_vol_coef: Fx,
    /// Horizon h of the bonus's σ√h (seconds).
    pub bonus_horizon_secs: i64,
    /// The vol-scaled rate is clamped to [min, max] …
    pub bonus_min: Fx,
    /// … before the Dutch-auction ramp.
    pub bonus_max: Fx,
    /// Rate added per second since the account became liquidatable.
    pub bonus_ramp_per_sec: Fx,
    /// Absolute cap of the bonus rate.
    pub bonus_cap: Fx,
    /// Per-call fraction cap at the reference vol: cap = ref_fraction·ref_vol/σ.
    pub fraction_ref: Fx,
    /// Reference vol of the fraction cap.
    pub fraction_ref_vol: Fx,
    /// The per-call cap never falls below this.
    pub fraction_min: Fx,
    /// Share of each bonus paid to the insurance fund.
    pub insurance_share: Fx,
    /// δ: at or below δ·MM of equity the whole account goes at once; between δ·MM and MM the
    /// per-call cap grows linearly from the vol-scaled cap to 1 (taken from `reserved`: an
    /// exchange created before it reads 0, whole account only at zero equity).
    pub danger_mm_fraction: Fx,
    /// b: when vol is above the reference vol `fraction_ref_vol`, an account is liquidatable
    /// below min(MM·(1 + b·(σ − ref_vol)/ref_vol), IM) instead of MM — the trigger moves earlier
    /// as vol rises (taken from `reserved`: 0 on an exchange created before it, trigger at MM).
    pub trigger_vol_buffer: Fx,
    /// k_max: while a market's realised vol is above its margin vol, the trigger, target and
    /// danger level are taken on MM and IM scaled by k = min(realised/margin vol, k_max)
    /// (`liquidation::realised_stress`; ≤ 1 = no stress: taken from `reserved`, so an exchange
    /// created before it has none).
    pub realised_stress_cap: Fx,
    /// Room to grow without a migration.
    pub reserved: [u64; 5],
}

/// `[min, max]` bounds of one `Fx` parameter, by name (used by `validate` and printed by clients).
pub type FxBound = (&'static str, Fx, Fx);
/// `[min, max]` bounds of one integer parameter.
pub type IntBound = (&'static str, i64, i64);

impl RiskParams {
    /// Defaults, calibrated by keel-backtest on BTC history (docs/validation.md; each is
    /// explained in docs/risk-model.md §5). The same for every market: nothing is tuned per asset.
    pub const DEFAULT: RiskParams = RiskParams {
        im_horizon_secs: DAY,
        im_range_sigmas: lit("3.2"),
        range_floor: lit("0.082"),
        range_cap: lit("0.42"),
        mm_steps: 5,
        padding0: 0,
        vol_up: lit("0.085"),
        vol_down: lit("0.32"),
        vol_down_floor: lit("0.5"),
        vol_ts_ref_secs: 30 * DAY,
        vol_ts_min_secs: DAY,
        vol_ts_power_short: lit("0.3"),
        vol_ts_power_long: lit("0.13"),
        extreme_multiple: lit("2"),
        extreme_weight: lit("0.35"),
        named_shocks: [
            // 2020-03-12: BTC −39% intraday (ln 0.61), vol roughly doubled.
            NamedShock {
                ln_move: lit("-0.494"),
                vol_mult: lit("2"),
                weight: lit("0.25"),
            },
            // A short squeeze of the same size upward (ln 1.39).
            NamedShock {
                ln_move: lit("0.329"),
                vol_mult: lit("1.5"),
                weight: lit("0.25"),
            },
        ],
        short_min_im: lit("0.025"),
        short_min_mm: lit("0.006"),
        conf_multiple: lit("3"),
        impact_coef: lit("0.5"),
        liquidity_notional: 1_000_000_000_000_000, // 1e9 USD in 6-decimal units
        long_haircut: lit("0.1"),
        // τ = 161 days (λ = 0.99381 per day): the slow, long-lookback part of the vol in force
        // (docs/validation.md).
        ewma_tau_secs: 13_910_400,
        garch_alpha: lit("0.1"),
        garch_beta: lit("0.85"),
        garch_long_run_var: lit("0.36"),
        garch_step_secs: DAY,
        garch_weight: lit("0"),
        iv_weight: lit("0.77"),
        iv_fresh_secs: HOUR,
        iv_max_age_secs: 6 * HOUR,
        min_obs_interval_secs: 60,
        max_sample_var: lit("100"),
        apc_floor_vol: lit("0.15"),
        apc_stressed_vol: lit("1.2"),
        apc_stressed_weight: lit("0"),
        apc_buffer: lit("0.01"),
        apc_max_fall_per_day: lit("1"),
        stable_growth_per_sec: lit("0.0001"),
        corr_floor: lit("0.5"),
        corr_max_offset: lit("0"),
        corr_tau_secs: 1_396_314,
        array_max_age_secs: 600,
        array_vol_tol: lit("0.005"),
        hist_vol_premium: lit("0"),
        apc_max_rise_per_day: lit("0"),
        // Off by default: a per-market switch (docs/liquidation.md §1); 12 h where it is used.
        realised_tau_secs: 0,
        reserved: [0; 11],
    };

    /// Hard bounds of every `Fx` field.
    pub const FX_BOUNDS: [FxBound; 36] = [
        ("im_range_sigmas", lit("1"), lit("10")),
        ("range_floor", lit("0.005"), lit("0.5")),
        ("range_cap", lit("0.01"), lit("1.5")),
        ("vol_up", lit("0"), lit("3")),
        ("vol_down", lit("0"), lit("0.9")),
        ("vol_down_floor", lit("0.1"), lit("1")),
        ("vol_ts_power_short", lit("0"), lit("1")),
        ("vol_ts_power_long", lit("0"), lit("1")),
        ("extreme_multiple", lit("1"), lit("4")),
        ("extreme_weight", lit("0"), lit("1")),
        ("named_shocks[0].ln_move", lit("-2"), lit("2")),
        ("named_shocks[0].vol_mult", lit("0.1"), lit("10")),
        ("named_shocks[0].weight", lit("0"), lit("1")),
        ("named_shocks[1].ln_move", lit("-2"), lit("2")),
        ("named_shocks[1].vol_mult", lit("0.1"), lit("10")),
        ("named_shocks[1].weight", lit("0"), lit("1")),
        ("short_min_im", lit("0"), lit("0.5")),
        ("short_min_mm", lit("0"), lit("0.5")),
        ("conf_multiple", lit("0"), lit("20")),
        ("impact_coef", lit("0"), lit("10")),
        ("long_haircut", lit("0"), lit("1")),
        ("garch_alpha", lit("0"), lit("0.5")),
        ("garch_beta", lit("0"), lit("0.999")),
        ("garch_long_run_var", lit("0.0001"), lit("25")),
        ("garch_weight", lit("0"), lit("1")),
        ("iv_weight", lit("0"), lit("1")),
        ("max_sample_var", lit("0.01"), lit("10000")),
        ("apc_floor_vol", lit("0"), lit("5")),
        ("apc_stressed_vol", lit("0"), lit("10")),
        ("apc_stressed_weight", lit("0"), lit("1")),
        ("apc_buffer", lit("0"), lit("2")),
        ("apc_max_fall_per_day", lit("0.001"), lit("1")),
        ("stable_growth_per_sec", lit("0.0000001"), lit("0.01")),
        ("array_vol_tol", lit("0"), lit("0.2")),
        ("hist_vol_premium", lit("0"), lit("2")),
        ("apc_max_rise_per_day", lit("0"), lit("10")),
    ];

    /// Hard bounds of every integer field.
    pub const INT_BOUNDS: [IntBound; 12] = [
        ("im_horizon_secs", HOUR, 30 * DAY),
        ("mm_steps", 1, crate::scenario::PRICE_STEPS as i64),
        ("vol_ts_ref_secs", DAY, 365 * DAY),
        ("vol_ts_min_secs", 60, 365 * DAY),
        ("liquidity_notional", 1_000_000, i64::MAX / 4),
        ("ewma_tau_secs", HOUR, 365 * DAY),
        ("garch_step_secs", 60, 7 * DAY),
        ("iv_fresh_secs", 0, 7 * DAY),
        ("iv_max_age_secs", 0, 7 * DAY),
        ("min_obs_interval_secs", 1, DAY),
        ("array_max_age_secs", 10, HOUR),
        // 0 is allowed besides (no realised vol kept).
        ("realised_tau_secs", HOUR, 30 * DAY),
    ];

    /// Every bounded `Fx` field, in `FX_BOUNDS` order (the one place that order is written).
    pub fn fx_fields_mut(&mut self) -> [&mut Fx; 36] {
        let n = &mut self.named_shocks;
        let (n0, n1) = n.split_at_mut(1);
        let (n0, n1) = (&mut n0[0], &mut n1[0]);
        [
            &mut self.im_range_sigmas,
            &mut self.range_floor,
            &mut self.range_cap,
            &mut self.vol_up,
            &mut self.vol_down,
            &mut self.vol_down_floor,
            &mut self.vol_ts_power_short,
            &mut self.vol_ts_power_long,
            &mut self.extreme_multiple,
            &mut self.extreme_weight,
            &mut n0.ln_move,
            &mut n0.vol_mult,
            &mut n0.weight,
            &mut n1.ln_move,
            &mut n1.vol_mult,
            &mut n1.weight,
            &mut self.short_min_im,
            &mut self.short_min_mm,
            &mut self.conf_multiple,
            &mut self.impact_coef,
            &mut self.long_haircut,
            &mut self.garch_alpha,
            &mut self.garch_beta,
            &mut self.garch_long_run_var,
            &mut self.garch_weight,
            &mut self.iv_weight,
            &mut self.max_sample_var,
            &mut self.apc_floor_vol,
            &mut self.apc_stressed_vol,
            &mut self.apc_stressed_weight,
            &mut self.apc_buffer,
            &mut self.apc_max_fall_per_day,
            &mut self.stable_growth_per_sec,
            &mut self.array_vol_tol,
            &mut self.hist_vol_premium,
            &mut self.apc_max_rise_per_day,
        ]
    }

    fn fx_fields(&self) -> [Fx; 36] {
        let mut copy = *self;
        copy.fx_fields_mut().map(|v| *v)
    }

    fn int_fields(&self) -> [i64; 12] {
        [
            self.im_horizon_secs,
            self.mm_steps as i64,
            self.vol_ts_ref_secs,
            self.vol_ts_min_secs,
            self.liquidity_notional,
            self.ewma_tau_secs,
            self.garch_step_secs,
            self.iv_fresh_secs,
            self.iv_max_age_secs,
            self.min_obs_interval_secs,
            self.array_max_age_secs,
            self.realised_tau_secs,
        ]
    }

    /// The first parameter outside its bounds (by name), or a cross-field rule it breaks.
    pub fn violation(&self) -> Option<&'static str> {
        for ((name, lo, hi), v) in Self::FX_BOUNDS.iter().zip(self.fx_fields()) {
            if v < *lo || v > *hi {
                return Some(name);
            }
        }
        for ((name, lo, hi), v) in Self::INT_BOUNDS.iter().zip(self.int_fields()) {
            let off = v == 0 && *name == "realised_tau_secs";
            if !off && (v < *lo || v > *hi) {
                return Some(name);
            }
        }
        let relations = [
            (
                self.range_floor <= self.range_cap,
                "range_floor <= range_cap",
            ),
            (
                self.short_min_mm <= self.short_min_im,
                "short_min_mm <= short_min_im",
            ),
            (
                self.garch_alpha
                    .checked_add(self.garch_beta)
                    .is_some_and(|s| s < Fx::ONE),
                "garch_alpha + garch_beta < 1",
            ),
            (
                self.iv_fresh_secs <= self.iv_max_age_secs,
                "iv_fresh_secs <= iv_max_age_secs",
            ),
            (
                self.vol_ts_min_secs <= self.vol_ts_ref_secs,
                "vol_ts_min_secs <= vol_ts_ref_secs",
            ),
            (
                self.corr_floor >= Fx::ZERO && self.corr_floor <= Fx::ONE,
                "corr_floor in [0, 1]",
            ),
            (
                self.corr_max_offset >= Fx::ZERO && self.corr_max_offset <= lit("0.9"),
                "corr_max_offset in [0, 0.9]",
            ),
            (
                self.corr_tau_secs >= HOUR && self.corr_tau_secs <= 365 * DAY,
                "corr_tau_secs in [1h, 365d]",
            ),
            (
                self.padding0 == 0 && self.reserved == [0; 11],
                "reserved bytes are zero",
            ),
        ];
        relations.iter().find(|(ok, _)| !ok).map(|(_, name)| *name)
    }

    /// `Ok` when every parameter is inside its hard bounds.
    pub fn validate(&self) -> RiskResult<()> {
        match self.violation() {
            None => Ok(()),
            Some(_) => Err(RiskError::ParamOutOfBounds),
        }
    }
}

impl Default for RiskParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl LiquidationParams {
    /// Defaults (docs/liquidation.md explains each).
    pub const DEFAULT: LiquidationParams = LiquidationParams {
        target_im_fraction: lit("0.5"),
        bonus_base: lit("0.04"),
        bonus_vol_coef: lit("1"),
        bonus_horizon_secs: DAY,
        bonus_min: lit("0.02"),
        bonus_max: lit("0.2"),
        bonus_ramp_per_sec: lit("0.0001"),
        bonus_cap: lit("0.35"),
        fraction_ref: lit("0.5"),
        fraction_ref_vol: lit("0.5"),
        fraction_min: lit("0.1"),
        insurance_share: lit("0.2"),
        danger_mm_fraction: lit("0.5"),
        trigger_vol_buffer: lit("1"),
        realised_stress_cap: lit("2"),
        reserved: [0; 5],
    };

    /// Hard bounds of every `Fx` field.
    pub const FX_BOUNDS: [FxBound; 14] = [
        ("target_im_fraction", lit("0"), lit("1")),
        ("bonus_base", lit("0"), lit("0.5")),
        ("bonus_vol_coef", lit("0"), lit("10")),
        ("bonus_min", lit("0"), lit("0.5")),
        ("bonus_max", lit("0"), lit("0.5")),
        ("bonus_ramp_per_sec", lit("0"), lit("0.01")),
        ("bonus_cap", lit("0"), lit("0.5")),
        ("fraction_ref", lit("0.01"), lit("1")),
        ("fraction_ref_vol", lit("0.01"), lit("5")),
        ("fraction_min", lit("0.01"), lit("1")),
        ("insurance_share", lit("0"), lit("1")),
        ("danger_mm_fraction", lit("0"), lit("1")),
        ("trigger_vol_buffer", lit("0"), lit("2")),
        ("realised_stress_cap", lit("0"), lit("4")),
    ];

    /// Every bounded `Fx` field, in `FX_BOUNDS` order.
    pub fn fx_fields_mut(&mut self) -> [&mut Fx; 14] {
        [
            &mut self.target_im_fraction,
            &mut self.bonus_base,
            &mut self.bonus_vol_coef,
            &mut self.bonus_min,
            &mut self.bonus_max,
            &mut self.bonus_ramp_per_sec,
            &mut self.bonus_cap,
            &mut self.fraction_ref,
            &mut self.fraction_ref_vol,
            &mut self.fraction_min,
            &mut self.insurance_share,
            &mut self.danger_mm_fraction,
            &mut self.trigger_vol_buffer,
            &mut self.realised_stress_cap,
        ]
    }

    fn fx_fields(&self) -> [Fx; 14] {
        let mut copy = *self;
        copy.fx_fields_mut().map(|v| *v)
    }

    /// The first parameter outside its bounds, or a cross-field rule it breaks.
    pub fn violation(&self) -> Option<&'static str> {
        for ((name, lo, hi), v) in Self::FX_BOUNDS.iter().zip(self.fx_fields()) {
            if v < *lo || v > *hi {
                return Some(name);
            }
        }
        if !(HOUR / 60..=30 * DAY).contains(&self.bonus_horizon_secs) {
            return Some("bonus_horizon_secs");
        }
        if self.bonus_min > self.bonus_max {
            return Some("bonus_min <= bonus_max");
        }
        if self.reserved != [0; 5] {
            return Some("reserved bytes are zero");
        }
        None
    }

    /// `Ok` when every parameter is inside its hard bounds.
    pub fn validate(&self) -> RiskResult<()> {
        match self.violation() {
            None => Ok(()),
            Some(_) => Err(RiskError::ParamOutOfBounds),
        }
    }
}

impl Default for LiquidationParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests;
