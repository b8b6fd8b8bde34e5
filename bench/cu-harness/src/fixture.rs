//! The accounts of one benchmark run, built with keel-state's own layout types and serialized
//! with Anchor's discriminators exactly as the program stores them.
//!
//! The markets' risk arrays are set up with keel-state's own crank transitions, as
//! `crank_arrays` leaves them: every option position's (strike, expiry) in its market's listed
//! register, the market anchored at the valuation time (`Market::reanchor_if_due`) and each
//! position's slot in a page priced there (`Market::price_slot`) — or left unpriced for the
//! crank case, or the anchor left due for the anchor case.

use crate::PROGRAM_ID;
use keel_cu_bench::{Arrays, Case};
use keel_risk::{Anchor, LiquidationParams, MarginBreakdown, RiskParams, VolState};
use keel_state::array_page::PAGE_SERIES;
use keel_state::oracle::PRICE_UPDATE_V2_DISCRIMINATOR;
use keel_state::{
    compute_margin, discriminator, ArrayPage, Exchange, MarginAccount, MarginInputs, Market,
    MarketReading, OracleReading, Position, LAYOUT_VERSION,
};
use solana_account::Account;
use solana_address::Address;

/// Valuation time of every run.
pub const NOW: i64 = 1_700_000_000;
/// Seconds the liquidated account has been below MM (drives the bonus ramp).
pub const LIQUIDATION_ELAPSED_SECS: i64 = 120;
const DAY: i64 = 86_400;
/// Pyth receiver program (owner of `PriceUpdateV2` accounts).
const PYTH_RECEIVER: Address = Address::new_from_array([0x0C; 32]);

/// Underlyings of the runs: USD price, contract size exponent (10^e units per contract).
const UNDERLYINGS: [(i64, i32); 4] = [(60_000, -2), (3_000, -1), (150, 0), (600, -1)];

/// Seconds before the valuation time at which the anchor case's market was last anchored: past
/// half the default `array_max_age_secs` (600), so the anchor is due, yet still usable.
const DUE_ANCHOR_AGE_SECS: i64 = 400;

/// The accounts of one run, in the instruction's order after the output account.
pub struct Fixture {
    /// (address, account, writable) for the exchange, the margin account, the market/oracle
    /// pairs, then the risk-array pages.
    pub accounts: Vec<(Address, Account, bool)>,
    /// Markets passed.
    pub n_markets: usize,
    /// Pages passed (after the markets).
    pub n_pages: usize,
}

fn key(tag: u8, i: usize) -> Address {
    let mut k = [tag; 32];
    k[31] = i as u8;
    Address::new_from_array(k)
}

fn keel_account<T: bytemuck::Pod>(disc: &[u8; 8], body: &T) -> Account {
    let mut data = disc.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(body));
    Account {
        lamports: 1_000_000_000,
        data,
        owner: PROGRAM_ID,
        executable: false,
        rent_epoch: 0,
    }
}

/// A market for underlying `u` at `NOW`, with its Pyth pull-oracle reading.
fn market(u: usize) -> Result<(Market, OracleReading), String> {
    let (usd, size_expo) = UNDERLYINGS[u];
    let params = RiskParams::DEFAULT;
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = LAYOUT_VERSION;
    m.market_index = u as u16;
    m.exchange = key(0xE0, 0).to_bytes();
    m.oracle.kind = keel_state::market::ORACLE_PYTH_PULL;
    m.oracle.program = PYTH_RECEIVER.to_bytes();
    m.oracle.feed_id = [0xF0 + u as u8; 32];
    m.oracle.max_staleness_secs = 60;
    m.oracle.max_conf_bps = 200;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = size_expo;
    m.quote_decimals = 6;
    m.max_vol_age_secs = 3_600;
    m.risk_params = params;
    let reading = OracleReading {
        price: usd * 100_000_000,
        conf: (usd as u64) * 50_000, // 5 bps
        expo: -8,
        publish_time: NOW - 5,
        prev_publish_time: NOW - 6,
    };
    let spot = m.contract_spec().price_native(&reading).map_err(|e| format!("{e:?}"))?;
    // A day of hourly observations wiggling ±1%, so the vol state is a cranked one.
    let mut vs = VolState::new(spot, NOW - 25 * 3_600, &params).map_err(|e| format!("{e:?}"))?;
    for h in 1..=24i64 {
        let wiggle = [60, -110, 35, 90, -70, 15][h as usize % 6];
        let price = spot + spot / 10_000 * wiggle;
        vs.observe(price, NOW - 25 * 3_600 + h * 3_600, None, &params, m.oracle.max_staleness_secs)
            .map_err(|e| format!("{e:?}"))?;
    }
    m.vol_state = vs;
    m.last_oracle.price_native = spot;
    Ok((m, reading))
}

fn price_update(feed_id: [u8; 32], r: &OracleReading) -> Account {
    let mut d = PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
    d.extend_from_slice(&[0x11; 32]); // write authority
    d.push(1); // VerificationLevel::Full
    d.extend_from_slice(&feed_id);
    d.extend_from_slice(&r.price.to_le_bytes());
    d.extend_from_slice(&r.conf.to_le_bytes());
    d.extend_from_slice(&r.expo.to_le_bytes());
    d.extend_from_slice(&r.publish_time.to_le_bytes());
    d.extend_from_slice(&r.prev_publish_time.to_le_bytes());
    d.extend_from_slice(&r.price.to_le_bytes()); // EMA price
    d.extend_from_slice(&r.conf.to_le_bytes()); // EMA conf
    d.extend_from_slice(&1_000u64.to_le_bytes()); // posted slot
    d.resize(134, 0); // PriceUpdateV2::LEN
    Account {
        lamports: 1_000_000_000,
        data: d,
        owner: PYTH_RECEIVER,
        executable: false,
        rent_epoch: 0,
    }
}

impl Fixture {
    /// The accounts for `case` with an account of `n` series.
    ///
    /// The book is the one of keel-risk's criterion benchmark: calls and puts alternating,
    /// strikes 0.7–1.3 × spot, expiries 1–90 days, every third position long 25, the others
    /// short 10; positions spread round-robin over the case's markets, each market's in its
    /// pages in order (16 a page).
    pub fn new(case: Case, n: usize) -> Result<Fixture, String> {
        let err = |e: keel_state::StateError| format!("{e:?}");
        let n_markets = case.markets(n);
        let mut markets = Vec::new();
        for u in 0..n_markets {
            markets.push(market(u)?);
        }
        let mut acc: MarginAccount = bytemuck::Zeroable::zeroed();
        acc.version = LAYOUT_VERSION;
        acc.exchange = key(0xE0, 0).to_bytes();
        acc.owner = [0x0A; 32];
        acc.collateral_native = 1_000_000_000_000; // 1M USDC
        for u in 0..n_markets {
            acc.markets[u] = key(0xA0, u).to_bytes();
        }
        // Per market: its positions' account slots, in order (page j/16, slot j%16).
        let mut held: Vec<Vec<usize>> = vec![Vec::new(); n_markets];
        for i in 0..n {
            let slot = i % n_markets;
            let spot = markets[slot].0.vol_state.last_price;
            let strike = spot / 100 * (70 + (i as i64 * 7) % 61);
            let j = held[slot].len();
            held[slot].push(i);
            acc.positions[i] = Position {
                series: key(0x50, i + 1).to_bytes(),
                qty_contracts: if i % 3 == 0 { 25 } else { -10 },
                cash_native: 0,
                strike_native: strike,
                expiry_ts: NOW + (1 + (i as i64 * 11) % 90) * DAY,
                market_slot: slot as u8,
                kind: (i % 2) as u8,
                array_page: (j / PAGE_SERIES) as u16,
                array_slot: (j % PAGE_SERIES) as u8,
                padding0: [0; 3],
                reserved: [0; 8],
            };
        }
        acc.n_positions = n as u8;

        // Listed register and anchor of every market.
        for (u, (m, r)) in markets.iter_mut().enumerate() {
            for &i in &held[u] {
                let p = &acc.positions[i];
                if !m.list_option(p.strike_native, p.expiry_ts) {
                    return Err("listed register full".into());
                }
            }
            let v = m.valuation(r, NOW).map_err(err)?;
            if case.arrays() == Arrays::Due {
                m.anchor = Anchor::new(
                    NOW - DUE_ANCHOR_AGE_SECS,
                    v.spot,
                    v.stable_spot,
                    v.sigma,
                    v.mark_sigma,
                    &m.risk_params,
                    m.strike_candidates(),
                )
                .map_err(|e| format!("{e:?}"))?;
                m.anchor_epoch = 1;
            } else if !m.reanchor_if_due(&v, NOW).map_err(err)? {
                return Err("a never-anchored market was not due".into());
            }
        }

        // Pages: every option position's slot, priced at the anchor unless the crank prices it.
        let mut pages: Vec<(usize, Box<ArrayPage>)> = Vec::new();
        if matches!(case.arrays(), Arrays::Priced | Arrays::Unpriced) {
            for (u, (m, _)) in markets.iter_mut().enumerate() {
                for (page_index, chunk) in held[u].chunks(PAGE_SERIES).enumerate() {
                    let mut pg: Box<ArrayPage> = Box::new(bytemuck::Zeroable::zeroed());
                    pg.version = LAYOUT_VERSION;
                    pg.page_index = page_index as u16;
                    pg.n_used = chunk.len() as u16;
                    pg.exchange = key(0xE0, 0).to_bytes();
                    pg.market = key(0xA0, u).to_bytes();
                    for (s, &i) in pg.slots.iter_mut().zip(chunk) {
                        let p = &acc.positions[i];
                        s.series = p.series;
                        s.strike_native = p.strike_native;
                        s.expiry_ts = p.expiry_ts;
                        s.kind = p.kind;
                        if case.arrays() == Arrays::Priced && !m.price_slot(s).map_err(err)? {
                            return Err("an unpriced slot was not priced".into());
                        }
                    }
                    pages.push((u, pg));
                }
                m.array_pages = held[u].len().div_ceil(PAGE_SERIES) as u16;
            }
        }

        if case == Case::Liquidation {
            // Lower the collateral until the account sits 10% of MM below maintenance.
            let readings: Vec<MarketReading> = markets
                .iter()
                .enumerate()
                .map(|(u, (m, r))| MarketReading {
                    key: key(0xA0, u).to_bytes(),
                    market: m,
                    oracle: *r,
                })
                .collect();
            let refs: Vec<&ArrayPage> = pages.iter().map(|(_, p)| &**p).collect();
            let mut inputs = Box::new(MarginInputs::new());
            let mut b = Box::new(MarginBreakdown::default());
            compute_margin(&acc, None, &readings, &refs, &[], NOW, &mut inputs, &mut b).map_err(err)?;
            acc.collateral_native -= b.equity_mm - b.mm + b.mm / 10;
        }

        let mut ex: Exchange = bytemuck::Zeroable::zeroed();
        ex.version = LAYOUT_VERSION;
        ex.quote_decimals = 6;
        ex.liquidation_params = LiquidationParams::DEFAULT;

        let mut accounts = vec![
            (key(0xE0, 0), keel_account(&discriminator::EXCHANGE, &ex), false),
            (key(0xAC, 0), keel_account(&discriminator::MARGIN_ACCOUNT, &acc), false),
        ];
        let market_writable = case.arrays() == Arrays::Due;
        for (u, (m, r)) in markets.iter().enumerate() {
            accounts.push((key(0xA0, u), keel_account(&discriminator::MARKET, m), market_writable));
            accounts.push((key(0x0F, u), price_update(m.oracle.feed_id, r), false));
        }
        let page_writable = case.arrays() == Arrays::Unpriced;
        for (k, (_, pg)) in pages.iter().enumerate() {
            accounts.push((key(0x9A, k), keel_account(&discriminator::ARRAY_PAGE, &**pg), page_writable));
        }
        Ok(Fixture {
            accounts,
            n_markets,
            n_pages: pages.len(),
        })
    }
}
