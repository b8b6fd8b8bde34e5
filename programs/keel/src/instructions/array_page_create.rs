//! `create_array_page`: adds a risk-array page to a market (admin). The client allocates the
//! account at `ArrayPage::SPACE` bytes owned by this program (a page is ~35 KB, beyond what an
//! account created inside an instruction may take) in the same transaction; this initialises it
//! with the market's next page index, so two pages of one market never share an index.

use crate::error::KeelError;
use crate::events::ArrayPageCreated;
use crate::state::{ArrayPage, Exchange, Market};
use anchor_lang::prelude::*;
use keel_state::array_page::NO_PAGE;

#[derive(Accounts)]
pub struct CreateArrayPage<'info> {
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key().to_bytes() @ KeelError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = market.load()?.exchange == exchange.key().to_bytes() @ KeelError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// Allocated by the client (`ArrayPage::SPACE` bytes, owned by this program, all zero).
    #[account(zero)]
    pub page: AccountLoader<'info, ArrayPage>,
}

pub fn handler(ctx: Context<CreateArrayPage>) -> Result<()> {
    let mut m = ctx.accounts.market.load_mut()?;
    // NO_PAGE marks a series without a page: never an index.
    require!(m.array_pages < NO_PAGE - 1, KeelError::TooManyArrayPages);
    let mut page = ctx.accounts.page.load_init()?;
    page.version = keel_state::LAYOUT_VERSION;
    page.page_index = m.array_pages;
    page.exchange = m.exchange;
    page.market = ctx.accounts.market.key().to_bytes();
    m.array_pages += 1;
    crate::events::emit(ArrayPageCreated {
        market: ctx.accounts.market.key(),
        page: ctx.accounts.page.key(),
        page_index: page.page_index,
    });
    Ok(())
}
