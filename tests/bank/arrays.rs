//! Risk arrays on the bank (docs/risk-model.md §4.8): margin is computed from per-series arrays
//! a permissionless crank prices at a market anchor. Each test takes the automatic crank off and
//! shows one rule: what a check refuses (unpriced, expired, moved, vol-changed, mixed or foreign
//! arrays, each with its own error and changing nothing), what the crank and the page
//! instructions validate, and that the previous anchor keeps accounts trading while pages are
//! re-priced.

use anchor_lang::prelude::Pubkey;
use keel::error::KeelError as E;
use keel::instructions::{ListSeriesArgs, TradeArgs, UpdateMarketParamsArgs};
use keel_state::array_page::PAGE_SERIES;
use keel_tests::helpers::{metas, GUARDS};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, DAY, USDC};
use keel_tests::{ix, MarketHandle, TestContext};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Alice sells Bob one call at its mark (both sides sign).
fn trade_call(
    t: &TestContext,
    s: &Scenario,
    qty: i64,
    price: i64,
) -> anchor_lang::solana_program::instruction::Instruction {
    ix::trade(
        &t.ex,
        &s.call,
        &s.b,
        &s.bob.key(),
        &s.a,
        &s.alice.key(),
        TradeArgs {
            qty_contracts: qty,
            price_native: price,
        },
        &metas(&[&s.btc]),
    )
}

async fn page(t: &mut TestContext, key: &Pubkey) -> keel_state::ArrayPage {
    t.read(key, &keel_state::discriminator::ARRAY_PAGE)
        .await
        .expect("array page")
}

/// A scenario with arrays priced and one open call position each side, automatic crank off.
async fn with_positions(t: &mut TestContext) -> (Scenario, i64) {
    let s = Scenario::new(t).await;
    t.crank_arrays(&s.btc).await.expect("crank_arrays");
    let mark = t.band(&s.btc, &s.call).await.mark;
    t.trade(
        &s.call,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        2,
        mark,
        &[&s.btc],
    )
    .await
    .expect("trade");
    t.auto_crank = false;
    (s, mark)
}

#[tokio::test]
async fn a_margin_check_needs_arrays_priced_at_an_anchor() {
    let mut t = TestContext::builder().start().await;
    t.auto_crank = false;
    let s = Scenario::new(&mut t).await;
    let mark = t.band(&s.btc, &s.call).await.mark;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let watch = [s.a, s.b, s.call, s.btc.key, s.btc.pages[0], t.ex.exchange];
    // Listed, never priced: refused by name, nothing moves.
    let i = trade_call(&t, &s, 1, mark);
    t.expect_error(&[i], &[&alice, &bob], E::ArraysNotCranked, &watch)
        .await;
    // The crank is permissionless: anchors the market, prices the page's three option slots
    // (the future needs none).
    let ok = t.crank_arrays(&s.btc).await.expect("crank_arrays");
    let ev = ok.event::<keel::events::ArraysCranked>();
    let m = t.market(&s.btc.key).await;
    assert_eq!((m.anchor_epoch, m.anchor.ts), (1, t.now().await));
    let p = page(&mut t, &s.btc.pages[0]).await;
    assert_eq!(p.n_used, 2);
    assert!(p.slots[..2].iter().all(|slot| slot.epoch == 1));
    assert_eq!(ev.epoch, 1);
    // A second crank at once neither re-anchors nor re-prices.
    let again = t.crank_arrays(&s.btc).await.unwrap();
    let ev = again.event::<keel::events::ArraysCranked>();
    assert!(!ev.reanchored && ev.priced == 0);
    let i = trade_call(&t, &s, 1, mark);
    t.send(&[i], &[&alice, &bob]).await.expect("trade");
}

#[tokio::test]
async fn arrays_past_their_age_price_move_or_vol_are_refused() {
    let mut t = TestContext::builder().start().await;
    let (s, mark) = with_positions(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let watch = [s.a, s.b, s.call, s.btc.key, t.ex.exchange];
    let age = t.market(&s.btc.key).await.risk_params.array_max_age_secs;
    // Older than the anchor allows (oracle and vol state fresh).
    t.advance(age + 1).await;
    t.price_and_crank(&s.btc, 60_000).await;
    let i = trade_call(&t, &s, 1, mark);
    t.expect_error(&[i], &[&alice, &bob], E::ArraysExpired, &watch)
        .await;
    // Re-anchored: fine again.
    t.crank_arrays(&s.btc).await.unwrap();
    let i = trade_call(&t, &s, 1, mark);
    t.send(&[i], &[&alice, &bob]).await.expect("trade");
    // The oracle beyond the anchor's move tolerance.
    let m = t.market(&s.btc.key).await;
    let top = m.anchor.mark_fwd[keel_risk::array::MARK - 1];
    let usd = top * 101 / 100 / 10_000; // per contract (0.01 BTC) → USD per BTC, 1% beyond
    let now = t.now().await;
    t.set_price(&s.btc, Quote::usd(usd, 5, now)).await;
    // (A trade at the old mark would now be refused by the trade band first; a withdrawal
    // checks the margin alone.)
    let w = ix::withdraw(
        &t.ex,
        &alice.pubkey(),
        &s.a,
        &s.alice.tokens,
        USDC as u64,
        &metas(&[&s.btc]),
    );
    t.expect_error(&[w], &[&alice], E::ArraysMoved, &watch)
        .await;
    t.set_price(&s.btc, Quote::usd(60_000, 5, now)).await;
    t.crank_arrays(&s.btc).await.unwrap();
}

/// The margin vol moving beyond the anchor's tolerance (a published implied vol pulls it up at
/// the next vol crank) retires the arrays until the crank re-anchors.
#[tokio::test]
async fn arrays_past_their_vol_tolerance_are_refused() {
    let mut t = TestContext::builder().start().await;
    let authority = Keypair::new();
    let btc = t
        .create_btc_market_with_vol_authority(&authority.pubkey(), 60_000)
        .await;
    let expiry = t.now().await + 7 * DAY;
    let call = t.list_series(&btc, 0, 620 * USDC, expiry).await;
    let (alice, a) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let (bob, b) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
    let mark = t.band(&btc, &call).await.mark;
    t.trade(&call, (&bob, &b), (&alice, &a), 1, mark, &[&btc])
        .await
        .unwrap();
    t.auto_crank = false;
    let publish = ix::publish_implied_vol(&btc.key, &authority.pubkey(), 15_000);
    t.send(&[publish], &[&authority]).await.unwrap();
    t.advance(120).await;
    t.price_and_crank(&btc, 60_000).await;
    let m = t.market(&btc.key).await;
    assert!(m.vol_state.margin_vol > m.anchor.sigma * keel_risk::Fx::lit("1.005"));
    let w = ix::withdraw(&t.ex, &alice.key(), &a, &alice.tokens, 1, &metas(&[&btc]));
    t.expect_error(
        std::slice::from_ref(&w),
        &[&alice.kp],
        E::ArraysVolChanged,
        &[a, btc.key],
    )
    .await;
    t.crank_arrays(&btc).await.unwrap();
    t.send(&[w], &[&alice.kp]).await.expect("withdraw");
}

#[tokio::test]
async fn the_previous_anchor_serves_pages_not_yet_repriced_never_a_mix() {
    let mut t = TestContext::builder().start().await;
    let (s, _) = with_positions(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let watch = [s.a, s.b, s.call, s.btc.key, t.ex.exchange];
    // Half the anchor's age later it is due: a crank with no page re-anchors only.
    let age = t.market(&s.btc.key).await.risk_params.array_max_age_secs;
    t.advance(age / 2 + 1).await;
    t.price_and_crank(&s.btc, 60_000).await;
    let reanchor = ix::crank_arrays(&t.ex, &s.btc.key, &s.btc.oracle, None, 0, 0);
    let ev = t
        .send(&[reanchor], &[])
        .await
        .unwrap()
        .event::<keel::events::ArraysCranked>();
    assert!(ev.reanchored && ev.epoch == 2 && ev.priced == 0);
    // The account's arrays are all at the previous anchor: still served.
    let mark = t.band(&s.btc, &s.put).await.mark;
    let put = ix::trade(
        &t.ex,
        &s.put,
        &s.b,
        &s.bob.key(),
        &s.a,
        &s.alice.key(),
        TradeArgs {
            qty_contracts: 1,
            price_native: mark,
        },
        &metas(&[&s.btc]),
    );
    t.send(std::slice::from_ref(&put), &[&alice, &bob])
        .await
        .expect("served by the previous anchor");
    // Re-price only the call's slot: the account now mixes generations — refused.
    let slot = t.series(&s.call).await.array_slot;
    let one = ix::crank_arrays(
        &t.ex,
        &s.btc.key,
        &s.btc.oracle,
        Some(s.btc.pages[0]),
        slot,
        1,
    );
    t.send(&[one], &[]).await.unwrap();
    t.expect_error(
        std::slice::from_ref(&put),
        &[&alice, &bob],
        E::ArraysNotCranked,
        &watch,
    )
    .await;
    // The rest of the page: served by the current anchor.
    t.crank_arrays(&s.btc).await.unwrap();
    t.send(&[put], &[&alice, &bob]).await.expect("trade");
}

#[tokio::test]
async fn new_market_parameters_retire_every_array() {
    let mut t = TestContext::builder().start().await;
    let (s, mark) = with_positions(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let admin = t.admin.insecure_clone();
    let params = t.market(&s.btc.key).await.risk_params;
    let up = ix::update_market_params(
        &t.ex,
        &admin.pubkey(),
        &s.btc.key,
        UpdateMarketParamsArgs {
            risk_params: bytemuck::bytes_of(&params).to_vec(),
            guards: GUARDS,
        },
    );
    t.send(&[up], &[&admin]).await.unwrap();
    let epoch = t.market(&s.btc.key).await.anchor_epoch;
    assert_eq!(epoch, 3);
    let i = trade_call(&t, &s, 1, mark);
    t.expect_error(
        std::slice::from_ref(&i),
        &[&alice, &bob],
        E::ArraysNotCranked,
        &[s.a, s.b],
    )
    .await;
    t.crank_arrays(&s.btc).await.unwrap();
    t.send(&[i], &[&alice, &bob]).await.expect("trade");
}

#[tokio::test]
async fn pages_are_the_admins_and_the_crank_checks_its_accounts() {
    let mut t = TestContext::builder().start().await;
    t.auto_crank = false;
    let s = Scenario::new(&mut t).await;
    let other = t.create_btc_market(3_000).await;
    // Only the admin initialises a page; an initialised page cannot be initialised again.
    let intruder = Keypair::new();
    t.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let fresh = Keypair::new();
    let rent = t.pt.banks_client.get_rent().await.unwrap();
    let space = keel::state::ArrayPage::SPACE;
    let alloc = ix::allocate_array_page(&t.payer(), &fresh.pubkey(), rent.minimum_balance(space));
    t.send_raw(&[alloc], &[&fresh]).await.unwrap();
    let by_intruder = ix::create_array_page(&t.ex, &intruder.pubkey(), &s.btc.key, &fresh.pubkey());
    t.expect_error(
        &[by_intruder],
        &[&intruder],
        E::NotAdmin,
        &[s.btc.key, fresh.pubkey()],
    )
    .await;
    let admin = t.admin.insecure_clone();
    let again = ix::create_array_page(&t.ex, &admin.pubkey(), &s.btc.key, &s.btc.pages[0]);
    t.expect_failure(&[again], &[&admin], &[s.btc.key, s.btc.pages[0]])
        .await;
    // The crank refuses a page of another market, a foreign oracle, and a paused exchange.
    let foreign = ix::crank_arrays(
        &t.ex,
        &s.btc.key,
        &s.btc.oracle,
        Some(other.pages[0]),
        0,
        16,
    );
    t.expect_error(
        &[foreign],
        &[],
        E::WrongArrayPage,
        &[s.btc.key, other.pages[0]],
    )
    .await;
    let wrong_oracle = ix::crank_arrays(
        &t.ex,
        &s.btc.key,
        &other.oracle,
        Some(s.btc.pages[0]),
        0,
        16,
    );
    t.expect_error(
        &[wrong_oracle],
        &[],
        E::OracleWrongFeed,
        &[s.btc.key, s.btc.pages[0]],
    )
    .await;
    t.send(
        &[ix::set_pause(
            &t.ex,
            &admin.pubkey(),
            keel_state::exchange::PAUSE_CRANK,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let paused = ix::crank_arrays(
        &t.ex,
        &s.btc.key,
        &s.btc.oracle,
        Some(s.btc.pages[0]),
        0,
        16,
    );
    t.expect_error(
        &[paused],
        &[],
        E::ExchangePaused,
        &[s.btc.key, s.btc.pages[0]],
    )
    .await;
    // The page index is bounded (an index is never the futures' NO_PAGE marker).
    let mut m = t.market(&s.btc.key).await;
    m.array_pages = keel_state::array_page::NO_PAGE - 1;
    t.write_market(&s.btc.key, &m).await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();
    let last = ix::create_array_page(&t.ex, &admin.pubkey(), &s.btc.key, &fresh.pubkey());
    t.expect_error(
        &[last],
        &[&admin],
        E::TooManyArrayPages,
        &[s.btc.key, fresh.pubkey()],
    )
    .await;
}

#[tokio::test]
async fn an_option_takes_a_slot_of_its_own_markets_page_and_frees_it_at_settlement() {
    let mut t = TestContext::builder().start().await;
    let btc = t.create_btc_market(60_000).await;
    let other = t.create_btc_market(3_000).await;
    let admin = t.admin.insecure_clone();
    let expiry = t.now().await + DAY;
    let args = |strike| ListSeriesArgs {
        kind: 0,
        strike_native: strike,
        expiry_ts: expiry,
    };
    let watch = [btc.key, btc.pages[0], other.pages[0]];
    // No page, or another market's page: refused.
    let none = ix::list_series(&t.ex, &admin.pubkey(), &btc.key, 0, None, args(600 * USDC));
    t.expect_error(&[none], &[&admin], E::ArrayPageMissing, &watch)
        .await;
    let foreign = ix::list_series(
        &t.ex,
        &admin.pubkey(),
        &btc.key,
        0,
        Some(other.pages[0]),
        args(600 * USDC),
    );
    t.expect_error(&[foreign], &[&admin], E::WrongArrayPage, &watch)
        .await;
    // A full page refuses the seventeenth series.
    let mut listed = Vec::new();
    for i in 0..PAGE_SERIES as i64 {
        let idx = t.market(&btc.key).await.series_count;
        let l = ix::list_series(
            &t.ex,
            &admin.pubkey(),
            &btc.key,
            idx,
            Some(btc.pages[0]),
            args((500 + 10 * i) * USDC),
        );
        t.send(&[l], &[&admin]).await.unwrap();
        listed.push(keel_tests::pda::series(&btc.key, idx));
    }
    let idx = t.market(&btc.key).await.series_count;
    let full = ix::list_series(
        &t.ex,
        &admin.pubkey(),
        &btc.key,
        idx,
        Some(btc.pages[0]),
        args(700 * USDC),
    );
    t.expect_error(&[full], &[&admin], E::ArrayPageFull, &watch)
        .await;
    assert_eq!(t.market(&btc.key).await.listed_count, PAGE_SERIES as u16);
    // Settlement: the series' own page only, then its slot and register entry are freed.
    // The settlement update: published after expiry, its previous one before (the window).
    t.set_time(expiry + 1).await;
    let q = Quote {
        prev_publish_time: expiry - 1,
        ..Quote::usd(60_000, 5, expiry + 1)
    };
    t.set_price(&btc, q).await;
    let payer = t.pt.payer.insecure_clone();
    let first = listed[0];
    let wrong = ix::settle_series(
        &t.ex,
        &payer.pubkey(),
        &btc.key,
        &first,
        &btc.oracle,
        Some(btc.pages[1]),
    );
    t.expect_error(&[wrong], &[], E::WrongArrayPage, &[first, btc.pages[1]])
        .await;
    let missing = ix::settle_series(&t.ex, &payer.pubkey(), &btc.key, &first, &btc.oracle, None);
    t.expect_error(&[missing], &[], E::ArrayPageMissing, &[first, btc.pages[0]])
        .await;
    t.settle_series(&btc, &first).await.expect("settle_series");
    let p = page(&mut t, &btc.pages[0]).await;
    assert!(p.slots[0].is_free() && p.n_used == PAGE_SERIES as u16 - 1);
    assert_eq!(
        t.market(&btc.key).await.listed_count,
        PAGE_SERIES as u16 - 1
    );
}

#[tokio::test]
async fn the_listing_register_is_bounded() {
    let mut t = TestContext::builder().start().await;
    let btc = t.create_btc_market(60_000).await;
    let admin = t.admin.insecure_clone();
    let expiry = t.now().await + DAY;
    let mut m = t.market(&btc.key).await;
    m.listed_count = keel_state::market::MAX_LISTED as u16;
    t.write_market(&btc.key, &m).await;
    let l = ix::list_series(
        &t.ex,
        &admin.pubkey(),
        &btc.key,
        0,
        Some(btc.pages[0]),
        ListSeriesArgs {
            kind: 1,
            strike_native: 600 * USDC,
            expiry_ts: expiry,
        },
    );
    t.expect_error(
        &[l],
        &[&admin],
        E::ListedOptionsFull,
        &[btc.key, btc.pages[0]],
    )
    .await;
}

/// A page that is not passed, or a slot that no longer holds the position's series (settled and
/// re-used), cannot serve a margin check.
#[tokio::test]
async fn a_check_needs_the_positions_own_page_and_slot() {
    let mut t = TestContext::builder().start().await;
    let (s, _) = with_positions(&mut t).await;
    let m: &MarketHandle = &s.btc;
    // Pages left out of the remaining accounts.
    let pairs = [(m.key, m.oracle)];
    let no_pages = ix::margin_report(&t.ex, &s.a, &ix::margin_metas(&pairs, &[], &[]));
    let e = t.simulate(&[no_pages], &[]).await.expect_err("no page");
    assert_eq!(e.code, Some(keel_tests::context::code(E::ArrayPageMissing)));
    // The call expires and settles (its slot is freed), a new series takes the slot; Alice
    // still holds the expired call until settle_positions: her report finds another series.
    t.set_time(s.expiry + 1).await;
    let now = t.now().await;
    let q = Quote {
        prev_publish_time: s.expiry - 1,
        ..Quote::usd(60_000, 5, now)
    };
    t.set_price(m, q).await;
    t.settle_series(m, &s.call).await.expect("settle_series");
    let slot = t.series(&s.call).await.array_slot;
    // (Listing needs a fresh vol state.)
    t.advance(60).await;
    t.price_and_crank(m, 60_000).await;
    let now = t.now().await;
    let reused = t.list_series(m, 0, 700 * USDC, now + DAY).await;
    assert_eq!(t.series(&reused).await.array_slot, slot);
    t.crank_arrays(m).await.unwrap();
    // (margin_report: a withdrawal would first refuse the unsettled expired call.)
    let rep = ix::margin_report(&t.ex, &s.a, &metas(&[m]));
    t.expect_error(&[rep], &[], E::ArraySlotMismatch, &[s.a, t.ex.exchange])
        .await;
}
