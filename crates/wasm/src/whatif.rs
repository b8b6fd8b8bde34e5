//! An account's margin as keel-client's `Snapshot::margin_detail` computes it — its pending share
//! of socialised losses charged, each market it uses read with the oracle identity checks, every
//! correlation given, `keel_state::compute_margin` at `now` — optionally under a what-if: every
//! oracle price (and its confidence) times `spot_mult`, every market's vol in force (margin and
//! mark vol) times `vol_mult`. The stable price is left where it is (an instant move).
//!
//! Margin is read from the risk-array pages given (docs/risk-model.md §4.8), as after the
//! permissionless crank: each market re-anchors when its anchor is due at the (shifted) reading
//! and every slot not priced at the anchor is priced (`keel_state::crank`, the program's own
//! transitions), as keel-client's `Snapshot::with_arrays_cranked` predicts. With arrays already
//! fresh this changes nothing; under a what-if move it re-anchors, as a keeper's crank would.

use crate::frame::Frame;
use crate::report;
use keel_risk::{Fx, MarginBreakdown};
use keel_state::{
    discriminator as d, read_account, ArrayPage, Correlation, Exchange, MarginAccount,
    MarginInputs, Market, MarketReading, OracleReading,
};

/// 1.0 in Q32.32: a multiplier that changes nothing.
pub const ONE: i64 = 1 << 32;

/// `v × mult` (Q32.32), rounded down; `None` when it leaves `i64`.
fn scale(v: i64, mult: i64) -> Option<i64> {
    if mult == ONE {
        return Some(v);
    }
    i64::try_from((v as i128 * mult as i128) >> 32).ok()
}

fn shift_reading(r: &mut OracleReading, mult: i64) -> Result<(), String> {
    r.price = scale(r.price, mult).ok_or("price overflow")?;
    let conf = i64::try_from(r.conf).map_err(|_| "confidence overflow")?;
    r.conf = scale(conf, mult).ok_or("confidence overflow")?.max(0) as u64;
    Ok(())
}

fn shift_vol(m: &mut Market, mult: i64) -> Result<(), String> {
    let v = &mut m.vol_state;
    v.margin_vol = Fx::from_bits(scale(v.margin_vol.to_bits(), mult).ok_or("vol overflow")?);
    v.raw_vol = Fx::from_bits(scale(v.raw_vol.to_bits(), mult).ok_or("vol overflow")?);
    Ok(())
}

/// A breakdown with the keys of its markets and the series and quantity of its positions.
pub struct Margin {
    pub breakdown: Box<MarginBreakdown>,
    /// Its liquidation level, the test `liquidate` applies and what `withdraw` accepts (the
    /// exchange's liquidation parameters; `keel_risk::liquidation::status`).
    pub status: keel_risk::liquidation::LiquidationStatus,
    pub market_keys: Vec<[u8; 32]>,
    pub positions: Vec<([u8; 32], i64)>,
}

/// The margin of the frame's account.
pub fn margin(f: &Frame) -> Result<Margin, String> {
    let state = |what: &str, e: keel_state::StateError| format!("{what}: {e:?}");
    let ex: Exchange = read_account(f.exchange, &d::EXCHANGE).map_err(|e| state("exchange", e))?;
    let mut acc: Box<MarginAccount> =
        Box::new(read_account(f.account, &d::MARGIN_ACCOUNT).map_err(|e| state("account", e))?);
    keel_state::social::apply(&mut acc, &ex);
    let mut markets: Vec<([u8; 32], Box<Market>, OracleReading)> = Vec::new();
    for (_, key) in acc.used_markets() {
        let blob = f
            .markets
            .iter()
            .find(|m| m.key == *key)
            .ok_or_else(|| "MissingMarket".to_string())?;
        let mut market: Box<Market> =
            Box::new(read_account(blob.market, &d::MARKET).map_err(|e| state("market", e))?);
        let mut reading = keel_state::oracle::read_identity(
            &market.oracle,
            &blob.oracle_key,
            &blob.oracle_owner,
            blob.oracle_data,
        )
        .map_err(|e| state("oracle", e))?;
        shift_reading(&mut reading, f.spot_mult)?;
        shift_vol(&mut market, f.vol_mult)?;
        markets.push((*key, market, reading));
    }
    let correlations: Vec<Correlation> = f
        .correlations
        .iter()
        .map(|c| read_account(c, &d::CORRELATION).map_err(|e| state("correlation", e)))
        .collect::<Result<_, _>>()?;
    let corr_refs: Vec<&Correlation> = correlations.iter().collect();
    let mut pages: Vec<Box<ArrayPage>> = f
        .pages
        .iter()
        .map(|p| {
            read_account::<ArrayPage>(p, &d::ARRAY_PAGE)
                .map(Box::new)
                .map_err(|e| state("array page", e))
        })
        .collect::<Result<_, _>>()?;
    // The crank's transitions, as a keeper would run them before this check (a market whose
    // valuation fails is left as it is: the margin check then names the error).
    for (key, market, reading) in markets.iter_mut() {
        let Ok(v) = market.valuation(reading, f.now) else {
            continue;
        };
        let before = **market;
        if market.reanchor_if_due(&v, f.now).is_err() {
            **market = before;
            continue;
        }
        for page in pages.iter_mut().filter(|p| p.market == *key) {
            for slot in page.slots.iter_mut() {
                // A slot the program could not price stays as it is (its check then fails).
                let _ = market.price_slot(slot);
            }
        }
    }
    let page_refs: Vec<&ArrayPage> = pages.iter().map(|p| &**p).collect();
    let readings: Vec<MarketReading> = markets
        .iter()
        .map(|(key, market, oracle)| MarketReading {
            key: *key,
            market,
            oracle: *oracle,
        })
        .collect();
    let mut inputs = Box::new(MarginInputs::new());
    let mut out = Box::new(MarginBreakdown::default());
    keel_state::compute_margin(
        &acc,
        None,
        &readings,
        &page_refs,
        &corr_refs,
        f.now,
        &mut inputs,
        &mut out,
    )
    .map_err(|e| format!("{e:?}"))?;
    let market_keys = (0..out.n_markets as usize)
        .map(|i| inputs.market_keys[i])
        .collect();
    let positions = (0..out.n_positions as usize)
        .map(|i| {
            let slot = &acc.positions[inputs.position_slots[i] as usize];
            (slot.series, slot.qty_contracts)
        })
        .collect();
    let status = keel_risk::liquidation::status(&out, &ex.liquidation_params)
        .map_err(|e| format!("{e:?}"))?;
    Ok(Margin {
        breakdown: out,
        status,
        market_keys,
        positions,
    })
}

/// [`margin`] of a frame as JSON ([`report::margin_report`]), or `{"error": …}`.
pub fn margin_json(input: &[u8]) -> String {
    let r = Frame::parse(input)
        .map_err(String::from)
        .and_then(|f| margin(&f).map(|m| (f.account_key, f.now, m)));
    match r {
        Ok((key, now, m)) => report::margin_report(
            &key,
            now,
            &m.breakdown,
            &m.market_keys,
            &m.positions,
            &m.status,
        ),
        Err(e) => report::error(&e),
    }
}

/// Each market's oracle price and confidence per contract (quote native units) and publish
/// time, as keel-client's `MarketView::price_native` reads them, as JSON.
pub fn prices_json(input: &[u8]) -> String {
    let f = match Frame::parse(input) {
        Ok(f) => f,
        Err(e) => return report::error(e),
    };
    let rows: Vec<String> = f
        .markets
        .iter()
        .map(|m| {
            let r = read_account::<Market>(m.market, &d::MARKET)
                .and_then(|market| {
                    let reading = keel_state::oracle::read_identity(
                        &market.oracle,
                        &m.oracle_key,
                        &m.oracle_owner,
                        m.oracle_data,
                    )?;
                    let spec = market.contract_spec();
                    Ok((
                        spec.price_native(&reading)?,
                        spec.conf_native(&reading)?,
                        reading.publish_time,
                    ))
                })
                .map_err(|e| format!("{e:?}"));
            report::price(&m.key, r)
        })
        .collect();
    format!("[{}]", rows.join(","))
}
