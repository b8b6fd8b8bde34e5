//! The reference portfolios, re-struck at every evaluation time: strikes relative to the spot of
//! the day, a fixed tenor, a fixed number of contracts (so margin in quote units moves with both
//! price and vol, as an account's would).

use keel_risk::SeriesKind;
use serde::Serialize;

/// One leg, relative to the market of the day.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LegSpec {
    /// Which market of the book (0 = the first asset, 1 = the second).
    pub market: u8,
    /// Call, put or future.
    #[serde(serialize_with = "kind_name")]
    pub kind: SeriesKind,
    /// Strike / spot (ignored for futures).
    pub moneyness: f64,
    /// Days to expiry at the trade.
    pub tenor_days: i64,
    /// Contracts (> 0 long, < 0 short).
    pub qty: i64,
}

fn kind_name<S: serde::Serializer>(k: &SeriesKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match k {
        SeriesKind::Call => "call",
        SeriesKind::Put => "put",
        SeriesKind::Future => "future",
    })
}

/// A named book.
#[derive(Clone, Debug, Serialize)]
pub struct PortfolioSpec {
    /// Short name used in tables and JSON.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Its legs.
    pub legs: Vec<LegSpec>,
}

impl PortfolioSpec {
    /// Markets the book needs.
    pub fn markets(&self) -> usize {
        self.legs
            .iter()
            .map(|l| l.market as usize + 1)
            .max()
            .unwrap_or(1)
    }

    /// Whether any leg is an option (needs a mark vol).
    pub fn has_options(&self) -> bool {
        self.legs.iter().any(|l| l.kind.is_option())
    }
}

const fn leg(market: u8, kind: SeriesKind, moneyness: f64, tenor_days: i64, qty: i64) -> LegSpec {
    LegSpec {
        market,
        kind,
        moneyness,
        tenor_days,
        qty,
    }
}

use SeriesKind::{Call, Future, Put};

/// The reference portfolios on one underlying. The first is the one the bar is set on.
pub fn single_asset() -> Vec<PortfolioSpec> {
    vec![
        PortfolioSpec {
            name: "short_straddle",
            description: "short 30-day ATM call + put",
            legs: vec![leg(0, Call, 1.0, 30, -1), leg(0, Put, 1.0, 30, -1)],
        },
        PortfolioSpec {
            name: "short_strangle",
            description: "short 30-day 110% call + 90% put",
            legs: vec![leg(0, Call, 1.1, 30, -1), leg(0, Put, 0.9, 30, -1)],
        },
        PortfolioSpec {
            name: "covered_call",
            description: "long future + short 30-day 110% call",
            legs: vec![leg(0, Future, 0.0, 30, 1), leg(0, Call, 1.1, 30, -1)],
        },
        PortfolioSpec {
            name: "risk_reversal",
            description: "long 30-day 110% call + short 90% put",
            legs: vec![leg(0, Call, 1.1, 30, 1), leg(0, Put, 0.9, 30, -1)],
        },
        PortfolioSpec {
            name: "put_spread",
            description: "short 30-day ATM put + long 90% put (credit spread)",
            legs: vec![leg(0, Put, 1.0, 30, -1), leg(0, Put, 0.9, 30, 1)],
        },
        PortfolioSpec {
            name: "long_future",
            description: "long 1 future",
            legs: vec![leg(0, Future, 0.0, 30, 1)],
        },
        PortfolioSpec {
            name: "short_future",
            description: "short 1 future",
            legs: vec![leg(0, Future, 0.0, 30, -1)],
        },
    ]
}

/// The mixed book on two underlyings (needs a second `--prices`). Contract counts are per
/// market; `Book::sized` scales them to equal notional at the start of the run.
pub fn mixed() -> PortfolioSpec {
    PortfolioSpec {
        name: "mixed_book",
        description: "asset 1: short straddle + short 30% future hedge; asset 2: short strangle + long future; 7- and 30-day legs",
        legs: vec![
            leg(0, Call, 1.0, 30, -10),
            leg(0, Put, 1.0, 30, -10),
            leg(0, Future, 0.0, 30, -3),
            leg(0, Put, 0.85, 7, 5),
            leg(1, Call, 1.1, 30, -10),
            leg(1, Put, 0.9, 30, -10),
            leg(1, Future, 0.0, 30, 5),
            leg(1, Call, 1.05, 7, -5),
        ],
    }
}
