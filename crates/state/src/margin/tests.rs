use super::*;
use crate::account::Position;
use crate::oracle::ContractSpec;
use keel_risk::{compute, MarginBreakdown, VolState};

const NOW: i64 = 1_700_000_000;

fn market(params: RiskParams) -> Market {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = crate::LAYOUT_VERSION;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = -2;
    m.quote_decimals = 6;
    m.oracle.max_staleness_secs = 60;
    m.oracle.max_conf_bps = 200;
    m.max_vol_age_secs = 3_600;
    m.risk_params = params;
    // 60 000 USD/BTC → 600 USDC per 0.01 BTC contract.
    m.vol_state = VolState::new(600_000_000, NOW - 100, &params).unwrap();
    m
}

fn reading(price_usd: i64) -> OracleReading {
    OracleReading {
        price: price_usd * 100_000_000,
        conf: 1_000_000,
        expo: -8,
        publish_time: NOW - 5,
        prev_publish_time: NOW - 6,
    }
}

fn account(positions: &[(u8, u8, i64, i64)]) -> MarginAccount {
    let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
    a.collateral_native = 10_000_000_000;
    for (i, &(slot, kind, strike, qty)) in positions.iter().enumerate() {
        a.markets[slot as usize] = [slot + 1; 32];
        a.positions[i] = Position {
            series: [100 + i as u8; 32],
            qty_contracts: qty,
            cash_native: 0,
            strike_native: strike,
            expiry_ts: NOW + 30 * 86_400,
            market_slot: slot,
            kind,
            padding0: [0; 6],
            reserved: [0; 8],
        };
        a.n_positions += 1;
    }
    a
}

#[test]
fn builds_inputs_that_the_engine_accepts() {
    let m = market(RiskParams::DEFAULT);
    let a = account(&[(0, 0, 620_000_000, -10), (0, 1, 580_000_000, 5)]);
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    let mut inp = MarginInputs::new();
    margin_inputs(&a, &readings, &[], NOW, &mut inp).unwrap();
    assert_eq!(inp.n_markets, 1);
    assert_eq!(inp.n_positions, 2);
    assert_eq!(inp.markets[0].spot, 600_000_000);
    assert_eq!(
        inp.markets[0].conf, 100,
        "0.01 USD/BTC → 0.0001 USDC per contract"
    );
    assert_eq!(inp.markets[0].stable_spot, 600_000_000);
    assert_eq!(inp.positions[0].kind, SeriesKind::Call);
    assert_eq!(inp.positions[1].qty, 5);
    let mut b = MarginBreakdown::default();
    compute(&inp.portfolio(), &mut b).unwrap();
    assert!(b.im > b.mm && b.mm > 0);
    assert_eq!(b.collateral, 10_000_000_000);
}

#[test]
fn the_stable_price_lags_a_pumped_oracle() {
    let m = market(RiskParams::DEFAULT);
    let a = account(&[(0, 2, 0, 1)]);
    // The oracle is 20× higher 100 s after the last crank, which has not seen the pump: the
    // stable price does not move toward it at all (it follows only observed prices).
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(1_200_000),
    }];
    let mut inp = MarginInputs::new();
    margin_inputs(&a, &readings, &[], NOW, &mut inp).unwrap();
    assert_eq!(inp.markets[0].spot, 12_000_000_000);
    assert_eq!(inp.markets[0].stable_spot, 600_000_000);
    // Once a crank has seen it, it pulls for at most the staleness window (60 s) after that
    // observation: 100 s later the stable price has moved 60 s × 0.01%/s = 0.6% (0.0001 is not
    // exact in Q32.32: 429 497/2^32 ≈ 1.000000008e-4, a few units above), and with a window of
    // 100 s or more, 1%.
    let mut seen = m;
    seen.vol_state = VolState {
        last_price: 12_000_000_000,
        last_ts: NOW - 100,
        ..m.vol_state
    };
    let readings = [MarketReading {
        key: [1; 32],
        market: &seen,
        oracle: reading(1_200_000),
    }];
    margin_inputs(&a, &readings, &[], NOW, &mut inp).unwrap();
    let stable = inp.markets[0].stable_spot;
    assert!((603_600_000..=603_600_010).contains(&stable), "{stable}");
    for window in [100, 3_600] {
        let mut long_window = seen;
        long_window.oracle.max_staleness_secs = window;
        let readings = [MarketReading {
            key: [1; 32],
            market: &long_window,
            oracle: reading(1_200_000),
        }];
        let mut inp = MarginInputs::new();
        margin_inputs(&a, &readings, &[], NOW, &mut inp).unwrap();
        let stable = inp.markets[0].stable_spot;
        assert!(
            (606_000_000..=606_000_010).contains(&stable),
            "{window}: {stable}"
        );
    }
}

#[test]
fn oracle_updates_only_move_forward() {
    let mut m = market(RiskParams::DEFAULT);
    let r = reading(60_000);
    m.accept_reading(&r).unwrap();
    assert_eq!(m.oracle_high_water_ts, r.publish_time);
    // The same update again is fine; an older one is refused and changes nothing.
    assert_eq!(m.accept_reading(&r), Ok(()));
    let mut older = r;
    older.publish_time -= 1;
    assert_eq!(m.accept_reading(&older), Err(StateError::OracleOutOfOrder));
    assert_eq!(m.oracle_high_water_ts, r.publish_time);
    let mut newer = r;
    newer.publish_time += 1;
    m.accept_reading(&newer).unwrap();
    assert_eq!(m.check_order(&r), Err(StateError::OracleOutOfOrder));
}

#[test]
fn guard_rails() {
    let m = market(RiskParams::DEFAULT);
    let a = account(&[(0, 0, 620_000_000, -1)]);
    let run = |r: OracleReading, now: i64, _: &mut ()| {
        let readings = [MarketReading {
            key: [1; 32],
            market: &m,
            oracle: r,
        }];
        margin_inputs(&a, &readings, &[], now, &mut MarginInputs::new())
    };
    let mut inp = ();
    let mut stale = reading(60_000);
    stale.publish_time = NOW - 61;
    assert_eq!(run(stale, NOW, &mut inp), Err(StateError::OracleStale));
    let mut wide = reading(60_000);
    wide.conf = 60_000 * 100_000_000 / 50 + 1; // 2% + ε
    assert_eq!(run(wide, NOW, &mut inp), Err(StateError::OracleConfidence));
    let mut neg = reading(60_000);
    neg.price = 0;
    assert_eq!(run(neg, NOW, &mut inp), Err(StateError::OracleNonPositive));
    // Dated in the future: accepted up to the tolerance, refused one second beyond it.
    let mut ahead = reading(60_000);
    ahead.publish_time = NOW + crate::market::MAX_ORACLE_FUTURE_SECS;
    assert_eq!(run(ahead, NOW, &mut inp).map(|_| ()), Ok(()));
    ahead.publish_time += 1;
    assert_eq!(
        run(ahead, NOW, &mut inp),
        Err(StateError::OracleFutureDated)
    );
    let mut late = reading(60_000);
    late.publish_time = NOW + 4_000;
    assert_eq!(
        run(late, NOW + 4_000, &mut inp),
        Err(StateError::VolStateStale)
    );
    // A market the account uses but that was not supplied.
    let mut inp = MarginInputs::new();
    let other = [MarketReading {
        key: [9; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    assert_eq!(
        margin_inputs(&a, &other, &[], NOW, &mut inp),
        Err(StateError::MarketMissing)
    );
    // A corrupt position kind.
    let mut bad = a;
    bad.positions[0].kind = 7;
    let readings = [MarketReading {
        key: [1; 32],
        market: &m,
        oracle: reading(60_000),
    }];
    assert_eq!(
        margin_inputs(&bad, &readings, &[], NOW, &mut inp),
        Err(StateError::CorruptPosition)
    );
}

#[test]
fn correlations_default_to_no_offset_and_use_the_supplied_state() {
    let mut params = RiskParams::DEFAULT;
    params.corr_max_offset = keel_risk::Fx::lit("0.5");
    params.corr_floor = keel_risk::Fx::lit("0.2");
    let (m1, m2) = (market(params), market(params));
    let a = account(&[(0, 0, 620_000_000, -10), (1, 0, 620_000_000, -10)]);
    let readings = [
        MarketReading {
            key: [1; 32],
            market: &m1,
            oracle: reading(60_000),
        },
        MarketReading {
            key: [2; 32],
            market: &m2,
            oracle: reading(60_000),
        },
    ];
    let mut inp = MarginInputs::new();
    margin_inputs(&a, &readings, &[], NOW, &mut inp).unwrap();
    assert_eq!(inp.correlations.rho[0][1], keel_risk::Fx::ONE);
    assert_eq!(inp.correlations.max_offset, keel_risk::Fx::lit("0.5"));

    // Uncorrelated observations: ρ ≈ 0 → floored at 0.2.
    let mut c: Correlation = bytemuck::Zeroable::zeroed();
    c.market_a = [2; 32];
    c.market_b = [1; 32];
    let cap = keel_risk::Fx::lit("100");
    let prices = [(100, 100), (110, 100), (110, 110), (100, 110), (100, 100)];
    for (i, (pa, pb)) in prices.iter().enumerate() {
        c.state
            .observe(*pa, *pb, 1_000 + 100 * i as i64, 86_400, 60, cap)
            .unwrap();
    }
    let rho = c.state.rho().unwrap();
    assert!(rho < keel_risk::Fx::lit("0.2"), "ρ = {rho}");
    margin_inputs(&a, &readings, &[&c], NOW, &mut inp).unwrap();
    assert_eq!(inp.correlations.rho[0][1], keel_risk::Fx::lit("0.2"));
    assert_eq!(inp.correlations.rho[1][0], keel_risk::Fx::lit("0.2"));
    let mut b = MarginBreakdown::default();
    compute(&inp.portfolio(), &mut b).unwrap();
    assert!(
        b.offset_im > 0,
        "two short calls on weakly correlated markets get an offset"
    );
}

#[test]
fn contract_spec_of_market() {
    let m = market(RiskParams::DEFAULT);
    assert_eq!(
        m.contract_spec(),
        ContractSpec {
            size_mantissa: 1,
            size_expo: -2,
            quote_decimals: 6
        }
    );
}
