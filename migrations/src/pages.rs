//! Risk-array pages (docs/risk-model.md §4.8): every listed option takes a slot of one of its
//! market's pages (`ArrayPage`, `PAGE_SERIES` series each). A page is an account the client
//! allocates at a fresh keypair's address (it is too large to be created inside an instruction)
//! and the admin's `create_array_page` initialises as the market's next page, in one
//! transaction. The bootstrap, `keel market create-page`, `keel market list-series` and the demo
//! all create pages here.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use keel_client::ix::{self, ExchangeKeys};
use keel_client::view::{ArraysDue, Snapshot};
use keel_client::{Budget, Chain, SendError, Sent};
use keel_state::array_page::PAGE_SERIES;
use keel_state::{discriminator, ArrayPage, StateError};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// A page's bytes (discriminator, layout version) checked, on the heap (a page is ~35 KB).
pub fn decode_page(data: &[u8]) -> Result<Box<ArrayPage>, StateError> {
    let size = core::mem::size_of::<ArrayPage>();
    let d = keel_state::DISCRIMINATOR_LEN;
    if data.len() < d + size {
        return Err(StateError::AccountTooSmall);
    }
    if data[..d] != discriminator::ARRAY_PAGE {
        return Err(StateError::WrongDiscriminator);
    }
    if data[d] != keel_state::LAYOUT_VERSION {
        return Err(StateError::UnknownVersion);
    }
    let mut page = bytemuck::zeroed_box::<ArrayPage>();
    bytemuck::bytes_of_mut(&mut *page).copy_from_slice(&data[d..d + size]);
    Ok(page)
}

/// One page of a market: its address, index and free slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRoom {
    /// The page's address.
    pub key: Pubkey,
    /// Its index among the market's pages.
    pub index: u16,
    /// Slots free.
    pub free: usize,
}

/// The pages of `market` on `chain` (owned by the Keel program), by index.
pub async fn market_pages<C: Chain>(chain: &C, market: &Pubkey) -> Result<Vec<PageRoom>, String> {
    let raw = chain
        .program_accounts(&discriminator::ARRAY_PAGE)
        .await
        .map_err(|e| format!("reading risk-array pages: {e}"))?;
    let mut pages = Vec::new();
    for (k, a) in raw {
        if a.owner != keel::ID {
            continue;
        }
        let p = decode_page(&a.data).map_err(|e| format!("risk-array page {k}: {e:?}"))?;
        if p.market == market.to_bytes() {
            pages.push(PageRoom {
                key: k,
                index: p.page_index,
                free: p.slots.iter().filter(|s| s.is_free()).count(),
            });
        }
    }
    pages.sort_by_key(|p| p.index);
    Ok(pages)
}

/// The first page (lowest index) with a free slot.
pub fn with_room(pages: &[PageRoom]) -> Option<PageRoom> {
    pages.iter().find(|p| p.free > 0).copied()
}

/// The `Rent` sysvar's address.
pub const RENT_SYSVAR: Pubkey = anchor_lang::pubkey!("SysvarRent111111111111111111111111111111111");

/// Lamports that make an account of `space` bytes rent-exempt on `chain`, from its `Rent`
/// sysvar (bincode: lamports per byte-year u64, exemption threshold f64, burn percent u8) as
/// `Rent::minimum_balance` computes it.
pub async fn rent_exempt<C: Chain>(chain: &C, space: usize) -> Result<u64, String> {
    let id = RENT_SYSVAR;
    let acc = chain
        .accounts(&[id])
        .await
        .map_err(|e| format!("reading the Rent sysvar: {e}"))?
        .pop()
        .flatten()
        .ok_or("the cluster has no Rent sysvar")?;
    let d = &acc.data;
    if d.len() < 16 {
        return Err("the Rent sysvar is shorter than its layout".into());
    }
    let per_byte_year = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
    let threshold = f64::from_le_bytes(d[8..16].try_into().expect("8 bytes"));
    const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;
    Ok((((ACCOUNT_STORAGE_OVERHEAD + space as u64) * per_byte_year) as f64 * threshold) as u64)
}

/// Why a page could not be created.
#[derive(Debug)]
pub enum CreatePageError {
    /// Reading the chain failed.
    Chain(String),
    /// The transaction failed.
    Send(SendError),
}

impl std::fmt::Display for CreatePageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreatePageError::Chain(e) => f.write_str(e),
            CreatePageError::Send(e) => f.write_str(&crate::bootstrap::describe_send(e)),
        }
    }
}

impl std::error::Error for CreatePageError {}

/// Allocates a page at a fresh keypair's address (rent-exempt, paid by the chain's payer) and
/// initialises it as `market`'s next page, signed by `admin` (the exchange admin, which is
/// either the payer or among `signers`), in one transaction. Returns its address and the
/// transaction.
pub async fn create_page<C: Chain>(
    chain: &C,
    ex: &ExchangeKeys,
    admin: &Pubkey,
    signers: &[&Keypair],
    market: &Pubkey,
    budget: Budget,
) -> Result<(Pubkey, Sent), CreatePageError> {
    let page = Keypair::new();
    let lamports = rent_exempt(chain, keel::state::ArrayPage::SPACE)
        .await
        .map_err(CreatePageError::Chain)?;
    let ixs = [
        ix::allocate_array_page(&chain.payer(), &page.pubkey(), lamports),
        ix::create_array_page(ex, admin, market, &page.pubkey()),
    ];
    let mut all: Vec<&Keypair> = signers.to_vec();
    all.push(&page);
    let sent = chain
        .send(&ixs, &all, budget)
        .await
        .map_err(CreatePageError::Send)?;
    Ok((page.pubkey(), sent))
}

/// The `crank_arrays` calls that `due` (`Snapshot::with_arrays_cranked`) stands for, among
/// `markets` in their order: one per page with slots to price (the first also re-anchors), or
/// one re-anchor alone for a due market without such a page.
pub fn due_cranks(
    due: &ArraysDue,
    markets: impl IntoIterator<Item = Pubkey>,
) -> Vec<(Pubkey, Option<Pubkey>)> {
    let mut calls = Vec::new();
    for m in markets {
        let before = calls.len();
        calls.extend(
            due.pages
                .iter()
                .filter(|(pm, _)| *pm == m)
                .map(|(_, pg)| (m, Some(*pg))),
        );
        if calls.len() == before && due.reanchor.contains(&m) {
            calls.push((m, None));
        }
    }
    calls
}

/// `crank_arrays` of `market` pricing the whole of `page` (`None`: re-anchor only) — up to
/// `PAGE_SERIES` series at ~40k CU each: send it with a 1.4M compute-unit limit.
pub fn crank_ix(snap: &Snapshot, market: &Pubkey, page: Option<Pubkey>) -> Option<Instruction> {
    let mv = snap.markets.get(market)?;
    Some(ix::crank_arrays(
        &ix::exchange_keys(&snap.exchange),
        market,
        &mv.oracle_key,
        page,
        0,
        PAGE_SERIES as u8,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> Pubkey {
        Pubkey::new_from_array([n; 32])
    }

    #[test]
    fn one_call_per_due_page_or_a_reanchor_alone() {
        let due = ArraysDue {
            reanchor: vec![k(1), k(2), k(3)],
            pages: vec![(k(1), k(11)), (k(1), k(12)), (k(4), k(41))],
        };
        assert_eq!(
            due_cranks(&due, [k(1), k(2), k(4), k(5)]),
            vec![
                (k(1), Some(k(11))),
                (k(1), Some(k(12))),
                (k(2), None),
                (k(4), Some(k(41)))
            ]
        );
        // Markets not asked about are left alone.
        assert_eq!(due_cranks(&due, [k(3)]), vec![(k(3), None)]);
        assert!(due_cranks(&ArraysDue::default(), [k(1)]).is_empty());
    }
}
