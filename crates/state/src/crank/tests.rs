extern crate std;
use std::boxed::Box;

use super::*;
use crate::array_page::ArrayPage;
use keel_risk::{RiskParams, VolState};

const NOW: i64 = 1_700_000_000;

fn market() -> Market {
    let params = RiskParams::DEFAULT;
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.version = crate::LAYOUT_VERSION;
    m.contract_size_mantissa = 1;
    m.contract_size_expo = -2;
    m.quote_decimals = 6;
    m.oracle.max_staleness_secs = 60;
    m.oracle.max_conf_bps = 200;
    m.max_vol_age_secs = 3_600;
    m.risk_params = params;
    m.vol_state = VolState::new(600_000_000, NOW - 100, &params).unwrap();
    m
}

fn reading(price_usd: i64, now: i64) -> OracleReading {
    OracleReading {
        price: price_usd * 100_000_000,
        conf: 1_000_000,
        expo: -8,
        publish_time: now - 5,
        prev_publish_time: now - 6,
    }
}

#[test]
fn the_first_crank_anchors_and_a_fresh_anchor_is_kept() {
    let mut m = market();
    let v = m.valuation(&reading(60_000, NOW), NOW).unwrap();
    assert_eq!(m.anchor_epoch, 0);
    assert!(m.reanchor_if_due(&v, NOW).unwrap());
    assert_eq!(
        (m.anchor_epoch, m.anchor.ts, m.anchor.spot),
        (1, NOW, 600_000_000)
    );
    assert!(!m.reanchor_if_due(&v, NOW + 1).unwrap());
    // Half its age later it is due: the current anchor becomes the previous one.
    let half = m.risk_params.array_max_age_secs / 2;
    assert!(!m.reanchor_if_due(&v, NOW + half).unwrap());
    let first = m.anchor;
    assert!(m.reanchor_if_due(&v, NOW + half + 1).unwrap());
    assert_eq!(m.anchor_epoch, 2);
    assert_eq!(m.prev_anchor, first);
    assert_eq!(m.anchor.ts, NOW + half + 1);
}

#[test]
fn a_price_move_of_half_the_tolerance_reanchors() {
    let mut m = market();
    let v = m.valuation(&reading(60_000, NOW), NOW).unwrap();
    m.reanchor_if_due(&v, NOW).unwrap();
    let inner = m.anchor.mark_fwd[keel_risk::array::MARK_STEPS / 2];
    let mut moved = v;
    moved.spot = inner;
    assert!(!m.reanchor_if_due(&moved, NOW + 1).unwrap());
    moved.spot = inner - 1;
    assert!(m.reanchor_if_due(&moved, NOW + 1).unwrap());
}

#[test]
fn listed_strikes_become_strike_points_and_slots_are_priced_once() {
    let mut m = market();
    assert!(m.list_option(610_000_000, NOW + 86_400));
    let v = m.valuation(&reading(60_000, NOW), NOW).unwrap();
    m.reanchor_if_due(&v, NOW).unwrap();
    assert_eq!(m.anchor.strikes[0], 610_000_000);
    let mut page: Box<ArrayPage> = Box::new(bytemuck::Zeroable::zeroed());
    let slot = &mut page.slots[3];
    // A free slot is never priced.
    assert!(!m.price_slot(slot).unwrap());
    slot.series = [7; 32];
    slot.kind = 0;
    slot.strike_native = 610_000_000;
    slot.expiry_ts = NOW + 86_400;
    assert!(m.price_slot(slot).unwrap());
    assert_eq!(slot.epoch, 1);
    let mut want: keel_risk::SeriesArray = bytemuck::Zeroable::zeroed();
    keel_risk::array::price_series(
        &m.anchor,
        &m.risk_params,
        keel_risk::SeriesKind::Call,
        610_000_000,
        NOW + 86_400,
        &mut want,
    )
    .unwrap();
    assert_eq!(slot.array, want);
    // Already priced at this anchor: nothing to do.
    assert!(!m.price_slot(slot).unwrap());
    // The register: removing a series frees its entry; a full register refuses.
    assert!(m.unlist_option(610_000_000, NOW + 86_400));
    assert!(!m.unlist_option(610_000_000, NOW + 86_400));
    for i in 0..crate::market::MAX_LISTED {
        assert!(m.list_option(1 + i as i64, NOW));
    }
    assert!(!m.list_option(1, NOW));
}

#[test]
fn new_parameters_forget_both_anchors() {
    let mut m = market();
    let v = m.valuation(&reading(60_000, NOW), NOW).unwrap();
    m.reanchor_if_due(&v, NOW).unwrap();
    m.invalidate_anchors();
    assert_eq!(m.anchor_epoch, 3);
    assert_eq!(m.anchor.ts, 0);
    // The next crank anchors again at once.
    assert!(m.reanchor_if_due(&v, NOW + 1).unwrap());
    assert_eq!(m.anchor_epoch, 4);
}
