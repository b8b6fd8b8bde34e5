//! A series: one tradable contract of a market (a call, put or future with a strike and expiry).

use crate::{layout, PubkeyBytes};
use keel_risk::vol::fills::{implied_vol, FillVol, FillVolParams};
use keel_risk::{Fx, RiskResult};

/// Series status: trading until expiry.
pub const SERIES_ACTIVE: u8 = 0;
/// Series status: settlement price fixed; positions can be realised.
pub const SERIES_SETTLED: u8 = 1;

layout! {
    /// A series account (PDA `["series", market, series_index u32 LE]`).
    ///
    /// Settlement pool: positions are realised one account at a time; losers pay into
    /// `settlement_pool_native` first and winners are paid from it, so the pool never goes
    /// negative and is exactly zero once every position is realised (Σ payouts = 0).
    pub struct Series [size = 288] {
        /// @0 Layout version.
        pub version: u8,
        /// @1 PDA bump.
        pub bump: u8,
        /// @2 `keel_risk::SeriesKind` as u8: 0 call, 1 put, 2 future.
        pub kind: u8,
        /// @3 `SERIES_ACTIVE` or `SERIES_SETTLED`.
        pub status: u8,
        /// @4 Index within the market (PDA seed).
        pub series_index: u32,
        /// @8 The exchange.
        pub exchange: PubkeyBytes,
        /// @40 The market.
        pub market: PubkeyBytes,
        /// @72 Strike per contract, quote native units (0 for futures).
        pub strike_native: i64,
        /// @80 Expiry, unix seconds.
        pub expiry_ts: i64,
        /// @88 Σ long contracts over all accounts (= Σ short contracts).
        pub open_interest_contracts: i64,
        /// @96 Margin accounts holding a position slot in this series.
        pub holders: u32,
        /// @100 Explicit padding (zero).
        pub padding0: u32,
        /// @104 Settlement price per contract, quote native units (once settled).
        pub settlement_price_native: i64,
        /// @112 Publish time of the oracle price it was fixed from.
        pub settlement_publish_ts: i64,
        /// @120 When `settle_series` ran.
        pub settled_at_ts: i64,
        /// @128 Losses paid in, not yet paid out (≥ 0).
        pub settlement_pool_native: i64,
        /// @136 Contract size mantissa (the market's, fixed at listing).
        pub contract_size_mantissa: i64,
        /// @144 Contract size exponent.
        pub contract_size_expo: i32,
        /// @148 Explicit padding (zero).
        pub padding1: u32,
        /// @152 Contracts traded (ever).
        pub volume_contracts: u64,
        /// @160 The market's risk-array page holding this series' array
        /// (`array_page::NO_PAGE` for a future).
        pub array_page: u16,
        /// @162 Its slot in that page.
        pub array_slot: u8,
        /// @163 Explicit padding (zero).
        pub padding2: [u8; 5],
        /// @168 The implied vol of this series' option fills, rate- and band-limited
        /// (`keel_risk::vol::fills`; recorded by `trade` on markets without a vol authority).
        pub fill_vol: FillVol,
        /// @200 Room to grow without a migration.
        pub reserved: [u8; 88],
    }
}

impl Series {
    /// The series kind, if the stored byte is valid.
    pub fn series_kind(&self) -> Option<keel_risk::SeriesKind> {
        keel_risk::SeriesKind::from_u8(self.kind)
    }

    /// Records a fill of `qty` contracts at `price` per contract (an option's premium) when
    /// the market's spot per contract is `spot` and its historical vol `hist`: its Black-76
    /// implied vol, if the fill carries one ([`implied_vol`]), folded into `fill_vol` with
    /// the notional |qty|·spot ([`FillVol::observe`]: rate- and band-limited; a full pull at
    /// 10,000 whole units of the quote token, `quote_decimals` its mint's decimals). Futures
    /// record nothing. Returns the fill's implied vol.
    pub fn record_fill(
        &mut self,
        spot: i64,
        price: i64,
        qty: i64,
        now: i64,
        hist: Fx,
        quote_decimals: u8,
    ) -> RiskResult<Option<Fx>> {
        let Some(kind) = self.series_kind().filter(|k| k.is_option()) else {
            return Ok(None);
        };
        let p = FillVolParams::for_quote_decimals(quote_decimals);
        let t = self.expiry_ts.saturating_sub(now);
        let Some(sigma) = implied_vol(kind, spot, self.strike_native, t, price, &p)? else {
            return Ok(None);
        };
        let notional = (qty.unsigned_abs() as i64).saturating_mul(spot);
        self.fill_vol
            .observe(sigma, notional, now, hist.to_bits(), &p)?;
        Ok(Some(sigma))
    }

    /// Payoff per contract at settlement price `s`: max(s − K, 0), max(K − s, 0) or s.
    pub fn payoff_per_contract(&self, s: i64) -> Option<i64> {
        match self.series_kind()? {
            keel_risk::SeriesKind::Call => Some(s.checked_sub(self.strike_native)?.max(0)),
            keel_risk::SeriesKind::Put => Some(self.strike_native.checked_sub(s)?.max(0)),
            keel_risk::SeriesKind::Future => Some(s),
        }
    }
}
