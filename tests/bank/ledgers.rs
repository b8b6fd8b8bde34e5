//! The Exchange's write lock (docs/liquidation.md §6): `trade`, `liquidate` and
//! `settle_positions` take the Exchange read-only and book their money in a ledger shard; the
//! instructions that move tokens read every shard and check conservation on the totals. Each
//! refusal is named and changes nothing.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::AccountMeta;
use keel::error::KeelError as E;
use keel::instructions::TradeArgs;
use keel_state::{Ledger, LEDGER_SHARDS};
use keel_tests::helpers::metas;
use keel_tests::scenario::{Scenario, USDC};
use keel_tests::{ix, TestContext};
use solana_signer::Signer;

/// The trade Bob takes from Alice in these tests: one call at 10 USDC, booked in `ledger`.
fn call_trade(
    t: &TestContext,
    s: &Scenario,
    ledger: Pubkey,
) -> anchor_lang::solana_program::instruction::Instruction {
    let mut i = ix::trade(
        &t.ex,
        &s.call,
        &s.b,
        &s.bob.key(),
        &s.a,
        &s.alice.key(),
        TradeArgs {
            qty_contracts: 1,
            price_native: 10 * USDC,
        },
        &metas(&[&s.btc]),
    );
    i.accounts[1] = AccountMeta::new(ledger, false);
    i
}

#[tokio::test]
async fn trades_leave_the_exchange_untouched_and_any_shard_will_do() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    let i = call_trade(&t, &s, t.ex.ledgers[0]);
    // The Exchange is passed read-only: a trade does not take its write lock.
    let ex_meta = i
        .accounts
        .iter()
        .find(|m| m.pubkey == t.ex.exchange)
        .unwrap();
    assert!(!ex_meta.is_writable);
    let exchange_before = t.exchange_account().await;
    let totals_before = t.exchange().await;
    let mut fees = 0;
    for (n, ledger) in t.ex.ledgers.into_iter().enumerate() {
        let before = t.ledger(&ledger).await;
        t.send(&[call_trade(&t, &s, ledger)], &[&alice, &bob])
            .await
            .unwrap_or_else(|e| panic!("shard {n}: {e:?}"));
        let after = t.ledger(&ledger).await;
        // Both fees landed in this shard, nothing else moved in the others.
        assert!(
            after.totals.fees_native > before.totals.fees_native,
            "shard {n}"
        );
        fees += after.totals.fees_native - before.totals.fees_native;
    }
    assert_eq!(t.exchange_account().await, exchange_before);
    let totals = t.exchange().await;
    assert_eq!(totals.fees_native, totals_before.fees_native + fees);
    t.assert_conservation(&s.accounts(), &s.series()).await;
    // Withdrawals read every shard: the fees the shards hold are in the identity they check.
    t.withdraw(&s.alice, &s.a, 1_000 * USDC as u64, &[&s.btc])
        .await
        .expect("withdraw");
    t.assert_conservation(&s.accounts(), &s.series()).await;
}

#[tokio::test]
async fn a_shard_of_another_exchange_is_refused() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let (alice, bob) = (s.alice.kp.insecure_clone(), s.bob.kp.insecure_clone());
    // A well-formed ledger the program owns, naming another exchange (no instruction can make
    // one: the bytes are written directly).
    let forged = Pubkey::new_unique();
    let mut l = bytemuck::Zeroable::zeroed();
    let l: &mut Ledger = &mut l;
    l.version = keel_state::LAYOUT_VERSION;
    l.exchange = Pubkey::new_unique().to_bytes();
    let mut data = keel_state::discriminator::LEDGER.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(l));
    t.set_account(&forged, &keel::ID, data).await;
    let mut watch = vec![s.a, s.b, s.call, t.ex.exchange, forged];
    watch.extend(t.ex.ledgers);
    t.expect_error(
        &[call_trade(&t, &s, forged)],
        &[&alice, &bob],
        E::WrongLedger,
        &watch,
    )
    .await;
}

#[tokio::test]
async fn token_movements_need_every_shard_in_order() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let alice = s.alice.kp.insecure_clone();
    let mut watch = vec![s.a, t.ex.exchange, t.ex.vault, s.alice.tokens];
    watch.extend(t.ex.ledgers);
    let deposit = ix::deposit(&t.ex, &alice.pubkey(), &s.a, &s.alice.tokens, USDC as u64);
    let fixed = deposit.accounts.len() - LEDGER_SHARDS as usize;

    // None: the conservation identity cannot be checked.
    let mut none = deposit.clone();
    none.accounts.truncate(fixed);
    t.expect_error(&[none], &[&alice], E::LedgersMissing, &watch)
        .await;
    // One short.
    let mut short = deposit.clone();
    short.accounts.pop();
    t.expect_error(&[short], &[&alice], E::LedgersMissing, &watch)
        .await;
    // Two swapped, or one twice: each index has its place.
    let mut swapped = deposit.clone();
    swapped.accounts.swap(fixed, fixed + 1);
    t.expect_error(&[swapped], &[&alice], E::WrongLedger, &watch)
        .await;
    let mut twice = deposit.clone();
    twice.accounts[fixed + 1] = twice.accounts[fixed].clone();
    t.expect_error(&[twice], &[&alice], E::WrongLedger, &watch)
        .await;
    // Another Keel account in a shard's place.
    let mut market = deposit.clone();
    market.accounts[fixed] = AccountMeta::new_readonly(s.btc.key, false);
    t.expect_error(&[market], &[&alice], E::WrongLedger, &watch)
        .await;
    // The same holds for the fee withdrawal and the insurance fund.
    let admin = t.admin.insecure_clone();
    let mut fees = ix::withdraw_fees(&t.ex, &admin.pubkey(), &s.alice.tokens, 1);
    fees.accounts.pop();
    t.expect_error(&[fees], &[&admin], E::LedgersMissing, &watch)
        .await;
    t.send(&[deposit], &[&alice]).await.expect("in order");
}

#[tokio::test]
async fn only_a_bankrupt_account_is_resolved() {
    let mut t = TestContext::builder().start().await;
    let s = Scenario::new(&mut t).await;
    let mut watch = vec![s.a, t.ex.exchange];
    watch.extend(t.ex.ledgers);
    // Alice holds collateral and nothing else: not bankrupt.
    t.expect_error(
        &[ix::resolve_bankruptcy(&t.ex, &s.a)],
        &[],
        E::NotBankrupt,
        &watch,
    )
    .await;
}
