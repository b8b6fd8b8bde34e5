//! Conservation under a randomised sequence: 300 deposits, withdrawals, trades (accepted or
//! refused), price moves with vol cranks over two markets (a `PriceUpdateV2` one and a legacy
//! push one), then expiry, settlement (losers before winners: a `SettlementPoolShort` is
//! retried after the others) and everyone leaving. After every step the vault equals what the
//! program says it holds; refused operations change nothing. The sequence is fixed by `seed`.

use crate::backend::Backend;
use crate::world::{code, metas, MarketHandle, User, World, DAY, USDC};
use anchor_lang::prelude::Pubkey;
use keel::error::KeelError;
use keel::instructions::TradeArgs;
use keel_client::ix;
use keel_client::oracle::Quote;

/// The seed the runners use.
pub const SEED: u64 = 20_261_125;

/// xorshift64*: small, deterministic, good enough to drive a test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// Runs the sequence of `seed` on `b`.
pub async fn run<B: Backend>(b: B, seed: u64) -> World<B> {
    let mut rng = Rng((seed ^ 0x9E37_79B9_7F4A_7C15).max(1));
    let mut w = World::start(b).await;
    let btc = w
        .create_market("BTC/USD", 60_000, false, Pubkey::default())
        .await;
    let eth = w
        .create_market("ETH/USD", 3_000, true, Pubkey::default())
        .await;
    let markets: [MarketHandle; 2] = [btc, eth];
    let expiry = w.b.now().await + 2 * DAY;
    let mut series = Vec::new(); // (key, market index, kind)
    for (mi, m) in markets.iter().enumerate() {
        let spot = if mi == 0 { 600 } else { 30 } * USDC;
        for (kind, strike) in [
            (0u8, spot * 21 / 20),
            (1, spot * 19 / 20),
            (2, 0),
            (0, spot),
        ] {
            series.push((w.list_series(m, kind, strike, expiry).await, mi, kind));
        }
    }
    let mut traders: Vec<(User, Pubkey)> = Vec::new();
    for _ in 0..4 {
        traders.push(w.trader(50_000 * USDC as u64, 0).await);
    }
    let accounts: Vec<Pubkey> = traders.iter().map(|t| t.1).collect();
    let mut spot_usd = [60_000i64, 3_000];
    let (mut accepted, mut refused) = ([0u32; 4], [0u32; 4]);

    for step in 0..300 {
        let op = rng.below(10);
        let who = rng.below(4) as usize;
        let before = w.snapshot(&accounts).await;
        let (kind, result) = match op {
            0..=1 => {
                let amount = rng.range(1, 20_000) as u64 * USDC as u64 / 10;
                let (u, a) = (&traders[who].0, traders[who].1);
                (0, w.deposit(u, &a, amount).await.map(|_| ()))
            }
            2 => {
                let c = w
                    .margin_account(&traders[who].1)
                    .await
                    .collateral_native
                    .max(1);
                let amount = rng.range(1, c + c / 10) as u64;
                let (u, a) = (&traders[who].0, traders[who].1);
                (1, w.withdraw(u, &a, amount, &markets).await.map(|_| ()))
            }
            3..=7 => {
                let other = (who + 1 + rng.below(3) as usize) % 4;
                let (key, mi, kind) = series[rng.below(series.len() as u64) as usize];
                let spot = spot_usd[mi] / 100 * USDC;
                let price = if kind == 2 {
                    spot + rng.range(-spot / 50, spot / 50)
                } else {
                    rng.range(0, spot / 20)
                };
                let mut qty = rng.range(-20, 20);
                if qty == 0 {
                    qty = 1;
                }
                let (tu, ta) = (&traders[who].0, traders[who].1);
                let (mu, ma) = (&traders[other].0, traders[other].1);
                let args = TradeArgs {
                    qty_contracts: qty,
                    price_native: price,
                };
                let ix = ix::trade(
                    &w.ex,
                    &key,
                    &ta,
                    &tu.key(),
                    &ma,
                    &mu.key(),
                    args,
                    &metas(&markets),
                );
                (
                    2,
                    w.call("trade", &[ix], &[&tu.kp, &mu.kp]).await.map(|_| ()),
                )
            }
            _ => {
                // Time passes, both prices move up to ±3% and both vol cranks run.
                let secs = rng.range(60, 900);
                w.advance(secs).await;
                let now = w.b.now().await;
                for (i, m) in markets.iter().enumerate() {
                    let pct = rng.range(-30, 30);
                    spot_usd[i] = spot_usd[i] * (1_000 + pct) / 1_000;
                    w.set_price(m, Quote::usd(spot_usd[i], 5, now)).await;
                }
                let mut r = Ok(());
                for m in &markets {
                    r = r.and(w.crank(m).await.map(|_| ()));
                }
                (3, r)
            }
        };
        match result {
            Ok(()) => accepted[kind] += 1,
            Err(e) => {
                refused[kind] += 1;
                assert!(e.code.is_some() || kind == 0, "step {step}: {e:?}");
                assert!(
                    before == w.snapshot(&accounts).await,
                    "step {step}: refused op changed an account"
                );
            }
        }
        w.assert_conservation(&format!("step {step}")).await;
    }
    assert!(accepted[2] > 20, "enough trades went through: {accepted:?}");
    assert!(
        refused[2] > 0,
        "and some were refused by margin: {refused:?}"
    );

    // Expiry: settle every series from the update covering it, then every position.
    w.b.set_time(expiry + 30).await;
    for (i, m) in markets.iter().enumerate() {
        let q = Quote {
            prev_publish_time: expiry - 1,
            ..Quote::usd(spot_usd[i], 5, expiry + 1)
        };
        w.set_price(m, q).await;
    }
    for (key, mi, _) in &series {
        w.settle_series(&markets[*mi], key)
            .await
            .expect("settle_series");
        w.assert_conservation("settle_series").await;
    }
    let mut pending: Vec<(Pubkey, Pubkey)> = Vec::new();
    for a in &accounts {
        for s in w.held_series(a).await {
            pending.push((*a, s));
        }
    }
    for _round in 0..pending.len() + 1 {
        let mut next = Vec::new();
        for (a, s) in pending {
            if let Err(e) = w.settle_positions(&a, &[s]).await {
                assert_eq!(e.code, Some(code(KeelError::SettlementPoolShort)), "{e:?}");
                next.push((a, s));
            }
            w.assert_conservation("settle_positions").await;
        }
        pending = next;
        if pending.is_empty() {
            break;
        }
    }
    assert!(pending.is_empty(), "every position settled");
    for s in series.iter().map(|s| s.0) {
        let s = w.series_state(&s).await;
        assert_eq!(
            (
                s.settlement_pool_native,
                s.open_interest_contracts,
                s.holders
            ),
            (0, 0, 0)
        );
    }
    // Everyone leaves with what they have; the vault keeps exactly fees + insurance (plus the
    // negative balance of an account that could not pay at settlement, if any).
    let mut short = 0;
    for (u, a) in &traders {
        let c = w.margin_account(a).await.collateral_native;
        if c > 0 {
            w.withdraw(u, a, c as u64, &[]).await.expect("leave");
        }
        short += c.min(0);
        w.assert_conservation("leave").await;
    }
    let ex = w.exchange().await;
    let vault = w.ex.vault;
    let vault = w.token_balance(&vault).await as i64;
    assert_eq!(ex.total_collateral_native, short);
    assert_eq!(vault, ex.fees_native + ex.insurance_fund_native + short);
    assert!(ex.fees_native > 0);
    w
}
