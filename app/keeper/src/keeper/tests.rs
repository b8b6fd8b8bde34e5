//! The instructions the keeper builds for its actions, from an in-memory snapshot.

use super::*;
use crate::fixtures::*;
use keel_state::Series;

fn series(market: Pubkey, kind: u8, page: u16) -> Series {
    let mut s: Series = bytemuck::Zeroable::zeroed();
    s.version = keel_state::LAYOUT_VERSION;
    s.kind = kind;
    s.market = market.to_bytes();
    s.strike_native = if kind == 2 { 0 } else { STRIKE };
    s.expiry_ts = NOW - 60;
    s.array_page = page;
    s
}

#[test]
fn array_cranks_price_a_whole_page_and_settlement_passes_the_options_page() {
    let (btc, put, fut) = (key(10), key(11), key(13));
    let mut s = snapshot(
        vec![market(btc, 50_000, NOW - 5, 50_000, NOW - 10)],
        vec![(key(20), short_puts(btc, put, 2_000, 100, NOW - 60))],
    );
    s.series.insert(put, series(btc, 1, 0));
    s.series.insert(fut, series(btc, 2, NO_PAGE));
    let keeper = Keeper::new(KeeperConfig::default(), Keypair::new(), key(25));
    let ex = ix::exchange_keys(&s.exchange);
    let payer = key(30);
    let page = page_key(&btc, 0);

    let crank = Action::CrankArrays {
        market: btc,
        page: Some(page),
    };
    assert_eq!(
        keeper.instruction(&s, &payer, &crank).unwrap(),
        ix::crank_arrays(&ex, &btc, &key(200), Some(page), 0, 16)
    );
    let reanchor = Action::CrankArrays {
        market: btc,
        page: None,
    };
    assert_eq!(
        keeper.instruction(&s, &payer, &reanchor).unwrap(),
        ix::crank_arrays(&ex, &btc, &key(200), None, 0, 16)
    );

    let settle = |series| Action::SettleSeries {
        series,
        market: btc,
    };
    assert_eq!(
        keeper.instruction(&s, &payer, &settle(put)).unwrap(),
        ix::settle_series(&ex, &payer, &btc, &put, &key(200), Some(page))
    );
    assert_eq!(
        keeper.instruction(&s, &payer, &settle(fut)).unwrap(),
        ix::settle_series(&ex, &payer, &btc, &fut, &key(200), None)
    );
    // An option whose page is not on chain cannot be settled: said, not sent without it.
    s.pages.clear();
    let e = keeper.instruction(&s, &payer, &settle(put)).unwrap_err();
    assert!(e.contains("risk-array page 0"), "{e}");
}
