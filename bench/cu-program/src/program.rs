//! The SBF program: entrypoint, input parsing, the measured section of each case.
//!
//! No Solana crate is used (they need `std`, which this toolchain cannot build for SBF): the
//! loader's serialized input is parsed here (aligned `bpf_loader` format), the syscalls are
//! declared directly, and the heap is Solana's standard bump region at 0x3_0000_0000.

extern crate alloc;

use crate::request::{accounts, bench_error, error_code, out, Case, Request, Words};
use crate::request::{cdf_arg, crank_observation, exp_arg, secs_to_expiry, spot, valuation_args};
use alloc::boxed::Box;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{read_volatile, write_volatile};
use keel_risk::pricing::{black76, greeks, value_at, Greeks, TotalVol};
use keel_risk::vol::VolStep;
use keel_risk::{liquidation, math, Fx, MarginBreakdown, RiskResult, SeriesKind};
use keel_state::oracle::{read_price_update_v2, Verification};
use keel_state::{
    compute_margin, discriminator, ArrayPage, ArraySlot, Exchange, Layout as StateLayout,
    MarginAccount, MarginInputs, Market, MarketReading, OracleReading, StateError,
    DISCRIMINATOR_LEN, LAYOUT_VERSION, MAX_MARKETS, MAX_POSITIONS,
};

extern "C" {
    fn sol_remaining_compute_units() -> u64;
    fn sol_log_(message: *const u8, len: u64);
    fn abort() -> !;
}

/// Solana's program heap: 32 KiB at 0x3_0000_0000, zero-filled by the VM. A bump allocator
/// growing down from the top, like `solana_program`'s default (the Anchor program uses that
/// one); it never frees.
struct BumpAllocator;

const HEAP_START: usize = 0x3_0000_0000;
const HEAP_LEN: usize = 32 * 1024;

unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pos_ptr = HEAP_START as *mut usize;
        let mut pos = *pos_ptr;
        if pos == 0 {
            pos = HEAP_START + HEAP_LEN;
        }
        pos = pos.saturating_sub(layout.size());
        pos &= !(layout.align().wrapping_sub(1));
        if pos < HEAP_START + core::mem::size_of::<*mut u8>() {
            return core::ptr::null_mut();
        }
        *pos_ptr = pos;
        pos as *mut u8
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    log(b"keel-cu-bench: panic");
    unsafe { abort() }
}

fn log(msg: &[u8]) {
    unsafe { sol_log_(msg.as_ptr(), msg.len() as u64) }
}

/// One account of the serialized input.
struct AccountView {
    key: [u8; 32],
    data: *mut u8,
    len: usize,
    writable: bool,
}

impl AccountView {
    fn data(&self) -> &[u8] {
        unsafe { core::slice::from_raw_parts(self.data, self.len) }
    }

    #[allow(clippy::mut_from_ref)]
    fn data_mut(&self) -> &mut [u8] {
        unsafe { core::slice::from_raw_parts_mut(self.data, self.len) }
    }
}

const MAX_ACCOUNTS: usize = accounts::FIRST_MARKET + 2 * MAX_MARKETS + accounts::MAX_PAGES;
/// Bytes the loader reserves after each account's data for growth.
const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;

/// Parses the aligned `bpf_loader` input: accounts (duplicates refer to an earlier one), then
/// the instruction data.
unsafe fn parse_input(input: *mut u8, accs: &mut [AccountView; MAX_ACCOUNTS]) -> (usize, &'static [u8]) {
    let mut p = input;
    let n = (p as *const u64).read() as usize;
    p = p.add(8);
    let mut seen = 0;
    for i in 0..n {
        let dup = *p;
        if dup != u8::MAX {
            p = p.add(8);
            if i < MAX_ACCOUNTS && (dup as usize) < seen {
                accs[i] = AccountView {
                    key: accs[dup as usize].key,
                    data: accs[dup as usize].data,
                    len: accs[dup as usize].len,
                    writable: accs[dup as usize].writable,
                };
                seen += 1;
            }
            continue;
        }
        let writable = *p.add(2) != 0;
        // dup, signer, writable, executable, 4 padding, then the key.
        let key = (p.add(8) as *const [u8; 32]).read_unaligned();
        // key 32, owner 32, lamports 8.
        p = p.add(8 + 32 + 32 + 8);
        let len = (p as *const u64).read() as usize;
        p = p.add(8);
        let data = p;
        p = p.add(len + MAX_PERMITTED_DATA_INCREASE);
        p = p.add(p.align_offset(8));
        p = p.add(8); // rent epoch
        if i < MAX_ACCOUNTS {
            accs[i] = AccountView {
                key,
                data,
                len,
                writable,
            };
            seen += 1;
        }
    }
    let ix_len = (p as *const u64).read() as usize;
    p = p.add(8);
    (seen.min(n), core::slice::from_raw_parts(p, ix_len))
}

/// Borrows a Keel account zero-copy, checking size, discriminator and layout version (what
/// `programs/keel`'s `load_ref` checks besides the owner).
fn load<'a, T: StateLayout>(data: &'a [u8], disc: &[u8; 8]) -> Result<&'a T, StateError> {
    check_header::<T>(data, disc)?;
    bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..DISCRIMINATOR_LEN + T::SIZE])
        .map_err(|_| StateError::AccountTooSmall)
}

/// The reading of `market`'s pull oracle from `data`, fully verified: the identity check of
/// `keel_state::oracle::read_identity` for a market that requires `Full` (through the same
/// `read_price_update_v2`).
fn full_reading(data: &[u8], market: &Market) -> Result<OracleReading, Fail> {
    match read_price_update_v2(data, &market.oracle.feed_id) {
        Ok((Verification::Full, reading)) => Ok(reading),
        Ok(_) | Err(StateError::OracleWrongFeed) => Err(Fail::Bench(bench_error::WRONG_ORACLE)),
        Err(e) => Err(e.into()),
    }
}

/// [`load`], mutably (`load_mut` in the program).
fn load_mut<'a, T: StateLayout>(data: &'a mut [u8], disc: &[u8; 8]) -> Result<&'a mut T, StateError> {
    check_header::<T>(data, disc)?;
    bytemuck::try_from_bytes_mut(&mut data[DISCRIMINATOR_LEN..DISCRIMINATOR_LEN + T::SIZE])
        .map_err(|_| StateError::AccountTooSmall)
}

fn check_header<T: StateLayout>(data: &[u8], disc: &[u8; 8]) -> Result<(), StateError> {
    if data.len() < DISCRIMINATOR_LEN + T::SIZE {
        return Err(StateError::AccountTooSmall);
    }
    if !keel_state::has_discriminator(data, disc) {
        return Err(StateError::WrongDiscriminator);
    }
    if data[DISCRIMINATOR_LEN] != LAYOUT_VERSION {
        return Err(StateError::UnknownVersion);
    }
    Ok(())
}

/// The risk-array pages passed (accounts after the markets), borrowed read-only.
struct Pages<'a> {
    refs: Option<[&'a ArrayPage; accounts::MAX_PAGES]>,
    n: usize,
}

impl<'a> Pages<'a> {
    /// Borrows pages `first..first + n` of `accs`; with `exchange`, each must belong to it
    /// (`MarketSet::load` checks this).
    fn load(
        accs: &'a [AccountView; MAX_ACCOUNTS],
        first: usize,
        n: usize,
        exchange: Option<&[u8; 32]>,
    ) -> Result<Pages<'a>, Fail> {
        if n == 0 {
            return Ok(Pages { refs: None, n: 0 });
        }
        let one = |i: usize| -> Result<&'a ArrayPage, Fail> {
            let pg: &ArrayPage = load(accs[first + i].data(), &discriminator::ARRAY_PAGE)?;
            if exchange.is_some_and(|e| !keel_state::same_key(&pg.exchange, e)) {
                return Err(Fail::Bench(bench_error::WRONG_EXCHANGE));
            }
            Ok(pg)
        };
        let mut refs = [one(0)?; accounts::MAX_PAGES];
        for (i, r) in refs.iter_mut().enumerate().take(n).skip(1) {
            *r = one(i)?;
        }
        Ok(Pages {
            refs: Some(refs),
            n,
        })
    }

    fn get(&self) -> &[&'a ArrayPage] {
        match &self.refs {
            Some(r) => &r[..self.n],
            None => &[],
        }
    }
}

#[inline(always)]
fn remaining_cu() -> u64 {
    unsafe { sol_remaining_compute_units() }
}

/// Brackets the measured section: `(r1 − r2) − (r0 − r1)` is the section without the cost of
/// the second measuring call (which `r0 − r1` is exactly).
struct Meter {
    r0: u64,
    r1: u64,
}

impl Meter {
    #[inline(always)]
    fn start() -> Meter {
        let r0 = remaining_cu();
        let r1 = remaining_cu();
        Meter { r0, r1 }
    }

    #[inline(always)]
    fn stop(self) -> (u64, u64) {
        let r2 = remaining_cu();
        let syscall = self.r0 - self.r1;
        ((self.r1 - r2).saturating_sub(syscall), syscall)
    }
}

/// The program's entrypoint.
///
/// # Safety
/// `input` is the loader's serialized input.
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let mut accs: [AccountView; MAX_ACCOUNTS] = core::array::from_fn(|_| AccountView {
        key: [0; 32],
        data: core::ptr::null_mut(),
        len: 0,
        writable: false,
    });
    let (n_accs, ix) = parse_input(input, &mut accs);
    let Some(req) = Request::decode(ix) else {
        return bench_error::BAD_REQUEST;
    };
    let n_markets = req.case.markets(req.n);
    let first_page = accounts::FIRST_MARKET + 2 * n_markets;
    if n_accs < first_page {
        return bench_error::MISSING_ACCOUNT;
    }
    let n_pages = n_accs - first_page;
    let output = &accs[accounts::OUTPUT];
    if !output.writable || output.len < out::LEN {
        return bench_error::BAD_OUTPUT;
    }
    // The result words go straight into the output account (8-aligned in the loader's input):
    // a crank's arrays would not fit the 32 KiB heap.
    let (head, body) = output.data_mut().split_at_mut(out::DATA);
    let Ok(words) = bytemuck::try_cast_slice_mut::<u8, i64>(&mut body[..8 * out::MAX_WORDS]) else {
        return bench_error::BAD_OUTPUT;
    };
    let (status, cu, syscall, n_words) = match run(&req, &accs, n_markets, n_pages, words) {
        Ok((cu, syscall, n)) => (0, cu, syscall, n),
        Err(Fail::State(e)) => (error_code(&e), 0, 0, 0),
        Err(Fail::Bench(code)) => return code,
    };
    head[..8].copy_from_slice(&out::MAGIC);
    head[out::CU..out::CU + 8].copy_from_slice(&cu.to_le_bytes());
    head[out::SYSCALL_CU..out::SYSCALL_CU + 8].copy_from_slice(&syscall.to_le_bytes());
    head[out::STATUS..out::STATUS + 8].copy_from_slice(&status.to_le_bytes());
    head[out::WORDS..out::WORDS + 8].copy_from_slice(&(n_words as u64).to_le_bytes());
    0
}

enum Fail {
    State(StateError),
    Bench(u64),
}

impl From<StateError> for Fail {
    fn from(e: StateError) -> Self {
        Fail::State(e)
    }
}

impl From<keel_risk::RiskError> for Fail {
    fn from(e: keel_risk::RiskError) -> Self {
        Fail::State(StateError::Risk(e))
    }
}

/// What every case but `anchor` and `margin_program_path` gets: the request and the loaded
/// accounts.
struct Ctx<'a> {
    req: &'a Request,
    account: &'a MarginAccount,
    exchange: &'a Exchange,
    readings: &'a [MarketReading<'a>],
    /// The risk-array pages, read-only (empty for `crank`, which writes them).
    pages: &'a [&'a ArrayPage],
}

/// Runs `req`; returns (section CU, syscall CU, result words).
///
/// Each case is its own non-inlined function so that each keeps its own SBF stack frame
/// (4 KiB each); everything a case's measured section calls may still be inlined into it.
fn run(
    req: &Request,
    accs: &[AccountView; MAX_ACCOUNTS],
    n_markets: usize,
    n_pages: usize,
    words: &mut [i64],
) -> Result<(u64, u64, usize), Fail> {
    let mut w = Words::new(words);
    let (cu, syscall) = match req.case {
        // These borrow the accounts themselves: the market mutably, or inside the section.
        Case::Anchor => anchor_case(req, accs, &mut w)?,
        Case::MarginPath => margin_path(req, accs, n_markets, n_pages, &mut w)?,
        _ => with_ctx(req, accs, n_markets, n_pages, &mut w)?,
    };
    let n_words = w.finish().ok_or(Fail::Bench(bench_error::OUTPUT_FULL))?;
    Ok((cu, syscall, n_words))
}

/// Loads the accounts into a [`Ctx`] and runs the case.
#[inline(never)]
fn with_ctx(
    req: &Request,
    accs: &[AccountView; MAX_ACCOUNTS],
    n_markets: usize,
    n_pages: usize,
    w: &mut Words,
) -> Result<(u64, u64), Fail> {
    let account: &MarginAccount =
        load(accs[accounts::MARGIN].data(), &discriminator::MARGIN_ACCOUNT)?;
    let exchange: &Exchange = load(accs[accounts::EXCHANGE].data(), &discriminator::EXCHANGE)?;
    let mut loaded: [Option<MarketReading>; MAX_MARKETS] = [None; MAX_MARKETS];
    for (i, slot) in loaded.iter_mut().enumerate().take(n_markets) {
        let market_acc = &accs[accounts::FIRST_MARKET + 2 * i];
        let oracle_acc = &accs[accounts::FIRST_MARKET + 2 * i + 1];
        let market: &Market = load(market_acc.data(), &discriminator::MARKET)?;
        let reading = full_reading(oracle_acc.data(), market)?;
        *slot = Some(MarketReading {
            key: market_acc.key,
            market,
            oracle: reading,
        });
    }
    let first = loaded[0].ok_or(Fail::Bench(bench_error::MISSING_ACCOUNT))?;
    let mut readings = [first; MAX_MARKETS];
    for (slot, r) in readings.iter_mut().zip(loaded.iter()).take(n_markets) {
        *slot = r.ok_or(Fail::Bench(bench_error::MISSING_ACCOUNT))?;
    }
    if (account.n_positions as usize) < req.n {
        return Err(Fail::Bench(bench_error::TOO_FEW_POSITIONS));
    }
    let first_page = accounts::FIRST_MARKET + 2 * n_markets;
    let page_count = if req.case == Case::Crank { 0 } else { n_pages };
    let pages = Pages::load(accs, first_page, page_count, None)?;
    let ctx = Ctx {
        req,
        account,
        exchange,
        readings: &readings[..n_markets],
        pages: pages.get(),
    };
    Ok(match req.case {
        Case::Noop => Meter::start().stop(),
        Case::Exp | Case::Ln | Case::Sqrt | Case::Cdf => elementary(&ctx, w),
        Case::Valuation => valuation(&ctx, w)?,
        Case::Black76 => black76_case(&ctx, w),
        Case::Greeks => greeks_case(&ctx, w),
        Case::Margin | Case::MarginMulti => margin(&ctx, w)?,
        Case::Liquidation => liquidation_case(&ctx, w)?,
        Case::VolCrank => vol_crank(&ctx, w),
        Case::Crank => crank(&ctx, accs, first_page, n_pages, w)?,
        Case::Anchor | Case::MarginPath => return Err(Fail::Bench(bench_error::BAD_REQUEST)),
    })
}

fn kind_of(k: u8) -> SeriesKind {
    SeriesKind::from_u8(k).unwrap_or(SeriesKind::Future)
}

#[inline(never)]
fn elementary(ctx: &Ctx, w: &mut Words) -> (u64, u64) {
    let (case, n, now) = (ctx.req.case, ctx.req.n, ctx.req.now);
    let mut args = [0i64; MAX_POSITIONS];
    let mut results: [RiskResult<i64>; MAX_POSITIONS] = [Ok(0); MAX_POSITIONS];
    for (a, p) in args.iter_mut().zip(ctx.account.positions.iter()).take(n) {
        *a = match case {
            Case::Exp => exp_arg(p),
            Case::Ln => p.strike_native,
            Case::Sqrt => secs_to_expiry(p, now),
            _ => cdf_arg(p),
        };
    }
    let meter = Meter::start();
    for i in 0..n {
        let x = unsafe { read_volatile(&args[i]) };
        let r = match case {
            Case::Exp => math::exp(x),
            Case::Ln => math::ln_scaled(x, 0),
            Case::Sqrt => math::sqrt_scaled(x, 0),
            _ => Ok(math::cdf(x)),
        };
        unsafe { write_volatile(&mut results[i], r) };
    }
    let m = meter.stop();
    for r in &results[..n] {
        w.result(r);
    }
    m
}

#[inline(never)]
fn valuation(ctx: &Ctx, w: &mut Words) -> Result<(u64, u64), Fail> {
    let (n, now, m0) = (ctx.req.n, ctx.req.now, ctx.readings[0].market);
    let mut va = [(SeriesKind::Call, 0, 0, 0, TotalVol::default()); MAX_POSITIONS];
    for (a, p) in va.iter_mut().zip(ctx.account.positions.iter()).take(n) {
        *a = valuation_args(p, m0, now)?;
    }
    let mut results: [RiskResult<i64>; MAX_POSITIONS] = [Ok(0); MAX_POSITIONS];
    let meter = Meter::start();
    for i in 0..n {
        let (kind, fwd, strike, lm, tv) = unsafe { read_volatile(&va[i]) };
        let r = value_at(kind, fwd, strike, lm, tv);
        unsafe { write_volatile(&mut results[i], r) };
    }
    let m = meter.stop();
    for r in &results[..n] {
        w.result(r);
    }
    Ok(m)
}

#[inline(never)]
fn black76_case(ctx: &Ctx, w: &mut Words) -> (u64, u64) {
    let (n, now, m0) = (ctx.req.n, ctx.req.now, ctx.readings[0].market);
    let (fwd, sigma) = (spot(m0), m0.vol_state.margin_vol);
    let positions = &ctx.account.positions;
    let mut results: [RiskResult<i64>; MAX_POSITIONS] = [Ok(0); MAX_POSITIONS];
    let meter = Meter::start();
    for i in 0..n {
        let p = unsafe { read_volatile(&positions[i]) };
        let r = black76(kind_of(p.kind), fwd, p.strike_native, sigma, secs_to_expiry(&p, now));
        unsafe { write_volatile(&mut results[i], r) };
    }
    let m = meter.stop();
    for r in &results[..n] {
        w.result(r);
    }
    m
}

#[inline(never)]
fn greeks_case(ctx: &Ctx, w: &mut Words) -> (u64, u64) {
    let (n, now, m0) = (ctx.req.n, ctx.req.now, ctx.readings[0].market);
    let (fwd, sigma) = (spot(m0), m0.vol_state.margin_vol);
    let positions = &ctx.account.positions;
    let mut gs = [Ok(Greeks::default()); MAX_POSITIONS];
    let meter = Meter::start();
    for i in 0..n {
        let p = unsafe { read_volatile(&positions[i]) };
        let r = greeks(kind_of(p.kind), fwd, p.strike_native, sigma, secs_to_expiry(&p, now));
        unsafe { write_volatile(&mut gs[i], r) };
    }
    let m = meter.stop();
    for g in &gs[..n] {
        match g {
            Ok(g) => {
                w.push(0);
                w.greeks(g);
            }
            Err(e) => w.error(*e),
        }
    }
    m
}

/// One on-chain margin check, measured: `compute_margin` on the account, market and page
/// bytes (`margin_inputs`, then `compute_with_arrays`).
#[inline(never)]
fn margin(ctx: &Ctx, w: &mut Words) -> Result<(u64, u64), Fail> {
    let mut inputs = Box::new(MarginInputs::new());
    let mut b = zeroed_breakdown();
    let account = unsafe { read_volatile(&ctx.account) };
    let meter = Meter::start();
    let r = compute_margin(
        account,
        None,
        ctx.readings,
        ctx.pages,
        &[],
        ctx.req.now,
        &mut inputs,
        &mut b,
    );
    let m = meter.stop();
    r?;
    w.breakdown(&b);
    Ok(m)
}

/// One margin check the way `programs/keel`'s controller does it (`MarketSet::load`,
/// `Margin::new`, `Margin::compute`), measured from the raw account bytes: borrow the margin
/// account, every market and every risk-array page zero-copy with their checks (the markets'
/// and pages' exchange), parse and check each oracle, allocate the input buffer and the zeroed
/// breakdown, compute the margin from the arrays, take the snapshot. What it leaves out is
/// Anchor's own part (entrypoint deserialization, account constraints) and the market's oracle
/// high-water write, which docs/performance.md budgets separately.
#[inline(never)]
fn margin_path(
    req: &Request,
    accs: &[AccountView; MAX_ACCOUNTS],
    n_markets: usize,
    n_pages: usize,
    w: &mut Words,
) -> Result<(u64, u64), Fail> {
    let accs = unsafe { read_volatile(&accs) };
    let meter = Meter::start();
    let r = (|| -> Result<(Box<MarginBreakdown>, keel_state::MarginSnapshot), Fail> {
        let exchange = &accs[accounts::EXCHANGE].key;
        let account: &MarginAccount =
            load(accs[accounts::MARGIN].data(), &discriminator::MARGIN_ACCOUNT)?;
        let mut readings: [Option<MarketReading>; MAX_MARKETS] = [None; MAX_MARKETS];
        for (i, slot) in readings.iter_mut().enumerate().take(n_markets) {
            let market_acc = &accs[accounts::FIRST_MARKET + 2 * i];
            let market: &Market = load(market_acc.data(), &discriminator::MARKET)?;
            if !keel_state::same_key(&market.exchange, exchange) {
                return Err(Fail::Bench(bench_error::WRONG_EXCHANGE));
            }
            let reading = full_reading(accs[accounts::FIRST_MARKET + 2 * i + 1].data(), market)?;
            *slot = Some(MarketReading {
                key: market_acc.key,
                market,
                oracle: reading,
            });
        }
        let first = readings[0].ok_or(Fail::Bench(bench_error::MISSING_ACCOUNT))?;
        let mut loaded = [first; MAX_MARKETS];
        for (slot, r) in loaded.iter_mut().zip(readings.iter()).take(n_markets) {
            *slot = r.ok_or(Fail::Bench(bench_error::MISSING_ACCOUNT))?;
        }
        let first_page = accounts::FIRST_MARKET + 2 * n_markets;
        let pages = Pages::load(accs, first_page, n_pages, Some(exchange))?;
        let mut inputs = Box::new(MarginInputs::new());
        let mut b = zeroed_breakdown();
        compute_margin(
            account,
            None,
            &loaded[..n_markets],
            pages.get(),
            &[],
            req.now,
            &mut inputs,
            &mut b,
        )?;
        let snap = keel_state::MarginSnapshot {
            ts: b.now,
            equity_mm: b.equity_mm,
            equity_im: b.equity_im,
            mm: b.mm,
            im: b.im,
        };
        Ok((b, snap))
    })();
    let r = unsafe { read_volatile(&r) };
    let m = meter.stop();
    let (b, snap) = r?;
    w.breakdown(&b);
    for v in [snap.ts, snap.equity_mm, snap.equity_im, snap.mm, snap.im] {
        w.push(v);
    }
    Ok(m)
}

/// Liquidation sizing of a below-MM account, measured: `plan` and a `slice` per position.
#[inline(never)]
fn liquidation_case(ctx: &Ctx, w: &mut Words) -> Result<(u64, u64), Fail> {
    let mut inputs = Box::new(MarginInputs::new());
    let mut b = zeroed_breakdown();
    compute_margin(
        ctx.account,
        None,
        ctx.readings,
        ctx.pages,
        &[],
        ctx.req.now,
        &mut inputs,
        &mut b,
    )?;
    let sigma = inputs.markets[..inputs.n_markets]
        .iter()
        .map(|m| m.sigma)
        .fold(Fx::ZERO, Fx::max);
    let lp = &ctx.exchange.liquidation_params;
    let np = inputs.n_positions;
    let mut slices: [RiskResult<i64>; MAX_POSITIONS] = [Ok(0); MAX_POSITIONS];
    let mut plan_out = Err(keel_risk::RiskError::Overflow);
    let b = unsafe { read_volatile(&&*b) };
    let meter = Meter::start();
    let plan = liquidation::plan(b, sigma, ctx.req.aux, lp);
    let fraction = plan.map(|p| p.fraction).unwrap_or(Fx::ZERO);
    for i in 0..np {
        let r = liquidation::slice(inputs.positions[i].qty, fraction);
        unsafe { write_volatile(&mut slices[i], r) };
    }
    unsafe { write_volatile(&mut plan_out, plan) };
    let m = meter.stop();
    match plan_out {
        Ok(p) => {
            w.push(0);
            w.plan(&p);
        }
        Err(e) => w.error(e),
    }
    for r in &slices[..np] {
        w.result(r);
    }
    Ok(m)
}

/// N crank observations on the market's volatility state, measured.
#[inline(never)]
fn vol_crank(ctx: &Ctx, w: &mut Words) -> (u64, u64) {
    let (n, m0) = (ctx.req.n, ctx.readings[0].market);
    let params = &m0.risk_params;
    let start = m0.vol_state;
    let mut obs = [(0i64, 0i64); MAX_POSITIONS];
    for (k, o) in obs.iter_mut().enumerate().take(n) {
        *o = crank_observation(&start, params, k);
    }
    let iv = m0.implied();
    let mut state = unsafe { read_volatile(&start) };
    let mut steps = [Ok(VolStep::default()); MAX_POSITIONS];
    let meter = Meter::start();
    for k in 0..n {
        let (price, ts) = unsafe { read_volatile(&obs[k]) };
        let r = state.observe(price, ts, iv, params, m0.oracle.max_staleness_secs);
        unsafe { write_volatile(&mut steps[k], r) };
    }
    let state = unsafe { read_volatile(&state) };
    let m = meter.stop();
    for s in &steps[..n] {
        match s {
            Ok(s) => {
                w.push(0);
                w.vol_step(s);
            }
            Err(e) => w.error(*e),
        }
    }
    w.vol_state(&state);
    m
}

/// The crank's pricing of N series, measured: `Market::price_slot` on the first N slots in use
/// of the page accounts, in place (as `crank_arrays` does for its page).
#[inline(never)]
fn crank(
    ctx: &Ctx,
    accs: &[AccountView; MAX_ACCOUNTS],
    first_page: usize,
    n_pages: usize,
    w: &mut Words,
) -> Result<(u64, u64), Fail> {
    let (n, market) = (ctx.req.n, ctx.readings[0].market);
    // The slots, page by page (raw pointers: the measured loop takes them one at a time).
    let mut slots = [core::ptr::null_mut::<ArraySlot>(); MAX_POSITIONS];
    let mut k = 0;
    for acc in accs.iter().skip(first_page).take(n_pages) {
        if !acc.writable {
            return Err(Fail::Bench(bench_error::NOT_WRITABLE));
        }
        let page: &mut ArrayPage = load_mut(acc.data_mut(), &discriminator::ARRAY_PAGE)?;
        for s in page.slots.iter_mut().filter(|s| !s.is_free()) {
            if k < n {
                slots[k] = s;
                k += 1;
            }
        }
    }
    if k < n {
        return Err(Fail::Bench(bench_error::TOO_FEW_POSITIONS));
    }
    let mut results: [Result<bool, StateError>; MAX_POSITIONS] = [Ok(false); MAX_POSITIONS];
    let meter = Meter::start();
    for i in 0..n {
        // SAFETY: distinct slots of distinct (or the same, disjointly) page accounts, alive for
        // the whole instruction.
        let slot = unsafe { &mut *read_volatile(&slots[i]) };
        let r = market.price_slot(slot);
        unsafe { write_volatile(&mut results[i], r) };
    }
    let m = meter.stop();
    for (r, &s) in results.iter().zip(slots.iter()).take(n) {
        match r {
            Ok(priced) => {
                // SAFETY: as above; the pricing is done.
                let s = unsafe { &*s };
                w.push(0);
                w.push(*priced as i64);
                w.push(s.epoch as i64);
                w.series_array(&s.array);
            }
            Err(e) => w.state_error(e),
        }
    }
    Ok(m)
}

/// Re-anchoring a market, measured: `Market::reanchor_if_due` on the market account, in place
/// (the valuation it takes is read from the oracle before the section).
#[inline(never)]
fn anchor_case(
    req: &Request,
    accs: &[AccountView; MAX_ACCOUNTS],
    w: &mut Words,
) -> Result<(u64, u64), Fail> {
    let market_acc = &accs[accounts::FIRST_MARKET];
    if !market_acc.writable {
        return Err(Fail::Bench(bench_error::NOT_WRITABLE));
    }
    let market: &mut Market = load_mut(market_acc.data_mut(), &discriminator::MARKET)?;
    let reading = full_reading(accs[accounts::FIRST_MARKET + 1].data(), market)?;
    let v = market.valuation(&reading, req.now)?;
    let v = unsafe { read_volatile(&v) };
    let meter = Meter::start();
    let r = market.reanchor_if_due(&v, req.now);
    let r = unsafe { read_volatile(&r) };
    let m = meter.stop();
    match r {
        Ok(due) => {
            w.push(0);
            w.push(due as i64);
            w.push(market.anchor_epoch as i64);
            w.anchor(&market.anchor);
            w.anchor(&market.prev_anchor);
        }
        Err(e) => w.state_error(&e),
    }
    Ok(m)
}

/// A zeroed `MarginBreakdown` allocated directly on the heap (≈ 6 KiB: never built on the
/// 4 KiB SBF stack frame), as `programs/keel`'s `controller::margin::zeroed_breakdown` does.
fn zeroed_breakdown() -> Box<MarginBreakdown> {
    let layout = Layout::new::<MarginBreakdown>();
    // SAFETY: `MarginBreakdown` consists only of integers and `Fx` (an `i64` newtype) in nested
    // arrays and structs, so all-zero bytes are a valid value; the allocation has its layout.
    unsafe {
        let p = alloc::alloc::alloc_zeroed(layout) as *mut MarginBreakdown;
        if p.is_null() {
            log(b"keel-cu-bench: out of heap");
            abort();
        }
        Box::from_raw(p)
    }
}
