//! A ready-made exchange state most tests start from: one BTC market on a pull oracle at
//! 60 000 USD, a call, a put and a future expiring in a week, and two funded traders.

use crate::context::{MarketHandle, TestContext, User};
use anchor_lang::prelude::Pubkey;

/// One USDC in native units.
pub const USDC: i64 = 1_000_000;
/// Seconds per day.
pub const DAY: i64 = 86_400;

pub struct Scenario {
    pub btc: MarketHandle,
    /// Call, strike 620 USDC per contract (62 000 USD/BTC).
    pub call: Pubkey,
    /// Put, strike 580 USDC per contract.
    pub put: Pubkey,
    /// Future.
    pub fut: Pubkey,
    pub expiry: i64,
    pub alice: User,
    pub a: Pubkey,
    pub bob: User,
    pub b: Pubkey,
}

impl Scenario {
    /// Sets the scenario up in `t` (Alice and Bob each deposit 5 000 USDC of 10 000).
    pub async fn new(t: &mut TestContext) -> Scenario {
        let btc = t.create_btc_market(60_000).await;
        let expiry = t.now().await + 7 * DAY;
        let call = t.list_series(&btc, 0, 620 * USDC, expiry).await;
        let put = t.list_series(&btc, 1, 580 * USDC, expiry).await;
        let fut = t.list_series(&btc, 2, 0, expiry).await;
        let (alice, a) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
        let (bob, b) = t.trader(10_000 * USDC as u64, 5_000 * USDC as u64).await;
        Scenario {
            btc,
            call,
            put,
            fut,
            expiry,
            alice,
            a,
            bob,
            b,
        }
    }

    pub fn accounts(&self) -> [Pubkey; 2] {
        [self.a, self.b]
    }

    pub fn series(&self) -> [Pubkey; 3] {
        [self.call, self.put, self.fut]
    }
}
