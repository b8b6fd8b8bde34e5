//! The reference book and its margin: short one call and one put struck at the money with 30 days
//! to expiry (keel-backtest's `short_straddle`), margined by keel-risk as the program margins an
//! account — positions marked at the mark vol, the scenario grid at the margin vol, IM at the
//! stable price — with no collateral.

use keel_risk::breakdown::MarginBreakdown;
use keel_risk::{
    compute, Correlations, MarketInput, Portfolio, PositionInput, RiskParams, SeriesKind, VolState,
};

/// How long an observation pulls the stable price (on chain, the market's oracle staleness
/// window). Unbounded, as in keel-backtest: the monitor reads the crank's own state, and its
/// replays crank once per bar (a bar's close stands for every crank through the bar).
pub const PULL_SECS: i64 = i64::MAX;

/// Days to expiry of the reference book when it is struck.
pub const TENOR_DAYS: i64 = 30;

/// A struck reference book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Book {
    /// Strike per contract (quote native units): the spot when struck.
    pub strike: i64,
    /// Expiry (unix seconds).
    pub expiry: i64,
}

/// What keel-risk says of the book at one time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Valued {
    /// Maintenance margin (the capital above the book's value the engine requires).
    pub mm: i64,
    /// Initial margin.
    pub im: i64,
    /// The book's value at the engine's marks (negative: it is short).
    pub value: i64,
}

impl Book {
    /// The book struck at `spot` at `now`.
    pub fn strike(spot: i64, now: i64) -> Book {
        Book {
            strike: spot,
            expiry: now + TENOR_DAYS * 86_400,
        }
    }

    /// Its margin and value at `spot` with the market's vol state and parameters at `now`.
    /// The tracker values at the crank's own time, where no time has passed for the stable price
    /// to be pulled (and the book's MM does not read it): `PULL_SECS` changes nothing there.
    pub fn value(
        &self,
        spot: i64,
        vol: &VolState,
        p: &RiskParams,
        now: i64,
    ) -> Result<Valued, String> {
        let market = MarketInput {
            spot,
            stable_spot: vol
                .stable_price_at(now, p, PULL_SECS)
                .map_err(|e| format!("stable price: {e:?}"))?,
            conf: 0,
            sigma: vol.margin_vol,
            range_sigma: vol.range_sigma(),
            mark_sigma: vol.mark_vol(),
            realised_sigma: vol.realised_vol,
            params: p,
        };
        let leg = |kind| PositionInput {
            market: 0,
            kind,
            strike: self.strike,
            expiry: self.expiry,
            qty: -1,
            cash: 0,
        };
        let positions = [leg(SeriesKind::Call), leg(SeriesKind::Put)];
        let markets = [market];
        let portfolio = Portfolio {
            collateral: 0,
            positions: &positions,
            markets: &markets,
            correlations: &Correlations::NONE,
            now,
        };
        let mut b = Box::<MarginBreakdown>::default();
        compute(&portfolio, &mut b).map_err(|e| format!("margin: {e:?}"))?;
        Ok(Valued {
            mm: b.mm,
            im: b.im,
            value: b.positions[..2].iter().map(|r| r.value).sum(),
        })
    }
}
