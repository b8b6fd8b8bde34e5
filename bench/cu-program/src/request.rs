//! What the program and the harness agree on: cases, instruction data, accounts, output layout,
//! derived inputs and the flattening of results into `i64` words.

use keel_risk::array::{Span, Window};
use keel_risk::breakdown::{MarketRisk, PositionRisk};
use keel_risk::pricing::{sqrt_secs, Greeks, TotalVol};
use keel_risk::vol::VolStep;
use keel_risk::{
    Anchor, LiquidationPlan, MarginBreakdown, RiskError, RiskParams, RiskResult, SeriesArray,
    SeriesKind, VolState,
};
use keel_state::{Market, Position, StateError};

/// One benchmark case: what the measured section runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Case {
    /// Nothing: the measured section is empty (its result must be 0 CU).
    Noop = 0,
    /// `math::exp` of one Q32.32 argument per series.
    Exp = 1,
    /// `math::ln_scaled(strike, 0)` per series.
    Ln = 2,
    /// `math::sqrt_scaled(seconds to expiry, 0)` per series.
    Sqrt = 3,
    /// `math::cdf` of one Q32.32 argument per series.
    Cdf = 4,
    /// `pricing::value_at` per series, at the mark with per-series work precomputed (the
    /// scenario hot path: one valuation).
    Valuation = 5,
    /// `pricing::black76` from scratch per series (ln, sqrt, 1/w, value).
    Black76 = 6,
    /// `pricing::greeks` from scratch per series.
    Greeks = 7,
    /// One on-chain margin check of an account of N option series on one market:
    /// `keel_state::compute_margin` on the account, market and risk-array page bytes
    /// (`margin_inputs`, then `keel_risk::compute_with_arrays`: sums of quantity × array, the
    /// interval bounds, add-ons; no option pricing). The markets are anchored and every array
    /// priced by the harness beforehand, as the crank does.
    Margin = 8,
    /// The same with the series spread over `min(N, 4)` markets.
    MarginMulti = 9,
    /// Liquidation sizing of a below-MM account: `liquidation::plan` and one `slice` per
    /// position (the margin itself is computed from the arrays before the measured section).
    Liquidation = 10,
    /// N volatility-crank observations (`VolState::observe`) on the market's state.
    VolCrank = 11,
    /// [`Case::Margin`] as `programs/keel`'s margin controller runs it, minus Anchor itself: the
    /// measured section also borrows the margin account, market, oracle and risk-array page
    /// accounts from the input (discriminator, size, version, exchange, feed and verification
    /// checks), allocates the input buffer and the zeroed breakdown on the heap, and takes the
    /// snapshot the program stores. Over `min(N, 4)` markets like [`Case::MarginMulti`] (the
    /// worst case a budget needs).
    MarginPath = 12,
    /// The risk-array crank's pricing: `Market::price_slot` of N series (their slots in page
    /// accounts, priced in place at the market's current anchor), what `crank_arrays` does per
    /// slot. Its CU per series is the crank's cost per series.
    Crank = 13,
    /// Re-anchoring a market: `Market::reanchor_if_due` on a market account whose anchor is due
    /// (half its age), with N option series in its listed register (the strike-point
    /// candidates): the due check, the current anchor kept as the previous one and a new anchor
    /// built in place (its scenario points and strike points).
    Anchor = 14,
}

impl Case {
    /// Every case, in output order.
    pub const ALL: [Case; 15] = [
        Case::Noop,
        Case::Exp,
        Case::Ln,
        Case::Sqrt,
        Case::Cdf,
        Case::Valuation,
        Case::Black76,
        Case::Greeks,
        Case::Margin,
        Case::MarginMulti,
        Case::MarginPath,
        Case::Liquidation,
        Case::VolCrank,
        Case::Crank,
        Case::Anchor,
    ];

    /// Decodes the instruction's case byte.
    pub fn from_u8(v: u8) -> Option<Case> {
        Case::ALL.into_iter().find(|c| *c as u8 == v)
    }

    /// The name printed in the benchmark's JSON lines.
    pub fn name(self) -> &'static str {
        match self {
            Case::Noop => "noop",
            Case::Exp => "exp",
            Case::Ln => "ln",
            Case::Sqrt => "sqrt",
            Case::Cdf => "normal_cdf",
            Case::Valuation => "valuation",
            Case::Black76 => "black76",
            Case::Greeks => "greeks",
            Case::Margin => "margin",
            Case::MarginMulti => "margin_4_markets",
            Case::Liquidation => "liquidation",
            Case::VolCrank => "vol_crank",
            Case::MarginPath => "margin_program_path",
            Case::Crank => "crank",
            Case::Anchor => "anchor",
        }
    }

    /// Markets an account of `n` series spreads over in this case.
    pub fn markets(self, n: usize) -> usize {
        match self {
            Case::MarginMulti | Case::MarginPath => n.clamp(1, keel_risk::MAX_MARKETS),
            _ => 1,
        }
    }

    /// What the case needs of the markets' risk arrays.
    pub fn arrays(self) -> Arrays {
        match self {
            Case::Margin | Case::MarginMulti | Case::MarginPath | Case::Liquidation => {
                Arrays::Priced
            }
            Case::Crank => Arrays::Unpriced,
            Case::Anchor => Arrays::Due,
            _ => Arrays::None,
        }
    }
}

/// The risk-array state a case's fixture sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrays {
    /// Markets anchored at the valuation time, no page accounts.
    None,
    /// Markets anchored at the valuation time; page accounts holding every option position's
    /// array, priced at that anchor (what margin checks read).
    Priced,
    /// Markets anchored at the valuation time; page accounts (writable) with every option
    /// position's slot assigned but not priced (what the crank prices).
    Unpriced,
    /// The market account (writable) holds an anchor that is due for replacement at the
    /// valuation time; no page accounts.
    Due,
}

/// Instruction data: `[case u8, n u8, 0 × 6, now i64 LE, aux i64 LE]`.
pub const IX_LEN: usize = 24;

/// The decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// What to run.
    pub case: Case,
    /// Series (positions) of the account to use, 1..=32.
    pub n: usize,
    /// Valuation time (unix seconds). The program takes it from here rather than the Clock
    /// sysvar so that the harness controls it exactly.
    pub now: i64,
    /// Case-specific: seconds since the account became liquidatable (liquidation).
    pub aux: i64,
}

impl Request {
    /// Instruction data for this request.
    pub fn encode(&self) -> [u8; IX_LEN] {
        let mut d = [0u8; IX_LEN];
        d[0] = self.case as u8;
        d[1] = self.n as u8;
        d[8..16].copy_from_slice(&self.now.to_le_bytes());
        d[16..24].copy_from_slice(&self.aux.to_le_bytes());
        d
    }

    /// Decodes instruction data.
    pub fn decode(d: &[u8]) -> Option<Request> {
        if d.len() != IX_LEN {
            return None;
        }
        let n = d[1] as usize;
        if n == 0 || n > keel_risk::MAX_POSITIONS {
            return None;
        }
        Some(Request {
            case: Case::from_u8(d[0])?,
            n,
            now: i64::from_le_bytes(d[8..16].try_into().ok()?),
            aux: i64::from_le_bytes(d[16..24].try_into().ok()?),
        })
    }
}

/// Account order of the instruction: the output (writable), the exchange, the margin account,
/// then per market its `Market` account followed by its `PriceUpdateV2` oracle account, then the
/// risk-array pages (`ArrayPage`) of the case (every account after the markets).
pub mod accounts {
    /// Receives the output (see [`super::out`]).
    pub const OUTPUT: usize = 0;
    /// The `Exchange` account (liquidation parameters).
    pub const EXCHANGE: usize = 1;
    /// The `MarginAccount`.
    pub const MARGIN: usize = 2;
    /// First market; market `i` is at `FIRST_MARKET + 2i`, its oracle right after it.
    pub const FIRST_MARKET: usize = 3;
    /// Most page accounts a run passes: every market's option positions fill whole pages but
    /// its last one.
    pub const MAX_PAGES: usize = keel_risk::MAX_POSITIONS / keel_state::array_page::PAGE_SERIES
        + keel_risk::MAX_MARKETS;
}

/// Output account layout (little-endian words).
pub mod out {
    /// `b"KEELCU01"`.
    pub const MAGIC: [u8; 8] = *b"KEELCU01";
    /// Byte offset of the compute units used by the measured section (u64), net of the
    /// measuring syscall itself.
    pub const CU: usize = 8;
    /// Byte offset of the cost of one `sol_remaining_compute_units` call (u64), subtracted.
    pub const SYSCALL_CU: usize = 16;
    /// Byte offset of the status word (0 ok, else an [`super::error_code`]).
    pub const STATUS: usize = 24;
    /// Byte offset of the number of result words.
    pub const WORDS: usize = 32;
    /// Byte offset of the first result word.
    pub const DATA: usize = 40;
    /// Result words that fit (the harness sizes the account for this; the program writes them
    /// straight into the account, so they take no heap).
    pub const MAX_WORDS: usize = 16 * 1024;
    /// Size of the output account.
    pub const LEN: usize = DATA + 8 * MAX_WORDS;
}

/// A stable code for an error, shared by result words and the status word: 0x100 + RiskError,
/// 0x200 + StateError variant, 0x300 + benchmark input errors.
pub fn error_code(e: &StateError) -> i64 {
    match e {
        StateError::Risk(r) => risk_code(*r),
        StateError::AccountTooSmall => 0x200,
        StateError::WrongDiscriminator => 0x201,
        StateError::UnknownVersion => 0x202,
        StateError::MarketMissing => 0x203,
        StateError::CorruptPosition => 0x204,
        StateError::OracleLayout => 0x205,
        StateError::OracleNonPositive => 0x206,
        StateError::OracleNotTrading => 0x207,
        StateError::PriceOverflow => 0x208,
        StateError::OracleStale => 0x209,
        StateError::OracleConfidence => 0x20A,
        StateError::VolStateStale => 0x20B,
        StateError::OracleFutureDated => 0x20C,
        StateError::OracleOutOfOrder => 0x20D,
        StateError::ArrayPageMissing => 0x20E,
        StateError::ArraySlotMismatch => 0x20F,
        StateError::ArraysNotCranked => 0x210,
        // Variants keel-state adds later share this code until they are listed above, so the
        // benchmark keeps building across keel-state changes. (Every fixture is valid input:
        // the harness fails any run whose native result is an error, whatever its code.)
        #[allow(unreachable_patterns)]
        _ => 0x2FF,
    }
}

/// Code of a keel-risk error.
pub fn risk_code(e: RiskError) -> i64 {
    0x100 + e as u8 as i64
}

/// Input errors of the benchmark itself (not of the engine).
pub mod bench_error {
    /// Instruction data malformed.
    pub const BAD_REQUEST: u64 = 0x301;
    /// Too few accounts for the request.
    pub const MISSING_ACCOUNT: u64 = 0x302;
    /// Output account too small or not writable.
    pub const BAD_OUTPUT: u64 = 0x303;
    /// The oracle's feed id or verification level is not the market's.
    pub const WRONG_ORACLE: u64 = 0x304;
    /// The margin account has fewer positions than requested.
    pub const TOO_FEW_POSITIONS: u64 = 0x305;
    /// More result words than fit.
    pub const OUTPUT_FULL: u64 = 0x306;
    /// An account the case writes is not writable.
    pub const NOT_WRITABLE: u64 = 0x307;
    /// A market or page belongs to another exchange than the exchange account.
    pub const WRONG_EXCHANGE: u64 = 0x308;
}

/// Accumulates result words.
pub struct Words<'a> {
    buf: &'a mut [i64],
    len: usize,
    overflow: bool,
    errors: usize,
}

impl<'a> Words<'a> {
    /// Writes into `buf`.
    pub fn new(buf: &'a mut [i64]) -> Self {
        Words {
            buf,
            len: 0,
            overflow: false,
            errors: 0,
        }
    }

    /// Appends one word.
    pub fn push(&mut self, w: i64) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = w;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// A result: `[0, value]` or `[code, 0]`.
    pub fn result(&mut self, r: &RiskResult<i64>) {
        match r {
            Ok(v) => {
                self.push(0);
                self.push(*v);
            }
            Err(e) => {
                self.error(*e);
                self.push(0);
            }
        }
    }

    /// An engine error in place of a result: its code, counted (see [`Words::errors`]).
    pub fn error(&mut self, e: RiskError) {
        self.errors += 1;
        self.push(risk_code(e));
    }

    /// A keel-state error in place of a result, likewise counted.
    pub fn state_error(&mut self, e: &StateError) {
        self.errors += 1;
        self.push(error_code(e));
    }

    /// Plain-old-data as its 8-byte words (`T`'s size is a multiple of 8, no padding).
    fn pod_words<T: bytemuck::Pod>(&mut self, v: &T) {
        for &w in bytemuck::cast_slice::<T, i64>(core::slice::from_ref(v)) {
            self.push(w);
        }
    }

    /// An anchor, every stored word.
    pub fn anchor(&mut self, a: &Anchor) {
        self.pod_words(a);
    }

    /// A series' risk array, every stored word.
    pub fn series_array(&mut self, a: &SeriesArray) {
        self.pod_words(a);
    }

    /// Engine errors among the results written. The benchmark's inputs are all valid, so the
    /// harness treats any error as a broken fixture: a run that measured an error path would
    /// leave its case out of the benchmark quietly.
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// The words written, or `None` if some did not fit.
    pub fn finish(self) -> Option<usize> {
        (!self.overflow).then_some(self.len)
    }

    /// Greeks, every field.
    pub fn greeks(&mut self, g: &Greeks) {
        let Greeks {
            delta,
            gamma,
            vega,
            theta,
        } = g;
        for w in [delta.to_bits(), gamma.to_bits(), *vega, *theta] {
            self.push(w);
        }
    }

    /// A whole margin breakdown, every field in declaration order. (The structs are destructured
    /// without `..`: a field keel-risk adds fails the build here until it is compared too.)
    pub fn breakdown(&mut self, b: &MarginBreakdown) {
        let MarginBreakdown {
            now,
            collateral,
            equity_mm,
            equity_im,
            mm,
            im,
            scan_mm,
            scan_im,
            offset_mm,
            offset_im,
            addons,
            short_min_mm,
            short_min_im,
            rounding,
            long_only,
            long_value_cap,
            n_markets,
            n_positions,
            markets,
            positions,
        } = b;
        for w in [
            *now,
            *collateral,
            *equity_mm,
            *equity_im,
            *mm,
            *im,
            *scan_mm,
            *scan_im,
            *offset_mm,
            *offset_im,
            *addons,
            *short_min_mm,
            *short_min_im,
            *rounding,
            *long_only as i64,
            *long_value_cap,
            *n_markets as i64,
            *n_positions as i64,
        ] {
            self.push(w);
        }
        for m in &markets[..(*n_markets as usize).min(markets.len())] {
            self.market_risk(m);
        }
        for p in &positions[..(*n_positions as usize).min(positions.len())] {
            self.position_risk(p);
        }
    }

    fn market_risk(&mut self, m: &MarketRisk) {
        let MarketRisk {
            spot,
            stable_spot,
            conf,
            sigma,
            mark_sigma,
            realised_sigma,
            anchor_ts,
            anchor_spot,
            range,
            step,
            strikes,
            window,
            pnl,
            gap,
            mark_total,
            mark_edges,
            worst_im,
            worst_im_interval,
            worst_mm,
            worst_mm_interval,
            net_delta,
            short_min_im,
            short_min_mm,
            conf_addon,
            impact_addon,
        } = m;
        for w in [
            *spot,
            *stable_spot,
            *conf,
            sigma.to_bits(),
            mark_sigma.to_bits(),
            realised_sigma.to_bits(),
            *anchor_ts,
            *anchor_spot,
            range.to_bits(),
            step.to_bits(),
        ] {
            self.push(w);
        }
        for &k in strikes {
            self.push(k);
        }
        self.window(window);
        for &p in pnl.iter().chain(gap.iter()) {
            self.push(p);
        }
        for w in [
            *mark_total,
            mark_edges[0],
            mark_edges[1],
            *worst_im,
            *worst_im_interval as i64,
            *worst_mm,
            *worst_mm_interval as i64,
            net_delta.to_bits(),
            *short_min_im,
            *short_min_mm,
            *conf_addon,
            *impact_addon,
        ] {
            self.push(w);
        }
    }

    fn window(&mut self, w: &Window) {
        let Window {
            age,
            im,
            mm,
            mini,
            mark,
            stable,
        } = w;
        self.push(*age);
        for s in [im, mm] {
            let Span {
                first,
                end,
                start,
                stop,
            } = s;
            for v in [*first as i64, *end as i64, *start, *stop] {
                self.push(v);
            }
        }
        for &(k, lambda) in mini.iter().chain([mark, stable]) {
            self.push(k as i64);
            self.push(lambda);
        }
    }

    fn position_risk(&mut self, p: &PositionRisk) {
        let PositionRisk {
            mark,
            mark_stable,
            value,
            value_im,
            rounding,
            greeks,
        } = p;
        for w in [*mark, *mark_stable, *value, *value_im, *rounding] {
            self.push(w);
        }
        self.greeks(greeks);
    }

    /// A liquidation plan, every field.
    pub fn plan(&mut self, p: &LiquidationPlan) {
        let LiquidationPlan {
            fraction,
            fraction_needed,
            fraction_cap,
            bonus_rate,
            target,
            shortfall,
            restores_target,
        } = p;
        for w in [
            fraction.to_bits(),
            fraction_needed.to_bits(),
            fraction_cap.to_bits(),
            bonus_rate.to_bits(),
            *target,
            *shortfall,
            *restores_target as i64,
        ] {
            self.push(w);
        }
    }

    /// One crank step.
    pub fn vol_step(&mut self, s: &VolStep) {
        let VolStep {
            log_return,
            sample_var,
            ewma_weight,
            dt_secs,
        } = s;
        for w in [
            log_return.to_bits(),
            sample_var.to_bits(),
            ewma_weight.to_bits(),
            *dt_secs,
        ] {
            self.push(w);
        }
    }

    /// A volatility state, every stored word.
    pub fn vol_state(&mut self, v: &VolState) {
        self.pod_words(v);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs derived from the account bytes (the same on both sides).

/// The market's spot per contract for the pricing cases: its volatility state's last price.
pub fn spot(m: &Market) -> i64 {
    m.vol_state.last_price
}

/// A Q32.32 argument in [−4, 4) spread by the position's strike and expiry bits (for `exp`).
pub fn exp_arg(p: &Position) -> i64 {
    let bits = (p.strike_native as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ p.expiry_ts as u64;
    (bits & ((8u64 << 32) - 1)) as i64 - (4i64 << 32)
}

/// A Q32.32 argument in [−8, 8) (for the normal cdf: both tails and the centre).
pub fn cdf_arg(p: &Position) -> i64 {
    exp_arg(p) << 1
}

/// Seconds to expiry at `now` (for `sqrt`).
pub fn secs_to_expiry(p: &Position, now: i64) -> i64 {
    p.expiry_ts.saturating_sub(now)
}

/// The arguments of one scenario valuation of position `p` at the mark: kind, forward, strike,
/// log-moneyness and total vol, computed the way `margin::value_position` does.
pub fn valuation_args(
    p: &Position,
    m: &Market,
    now: i64,
) -> RiskResult<(SeriesKind, i64, i64, i64, TotalVol)> {
    let kind = SeriesKind::from_u8(p.kind).ok_or(RiskError::Domain)?;
    let fwd = spot(m);
    let lm = keel_risk::math::ln_scaled(fwd, 0)? - keel_risk::math::ln_scaled(p.strike_native, 0)?;
    let tv = TotalVol::new(
        m.vol_state.margin_vol.to_bits(),
        sqrt_secs(secs_to_expiry(p, now))?,
    )?;
    Ok((kind, fwd, p.strike_native, lm, tv))
}

/// Observation `k` of the crank case: the price moves by up to ±1% per step (a fixed pattern),
/// one minimum interval apart.
pub fn crank_observation(start: &VolState, p: &RiskParams, k: usize) -> (i64, i64) {
    const PATTERN: [i64; 8] = [37, -81, 12, 64, -29, -100, 95, -5]; // basis points
    let bps = PATTERN[k % PATTERN.len()];
    // Small exact products (|bps| ≤ 100, k < 32, the interval ≤ a day by the parameter
    // bounds), written without overflow checks: those would be 128-bit multiplies on SBF.
    let step = ((start.last_price.unsigned_abs() / 10_000) as i64).wrapping_mul(bps);
    let ts = start.last_ts + (k as i64 + 1).wrapping_mul(p.min_obs_interval_secs.max(1));
    (start.last_price + step, ts)
}
