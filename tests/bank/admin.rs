//! Admin instructions: every check has its own named error and a failure changes nothing.

use anchor_lang::prelude::Pubkey;
use keel::error::KeelError as E;
use keel::events::MarketParamsUpdated;
use keel::instructions::*;
use keel_risk::{Fx, RiskParams};
use keel_state::exchange::{PAUSE_ALL, PAUSE_LISTING};
use keel_tests::helpers::{btc_market_args, GUARDS};
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, DAY, USDC};
use keel_tests::{ix, pda, QuoteToken, TestContext};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn init_exchange_bounds_and_mint_extensions() {
    // A fee above 1% is refused.
    let mut t = TestContext::builder().start_bank().await;
    let admin = t.admin.insecure_clone();
    let bad = ix::init_exchange(
        &t.ex,
        &admin.pubkey(),
        InitExchangeArgs {
            taker_fee_bps: 101,
            maker_fee_bps: 0,
        },
    );
    let watch = [t.ex.exchange, t.ex.vault];
    t.expect_error(&[bad], &[&admin], E::FeeOutOfBounds, &watch)
        .await;
    assert!(
        t.snapshot(&watch).await.iter().all(Option::is_none),
        "nothing created"
    );

    // The ledger shards are created at their PDAs, index 0 first: swapped, or one short, the
    // whole initialisation is refused and nothing exists.
    let ok_args = || InitExchangeArgs {
        taker_fee_bps: 5,
        maker_fee_bps: 2,
    };
    let mut swapped = ix::init_exchange(&t.ex, &admin.pubkey(), ok_args());
    let n = swapped.accounts.len();
    swapped.accounts.swap(n - 4, n - 3);
    let mut watch = vec![t.ex.exchange, t.ex.vault];
    watch.extend(t.ex.ledgers);
    t.expect_error(&[swapped], &[&admin], E::WrongLedger, &watch)
        .await;
    let mut short = ix::init_exchange(&t.ex, &admin.pubkey(), ok_args());
    short.accounts.pop();
    t.expect_error(&[short], &[&admin], E::LedgersMissing, &watch)
        .await;
    assert!(
        t.snapshot(&watch).await.iter().all(Option::is_none),
        "nothing created"
    );

    // A Token-2022 quote mint with a transfer fee (it would short the vault) is refused.
    let mut t = TestContext::builder()
        .quote(QuoteToken::Token2022)
        .start_bank()
        .await;
    use anchor_spl::token_2022::spl_token_2022::extension::{transfer_fee, ExtensionType};
    let payer = t.payer();
    let mint = t
        .create_mint_with(
            anchor_spl::token_2022::ID,
            &[ExtensionType::TransferFeeConfig],
            |mint| {
                vec![transfer_fee::instruction::initialize_transfer_fee_config(
                    &anchor_spl::token_2022::ID,
                    mint,
                    Some(&payer),
                    Some(&payer),
                    50,
                    1_000_000,
                )
                .unwrap()]
            },
        )
        .await;
    t.ex = ix::ExchangeKeys::new(mint, anchor_spl::token_2022::ID);
    let admin = t.admin.insecure_clone();
    let bad = ix::init_exchange(
        &t.ex,
        &admin.pubkey(),
        InitExchangeArgs {
            taker_fee_bps: 5,
            maker_fee_bps: 2,
        },
    );
    let watch = [t.ex.exchange, t.ex.vault];
    t.expect_error(&[bad], &[&admin], E::UnsupportedMintExtension, &watch)
        .await;

    // The quote mint must belong to the token program passed.
    let mut t = TestContext::builder().start_bank().await;
    t.ex.token_program = anchor_spl::token_2022::ID;
    let admin = t.admin.insecure_clone();
    let bad = ix::init_exchange(
        &t.ex,
        &admin.pubkey(),
        InitExchangeArgs {
            taker_fee_bps: 5,
            maker_fee_bps: 2,
        },
    );
    let watch = [t.ex.exchange, t.ex.vault];
    t.expect_failure(&[bad], &[&admin], &watch).await;
}

#[tokio::test]
async fn pause_is_admin_only_and_bounded() {
    let mut t = TestContext::builder().start().await;
    let intruder = Keypair::new();
    let ex = t.ex.exchange;
    t.expect_error(
        &[ix::set_pause(&t.ex, &intruder.pubkey(), PAUSE_ALL)],
        &[&intruder],
        E::NotAdmin,
        &[ex],
    )
    .await;
    let admin = t.admin.insecure_clone();
    t.expect_error(
        &[ix::set_pause(&t.ex, &admin.pubkey(), 0x80)],
        &[&admin],
        E::InvalidPauseFlags,
        &[ex],
    )
    .await;
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_ALL)],
        &[&admin],
    )
    .await
    .unwrap();
    assert_eq!(t.exchange().await.pause_flags, PAUSE_ALL);
}

/// Creating a market validates the admin, the oracle (owner, feed, freshness, confidence,
/// verification) and every parameter against its hard bounds.
#[tokio::test]
async fn create_market_checks() {
    let mut t = TestContext::builder().start().await;
    let admin = t.admin.insecure_clone();
    let feed = [1u8; 32];
    let oracle = Keypair::new().pubkey();
    let market = pda::market(&t.ex.exchange, 0);
    let watch = [market, t.ex.exchange];
    let now = t.now().await;
    let good_quote = Quote::usd(60_000, 5, now);
    t.set_pull_oracle(&oracle, feed, good_quote, VerificationLevel::Full)
        .await;

    let exk = t.ex;
    let mk =
        |args: CreateMarketArgs, signer: &Pubkey| ix::create_market(&exk, signer, 0, &oracle, args);

    // Wrong signer.
    let intruder = Keypair::new();
    t.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let bad = mk(btc_market_args(feed, None), &intruder.pubkey());
    t.expect_error(&[bad], &[&intruder], E::NotAdmin, &watch)
        .await;

    // Out-of-bounds risk parameter, named in the log.
    let mut p = RiskParams::DEFAULT;
    p.long_haircut = Fx::lit("1.5");
    let mut args = btc_market_args(feed, None);
    args.risk_params = bytemuck::bytes_of(&p).to_vec();
    let e = t
        .expect_error(
            &[mk(args, &admin.pubkey())],
            &[&admin],
            E::ParamOutOfBounds,
            &watch,
        )
        .await;
    assert!(
        e.logs.iter().any(|l| l.contains("long_haircut")),
        "{:#?}",
        e.logs
    );
    // A cross-field rule.
    let mut p = RiskParams::DEFAULT;
    p.garch_alpha = Fx::lit("0.5");
    p.garch_beta = Fx::lit("0.6");
    let mut args = btc_market_args(feed, None);
    args.risk_params = bytemuck::bytes_of(&p).to_vec();
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::ParamOutOfBounds,
        &watch,
    )
    .await;
    // Not a RiskParams.
    let mut args = btc_market_args(feed, None);
    args.risk_params = vec![0; 10];
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::ParamsLength,
        &watch,
    )
    .await;
    // Guards.
    let mut args = btc_market_args(feed, None);
    args.guards.max_staleness_secs = 7_200;
    let e = t
        .expect_error(
            &[mk(args, &admin.pubkey())],
            &[&admin],
            E::GuardOutOfBounds,
            &watch,
        )
        .await;
    assert!(e.logs.iter().any(|l| l.contains("max_staleness_secs")));
    let mut args = btc_market_args(feed, None);
    args.guards.max_conf_bps = 0;
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::GuardOutOfBounds,
        &watch,
    )
    .await;
    // Contract size and name.
    let mut args = btc_market_args(feed, None);
    args.contract_size_mantissa = 0;
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::InvalidContractSize,
        &watch,
    )
    .await;
    let mut args = btc_market_args(feed, None);
    args.contract_size_expo = 20;
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::InvalidContractSize,
        &watch,
    )
    .await;
    let mut args = btc_market_args(feed, None);
    args.name = [0; 16];
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::InvalidName,
        &watch,
    )
    .await;
    // Oracle configuration.
    let mut args = btc_market_args(feed, None);
    args.oracle.kind = 7;
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::OracleKindInvalid,
        &watch,
    )
    .await;
    let mut args = btc_market_args(feed, None);
    args.oracle.program = Keypair::new().pubkey();
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::OracleWrongOwner,
        &watch,
    )
    .await;
    let mut args = btc_market_args(feed, Some(oracle));
    args.oracle.account = Pubkey::default();
    t.expect_error(
        &[mk(args, &admin.pubkey())],
        &[&admin],
        E::OracleWrongAccount,
        &watch,
    )
    .await;

    // The oracle account itself: wrong feed id, foreign owner, stale, too uncertain, partially
    // verified, pinned to another account.
    let bad = mk(btc_market_args([2u8; 32], None), &admin.pubkey());
    t.expect_error(&[bad], &[&admin], E::OracleWrongFeed, &watch)
        .await;
    let data = keel_tests::oracle::price_update_v2(feed, good_quote, VerificationLevel::Full);
    t.set_account(&oracle, &Keypair::new().pubkey(), data).await;
    let bad = mk(btc_market_args(feed, None), &admin.pubkey());
    t.expect_error(&[bad], &[&admin], E::OracleWrongOwner, &watch)
        .await;
    t.set_pull_oracle(
        &oracle,
        feed,
        Quote::usd(60_000, 5, now - 61),
        VerificationLevel::Full,
    )
    .await;
    let bad = mk(btc_market_args(feed, None), &admin.pubkey());
    t.expect_error(&[bad], &[&admin], E::OracleStale, &watch)
        .await;
    t.set_pull_oracle(
        &oracle,
        feed,
        Quote::usd(60_000, 201, now),
        VerificationLevel::Full,
    )
    .await;
    let bad = mk(btc_market_args(feed, None), &admin.pubkey());
    t.expect_error(&[bad], &[&admin], E::OracleConfidenceTooWide, &watch)
        .await;
    t.set_pull_oracle(
        &oracle,
        feed,
        good_quote,
        VerificationLevel::Partial { num_signatures: 13 },
    )
    .await;
    let bad = mk(btc_market_args(feed, None), &admin.pubkey());
    t.expect_error(&[bad], &[&admin], E::OracleUnverified, &watch)
        .await;
    // … accepted once the market asks for ≥ 13 signatures only.
    let mut args = btc_market_args(feed, None);
    args.guards.min_signatures = 13;
    t.send(&[mk(args, &admin.pubkey())], &[&admin])
        .await
        .expect("partial ok");
    let m = t.market(&market).await;
    assert_eq!(m.oracle.min_signatures, 13);
    assert_eq!(m.last_oracle.price_native, 600 * USDC);
    assert_eq!(t.exchange().await.market_count, 1);

    // A pinned pull oracle only accepts its own account.
    let other = Keypair::new().pubkey();
    t.set_pull_oracle(&other, feed, good_quote, VerificationLevel::Full)
        .await;
    let mut args = btc_market_args(feed, None);
    args.oracle.account = oracle;
    let market1 = pda::market(&t.ex.exchange, 1);
    let bad = ix::create_market(&t.ex, &admin.pubkey(), 1, &other, args);
    t.expect_error(&[bad], &[&admin], E::OracleWrongAccount, &[market1])
        .await;
}

#[tokio::test]
async fn update_market_params_is_bounded() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let admin = t.admin.insecure_clone();
    let m = s.btc.key;
    let upd = |p: &RiskParams, g| UpdateMarketParamsArgs {
        risk_params: bytemuck::bytes_of(p).to_vec(),
        guards: g,
    };
    let intruder = Keypair::new();
    let bad = ix::update_market_params(
        &t.ex,
        &intruder.pubkey(),
        &m,
        upd(&RiskParams::DEFAULT, GUARDS),
    );
    t.expect_error(&[bad], &[&intruder], E::NotAdmin, &[m])
        .await;
    // Every field at its bound is accepted; one unit past it is refused, by name.
    for (i, (name, lo, hi)) in RiskParams::FX_BOUNDS.iter().enumerate() {
        for (v, ok) in [
            (*lo, true),
            (*hi, true),
            (*hi + Fx::DELTA, false),
            (*lo - Fx::DELTA, false),
        ] {
            let mut p = RiskParams::DEFAULT;
            *p.fx_fields_mut()[i] = v;
            if ok && p.violation().is_some() {
                continue; // the bound itself breaks a cross-field rule with the defaults
            }
            let ix = ix::update_market_params(&t.ex, &admin.pubkey(), &m, upd(&p, GUARDS));
            if ok && *name == "apc_max_rise_per_day" && v != Fx::ZERO {
                // The scenario's market lists options: tests/bank/range_limit.rs.
                t.expect_error(&[ix], &[&admin], E::RangeLimitWithOptions, &[m])
                    .await;
            } else if ok {
                t.send(&[ix], &[&admin])
                    .await
                    .unwrap_or_else(|e| panic!("{name} = {v}: {e:?}"));
            } else {
                let e = t
                    .expect_error(&[ix], &[&admin], E::ParamOutOfBounds, &[m])
                    .await;
                assert!(
                    e.logs.iter().any(|l| l.contains(name)),
                    "{name}: {:#?}",
                    e.logs
                );
            }
        }
    }
    let mut g = GUARDS;
    g.settle_window_secs = 5;
    let bad = ix::update_market_params(&t.ex, &admin.pubkey(), &m, upd(&RiskParams::DEFAULT, g));
    t.expect_error(&[bad], &[&admin], E::GuardOutOfBounds, &[m])
        .await;
    let bad = ix::update_market_params(
        &t.ex,
        &admin.pubkey(),
        &m,
        UpdateMarketParamsArgs {
            risk_params: vec![],
            guards: GUARDS,
        },
    );
    t.expect_error(&[bad], &[&admin], E::ParamsLength, &[m])
        .await;

    // A valid change is stored and announced.
    let mut p = RiskParams::DEFAULT;
    p.im_range_sigmas = Fx::lit("5");
    let ok = t
        .send(
            &[ix::update_market_params(
                &t.ex,
                &admin.pubkey(),
                &m,
                upd(&p, GUARDS),
            )],
            &[&admin],
        )
        .await
        .unwrap();
    assert_eq!(
        ok.event::<MarketParamsUpdated>().risk_params,
        bytemuck::bytes_of(&p)
    );
    assert_eq!(t.market(&m).await.risk_params, p);
}

#[tokio::test]
async fn list_series_checks() {
    let mut t = TestContext::builder().start().await;
    let btc = t.create_btc_market(60_000).await;
    let admin = t.admin.insecure_clone();
    let now = t.now().await;
    let series0 = pda::series(&btc.key, 0);
    let watch = [series0, btc.key];
    let args = |kind, strike, expiry_ts| ListSeriesArgs {
        kind,
        strike_native: strike,
        expiry_ts,
    };
    let intruder = Keypair::new();
    t.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let page = Some(btc.pages[0]);
    let bad = ix::list_series(
        &t.ex,
        &intruder.pubkey(),
        &btc.key,
        0,
        page,
        args(0, 620 * USDC, now + DAY),
    );
    t.expect_error(&[bad], &[&intruder], E::NotAdmin, &watch)
        .await;
    for (a, err) in [
        (args(3, 620 * USDC, now + DAY), E::InvalidSeriesKind),
        (args(0, 0, now + DAY), E::InvalidStrike),
        (args(1, -5, now + DAY), E::InvalidStrike),
        (args(2, 620 * USDC, now + DAY), E::InvalidStrike),
        (args(0, 620 * USDC, now), E::InvalidExpiry),
        (args(0, 620 * USDC, now + 6 * 365 * DAY), E::InvalidExpiry),
    ] {
        let bad = ix::list_series(&t.ex, &admin.pubkey(), &btc.key, 0, page, a);
        t.expect_error(&[bad], &[&admin], err, &watch).await;
    }
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_LISTING)],
        &[&admin],
    )
    .await
    .unwrap();
    let bad = ix::list_series(
        &t.ex,
        &admin.pubkey(),
        &btc.key,
        0,
        page,
        args(0, 620 * USDC, now + DAY),
    );
    t.expect_error(&[bad], &[&admin], E::ExchangePaused, &watch)
        .await;
}

#[tokio::test]
async fn implied_vol_feed() {
    let mut t = TestContext::builder().start().await;
    let authority = Keypair::new();
    let btc = t
        .create_btc_market_with_vol_authority(&authority.pubkey(), 60_000)
        .await;
    let intruder = Keypair::new();
    t.expect_error(
        &[ix::publish_implied_vol(&btc.key, &intruder.pubkey(), 5_000)],
        &[&intruder],
        E::NotVolAuthority,
        &[btc.key],
    )
    .await;
    t.expect_error(
        &[ix::publish_implied_vol(&btc.key, &authority.pubkey(), 0)],
        &[&authority],
        E::InvalidImpliedVol,
        &[btc.key],
    )
    .await;
    // A fresh 150% implied vol pulls the vol in force up at the next crank.
    t.send(
        &[ix::publish_implied_vol(
            &btc.key,
            &authority.pubkey(),
            15_000,
        )],
        &[&authority],
    )
    .await
    .unwrap();
    let m = t.market(&btc.key).await;
    assert_eq!(m.implied_vol, Fx::from_bits((15_000i64 << 32) / 10_000));
    let hist_before = m.vol_state.hist_vol;
    t.advance(120).await;
    t.price_and_crank(&btc, 60_000).await;
    let m = t.market(&btc.key).await;
    assert!(
        m.vol_state.raw_vol > hist_before + Fx::lit("0.3"),
        "{} vs {}",
        m.vol_state.raw_vol,
        hist_before
    );
    // A market without an authority accepts no one.
    let other = t.create_btc_market(3_000).await;
    t.expect_error(
        &[ix::publish_implied_vol(
            &other.key,
            &authority.pubkey(),
            5_000,
        )],
        &[&authority],
        E::NotVolAuthority,
        &[other.key],
    )
    .await;
}
