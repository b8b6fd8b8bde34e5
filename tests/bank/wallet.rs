//! Wallet instructions: deposit, withdraw, delegate, close. Each check has its named error and a
//! failure changes nothing.

use anchor_lang::solana_program::instruction::AccountMeta;
use keel::error::KeelError as E;
use keel_state::exchange::{PAUSE_DEPOSIT, PAUSE_WITHDRAW};
use keel_tests::helpers::metas;
use keel_tests::oracle::Quote;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::{ix, QuoteToken, TestContext};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn deposit_checks() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let watch = [s.a, t.ex.vault, t.ex.exchange, s.alice.tokens];
    let alice = s.alice.kp.insecure_clone();
    let dep = |t: &TestContext, amount: u64| {
        ix::deposit(&t.ex, &alice.pubkey(), &s.a, &s.alice.tokens, amount)
    };

    t.expect_error(&[dep(&t, 0)], &[&alice], E::ZeroAmount, &watch)
        .await;
    t.expect_error(&[dep(&t, u64::MAX)], &[&alice], E::AmountTooLarge, &watch)
        .await;
    t.expect_error(&[dep(&t, 1 << 63)], &[&alice], E::AmountTooLarge, &watch)
        .await;

    // A token account of another mint.
    let other_mint = t.create_mint(anchor_spl::token::ID, &[]).await;
    let foreign = t
        .token_account(&other_mint, &anchor_spl::token::ID, &alice.pubkey())
        .await;
    let bad = ix::deposit(&t.ex, &alice.pubkey(), &s.a, &foreign, 1);
    t.expect_error(&[bad], &[&alice], E::WrongQuoteMint, &watch)
        .await;
    // The other mint passed as the quote mint.
    let mut ex = t.ex;
    ex.quote_mint = other_mint;
    let bad = ix::deposit(&ex, &alice.pubkey(), &s.a, &s.alice.tokens, 1);
    t.expect_error(&[bad], &[&alice], E::WrongQuoteMint, &watch)
        .await;
    // A vault that is not the exchange's.
    let mut ex = t.ex;
    ex.vault = t
        .token_account(
            &t.ex.quote_mint.clone(),
            &anchor_spl::token::ID,
            &alice.pubkey(),
        )
        .await;
    let bad = ix::deposit(&ex, &alice.pubkey(), &s.a, &s.alice.tokens, 1);
    t.expect_error(&[bad], &[&alice], E::WrongVault, &watch)
        .await;
    // Token-2022 program for an SPL Token mint.
    let mut ex = t.ex;
    ex.token_program = anchor_spl::token_2022::ID;
    let bad = ix::deposit(&ex, &alice.pubkey(), &s.a, &s.alice.tokens, 1);
    t.expect_error(&[bad], &[&alice], E::WrongTokenProgram, &watch)
        .await;
    // Someone else's tokens.
    let mallory = t.user(0).await;
    let bad = ix::deposit(&t.ex, &mallory.key(), &s.a, &s.alice.tokens, 1);
    t.expect_error(&[bad], &[&mallory.kp], E::WrongTokenOwner, &watch)
        .await;
    // More than the wallet holds: the token program refuses, nothing changes.
    let bad = dep(&t, 5_000 * USDC as u64 + 1);
    t.expect_failure(&[bad], &[&alice], &watch).await;
    // Paused.
    let admin = t.admin.insecure_clone();
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_DEPOSIT)],
        &[&admin],
    )
    .await
    .unwrap();
    t.expect_error(&[dep(&t, 1)], &[&alice], E::ExchangePaused, &watch)
        .await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();

    // Anyone may fund any account; the account's collateral moves, the funder's tokens go.
    let before = t.margin_account(&s.a).await.collateral_native;
    let carol = t.user(1_000 * USDC as u64).await;
    t.deposit(&carol, &s.a, 123).await.unwrap();
    assert_eq!(t.margin_account(&s.a).await.collateral_native, before + 123);
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn a_donation_to_the_vault_becomes_insurance() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    // 777 tokens sent straight to the vault, outside `deposit`.
    let donor = t.user(1_000).await;
    let ix = anchor_spl::token_2022::spl_token_2022::instruction::transfer_checked(
        &t.ex.token_program,
        &donor.tokens,
        &t.ex.quote_mint,
        &t.ex.vault,
        &donor.key(),
        &[],
        777,
        6,
    )
    .unwrap();
    t.send(&[ix], &[&donor.kp]).await.unwrap();
    // The next deposit credits the surplus to the insurance fund and the identity holds again.
    t.deposit(&s.alice, &s.a, 1).await.unwrap();
    assert_eq!(t.exchange().await.insurance_fund_native, 777);
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn withdraw_checks() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    // Alice writes 10 calls to Bob so her withdrawals need a margin check.
    t.trade(
        &s.call,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        10,
        8 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    let watch = [s.a, t.ex.vault, t.ex.exchange, s.alice.tokens];
    let alice = s.alice.kp.insecure_clone();
    let m = metas(&[&s.btc]);
    let wd = |t: &TestContext, amount: u64, m: &[AccountMeta]| {
        ix::withdraw(&t.ex, &alice.pubkey(), &s.a, &s.alice.tokens, amount, m)
    };

    t.expect_error(&[wd(&t, 0, &m)], &[&alice], E::ZeroAmount, &watch)
        .await;
    t.expect_error(
        &[wd(&t, u64::MAX, &m)],
        &[&alice],
        E::AmountTooLarge,
        &watch,
    )
    .await;
    let c = t.margin_account(&s.a).await.collateral_native as u64;
    t.expect_error(
        &[wd(&t, c + 1, &m)],
        &[&alice],
        E::InsufficientCollateral,
        &watch,
    )
    .await;
    // The owner's delegate may trade but never withdraw.
    let delegate = Keypair::new();
    t.send(
        &[ix::set_delegate(&alice.pubkey(), &s.a, delegate.pubkey())],
        &[&alice],
    )
    .await
    .unwrap();
    let bad = ix::withdraw(&t.ex, &delegate.pubkey(), &s.a, &s.alice.tokens, 1, &m);
    t.expect_error(&[bad], &[&delegate], E::NotOwner, &watch)
        .await;
    // Bob cannot withdraw from Alice's account into his wallet.
    let bad = ix::withdraw(&t.ex, &s.bob.key(), &s.a, &s.bob.tokens, 1, &m);
    t.expect_error(&[bad], &[&s.bob.kp], E::NotOwner, &watch)
        .await;
    // A destination of another mint.
    let other_mint = t.create_mint(anchor_spl::token::ID, &[]).await;
    let foreign = t
        .token_account(&other_mint, &anchor_spl::token::ID, &alice.pubkey())
        .await;
    let bad = ix::withdraw(&t.ex, &alice.pubkey(), &s.a, &foreign, 1, &m);
    t.expect_error(&[bad], &[&alice], E::WrongQuoteMint, &watch)
        .await;
    // The margin check needs the account's markets and their oracles.
    t.expect_error(&[wd(&t, 1, &[])], &[&alice], E::MarketMissing, &watch)
        .await;
    let only_market = vec![AccountMeta::new_readonly(s.btc.key, false)];
    t.expect_error(
        &[wd(&t, 1, &only_market)],
        &[&alice],
        E::MarketMissing,
        &watch,
    )
    .await;
    let junk = vec![AccountMeta::new_readonly(s.call, false)];
    t.expect_error(&[wd(&t, 1, &junk)], &[&alice], E::UnexpectedAccount, &watch)
        .await;
    // A foreign "oracle" next to the market.
    let fake = Keypair::new().pubkey();
    let now = t.now().await;
    let data = keel_tests::oracle::price_update_v2(
        s.btc.feed_id,
        Quote::usd(1, 5, now),
        pyth_solana_receiver_sdk::price_update::VerificationLevel::Full,
    );
    t.set_account(&fake, &Keypair::new().pubkey(), data).await;
    let spoof = keel_tests::ix::margin_metas(&[(s.btc.key, fake)], &s.btc.pages, &[]);
    t.expect_error(&[wd(&t, 1, &spoof)], &[&alice], E::OracleWrongOwner, &watch)
        .await;
    // A stale oracle.
    t.advance(61).await;
    t.expect_error(&[wd(&t, 1, &m)], &[&alice], E::OracleStale, &watch)
        .await;
    // Fresh oracle but a vol state older than max_vol_age_secs.
    t.advance(3_600).await;
    let now = t.now().await;
    t.set_price(&s.btc, Quote::usd(60_000, 5, now)).await;
    t.expect_error(&[wd(&t, 1, &m)], &[&alice], E::VolStateStale, &watch)
        .await;
    t.crank(&s.btc).await.unwrap();
    // Paused.
    let admin = t.admin.insecure_clone();
    t.send(
        &[ix::set_pause(&t.ex, &admin.pubkey(), PAUSE_WITHDRAW)],
        &[&admin],
    )
    .await
    .unwrap();
    t.expect_error(&[wd(&t, 1, &m)], &[&alice], E::ExchangePaused, &watch)
        .await;
    t.send(&[ix::set_pause(&t.ex, &admin.pubkey(), 0)], &[&admin])
        .await
        .unwrap();
    // Finally a valid withdrawal.
    let wallet = t.token_balance(&s.alice.tokens).await;
    t.send(&[wd(&t, 1_000 * USDC as u64, &m)], &[&alice])
        .await
        .unwrap();
    assert_eq!(
        t.token_balance(&s.alice.tokens).await,
        wallet + 1_000 * USDC as u64
    );
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn close_account_checks() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let alice = s.alice.kp.insecure_clone();
    let watch = [s.a];
    t.expect_error(
        &[ix::close_account(&alice.pubkey(), &s.a)],
        &[&alice],
        E::AccountHasCollateral,
        &watch,
    )
    .await;
    t.expect_error(
        &[ix::close_account(&s.bob.key(), &s.a)],
        &[&s.bob.kp],
        E::NotOwner,
        &watch,
    )
    .await;
    t.trade(
        &s.fut,
        (&s.bob, &s.b),
        (&s.alice, &s.a),
        1,
        600 * USDC,
        &[&s.btc],
    )
    .await
    .unwrap();
    t.withdraw(&s.alice, &s.a, 1, &[&s.btc]).await.unwrap();
    let c = t.margin_account(&s.a).await.collateral_native;
    assert!(c > 0);
    // Open positions block closing (checked before collateral).
    t.expect_error(
        &[ix::close_account(&alice.pubkey(), &s.a)],
        &[&alice],
        E::AccountHasPositions,
        &watch,
    )
    .await;
    // An account that never held anything closes and returns its rent.
    let a2 = t.open_account(&s.alice, 7).await;
    t.send(&[ix::close_account(&alice.pubkey(), &a2)], &[&alice])
        .await
        .unwrap();
    assert!(t.pt.banks_client.get_account(a2).await.unwrap().is_none());
}

#[tokio::test]
async fn token_2022_quote_mint_and_legacy_oracle() {
    // The same flows on a Token-2022 quote mint and a market priced by a legacy Pyth account.
    let mut t = TestContext::builder()
        .quote(QuoteToken::Token2022)
        .start()
        .await;
    let btc = t.create_legacy_market(60_000).await;
    assert_eq!(
        t.market(&btc.key).await.last_oracle.price_native,
        600 * USDC
    );
    let expiry = t.now().await + 86_400;
    let fut = t.list_series(&btc, 2, 0, expiry).await;
    let (alice, a) = t.trader(10_000 * USDC as u64, 3_000 * USDC as u64).await;
    let (bob, b) = t.trader(10_000 * USDC as u64, 3_000 * USDC as u64).await;
    t.trade(&fut, (&bob, &b), (&alice, &a), 2, 600 * USDC, &[&btc])
        .await
        .unwrap();
    t.advance(120).await;
    t.price_and_crank(&btc, 61_000).await;
    t.withdraw(&alice, &a, 500 * USDC as u64, &[&btc])
        .await
        .unwrap();
    t.assert_conservation(&[a, b], &[fut]).await;
    // A halted legacy aggregate is refused by name.
    t.advance(120).await;
    let now = t.now().await;
    t.set_legacy_oracle(&btc.oracle, Quote::usd(61_000, 5, now), 2)
        .await;
    t.expect_error(
        &[ix::update_volatility(&t.ex, &btc.key, &btc.oracle)],
        &[],
        E::OracleNotTrading,
        &[btc.key],
    )
    .await;
    // A legacy market only reads its pinned account.
    let other = Keypair::new().pubkey();
    t.set_legacy_oracle(&other, Quote::usd(61_000, 5, now), 1)
        .await;
    t.expect_error(
        &[ix::update_volatility(&t.ex, &btc.key, &other)],
        &[],
        E::OracleWrongAccount,
        &[btc.key],
    )
    .await;
}
