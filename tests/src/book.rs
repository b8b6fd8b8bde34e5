//! A put writer close to her margin, her counterparty and a liquidator on a market with an
//! implied-vol feed: what liquidation tests (and the keeper's) start from.

use crate::context::{MarketHandle, TestContext, User};
use crate::ix;
use crate::scenario::{DAY, USDC};
use anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// A put writer (Wendy), her counterparty (Bob, deep pockets) and a liquidator (Larry).
pub struct Book {
    pub btc: MarketHandle,
    /// Publishes the market's implied vol (a DVOL-like feed).
    pub vol_authority: Keypair,
    pub put: Pubkey,
    pub put_lo: Pubkey,
    pub wendy: User,
    pub w: Pubkey,
    pub bob: User,
    pub b: Pubkey,
    pub larry: User,
    pub l: Pubkey,
}

impl Book {
    /// Wendy deposits `collateral` USDC and sells `qty` 580 puts (7 days) to Bob at 9 USDC.
    pub async fn new(t: &mut TestContext, collateral: i64, qty: i64) -> Book {
        let vol_authority = Keypair::new();
        let btc = t
            .create_btc_market_with_vol_authority(&vol_authority.pubkey(), 60_000)
            .await;
        let expiry = t.now().await + 7 * DAY;
        let put = t.list_series(&btc, 1, 580 * USDC, expiry).await;
        let put_lo = t.list_series(&btc, 1, 500 * USDC, expiry).await;
        let (wendy, w) = t.trader(collateral as u64 * 2, collateral as u64).await;
        let (bob, b) = t
            .trader(1_000_000 * USDC as u64, 500_000 * USDC as u64)
            .await;
        let (larry, l) = t
            .trader(1_000_000 * USDC as u64, 200_000 * USDC as u64)
            .await;
        t.trade(&put, (&bob, &b), (&wendy, &w), qty, 9 * USDC, &[&btc])
            .await
            .expect("Wendy writes puts");
        Book {
            btc,
            vol_authority,
            put,
            put_lo,
            wendy,
            w,
            bob,
            b,
            larry,
            l,
        }
    }

    /// Publishes an implied vol of `bps` basis points (15 000 = 150%).
    pub async fn publish_iv(&self, t: &mut TestContext, bps: u32) {
        let ix = ix::publish_implied_vol(&self.btc.key, &self.vol_authority.pubkey(), bps);
        t.send(&[ix], &[&self.vol_authority])
            .await
            .expect("publish_implied_vol");
    }

    /// Opts the market into the realised-vol stress of the liquidation trigger (off by default):
    /// a realised vol with τ = `tau_secs`.
    pub async fn set_realised_tau(&self, t: &mut TestContext, tau_secs: i64) {
        let admin = t.admin.insecure_clone();
        let p = keel_risk::RiskParams {
            realised_tau_secs: tau_secs,
            ..t.market(&self.btc.key).await.risk_params
        };
        let i = ix::update_market_params(
            &t.ex,
            &admin.pubkey(),
            &self.btc.key,
            keel::instructions::UpdateMarketParamsArgs {
                risk_params: bytemuck::bytes_of(&p).to_vec(),
                guards: crate::helpers::GUARDS,
            },
        );
        t.send(&[i], &[&admin]).await.expect("update_market_params");
    }

    pub fn accounts(&self) -> [Pubkey; 3] {
        [self.w, self.b, self.l]
    }

    pub fn series(&self) -> [Pubkey; 2] {
        [self.put, self.put_lo]
    }
}

/// Moves the oracle to `to` in `steps` cranked steps of ten minutes.
pub async fn crash(t: &mut TestContext, m: &MarketHandle, from: i64, to: i64, steps: i64) {
    for i in 1..=steps {
        t.advance(600).await;
        let usd = from + (to - from) * i / steps;
        t.price_and_crank(m, usd).await;
    }
}

/// A fresh oracle price (no crank: the vol state stays valid for an hour).
pub async fn refresh(t: &mut TestContext, m: &MarketHandle, usd: i64) {
    let now = t.now().await;
    t.set_price(m, crate::oracle::Quote::usd(usd, 5, now)).await;
}
