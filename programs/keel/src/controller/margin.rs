//! Margin checks: the markets an account needs (from the remaining accounts), keel-state's
//! input builder and keel-risk's `compute`, with the big buffers on the heap.
//!
//! Remaining-accounts protocol, shared by every instruction that checks margin: for each market
//! the account(s) hold positions in, the market account followed by its oracle account; the
//! risk-array pages of their option positions; then, optionally, correlation accounts. Order is
//! free; markets not used are still validated. `liquidate` also takes the (writable) series
//! accounts of the liquidatee's positions there.

use crate::error::{KeelError, OrKeel};
use crate::oracle;
use crate::state::{ArrayPage, Correlation, Market, Series};
use anchor_lang::prelude::*;
use anchor_lang::{Discriminator, ZeroCopy};
use core::cell::Ref;
use keel_risk::MarginBreakdown;
use keel_state::{MarginInputs, MarginSnapshot, MarketReading, OracleReading};

/// A market with its validated oracle reading.
pub struct LoadedMarket<'info> {
    /// The market account's address.
    pub key: Pubkey,
    /// The market, borrowed read-only from its account.
    pub market: Ref<'info, Market>,
    /// Its oracle reading (identity, freshness and confidence checked).
    pub reading: OracleReading,
}

/// The markets and correlations passed to an instruction.
pub struct MarketSet<'info> {
    /// Markets, in the order passed.
    pub markets: Vec<LoadedMarket<'info>>,
    /// Correlation accounts.
    pub correlations: Vec<Ref<'info, Correlation>>,
    /// Risk-array pages.
    pub pages: Vec<Ref<'info, ArrayPage>>,
    /// Series accounts (only where the instruction asks for them; not yet borrowed).
    pub series: Vec<&'info AccountInfo<'info>>,
}

/// Borrows a Keel account of type `T` from `info` read-only, checking owner, discriminator,
/// size and layout version.
pub fn load_ref<'info, T: ZeroCopy + Owner>(
    info: &'info AccountInfo<'info>,
) -> Result<Ref<'info, T>> {
    require_keys_eq!(*info.owner, T::owner(), KeelError::UnexpectedAccount);
    let data = info.try_borrow_data()?;
    require!(
        starts_with_discriminator(&data, T::DISCRIMINATOR),
        KeelError::UnexpectedAccount
    );
    let size = check_layout::<T>(&data)?;
    Ok(Ref::map(data, |d| bytemuck::from_bytes(&d[8..8 + size])))
}

/// The size and layout version of a Keel `T` account's data (`UnexpectedAccount` when too
/// short, `UnknownLayoutVersion`); returns the size of `T`. Inlined: out of line it costs the
/// 32x4 margin check 173 CU (scripts/measure-margin-check.sh).
#[inline(always)]
fn check_layout<T: ZeroCopy>(data: &[u8]) -> Result<usize> {
    let size = core::mem::size_of::<T>();
    require!(data.len() >= 8 + size, KeelError::UnexpectedAccount);
    require!(
        data[8] == keel_state::LAYOUT_VERSION,
        KeelError::UnknownLayoutVersion
    );
    Ok(size)
}

/// The 8-byte discriminator as the 64-bit word an aligned load of it gives.
const fn disc_word(d: &[u8]) -> u64 {
    u64::from_ne_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// What a remaining account of a margin check is, read once: its owner, then its discriminator
/// as one word (each account used to be borrowed and compared once per candidate type, and its
/// owner and discriminator checked again when loaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remaining {
    Market,
    Correlation,
    Page,
    Series,
    /// Not a Keel account of those types (refused by the caller).
    Other,
}

impl Remaining {
    fn of(info: &AccountInfo) -> Remaining {
        const MARKET: u64 = disc_word(<Market as Discriminator>::DISCRIMINATOR);
        const CORRELATION: u64 = disc_word(<Correlation as Discriminator>::DISCRIMINATOR);
        const PAGE: u64 = disc_word(<ArrayPage as Discriminator>::DISCRIMINATOR);
        const SERIES: u64 = disc_word(<Series as Discriminator>::DISCRIMINATOR);
        if *info.owner != crate::ID {
            return Remaining::Other;
        }
        let Ok(data) = info.try_borrow_data() else {
            return Remaining::Other;
        };
        let Some(head) = data.get(..8) else {
            return Remaining::Other;
        };
        let word = match bytemuck::try_from_bytes::<u64>(head) {
            Ok(w) => *w,
            Err(_) => disc_word(head),
        };
        match word {
            MARKET => Remaining::Market,
            CORRELATION => Remaining::Correlation,
            PAGE => Remaining::Page,
            SERIES => Remaining::Series,
            _ => Remaining::Other,
        }
    }
}

/// [`load_known`] mutably, on data already borrowed.
fn known_mut<T: ZeroCopy>(data: &mut [u8]) -> Result<&mut T> {
    let size = check_layout::<T>(data)?;
    Ok(bytemuck::from_bytes_mut(&mut data[8..8 + size]))
}

/// [`load_ref`] of an account [`Remaining::of`] has already found to be a Keel `T` (owner and
/// discriminator checked): size and layout version only.
fn load_known<'info, T: ZeroCopy>(info: &'info AccountInfo<'info>) -> Result<Ref<'info, T>> {
    let data = info.try_borrow_data()?;
    let size = check_layout::<T>(&data)?;
    Ok(Ref::map(data, |d| bytemuck::from_bytes(&d[8..8 + size])))
}

/// `data.starts_with(disc)`, an 8-byte discriminator compared as one 64-bit word where `data` is
/// 8-aligned (an account's data is; `keel_state::has_discriminator`, byte by byte otherwise).
fn starts_with_discriminator(data: &[u8], disc: &[u8]) -> bool {
    match <&[u8; 8]>::try_from(disc) {
        Ok(d) => keel_state::has_discriminator(data, d),
        Err(_) => data.starts_with(disc),
    }
}

/// `require_keys_eq!(Pubkey::new_from_array(*stored), *key, error)`, the keys compared as
/// 64-bit words where both are 8-aligned (`keel_state::same_key`; an account's key and a key
/// field of a Keel layout are), byte by byte otherwise. Same result, error code and compared
/// keys (the error's logged origin is this function's line instead of the caller's).
fn require_key(stored: &[u8; 32], key: &Pubkey, error: KeelError) -> Result<()> {
    if !keel_state::same_key(stored, key.as_array()) {
        return Err(error!(error).with_pubkeys((Pubkey::new_from_array(*stored), *key)));
    }
    Ok(())
}

impl<'info> MarketSet<'info> {
    /// Parses `remaining` (market, oracle pairs, then correlations) for `exchange` at `now`.
    pub fn load(
        remaining: &'info [AccountInfo<'info>],
        exchange: &Pubkey,
        now: i64,
    ) -> Result<Self> {
        Self::parse(remaining, exchange, now, false)
    }

    /// As [`Self::load`], also accepting writable series accounts (kept in `series`).
    pub fn load_with_series(
        remaining: &'info [AccountInfo<'info>],
        exchange: &Pubkey,
        now: i64,
    ) -> Result<Self> {
        Self::parse(remaining, exchange, now, true)
    }

    fn parse(
        remaining: &'info [AccountInfo<'info>],
        exchange: &Pubkey,
        now: i64,
        allow_series: bool,
    ) -> Result<Self> {
        // Sized for the largest account up front: no reallocation while parsing.
        let mut markets: Vec<LoadedMarket<'info>> = Vec::with_capacity(keel_risk::MAX_MARKETS);
        let mut correlations = Vec::new();
        let mut series = Vec::new();
        let mut pages: Vec<Ref<'info, ArrayPage>> = Vec::with_capacity(2 * keel_risk::MAX_MARKETS);
        let mut i = 0;
        while i < remaining.len() {
            let info = &remaining[i];
            match Remaining::of(info) {
                Remaining::Market => {
                    // A market passed twice: the first (market, oracle) pair stands.
                    if markets
                        .iter()
                        .any(|m| keel_state::same_key(m.key.as_array(), info.key.as_array()))
                    {
                        i += 2;
                        continue;
                    }
                    // One mutable borrow checks the market, reads its oracle and records the
                    // reading as the newest it has accepted (`OracleOutOfOrder` for an older
                    // one): every margin check does, so a market must be passed writable
                    // (`MarketNotWritable`). Then it is kept borrowed read-only.
                    let reading = {
                        let mut data = info.try_borrow_mut_data()?;
                        let market = known_mut::<Market>(&mut data)?;
                        require_key(&market.exchange, exchange, KeelError::WrongExchange)?;
                        let oracle_info = remaining.get(i + 1).ok_or(KeelError::MarketMissing)?;
                        let reading = oracle::read_fresh(market, oracle_info, now)?;
                        require!(info.is_writable, KeelError::MarketNotWritable);
                        market.accept_reading(&reading).or_keel()?;
                        reading
                    };
                    let market = load_known::<Market>(info)?;
                    markets.push(LoadedMarket {
                        key: info.key(),
                        market,
                        reading,
                    });
                    i += 2;
                }
                Remaining::Correlation => {
                    let c = load_known::<Correlation>(info)?;
                    require_key(&c.exchange, exchange, KeelError::WrongExchange)?;
                    correlations.push(c);
                    i += 1;
                }
                Remaining::Page => {
                    let pg = load_known::<ArrayPage>(info)?;
                    require_key(&pg.exchange, exchange, KeelError::WrongExchange)?;
                    pages.push(pg);
                    i += 1;
                }
                // Read-only is allowed: a transfer that changes none of its counters only reads
                // it (`liquidation::transfer` refuses a read-only one it must write).
                Remaining::Series if allow_series => {
                    if !series.iter().any(|s: &&AccountInfo| s.key == info.key) {
                        series.push(info);
                    }
                    i += 1;
                }
                _ => return err!(KeelError::UnexpectedAccount),
            }
        }
        Ok(MarketSet {
            markets,
            correlations,
            pages,
            series,
        })
    }

    /// Whether `market` was passed.
    pub fn contains(&self, market: &[u8; 32]) -> bool {
        self.markets.iter().any(|m| m.key.to_bytes() == *market)
    }
}

/// Allocates a zeroed `MarginBreakdown` directly on the heap (≈ 6 KiB: it must never be built
/// on the 4 KiB SBF stack frame).
pub fn zeroed_breakdown() -> Box<MarginBreakdown> {
    let layout = std::alloc::Layout::new::<MarginBreakdown>();
    // SAFETY: `MarginBreakdown` consists only of integers (`i64`, `u8`) and `Fx` (an `i64`
    // newtype) in nested arrays and structs, so all-zero bytes are a valid value (it equals
    // `MarginBreakdown::default()`, checked in this module's tests). The pointer comes from the
    // global allocator with this exact layout, as `Box::from_raw` requires.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut MarginBreakdown;
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(p)
    }
}

/// Reusable margin machinery for one instruction: one input buffer, one breakdown.
pub struct Margin<'a> {
    readings: Vec<MarketReading<'a>>,
    correlations: Vec<&'a keel_state::Correlation>,
    pages: Vec<&'a keel_state::ArrayPage>,
    inputs: Box<MarginInputs<'a>>,
    /// Per market, the checked readings and windows of earlier checks of this instruction (same
    /// markets, time and readings: a later check reuses them, bit for bit); none for an
    /// instruction that checks once ([`Margin::once`]), where keeping them would only cost.
    memo: Option<Box<keel_state::MarginMemo<'a>>>,
    /// The last computed breakdown.
    pub breakdown: Box<MarginBreakdown>,
    now: i64,
}

impl<'a> Margin<'a> {
    /// Prepares margin checks against the markets in `set` at `now`, remembering what a later
    /// check of the same instruction can reuse (`trade`, `liquidate`: two to four checks).
    pub fn new(set: &'a MarketSet<'_>, now: i64) -> Self {
        let mut m = Margin::once(set, now);
        m.memo = Some(Box::default());
        m
    }

    /// Prepares one margin check (`withdraw`, `deposit`, `margin_report`): the same figures,
    /// bit for bit, without the memo.
    pub fn once(set: &'a MarketSet<'_>, now: i64) -> Self {
        let readings = set
            .markets
            .iter()
            .map(|m| MarketReading {
                key: m.key.to_bytes(),
                market: &m.market.0,
                oracle: m.reading,
            })
            .collect();
        let correlations = set.correlations.iter().map(|c| &c.0).collect();
        let pages = set.pages.iter().map(|p| &p.0).collect();
        Margin {
            readings,
            correlations,
            pages,
            inputs: Box::new(MarginInputs::new()),
            memo: None,
            breakdown: zeroed_breakdown(),
            now,
        }
    }

    /// Computes the margin of `account` (with its collateral replaced by `collateral` if given)
    /// into `self.breakdown` and returns its snapshot.
    pub fn compute(
        &mut self,
        account: &keel_state::MarginAccount,
        collateral: Option<i64>,
    ) -> Result<MarginSnapshot> {
        keel_state::compute_margin_memo(
            account,
            collateral,
            &self.readings,
            &self.pages,
            &self.correlations,
            self.now,
            &mut self.inputs,
            self.memo.as_deref_mut(),
            &mut self.breakdown,
        )
        .or_keel()?;
        Ok(snapshot(&self.breakdown))
    }

    /// Account slot of the i-th position of the last computation's inputs.
    pub fn position_slot(&self, i: usize) -> usize {
        self.inputs.position_slots[i] as usize
    }

    /// Market key of the i-th market of the last computation's inputs.
    pub fn market_key(&self, i: usize) -> [u8; 32] {
        self.inputs.market_keys[i]
    }
}

/// The figures stored in `MarginAccount::last_margin`.
pub fn snapshot(b: &MarginBreakdown) -> MarginSnapshot {
    MarginSnapshot {
        ts: b.now,
        equity_mm: b.equity_mm,
        equity_im: b.equity_im,
        mm: b.mm,
        im: b.im,
    }
}

/// equity_im − IM of a snapshot.
pub fn health_im(s: &MarginSnapshot) -> i64 {
    s.equity_im.saturating_sub(s.im)
}

/// Whether the account holds a position in a series that has expired at `now`.
pub fn has_expired_positions(account: &keel_state::MarginAccount, now: i64) -> bool {
    account.active_positions().any(|p| p.expiry_ts <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_breakdown_is_the_default() {
        assert_eq!(*zeroed_breakdown(), MarginBreakdown::default());
    }
}
