//! The glue to keel-risk: contract scaling, the volatility crank (one `VolState::observe` per bar
//! close, as the on-chain crank does) and the margin of a book at one time through
//! `keel_risk::compute`. Every Keel margin figure of the backtest comes from here.

use crate::data::{Series, DAY};
use keel_risk::breakdown::MarginBreakdown;
use keel_risk::pricing::black76;
use keel_risk::vol::fills::{implied_vol, FillVol, FillVolParams};
use keel_risk::{
    compute, Correlations, Fx, ImpliedVol, MarketInput, Portfolio, PositionInput, RiskParams,
    SeriesKind, VolState,
};

/// Quote native units per quote unit (6 decimals, like USDC).
pub const QUOTE: f64 = 1_000_000.0;

/// How long an observation pulls the stable price (`VolState::observe`; on chain, the market's
/// oracle staleness window). Unbounded here: a bar's close stands for the price a keeper saw at
/// every crank through the bar (one at least every staleness window), which pulls for the whole
/// bar.
pub const PULL_SECS: i64 = i64::MAX;

/// Contract size (in units of the asset) chosen so a contract is worth between ~300 and ~3,000
/// quote units at the first bar: a power of ten, so any asset from 1e-8 to 1e6 per unit fits the
/// engine's i64 native amounts with room to move 1000× either way.
pub fn contract_size(first_close: f64) -> f64 {
    10f64.powi((1000.0 / first_close).log10().round() as i32)
}

/// A price per contract in quote native units.
pub fn native(price: f64, contract: f64) -> i64 {
    (price * contract * QUOTE).round().max(1.0) as i64
}

/// What feeds the market's vol-feed account at each bar: `None` or the last published value.
pub type Feed = Vec<Option<ImpliedVol>>;

/// The implied vol an IV series publishes at each bar close: the last IV close at or before it.
/// Stamped with the IV bar's own close time (`republish = false`: the engine's staleness rule
/// then fades it out between IV bars), or with the price bar's time (`republish = true`: what a
/// keeper that republishes the latest known value at every crank would send — the default when
/// the IV file is coarser than the prices, because the live feed it stands for is not).
pub fn feed_from_iv(prices: &Series, iv: &Series, republish: bool) -> Feed {
    prices
        .bars
        .iter()
        .map(|b| {
            iv.last_at_or_before(b.ts).map(|j| ImpliedVol {
                vol: Fx::from_num(iv.bars[j].close / 100.0),
                ts: if republish { b.ts } else { iv.bars[j].ts },
            })
        })
        .collect()
}

/// An error of the engine at a given bar.
#[derive(Debug)]
pub struct EngineError(pub String);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EngineError {}

/// Days to expiry of the option each bar's fill trades (`Fills`).
pub const FILL_DAYS: i64 = 30;

/// The market's own option fills as the engine's only source of implied vol (issue 16 §2): at
/// each bar, just before the crank, one fill of a `FILL_DAYS` at-the-money call at the market's
/// mark vol (the market price), of `full_notional`; keel-risk's `vol::fills` turns its price
/// back into a vol and folds it into the market's `FillVol`, whose level the crank reads as its
/// implied vol. An active market, where something trades within `iv_fresh_secs` of every crank,
/// is the assumption (the bar's mark is the price it trades at).
#[derive(Clone, Copy, Debug)]
pub struct Fills<'a> {
    /// The market's mark vol at each bar (`Asset::mark_vols`); no fill where `None`.
    pub marks: &'a [Option<f64>],
    /// The fill-implied vol's limits.
    pub params: FillVolParams,
    /// A fill before every `every`-th crank only (1: every crank; a thinner market).
    pub every: usize,
}

/// What a variant's fills are: the limits and how often a fill happens (`Fills`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillConfig {
    /// The fill-implied vol's limits.
    pub params: FillVolParams,
    /// A fill before every `every`-th crank (≥ 1).
    pub every: usize,
}

/// Cranks a fresh `VolState` through every close of `s`: element i is the state after bar i.
/// `feed[i]` (if any) is the vol-feed value visible at bar i.
pub fn crank(
    s: &Series,
    contract: f64,
    p: &RiskParams,
    feed: Option<&Feed>,
) -> Result<Vec<VolState>, EngineError> {
    crank_with(s, contract, p, feed, None)
}

/// [`crank`], with the implied vol taken from the market's fills instead of the feed when
/// `fills` is given.
pub fn crank_with(
    s: &Series,
    contract: f64,
    p: &RiskParams,
    feed: Option<&Feed>,
    fills: Option<&Fills>,
) -> Result<Vec<VolState>, EngineError> {
    let first = &s.bars[0];
    let mut st = VolState::new(native(first.close, contract), first.ts, p)
        .map_err(|e| EngineError(format!("{}: VolState::new: {e:?}", s.name)))?;
    let mut out = Vec::with_capacity(s.bars.len());
    out.push(st);
    let mut fill_vol = FillVol::default();
    for (i, b) in s.bars.iter().enumerate().skip(1) {
        let iv = match fills {
            Some(f) => {
                let due = i % f.every.max(1) == 0;
                if let Some(mark) = f.marks.get(i).copied().flatten().filter(|_| due) {
                    let fwd = native(b.close, contract);
                    let t = FILL_DAYS * DAY;
                    let fill = black76(SeriesKind::Call, fwd, fwd, Fx::from_num(mark), t)
                        .and_then(|price| {
                            implied_vol(SeriesKind::Call, fwd, fwd, t, price, &f.params)
                        })
                        .map_err(|e| EngineError(format!("{}: fill: {e:?}", s.name)))?;
                    if let Some(sigma) = fill {
                        fill_vol
                            .observe(
                                sigma,
                                f.params.full_notional,
                                b.ts,
                                st.hist_vol.to_bits(),
                                &f.params,
                            )
                            .map_err(|e| EngineError(format!("{}: fill vol: {e:?}", s.name)))?;
                    }
                }
                fill_vol.implied()
            }
            None => feed.and_then(|f| f[i]),
        };
        st.observe(native(b.close, contract), b.ts, iv, p, PULL_SECS)
            .map_err(|e| {
                EngineError(format!(
                    "{}: VolState::observe at {}: {e:?}",
                    s.name,
                    s.label(b.ts)
                ))
            })?;
        out.push(st);
    }
    Ok(out)
}

/// One leg of a book at valuation time: everything keel-risk needs, in native units.
#[derive(Clone, Copy, Debug)]
pub struct Leg {
    /// Index of the market in the book's market list.
    pub market: u8,
    /// Call, put or future.
    pub kind: SeriesKind,
    /// Strike per contract (native; 0 for futures).
    pub strike: i64,
    /// Expiry (unix seconds).
    pub expiry: i64,
    /// Contracts (> 0 long).
    pub qty: i64,
    /// Futures entry price per contract (native; the position's cash is −qty·entry).
    pub entry: i64,
}

/// One market's state at valuation time.
#[derive(Clone, Copy, Debug)]
pub struct MarketAt {
    /// Oracle price per contract (native).
    pub spot: i64,
    /// The vol state after the bar.
    pub vol: VolState,
    /// Oracle confidence as a fraction of the price.
    pub conf_frac: f64,
}

/// Keel's margin figures for a book.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeelMargin {
    /// Maintenance margin.
    pub mm: i64,
    /// Initial margin.
    pub im: i64,
    /// Σ position values at the engine's marks (its mark vol), futures' cash included.
    pub value: i64,
}

/// Margins a book with keel-risk at `now`, as the program does: positions marked at the mark vol
/// (`VolState::mark_vol`), the scenario grid at the margin vol. `b` is scratch space (~6 KiB,
/// reused).
pub fn margin(
    legs: &[Leg],
    markets: &[MarketAt],
    p: &RiskParams,
    now: i64,
    b: &mut MarginBreakdown,
) -> Result<KeelMargin, EngineError> {
    margin_marked(legs, markets, p, now, b, false)
}

/// The what-if of scenario P&L *relative to the margin vol*: keel-risk with the positions marked
/// at the margin vol, so that each scenario's loss is V(F_s, σ_m·mult_s) − V(S, σ_m) — a shift
/// of the margin vol's own base, with no vega × (σ_m − σ_mark) term in it. Its MM, added to the
/// market value of the positions, is the margin of an engine that marks at the market and applies
/// the grid's P&L as shocks (docs/validation.md, "The frontier", what-if (c)). Not what the
/// program computes.
pub fn margin_relative_what_if(
    legs: &[Leg],
    markets: &[MarketAt],
    p: &RiskParams,
    now: i64,
    b: &mut MarginBreakdown,
) -> Result<KeelMargin, EngineError> {
    margin_marked(legs, markets, p, now, b, true)
}

fn margin_marked(
    legs: &[Leg],
    markets: &[MarketAt],
    p: &RiskParams,
    now: i64,
    b: &mut MarginBreakdown,
    at_margin_vol: bool,
) -> Result<KeelMargin, EngineError> {
    let mut mk = [MarketInput {
        spot: 1,
        stable_spot: 1,
        conf: 0,
        sigma: Fx::ZERO,
        range_sigma: Fx::ZERO,
        mark_sigma: Fx::ZERO,
        realised_sigma: Fx::ZERO,
        params: p,
    }; keel_risk::MAX_MARKETS];
    for (slot, m) in mk.iter_mut().zip(markets) {
        *slot = MarketInput {
            spot: m.spot,
            stable_spot: m
                .vol
                .stable_price_at(now, p, PULL_SECS)
                .map_err(|e| EngineError(format!("stable price: {e:?}")))?,
            conf: (m.spot as f64 * m.conf_frac).round() as i64,
            sigma: m.vol.margin_vol,
            range_sigma: m.vol.range_sigma(),
            mark_sigma: if at_margin_vol {
                m.vol.margin_vol
            } else {
                m.vol.mark_vol()
            },
            realised_sigma: m.vol.realised_vol,
            params: p,
        };
    }
    let mut pos = [PositionInput {
        market: 0,
        kind: SeriesKind::Future,
        strike: 0,
        expiry: 0,
        qty: 0,
        cash: 0,
    }; keel_risk::MAX_POSITIONS];
    for (slot, l) in pos.iter_mut().zip(legs) {
        *slot = PositionInput {
            market: l.market,
            kind: l.kind,
            strike: l.strike,
            expiry: l.expiry,
            qty: l.qty,
            cash: if l.kind == SeriesKind::Future {
                -l.qty * l.entry
            } else {
                0
            },
        };
    }
    let portfolio = Portfolio {
        collateral: 0,
        positions: &pos[..legs.len()],
        markets: &mk[..markets.len()],
        correlations: &Correlations::NONE,
        now,
    };
    compute(&portfolio, b).map_err(|e| EngineError(format!("margin: {e:?}")))?;
    let value = b.positions[..legs.len()].iter().map(|r| r.value).sum();
    Ok(KeelMargin {
        mm: b.mm,
        im: b.im,
        value,
    })
}

/// keel-risk parameters with every anti-procyclicality control of the vol state switched off:
/// no floor, no stressed weight, no buffer and no limit on how fast margin vol may fall.
pub fn without_apc(p: &RiskParams) -> RiskParams {
    let mut q = *p;
    q.apc_floor_vol = Fx::ZERO;
    q.apc_stressed_weight = Fx::ZERO;
    q.apc_buffer = Fx::ZERO;
    q.apc_max_fall_per_day = Fx::ONE;
    q
}

/// `without_apc`, and also without the two static floors that hold margin up in calm markets:
/// the range floor at its lower bound and no short-option minimum for MM. What is left is margin
/// that scales with the vol in force and nothing else.
pub fn without_apc_or_floors(p: &RiskParams) -> RiskParams {
    let mut q = without_apc(p);
    q.range_floor = RiskParams::FX_BOUNDS
        .iter()
        .find(|b| b.0 == "range_floor")
        .map_or(Fx::lit("0.005"), |b| b.1);
    q.short_min_mm = Fx::ZERO;
    q
}

/// The parameters with an EMIR art. 28(1)(a) release buffer of 25%, held in calm markets and
/// released no faster than 5% a day — the textbook anti-procyclicality tool, for comparison.
pub fn with_apc_buffer(p: &RiskParams) -> RiskParams {
    let mut q = *p;
    q.apc_buffer = Fx::lit("0.25");
    q.apc_max_fall_per_day = Fx::lit("0.05");
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fill-implied vol reaches the crank only from fills: a fill before every crank keeps
    /// it stamped at each bar, a fill before every 3rd leaves the bars between carrying the last
    /// fill's time (so the blend sees it age), and no marks mean no implied vol at all.
    #[test]
    fn fills_stamp_the_implied_vol_at_the_bars_they_happen() {
        let mut text = String::from("date,open,high,low,close\n");
        for d in 0..10 {
            let px = 60_000.0 * (1.0 + 0.01 * (d % 3) as f64);
            text += &format!("2024-01-{:02},{px},{px},{px},{px}\n", d + 1);
        }
        let s = crate::data::parse("t.csv", &text, crate::data::Kind::Prices).unwrap();
        let p = RiskParams::DEFAULT;
        let marks = vec![Some(0.6); s.bars.len()];
        let run = |every: usize, marks: &[Option<f64>]| {
            let f = Fills {
                marks,
                params: FillVolParams::DEFAULT,
                every,
            };
            crank_with(&s, 0.01, &p, None, Some(&f)).unwrap()
        };
        let plain = crank(&s, 0.01, &p, None).unwrap();
        let each = run(1, &marks);
        let third = run(3, &marks);
        let none = run(1, &vec![None; s.bars.len()]);
        // Without marks nothing trades: the plain crank, bit for bit.
        assert_eq!(none, plain);
        // Every bar: the blend pulls the raw vol toward the fills' 60%.
        for i in 1..s.bars.len() {
            assert_ne!(each[i].raw_vol, plain[i].raw_vol, "bar {i}");
        }
        // Every third bar: on the bars between, the last fill is a day or two old, past the
        // 6-hour staleness: the crank is the plain one there.
        assert_ne!(third[3].raw_vol, plain[3].raw_vol);
        assert_eq!(third[4].raw_vol, plain[4].raw_vol);
        assert_eq!(third[5].raw_vol, plain[5].raw_vol);
        assert_ne!(third[6].raw_vol, plain[6].raw_vol);
    }

    /// Where the scan sets MM, what an account must hold above its positions' value at *any*
    /// common mark — MM − Σ value — is the worst MM scenario's value at the margin vol: the mark
    /// vol cancels. So the engine's liquidation trigger is the same whether positions are marked
    /// at the mark vol (the program) or at the margin vol (`margin_relative_what_if`); only the
    /// split between MM and equity moves. (The add-ons, which use the greeks at the mark vol, and
    /// the short-option minimum where it binds, are the exceptions; the impact add-on is off here.)
    #[test]
    fn the_liquidation_trigger_does_not_depend_on_the_mark_vol_where_the_scan_sets_mm() {
        let p = RiskParams {
            impact_coef: Fx::ZERO,
            ..RiskParams::DEFAULT
        };
        let spot = 50_000_000_000i64;
        let mut vol = VolState::new(spot, 0, &p).unwrap();
        vol.raw_vol = Fx::lit("0.6");
        vol.margin_vol = Fx::lit("0.8"); // a buffered margin vol above the mark vol
        let legs = [SeriesKind::Call, SeriesKind::Put].map(|kind| Leg {
            market: 0,
            kind,
            strike: spot,
            expiry: 30 * 86_400,
            qty: -1,
            entry: spot,
        });
        let mk = [MarketAt {
            spot,
            vol,
            conf_frac: 0.0,
        }];
        let mut b = MarginBreakdown::default();
        let at_mark = margin(&legs, &mk, &p, 0, &mut b).unwrap();
        let short_min = 2 * (spot as f64 * p.short_min_mm.to_num::<f64>()) as i64;
        assert!(b.mm > short_min, "the scan sets MM here");
        let at_margin = margin_relative_what_if(&legs, &mk, &p, 0, &mut b).unwrap();
        assert!(
            at_mark.mm > at_margin.mm,
            "MM carries the vega gap at the mark vol"
        );
        assert!(
            at_mark.value > at_margin.value,
            "the short is worth less at the lower vol"
        );
        let hold = |k: KeelMargin| k.mm - k.value;
        // Equal up to the valuation allowance's rounding (a few native units per contract).
        assert!(
            (hold(at_mark) - hold(at_margin)).abs() <= 8,
            "{} vs {}",
            hold(at_mark),
            hold(at_margin)
        );
    }

    #[test]
    fn comparison_variants_switch_exactly_their_controls() {
        let p = RiskParams::DEFAULT;
        let off = without_apc_or_floors(&p);
        assert_eq!(off.violation(), None);
        assert_eq!(off.apc_buffer, Fx::ZERO);
        assert_eq!(off.apc_stressed_weight, Fx::ZERO);
        assert_eq!(off.apc_floor_vol, Fx::ZERO);
        assert_eq!(off.apc_max_fall_per_day, Fx::ONE);
        assert_eq!(off.short_min_mm, Fx::ZERO);
        assert_eq!(
            off.range_floor,
            Fx::lit("0.005"),
            "the range floor's lower bound"
        );
        assert_eq!(off.im_range_sigmas, p.im_range_sigmas, "nothing else moves");
        assert_eq!(off.iv_weight, p.iv_weight);
        let buf = with_apc_buffer(&p);
        assert_eq!(buf.violation(), None);
        assert_eq!(buf.apc_buffer, Fx::lit("0.25"));
        assert_eq!(buf.apc_max_fall_per_day, Fx::lit("0.05"));
        assert_eq!(
            RiskParams {
                apc_buffer: p.apc_buffer,
                apc_max_fall_per_day: p.apc_max_fall_per_day,
                ..buf
            },
            p
        );
    }
}
