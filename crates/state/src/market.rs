//! A market: one underlying, its oracle, its risk parameters, its volatility state and the
//! anchor of its risk arrays.

use crate::{layout, PubkeyBytes};
use keel_risk::array::{Anchor, StrikeCandidate};
use keel_risk::vol::fills::{FillVol, FillVolParams};
use keel_risk::{RiskParams, VolState};

/// Most option series of one market listed (active) at a time: the candidates for the risk
/// arrays' strike points.
pub const MAX_LISTED: usize = 128;
const _: () = assert!(core::mem::size_of::<[ListedOption; MAX_LISTED]>() == 128 * 16);

layout! {
    /// A listed option series' strike and expiry (the market's register of strike-point
    /// candidates).
    pub struct ListedOption [size = 16] {
        /// @0 Strike per contract, quote native units.
        pub strike_native: i64,
        /// @8 Expiry, unix seconds.
        pub expiry_ts: i64,
    }
}

/// Oracle kind: Pyth pull oracle `PriceUpdateV2` (pyth-solana-receiver).
pub const ORACLE_PYTH_PULL: u8 = 0;
/// Oracle kind: legacy Pyth push price account (`repr(C)` v2 layout, see [`crate::oracle`]).
pub const ORACLE_PYTH_LEGACY: u8 = 1;

/// Market status: trading.
pub const MARKET_ACTIVE: u8 = 0;

layout! {
    /// Which oracle prices the market and how much to trust it.
    pub struct OracleConfig [size = 152] {
        /// @0 `ORACLE_PYTH_PULL` or `ORACLE_PYTH_LEGACY`.
        pub kind: u8,
        /// @1 Pull oracle: 0 requires `VerificationLevel::Full`; n > 0 accepts a partial
        /// verification with at least n guardian signatures.
        pub min_signatures: u8,
        /// @2 Explicit padding (zero).
        pub padding0: [u8; 6],
        /// @8 The oracle account: required for legacy; for pull, all zero accepts any
        /// `PriceUpdateV2` account with the feed id (Pyth's design), otherwise pins one.
        pub account: PubkeyBytes,
        /// @40 The program that must own the oracle account (the receiver for pull).
        pub program: PubkeyBytes,
        /// @72 Pull oracle feed id.
        pub feed_id: [u8; 32],
        /// @104 A price older than this (seconds, by its publish time) is stale.
        pub max_staleness_secs: i64,
        /// @112 Largest accepted confidence/price, basis points.
        pub max_conf_bps: u64,
        /// @120 Room to grow.
        pub reserved: [u8; 32],
    }
}

layout! {
    /// The last oracle reading the volatility crank accepted.
    pub struct OracleSnapshot [size = 48] {
        /// @0 Price per contract, quote native units (rounded down).
        pub price_native: i64,
        /// @8 Confidence per contract, quote native units (rounded up).
        pub conf_native: i64,
        /// @16 The oracle's publish time.
        pub publish_time: i64,
        /// @24 Raw oracle price mantissa.
        pub raw_price: i64,
        /// @32 Raw oracle confidence mantissa.
        pub raw_conf: u64,
        /// @40 Oracle exponent.
        pub expo: i32,
        /// @44 Explicit padding (zero).
        pub padding0: u32,
    }
}

impl OracleSnapshot {
    /// The snapshot of `reading`, converted per contract to `price_native` and `conf_native`
    /// (what `create_market` and the vol crank store, and keel-client predicts).
    pub fn of(reading: &crate::OracleReading, price_native: i64, conf_native: i64) -> Self {
        OracleSnapshot {
            price_native,
            conf_native,
            publish_time: reading.publish_time,
            raw_price: reading.price,
            raw_conf: reading.conf,
            expo: reading.expo,
            padding0: 0,
        }
    }
}

layout! {
    /// The band around a series' mark inside which `trade` accepts a price
    /// ([`crate::trade_band::band`]). All zero (a market created before the band existed)
    /// means [`TradeBand::DEFAULT`].
    pub struct TradeBand [size = 16] {
        /// @0 Options: the band spans the series' values at mark vol × (1 ∓ this) (Q32.32).
        pub vol_frac: keel_risk::Fx,
        /// @8 Options: plus this much of spot on either side, basis points.
        pub option_spot_bps: u32,
        /// @12 Futures: spot ± this, basis points.
        pub future_bps: u32,
    }
}

impl TradeBand {
    /// ±50% of the mark vol, ±0.1% of spot for options; ±2% of spot for futures.
    pub const DEFAULT: TradeBand = TradeBand {
        vol_frac: keel_risk::Fx::from_bits(1 << 31),
        option_spot_bps: 10,
        future_bps: 200,
    };
    /// Hard bounds of `vol_frac` (Q32.32 bits): 5% – 90%.
    pub const VOL_FRAC_BOUNDS: (i64, i64) = ((1 << 32) / 20, (1 << 32) / 10 * 9);
    /// Hard bounds of `option_spot_bps`.
    pub const OPTION_SPOT_BPS_BOUNDS: (u32, u32) = (1, 500);
    /// Hard bounds of `future_bps`.
    pub const FUTURE_BPS_BOUNDS: (u32, u32) = (1, 1_000);

    /// The band in force: all zero reads as the default.
    pub fn effective(&self) -> TradeBand {
        if *self == bytemuck::Zeroable::zeroed() {
            TradeBand::DEFAULT
        } else {
            *self
        }
    }

    /// Whether every field is inside its hard bounds.
    pub fn is_valid(&self) -> bool {
        let v = self.vol_frac.to_bits();
        (Self::VOL_FRAC_BOUNDS.0..=Self::VOL_FRAC_BOUNDS.1).contains(&v)
            && (Self::OPTION_SPOT_BPS_BOUNDS.0..=Self::OPTION_SPOT_BPS_BOUNDS.1)
                .contains(&self.option_spot_bps)
            && (Self::FUTURE_BPS_BOUNDS.0..=Self::FUTURE_BPS_BOUNDS.1).contains(&self.future_bps)
    }
}

/// An oracle update published more than this many seconds after the chain's clock is refused
/// (`StateError::OracleFutureDated`): Solana's clock may lag wall time by seconds, never by this
/// much, and an update from the future would otherwise count as fresh for longer.
pub const MAX_ORACLE_FUTURE_SECS: i64 = 30;

layout! {
    /// A market account (PDA `["market", exchange, market_index u16 LE]`).
    ///
    /// Contract size: one contract is `contract_size_mantissa · 10^contract_size_expo` units of
    /// the underlying; prices per contract in quote native units are
    /// `oracle_price · 10^expo · contract_size · 10^quote_decimals` (see [`crate::oracle`]).
    pub struct Market [size = 6272] {
        /// @0 Layout version.
        pub version: u8,
        /// @1 PDA bump.
        pub bump: u8,
        /// @2 Index within the exchange (PDA seed).
        pub market_index: u16,
        /// @4 `MARKET_ACTIVE`.
        pub status: u8,
        /// @5 Explicit padding (zero).
        pub padding0: [u8; 3],
        /// @8 The exchange.
        pub exchange: PubkeyBytes,
        /// @40 Display name, UTF-8, zero padded (e.g. `BTC/USD`).
        pub name: [u8; 16],
        /// @56 Oracle configuration.
        pub oracle: OracleConfig,
        /// @208 Underlying units per contract: mantissa …
        pub contract_size_mantissa: i64,
        /// @216 … and decimal exponent.
        pub contract_size_expo: i32,
        /// @220 Decimals of the quote mint (copied from the exchange).
        pub quote_decimals: u8,
        /// @221 Explicit padding (zero).
        pub padding1: [u8; 3],
        /// @224 Margin checks refuse a volatility state older than this (seconds): the crank
        /// must run, which also moves the stable price.
        pub max_vol_age_secs: i64,
        /// @232 Permissionless settlement accepts an oracle price published within this many
        /// seconds after expiry; later only the admin may settle.
        pub settle_window_secs: i64,
        /// @240 Series listed (the next series index).
        pub series_count: u32,
        /// @244 Explicit padding (zero).
        pub padding2: u32,
        /// @248 May publish the implied vol below (all zero: none).
        pub vol_authority: PubkeyBytes,
        /// @280 Last published implied vol (annualised, Q32.32; 0: none).
        pub implied_vol: keel_risk::Fx,
        /// @288 Its publish time; its weight decays with age (`RiskParams::iv_*`).
        pub implied_vol_ts: i64,
        /// @296 The last accepted oracle reading.
        pub last_oracle: OracleSnapshot,
        /// @344 keel-risk parameters (bounded by `RiskParams::violation`).
        pub risk_params: RiskParams,
        /// @840 Volatility and stable-price state (prices per contract).
        pub vol_state: VolState,
        /// @968 Publish time of the newest oracle update any instruction has accepted for this
        /// market: an older update is refused ([`Market::check_order`]), so no caller can pick
        /// a favourable earlier price among several fresh ones.
        pub oracle_high_water_ts: i64,
        /// @976 How far from its mark a trade may be priced ([`crate::trade_band`]).
        pub trade_band: TradeBand,
        /// @992 Generation of `anchor` (0: never anchored); `prev_anchor` is generation − 1. A
        /// series' risk array is usable when it was priced for one of the two.
        pub anchor_epoch: u64,
        /// @1000 Risk-array pages created for this market (the next page index).
        pub array_pages: u16,
        /// @1002 Entries in use in `listed`.
        pub listed_count: u16,
        /// @1004 Explicit padding (zero).
        pub padding3: u32,
        /// @1008 The anchor of the current risk arrays (`keel_risk::array`).
        pub anchor: Anchor,
        /// @2488 The previous anchor: arrays not yet re-priced stay usable while it covers the
        /// market, so accounts keep trading while the crank works through the pages.
        pub prev_anchor: Anchor,
        /// @3968 The listed option series (strike points are chosen among them; `MAX_LISTED`).
        pub listed: [ListedOption; 128],
        /// @6016 The implied vol of the market's option fills, folded from its series by the
        /// vol crank (`keel_risk::vol::fills`): the implied vol of a market without a vol
        /// authority.
        pub fill_vol: FillVol,
        /// @6048 Room to grow without a migration.
        pub reserved: [u8; 224],
    }
}

impl Market {
    /// The listed option series as strike-point candidates.
    pub fn strike_candidates(&self) -> impl Iterator<Item = StrikeCandidate> + '_ {
        let n = (self.listed_count as usize).min(MAX_LISTED);
        self.listed[..n].iter().map(|l| StrikeCandidate {
            strike: l.strike_native,
            expiry: l.expiry_ts,
        })
    }

    /// Registers a listed option series; `false` when the register is full.
    pub fn list_option(&mut self, strike_native: i64, expiry_ts: i64) -> bool {
        let n = self.listed_count as usize;
        if n >= MAX_LISTED {
            return false;
        }
        self.listed[n] = ListedOption {
            strike_native,
            expiry_ts,
        };
        self.listed_count += 1;
        true
    }

    /// Removes one registered (strike, expiry) (a settled series); `false` if absent.
    pub fn unlist_option(&mut self, strike_native: i64, expiry_ts: i64) -> bool {
        let n = (self.listed_count as usize).min(MAX_LISTED);
        let want = ListedOption {
            strike_native,
            expiry_ts,
        };
        match self.listed[..n].iter().position(|l| *l == want) {
            Some(i) => {
                self.listed[i] = self.listed[n - 1];
                self.listed[n - 1] = bytemuck::Zeroable::zeroed();
                self.listed_count -= 1;
                true
            }
            None => false,
        }
    }

    /// Forgets both anchors (risk parameters changed: every array must be re-priced). The
    /// epoch moves past both, so no stored array matches either.
    pub fn invalidate_anchors(&mut self) {
        self.anchor = bytemuck::Zeroable::zeroed();
        self.prev_anchor = bytemuck::Zeroable::zeroed();
        self.anchor_epoch = self.anchor_epoch.saturating_add(2);
    }

    /// Whether the market has a vol authority (its implied vol is published); without one its
    /// implied vol is that of its own option fills (`fill_vol`).
    pub fn has_vol_authority(&self) -> bool {
        self.vol_authority != [0u8; 32]
    }

    /// Folds fills recorded in the market's series, `(time, level)` of each series' `fill_vol`,
    /// into the market's `fill_vol`, oldest first; those not newer than the market's last fold
    /// are skipped (the rate limit of `FillVol::observe` holds across folds, whichever series a
    /// crank passes). Returns how many were folded.
    pub fn fold_fills(&mut self, fills: &mut [(i64, keel_risk::Fx)]) -> keel_risk::RiskResult<u32> {
        fills.sort_unstable_by_key(|f| f.0);
        let p = FillVolParams::DEFAULT;
        let hist = self.vol_state.hist_vol.to_bits();
        let mut n = 0;
        for &(ts, level) in fills.iter() {
            if level <= keel_risk::Fx::ZERO || (self.fill_vol.fills > 0 && ts <= self.fill_vol.ts) {
                continue;
            }
            self.fill_vol
                .observe(level, p.full_notional, ts, hist, &p)?;
            n += 1;
        }
        Ok(n)
    }

    /// The implied vol to blend in at the crank: the published one where the market has a vol
    /// authority, else the implied vol of its fills (`fill_vol`); none if there is none yet.
    pub fn implied(&self) -> Option<keel_risk::ImpliedVol> {
        if !self.has_vol_authority() {
            return self.fill_vol.implied();
        }
        (self.implied_vol > keel_risk::Fx::ZERO).then_some(keel_risk::ImpliedVol {
            vol: self.implied_vol,
            ts: self.implied_vol_ts,
        })
    }
}

impl Market {
    /// How this market's contract price is formed from an oracle price.
    pub fn contract_spec(&self) -> crate::oracle::ContractSpec {
        crate::oracle::ContractSpec {
            size_mantissa: self.contract_size_mantissa,
            size_expo: self.contract_size_expo,
            quote_decimals: self.quote_decimals,
        }
    }

    /// The oracle guard rails every margin check applies: positive price, not older than
    /// `max_staleness_secs` at `now`, confidence/price ≤ `max_conf_bps`.
    pub fn check_reading(
        &self,
        r: &crate::OracleReading,
        now: i64,
    ) -> Result<(), crate::StateError> {
        use crate::StateError;
        if r.price <= 0 {
            return Err(StateError::OracleNonPositive);
        }
        if r.publish_time > now.saturating_add(MAX_ORACLE_FUTURE_SECS) {
            return Err(StateError::OracleFutureDated);
        }
        if now.saturating_sub(r.publish_time) > self.oracle.max_staleness_secs {
            return Err(StateError::OracleStale);
        }
        if crate::oracle::conf_bps(r) > self.oracle.max_conf_bps {
            return Err(StateError::OracleConfidence);
        }
        Ok(())
    }

    /// Oracle updates only move forward: `r` is refused if it was published before the newest
    /// update this market has accepted (`oracle_high_water_ts`).
    pub fn check_order(&self, r: &crate::OracleReading) -> Result<(), crate::StateError> {
        if r.publish_time < self.oracle_high_water_ts {
            return Err(crate::StateError::OracleOutOfOrder);
        }
        Ok(())
    }

    /// Records `r` as accepted: checks its order and raises the high-water mark.
    pub fn accept_reading(&mut self, r: &crate::OracleReading) -> Result<(), crate::StateError> {
        self.check_order(r)?;
        self.oracle_high_water_ts = r.publish_time;
        Ok(())
    }

    /// The stable price at `now` (per contract): the volatility state's, pulled toward the
    /// last observed price for at most the oracle's staleness window after that observation
    /// (`VolState::stable_price_at`), so a move held Δt seconds moves it at most
    /// e^(g·(Δt + max_staleness_secs)) − 1 whatever the crank cadence.
    pub fn stable_price_at(&self, now: i64) -> keel_risk::RiskResult<i64> {
        self.vol_state
            .stable_price_at(now, &self.risk_params, self.oracle.max_staleness_secs)
    }

    /// The vol crank (`update_volatility`) on an oracle `reading` already read and checked
    /// for freshness: the reading accepted as the newest, the fills of the market's series
    /// folded (a market without a vol authority; `fills` as [`Market::fold_fills`] takes them),
    /// the observation stepped and the oracle snapshot stored. The program runs it, keel-client
    /// predicts it with it. On an error the caller (the program, by failing the instruction;
    /// keel-client, by keeping its copy) discards the market.
    pub fn crank_volatility(
        &mut self,
        reading: &crate::OracleReading,
        fills: &mut [(i64, keel_risk::Fx)],
    ) -> Result<keel_risk::vol::VolStep, crate::StateError> {
        self.accept_reading(reading)?;
        let spec = self.contract_spec();
        let price = spec.price_native(reading)?;
        let conf = spec.conf_native(reading)?;
        if !self.has_vol_authority() && !fills.is_empty() {
            self.fold_fills(fills)?;
        }
        let step = self.observe(price, reading.publish_time)?;
        self.last_oracle = OracleSnapshot::of(reading, price, conf);
        Ok(step)
    }

    /// Folds the oracle observation `price` published at `ts` into the volatility state with
    /// the market's parameters, implied vol and staleness window (`VolState::observe`). The
    /// range vol moves only here: when a speed limit is set and it has moved the price range of
    /// either anchor beyond the arrays' tolerance, both anchors are forgotten
    /// (`invalidate_anchors`), so no check uses arrays built on another range (a margin or
    /// mark vol move is caught by the check itself).
    pub fn observe(
        &mut self,
        price: i64,
        ts: i64,
    ) -> keel_risk::RiskResult<keel_risk::vol::VolStep> {
        let (params, iv, pull) = (
            self.risk_params,
            self.implied(),
            self.oracle.max_staleness_secs,
        );
        let mut vol = self.vol_state;
        let step = vol.observe(price, ts, iv, &params, pull)?;
        let range = vol.range_sigma();
        // Without a speed limit the range vol is the margin vol, whose moves the check refuses
        // (`ArraysVolChanged`): nothing to forget.
        let holds = params.apc_max_rise_per_day == keel_risk::Fx::ZERO
            || range == self.vol_state.range_sigma()
            || (self.anchor.range_holds(range, &params)?
                && self.prev_anchor.range_holds(range, &params)?);
        self.vol_state = vol;
        if !holds {
            self.invalidate_anchors();
        }
        Ok(step)
    }

    /// The volatility state is recent enough for margin at `now`.
    pub fn check_vol_age(&self, now: i64) -> Result<(), crate::StateError> {
        if now.saturating_sub(self.vol_state.last_ts) > self.max_vol_age_secs {
            return Err(crate::StateError::VolStateStale);
        }
        Ok(())
    }
}
