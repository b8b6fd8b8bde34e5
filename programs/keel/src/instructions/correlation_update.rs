//! `update_correlation`: the permissionless correlation crank. Reads both markets' oracles
//! (validated, published within `max_sync_secs` of each other) and folds the pair of returns
//! into the EWMA covariance state.

use crate::error::{KeelError, OrKeel};
use crate::events::CorrelationUpdated;
use crate::oracle;
use crate::state::{Correlation, Exchange, Market};
use anchor_lang::prelude::*;
use keel_state::exchange::PAUSE_CRANK;

#[derive(Accounts)]
pub struct UpdateCorrelation<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        mut,
        constraint = correlation.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange,
        constraint = correlation.load()?.market_a == market_a.key().to_bytes() @ KeelError::WrongMarket,
        constraint = correlation.load()?.market_b == market_b.key().to_bytes() @ KeelError::WrongMarket,
    )]
    pub correlation: AccountLoader<'info, Correlation>,
    /// Writable: each market records the newest oracle update it accepted.
    #[account(mut)]
    pub market_a: AccountLoader<'info, Market>,
    /// CHECK: validated by `oracle::read_fresh` against market a's configuration.
    pub oracle_a: UncheckedAccount<'info>,
    #[account(mut)]
    pub market_b: AccountLoader<'info, Market>,
    /// CHECK: validated by `oracle::read_fresh` against market b's configuration.
    pub oracle_b: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<UpdateCorrelation>) -> Result<()> {
    require!(
        ctx.accounts.exchange.load()?.allows(PAUSE_CRANK),
        KeelError::ExchangePaused
    );
    let now = Clock::get()?.unix_timestamp;
    let mut ma = ctx.accounts.market_a.load_mut()?;
    let mut mb = ctx.accounts.market_b.load_mut()?;
    let ra = oracle::read_fresh(&ma, &ctx.accounts.oracle_a, now)?;
    let rb = oracle::read_fresh(&mb, &ctx.accounts.oracle_b, now)?;
    // Oracle updates only move forward here too (docs/security.md §2).
    ma.accept_reading(&ra).or_keel()?;
    mb.accept_reading(&rb).or_keel()?;
    let mut c = ctx.accounts.correlation.load_mut()?;
    require!(
        (ra.publish_time - rb.publish_time).abs() <= c.max_sync_secs,
        KeelError::OracleNotSynchronised
    );
    let pa = ma.contract_spec().price_native(&ra).or_keel()?;
    let pb = mb.contract_spec().price_native(&rb).or_keel()?;
    let ts = ra.publish_time.max(rb.publish_time);
    let cap = ma
        .risk_params
        .max_sample_var
        .min(mb.risk_params.max_sample_var);
    let (tau, min_interval) = (c.tau_secs, c.min_interval_secs);
    let mut st = c.state;
    st.observe(pa, pb, ts, tau, min_interval, cap).or_keel()?;
    c.state = st;
    crate::events::emit(CorrelationUpdated {
        correlation: ctx.accounts.correlation.key(),
        price_a_native: pa,
        price_b_native: pb,
        ts,
        var_a_q32: st.var_a.to_bits(),
        var_b_q32: st.var_b.to_bits(),
        cov_q32: st.cov.to_bits(),
        rho_q32: st.rho().or_keel()?.to_bits(),
    });
    Ok(())
}
