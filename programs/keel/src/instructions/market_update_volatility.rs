//! `update_volatility`: the permissionless vol crank. Reads and validates the market's oracle,
//! folds the price into the EWMA/GARCH state, moves the stable price, blends a fresh implied
//! vol and applies the anti-procyclical floor. Callable at any interval above the market's
//! minimum; stale, low-confidence and out-of-order prices are refused and change nothing.
//!
//! Remaining accounts (markets without a vol authority): series of this market whose option
//! fills should be folded into the market's implied vol first (`Market::fold_fills`).

use crate::error::{KeelError, OrKeel};
use crate::events::VolatilityUpdated;
use crate::oracle;
use crate::state::{Exchange, Market, Series};
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_CRANK;

#[derive(Accounts)]
pub struct UpdateVolatility<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = market.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: validated by `oracle::read_fresh` against the market's oracle configuration.
    pub oracle: UncheckedAccount<'info>,
}

/// The fills the market's series passed in `remaining` have recorded, `(time, level)`: each
/// must be a series of this market (`WrongMarket` otherwise).
fn series_fills<'info>(
    remaining: &'info [AccountInfo<'info>],
    market: &Pubkey,
) -> Result<Vec<(i64, keel_risk::Fx)>> {
    let mut out = Vec::with_capacity(remaining.len());
    for info in remaining {
        let loader = AccountLoader::<Series>::try_from(info)?;
        let s = loader.load()?;
        require!(s.market == market.to_bytes(), KeelError::WrongMarket);
        out.push((s.fill_vol.ts, s.fill_vol.level));
    }
    Ok(out)
}

pub fn handler<'info>(ctx: Context<'info, UpdateVolatility<'info>>) -> Result<()> {
    require!(
        ctx.accounts.exchange.load()?.allows(PAUSE_CRANK),
        KeelError::ExchangePaused
    );
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    let reading = oracle::read_fresh(&m, &ctx.accounts.oracle, now)?;
    // A market without a vol authority folds the fills its series recorded (any of its series,
    // passed read-only as remaining accounts; the fold is rate-limited whichever a caller
    // picks). The market is modified only if the crank succeeds (an error aborts the
    // instruction).
    let mut fills = if !m.has_vol_authority() && !ctx.remaining_accounts.is_empty() {
        series_fills(ctx.remaining_accounts, &ctx.accounts.market.key())?
    } else {
        Vec::new()
    };
    let step = m.crank_volatility(&reading, &mut fills).or_keel()?;
    let iv = m.implied();
    let (vs, price) = (m.vol_state, m.last_oracle.price_native);
    crate::events::emit(VolatilityUpdated {
        market: ctx.accounts.market.key(),
        price_native: price,
        publish_time: reading.publish_time,
        dt_secs: step.dt_secs,
        log_return_q32: step.log_return.to_bits(),
        sample_var_q32: step.sample_var.to_bits(),
        ewma_weight_q32: step.ewma_weight.to_bits(),
        ewma_var_q32: vs.ewma_var.to_bits(),
        garch_var_q32: vs.garch_var.to_bits(),
        hist_vol_q32: vs.hist_vol.to_bits(),
        raw_vol_q32: vs.raw_vol.to_bits(),
        margin_vol_q32: vs.margin_vol.to_bits(),
        stable_price_native: vs.stable_price,
        implied_vol_q32: iv.map(|v| v.vol.to_bits()).unwrap_or(0),
    });
    Ok(())
}
