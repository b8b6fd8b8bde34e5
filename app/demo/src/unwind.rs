//! The demo's keeper closes what it takes over. A liquidator that keeps the positions it is
//! handed holds a directional book through the crash that produced them (in March 2020 the
//! demo's keeper earned a few hundred dollars of bonuses and lost tens of thousands on the
//! book); a rational one hedges or closes. After every keeper pass that liquidated, the keeper
//! trades each position in its account back to the market maker at the engine's mark of it —
//! the price a liquidation transfers at (read from the risk arrays, kept inside the program's
//! price band, `keel_state::trade_band`) — so its P&L is the bonuses it kept, minus the closing
//! trades' fees, plus what the marks moved between the liquidation and the close.

use crate::backend::DemoChain;
use crate::setup::Exchange;
use crate::DemoError;
use keel::events::Traded;
use keel_client::view::Snapshot;
use keel_client::{ix, Pubkey};
use keel_state::trade_band;
use solana_signer::Signer;

/// What closing cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unwound {
    /// Closing trades sent.
    pub trades: usize,
    /// Taker fees the keeper paid on them (native).
    pub fees_native: i64,
}

/// Closes every open position of the keeper's account with the maker at the engine's mark.
/// Series that expired (awaiting settlement) are left to settlement.
pub async fn close_keeper_positions(
    c: &impl DemoChain,
    x: &Exchange,
) -> Result<Unwound, DemoError> {
    let err = |what: &str, e: &dyn std::fmt::Display| DemoError(format!("{what}: {e}"));
    let snap = Snapshot::load(c.chain(), &x.oracles)
        .await
        .map_err(|e| err("read the chain", &e))?;
    let (keeper, maker) = (x.keeper(), &x.participants[0]);
    let open: Vec<(Pubkey, i64)> = snap.accounts[&keeper.account]
        .active_positions()
        .map(|p| (Pubkey::new_from_array(p.series), p.qty_contracts))
        .filter(|&(_, q)| q != 0)
        .collect();
    // The engine's mark of each of the keeper's positions (read from the risk arrays): the price
    // a liquidation transfers a position at, so closing there in the same slot leaves nothing
    // to the marks.
    let detail = snap
        .margin_detail(&snap.accounts[&keeper.account], None)
        .map_err(|e| err("the keeper's margin", &e))?;
    let engine_mark = |series: &Pubkey| {
        detail
            .positions
            .iter()
            .zip(&detail.breakdown.positions)
            .find(|((k, _), _)| k == series)
            .map(|(_, p)| p.mark)
    };
    let mut out = Unwound::default();
    for (key, qty) in open {
        let s = &snap.series[&key];
        let Some(kind) = s.series_kind() else {
            continue;
        };
        if snap.now >= s.expiry_ts {
            continue;
        }
        let market = Pubkey::new_from_array(s.market);
        let mv = &snap.markets[&market];
        let reading = mv.reading().map_err(|e| err("oracle", &e))?;
        let band = trade_band::band(
            &mv.market,
            &reading,
            kind,
            s.strike_native,
            s.expiry_ts,
            snap.now,
        )
        .map_err(|e| err("price band", &format!("{e:?}")))?;
        let metas = snap
            .margin_metas(
                &[
                    &snap.accounts[&keeper.account],
                    &snap.accounts[&maker.account],
                ],
                // keel-client takes the series traded (its market and its risk-array page).
                &[key],
            )
            .map_err(|e| err("remaining accounts", &e))?;
        // The keeper is the taker: it buys back what it is short and sells what it is long.
        let sent = c
            .send(
                &[ix::trade(
                    &x.ex,
                    &key,
                    &keeper.account,
                    &keeper.kp.pubkey(),
                    &maker.account,
                    &maker.kp.pubkey(),
                    keel::instructions::TradeArgs {
                        qty_contracts: -qty,
                        price_native: engine_mark(&key)
                            .unwrap_or(band.mark)
                            .clamp(band.lo, band.hi),
                    },
                    &metas,
                )],
                &[&keeper.kp, &maker.kp],
            )
            .await
            .map_err(|e| err("the keeper closes a position", &e))?;
        for t in keel_client::events::decode::<Traded>(&sent.logs).map_err(|e| err("events", &e))? {
            out.fees_native += t.taker_fee_native;
        }
        out.trades += 1;
    }
    Ok(out)
}
