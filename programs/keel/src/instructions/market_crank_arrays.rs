//! `crank_arrays`: the permissionless risk-array crank (docs/risk-model.md §4.8). Reads and
//! validates the market's oracle; when the market's anchor is due (unusable, or half way through
//! its age, price or vol tolerance) it anchors anew at the current prices and vols — the current
//! anchor becomes the previous one, which keeps serving arrays not yet re-priced — then prices the
//! slots `first_slot..first_slot + count` of the page that are not priced at the current anchor.
//! Split a page over several calls when one transaction's compute budget is not enough; with no
//! page (or `count` 0) it only re-anchors.

use crate::error::{KeelError, OrKeel};
use crate::events::ArraysCranked;
use crate::oracle;
use crate::state::{ArrayPage, Exchange, Market};
use anchor_lang::prelude::*;
use keel_state::array_page::PAGE_SERIES;
use keel_state::exchange::PAUSE_CRANK;

/// Arguments of `crank_arrays`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CrankArraysArgs {
    /// First slot of the page to price.
    pub first_slot: u8,
    /// Slots to consider (those already priced at the current anchor cost nothing).
    pub count: u8,
}

#[derive(Accounts)]
pub struct CrankArrays<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = market.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: validated by `oracle::read_fresh` against the market's oracle configuration.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, constraint = page.load()?.market == market.key().to_bytes() @ KeelError::WrongArrayPage)]
    pub page: Option<AccountLoader<'info, ArrayPage>>,
}

pub fn handler(ctx: Context<CrankArrays>, args: CrankArraysArgs) -> Result<()> {
    require!(
        ctx.accounts.exchange.load()?.allows(PAUSE_CRANK),
        KeelError::ExchangePaused
    );
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    let reading = oracle::read_fresh(&m, &ctx.accounts.oracle, now)?;
    m.accept_reading(&reading).or_keel()?;
    let v = m.valuation(&reading, now).or_keel()?;
    let reanchored = m.reanchor_if_due(&v, now).or_keel()?;
    let mut priced = 0u8;
    let mut page_key = Pubkey::default();
    if let Some(page) = &ctx.accounts.page {
        page_key = page.key();
        let mut pg = page.load_mut()?;
        let first = args.first_slot as usize;
        let end = first.saturating_add(args.count as usize).min(PAGE_SERIES);
        for slot in pg.slots.iter_mut().take(end).skip(first) {
            priced += m.price_slot(slot).or_keel()? as u8;
        }
    }
    crate::events::emit(ArraysCranked {
        market: ctx.accounts.market.key(),
        page: page_key,
        epoch: m.anchor_epoch,
        anchor_ts: m.anchor.ts,
        anchor_spot: m.anchor.spot,
        reanchored,
        priced,
    });
    Ok(())
}
