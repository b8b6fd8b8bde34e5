//! Every event Keel emits (Anchor `emit!`: base64 borsh in a `Program data:` log line). Each
//! carries the numbers an indexer needs to follow the state without reading accounts:
//! balances after the change, who, what, and the time.

use anchor_lang::prelude::*;

/// Emits `event` as Anchor's `emit!` does: on-chain one `sol_log_data` syscall with the
/// discriminator and borsh bytes (`Program data: <base64>` in the transaction log).
///
/// Off-chain — the program natively registered in solana-program-test — Anchor's
/// `sol_log_data` does nothing, so the same base64 is written to the transaction log through the
/// runtime's syscall stubs; it then reads `Program log: Program data: <base64>`, which the test
/// harness decodes like the on-chain form.
pub fn emit<E: anchor_lang::Event>(event: E) {
    emit_data(&event_data(&event));
}

/// Writes an event's encoded bytes (discriminator and borsh) where [`emit`] does.
fn emit_data(data: &[u8]) {
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::log::sol_log_data(&[data]);
    #[cfg(not(target_os = "solana"))]
    {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        solana_sysvar::program_stubs::sol_log(&format!("Program data: {b64}"));
    }
}

/// Anchor's event encoding (discriminator, then borsh), written into a buffer of exactly its
/// size. Anchor's own `Event::data` grows a `Vec` from 256 bytes by doubling; on the SBF bump
/// allocator, which never frees, a large event (`MarginReport` at 32 positions) then costs about
/// twice its size in heap — enough to exhaust the 32 KiB heap.
pub fn event_data<E: anchor_lang::Event>(event: &E) -> Vec<u8> {
    encoded(<E as anchor_lang::Discriminator>::DISCRIMINATOR, event)
}

/// `disc` then `value`'s borsh encoding, in a buffer of exactly that size.
fn encoded<T: AnchorSerialize>(disc: &[u8], value: &T) -> Vec<u8> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    // Serialising into a counter cannot fail; the length is exact.
    let _ = value.serialize(&mut n);
    let mut data = Vec::with_capacity(disc.len() + n.0);
    data.extend_from_slice(disc);
    let _ = value.serialize(&mut data);
    data
}

/// A [`MarginReport`] encoded straight from the breakdown it reports, borrowed: the same bytes
/// as `MarginReport::from_breakdown(..)` serialised (a test checks it), without building the
/// report's vectors first. At 32 positions over 4 markets those vectors and the encoding
/// together pass 16 KiB, half the SBF heap (a bump allocator that never frees) on top of the
/// account copy and the breakdown; `margin_report` emits through this instead.
pub struct MarginReportView<'a> {
    pub account: Pubkey,
    pub now: i64,
    pub breakdown: &'a keel_risk::MarginBreakdown,
    /// Its liquidation level, the test `liquidate` applies and what `withdraw` accepts
    /// (`keel_risk::liquidation::status`, as `MarginReport::from_breakdown` computes it).
    pub status: keel_risk::liquidation::LiquidationStatus,
    /// The market of each of `breakdown.markets`.
    pub market_keys: &'a [Pubkey],
    /// The series and quantity of each of `breakdown.positions`.
    pub positions: &'a [(Pubkey, i64)],
}

impl AnchorSerialize for MarginReportView<'_> {
    fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let b = self.breakdown;
        self.account.serialize(w)?;
        for v in [
            self.now,
            b.collateral,
            b.equity_mm,
            b.equity_im,
            b.mm,
            b.im,
            b.scan_mm,
            b.scan_im,
            b.offset_mm,
            b.offset_im,
            b.addons,
            b.short_min_mm,
            b.short_min_im,
            b.rounding,
            b.health_mm(),
            b.health_im(),
            self.status.withdrawable,
        ] {
            v.serialize(w)?;
        }
        self.status.liquidatable.serialize(w)?;
        self.status.level.serialize(w)?;
        self.status.stress.to_bits().serialize(w)?;
        // Vec<MarketRiskReport>: a u32 length, then each (as `from_breakdown` zips them).
        let n = self.market_keys.len().min(b.markets.len());
        (n as u32).serialize(w)?;
        for (k, m) in self.market_keys.iter().zip(&b.markets) {
            k.serialize(w)?;
            for v in [
                m.spot,
                m.stable_spot,
                m.conf,
                m.sigma.to_bits(),
                m.mark_sigma.to_bits(),
                m.realised_sigma.to_bits(),
                m.range.to_bits(),
                m.anchor_ts,
                m.anchor_spot,
                m.worst_im,
            ] {
                v.serialize(w)?;
            }
            m.worst_im_interval.serialize(w)?;
            m.worst_mm.serialize(w)?;
            m.worst_mm_interval.serialize(w)?;
            for v in [
                m.net_delta.to_bits(),
                m.short_min_im,
                m.short_min_mm,
                m.conf_addon,
                m.impact_addon,
            ] {
                v.serialize(w)?;
            }
            // `pnl` and `gap` as `Vec<i64>`: the same encoding as the arrays' slices.
            m.pnl[..].serialize(w)?;
            m.gap[..].serialize(w)?;
        }
        let n = self.positions.len().min(b.positions.len());
        (n as u32).serialize(w)?;
        for ((series, qty), p) in self.positions.iter().zip(&b.positions) {
            series.serialize(w)?;
            for v in [
                *qty,
                p.mark,
                p.mark_stable,
                p.value,
                p.value_im,
                p.rounding,
                p.greeks.delta.to_bits(),
                p.greeks.gamma.to_bits(),
                p.greeks.vega,
                p.greeks.theta,
            ] {
                v.serialize(w)?;
            }
        }
        Ok(())
    }
}

/// Emits the [`MarginReport`] of `view` (its encoding is the event's, see [`MarginReportView`]).
pub fn emit_margin_report(view: &MarginReportView) {
    emit_data(&encoded(
        <MarginReport as anchor_lang::Discriminator>::DISCRIMINATOR,
        view,
    ));
}

/// `msg!` that also reaches the transaction log when the program runs natively in tests.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        #[cfg(target_os = "solana")]
        anchor_lang::prelude::msg!($($arg)*);
        #[cfg(not(target_os = "solana"))]
        solana_sysvar::program_stubs::sol_log(&format!($($arg)*));
    }};
}

#[event]
#[derive(Debug, Clone)]
pub struct ExchangeInitialized {
    pub exchange: Pubkey,
    pub admin: Pubkey,
    pub quote_mint: Pubkey,
    pub quote_vault: Pubkey,
    pub quote_token_program: Pubkey,
    pub quote_decimals: u8,
    pub taker_fee_bps: u16,
    pub maker_fee_bps: u16,
}

#[event]
#[derive(Debug, Clone)]
pub struct PauseSet {
    pub exchange: Pubkey,
    pub old_flags: u8,
    pub new_flags: u8,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct MarketCreated {
    pub exchange: Pubkey,
    pub market: Pubkey,
    pub market_index: u16,
    pub name: [u8; 16],
    pub oracle_kind: u8,
    pub oracle_account: Pubkey,
    pub oracle_program: Pubkey,
    pub feed_id: [u8; 32],
    pub contract_size_mantissa: i64,
    pub contract_size_expo: i32,
    pub initial_price_native: i64,
    pub initial_vol_q32: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct MarketParamsUpdated {
    pub market: Pubkey,
    /// The new `keel_risk::RiskParams`, raw bytes.
    pub risk_params: Vec<u8>,
    pub max_staleness_secs: i64,
    pub max_conf_bps: u64,
    pub min_signatures: u8,
    pub max_vol_age_secs: i64,
    pub settle_window_secs: i64,
    pub margin_vol_q32: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct ImpliedVolPublished {
    pub market: Pubkey,
    pub authority: Pubkey,
    pub implied_vol_q32: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct SeriesListed {
    pub market: Pubkey,
    pub series: Pubkey,
    pub series_index: u32,
    pub kind: u8,
    pub strike_native: i64,
    pub expiry_ts: i64,
    pub contract_size_mantissa: i64,
    pub contract_size_expo: i32,
    /// Its risk-array page (`NO_PAGE` for a future) and slot.
    pub array_page: u16,
    pub array_slot: u8,
}

#[event]
#[derive(Debug, Clone)]
pub struct ArrayPageCreated {
    pub market: Pubkey,
    pub page: Pubkey,
    pub page_index: u16,
}

#[event]
#[derive(Debug, Clone)]
pub struct ArraysCranked {
    pub market: Pubkey,
    /// The page priced (all zero: none).
    pub page: Pubkey,
    /// The market's anchor generation after the call.
    pub epoch: u64,
    pub anchor_ts: i64,
    pub anchor_spot: i64,
    /// Whether this call anchored anew.
    pub reanchored: bool,
    /// Slots priced.
    pub priced: u8,
}

#[event]
#[derive(Debug, Clone)]
pub struct AccountOpened {
    pub exchange: Pubkey,
    pub account: Pubkey,
    pub owner: Pubkey,
    pub account_id: u32,
}

#[event]
#[derive(Debug, Clone)]
pub struct DelegateSet {
    pub account: Pubkey,
    pub delegate: Pubkey,
}

#[event]
#[derive(Debug, Clone)]
pub struct AccountClosed {
    pub account: Pubkey,
    pub owner: Pubkey,
}

#[event]
#[derive(Debug, Clone)]
pub struct Deposited {
    pub account: Pubkey,
    pub depositor: Pubkey,
    pub amount_native: u64,
    pub collateral_native: i64,
    pub vault_native: u64,
    pub total_collateral_native: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct Withdrawn {
    pub account: Pubkey,
    pub owner: Pubkey,
    pub amount_native: u64,
    pub collateral_native: i64,
    pub vault_native: u64,
    pub total_collateral_native: i64,
    pub equity_im: i64,
    pub im: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct Traded {
    pub series: Pubkey,
    pub market: Pubkey,
    pub taker: Pubkey,
    pub maker: Pubkey,
    /// Contracts the taker bought (> 0) or sold (< 0).
    pub qty_contracts: i64,
    pub price_native: i64,
    pub taker_fee_native: i64,
    pub maker_fee_native: i64,
    pub taker_qty_after: i64,
    pub maker_qty_after: i64,
    pub taker_collateral_native: i64,
    pub maker_collateral_native: i64,
    pub taker_equity_im: i64,
    pub taker_im: i64,
    pub maker_equity_im: i64,
    pub maker_im: i64,
    pub open_interest_contracts: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct FuturesRealised {
    pub account: Pubkey,
    pub series: Pubkey,
    /// Cash realised into collateral (> 0 a gain paid from the pool, < 0 a loss paid into it).
    pub amount_native: i64,
    pub collateral_native: i64,
    pub settlement_pool_native: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct VolatilityUpdated {
    pub market: Pubkey,
    pub price_native: i64,
    pub publish_time: i64,
    pub dt_secs: i64,
    pub log_return_q32: i64,
    pub sample_var_q32: i64,
    pub ewma_weight_q32: i64,
    pub ewma_var_q32: i64,
    pub garch_var_q32: i64,
    pub hist_vol_q32: i64,
    pub raw_vol_q32: i64,
    pub margin_vol_q32: i64,
    pub stable_price_native: i64,
    pub implied_vol_q32: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct CorrelationCreated {
    pub correlation: Pubkey,
    pub market_a: Pubkey,
    pub market_b: Pubkey,
    pub tau_secs: i64,
    pub min_interval_secs: i64,
    pub max_sync_secs: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct CorrelationUpdated {
    pub correlation: Pubkey,
    pub price_a_native: i64,
    pub price_b_native: i64,
    pub ts: i64,
    pub var_a_q32: i64,
    pub var_b_q32: i64,
    pub cov_q32: i64,
    pub rho_q32: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct SeriesSettled {
    pub series: Pubkey,
    pub market: Pubkey,
    pub settlement_price_native: i64,
    pub publish_time: i64,
    pub by_admin: bool,
    pub open_interest_contracts: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct PositionSettled {
    pub account: Pubkey,
    pub series: Pubkey,
    pub qty_contracts: i64,
    pub cash_native: i64,
    pub payout_native: i64,
    pub collateral_native: i64,
    pub settlement_pool_native: i64,
    pub open_interest_contracts: i64,
}

/// One market's part of a margin report.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct MarketRiskReport {
    pub market: Pubkey,
    pub spot: i64,
    pub stable_spot: i64,
    pub conf: i64,
    /// Margin vol (the scenario grid).
    pub sigma_q32: i64,
    /// Mark vol (marks, equity, greeks).
    pub mark_sigma_q32: i64,
    /// Realised vol (0 = none kept): above the margin vol it raises the liquidation trigger.
    pub realised_sigma_q32: i64,
    pub range_q32: i64,
    /// The risk arrays' anchor: when, and its oracle price per contract.
    pub anchor_ts: i64,
    pub anchor_spot: i64,
    pub worst_im: i64,
    /// The worst IM interval (its first scenario point, `keel_risk::array` layout).
    pub worst_im_interval: u8,
    pub worst_mm: i64,
    pub worst_mm_interval: u8,
    pub net_delta_q32: i64,
    pub short_min_im: i64,
    pub short_min_mm: i64,
    pub conf_addon: i64,
    pub impact_addon: i64,
    /// P&L of the market's positions at each of the anchor's 70 scenario points.
    pub pnl: Vec<i64>,
    /// Per interval (by its first point): Σ over longs of qty × the interval's gap.
    pub gap: Vec<i64>,
}

/// One position's part of a margin report.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct PositionRiskReport {
    pub series: Pubkey,
    pub qty_contracts: i64,
    pub mark: i64,
    pub mark_stable: i64,
    pub value: i64,
    pub value_im: i64,
    pub rounding: i64,
    pub delta_q32: i64,
    pub gamma_q32: i64,
    pub vega: i64,
    pub theta: i64,
}

/// The full keel-risk breakdown of one account (`margin_report`).
#[event]
#[derive(Debug, Clone)]
pub struct MarginReport {
    pub account: Pubkey,
    pub now: i64,
    pub collateral: i64,
    pub equity_mm: i64,
    pub equity_im: i64,
    pub mm: i64,
    pub im: i64,
    pub scan_mm: i64,
    pub scan_im: i64,
    pub offset_mm: i64,
    pub offset_im: i64,
    pub addons: i64,
    pub short_min_mm: i64,
    pub short_min_im: i64,
    pub rounding: i64,
    pub health_mm: i64,
    pub health_im: i64,
    pub withdrawable: i64,
    pub liquidatable: bool,
    /// The equity (MM) below which `liquidate` accepts the account: MM, raised toward IM while
    /// vol is above its reference, MM and IM read ×k under the realised-vol stress
    /// (`keel_risk::liquidation::trigger_level`, at the account's highest vol).
    pub liquidation_level: i64,
    /// That stress k (Q32.32 bits; 1.0 when none: `keel_risk::liquidation::realised_stress`).
    pub stress_q32: i64,
    pub markets: Vec<MarketRiskReport>,
    pub positions: Vec<PositionRiskReport>,
}

#[event]
#[derive(Debug, Clone)]
pub struct SocialLossCharged {
    pub account: Pubkey,
    /// The account's share of losses socialised since it was last charged.
    pub amount_native: i64,
    pub index_from_q60: u64,
    pub index_to_q60: u64,
    pub collateral_native: i64,
    /// Σ socialised losses this account has borne.
    pub socialised_loss_native: i64,
}

/// One position slice a liquidation moved.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct LiquidationTransfer {
    pub series: Pubkey,
    /// Contracts moved to the liquidator (the liquidatee's sign: > 0 a long taken over).
    pub qty_contracts: i64,
    /// Fill price per contract: the mark at the oracle.
    pub price_native: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct Liquidated {
    pub liquidatee: Pubkey,
    pub liquidator: Pubkey,
    pub liquidator_authority: Pubkey,
    /// Fraction moved (Q32.32), the fraction that would restore the target, and the per-call
    /// cap at the current vol.
    pub fraction_q32: i64,
    pub fraction_needed_q32: i64,
    pub fraction_cap_q32: i64,
    pub bonus_rate_q32: i64,
    /// The highest vol in force among the liquidatee's markets.
    pub sigma_q32: i64,
    /// The realised-vol stress k (Q32.32, ≥ 1): MM and IM were read ×k for the trigger level,
    /// the target and the cap (`keel_risk::liquidation::realised_stress`; 1 without it).
    pub stress_q32: i64,
    /// Seconds since the episode opened (the Dutch-auction clock).
    pub elapsed_secs: i64,
    pub bonus_native: i64,
    pub insurance_share_native: i64,
    /// Σ qty·mark over the slices (what the liquidator paid for longs minus was paid for shorts).
    pub value_native: i64,
    pub transfers: Vec<LiquidationTransfer>,
    pub equity_mm_before: i64,
    pub mm_before: i64,
    pub im_before: i64,
    /// The equity below which the account was liquidatable: MM, raised toward IM while vol is
    /// above the reference (`keel_risk::liquidation::trigger_level`).
    pub trigger_level: i64,
    pub target: i64,
    pub equity_mm_after: i64,
    pub mm_after: i64,
    pub im_after: i64,
    pub liquidatee_collateral_native: i64,
    pub liquidatee_positions_after: u8,
    /// The account is at or above its trigger level afterwards (episode over).
    pub healthy_after: bool,
    pub liquidator_equity_im: i64,
    pub liquidator_im: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct Bankrupt {
    pub account: Pubkey,
    /// Negative collateral left once the positions were gone.
    pub shortfall_native: i64,
    pub insurance_paid_native: i64,
    /// Spread over every account's positive collateral, charged as each is next touched.
    pub socialised_native: i64,
    pub social_loss_index_q60: u64,
    pub social_loss_index_increase_q60: u64,
    pub insurance_fund_native: i64,
    pub social_loss_pending_native: i64,
    pub ts: i64,
}

#[event]
#[derive(Debug, Clone)]
pub struct InsuranceFunded {
    pub exchange: Pubkey,
    pub funder: Pubkey,
    pub amount_native: u64,
    pub insurance_fund_native: i64,
    pub vault_native: u64,
}

#[event]
#[derive(Debug, Clone)]
pub struct FeesWithdrawn {
    pub exchange: Pubkey,
    pub destination: Pubkey,
    pub amount_native: u64,
    pub fees_native: i64,
    pub vault_native: u64,
}

#[event]
#[derive(Debug, Clone)]
pub struct LiquidationParamsUpdated {
    pub exchange: Pubkey,
    /// The new `keel_risk::LiquidationParams`, raw bytes.
    pub liquidation_params: Vec<u8>,
    pub ts: i64,
}

impl MarginReport {
    /// The report of `account`'s margin breakdown `b` at `now`: `market_keys[i]` is the market of
    /// `b.markets[i]`, `positions[i]` the series and quantity of `b.positions[i]`. The program's
    /// `margin_report` and keel-client's off-chain `Snapshot::margin_report` both build it here,
    /// so `keel verify` compares figures, not two encodings of them. `liquidatable` is the test
    /// `liquidate` applies with the exchange's `liquidation_params` (below MM, or below the
    /// trigger level raised while vol is high or realised vol runs ahead), `liquidation_level`
    /// that level.
    pub fn from_breakdown(
        account: Pubkey,
        now: i64,
        b: &keel_risk::MarginBreakdown,
        market_keys: &[Pubkey],
        positions: &[(Pubkey, i64)],
        liquidation_params: &keel_risk::LiquidationParams,
    ) -> keel_risk::RiskResult<MarginReport> {
        let status = keel_risk::liquidation::status(b, liquidation_params)?;
        let markets = market_keys
            .iter()
            .zip(&b.markets)
            .map(|(k, m)| MarketRiskReport {
                market: *k,
                spot: m.spot,
                stable_spot: m.stable_spot,
                conf: m.conf,
                sigma_q32: m.sigma.to_bits(),
                mark_sigma_q32: m.mark_sigma.to_bits(),
                realised_sigma_q32: m.realised_sigma.to_bits(),
                range_q32: m.range.to_bits(),
                anchor_ts: m.anchor_ts,
                anchor_spot: m.anchor_spot,
                worst_im: m.worst_im,
                worst_im_interval: m.worst_im_interval,
                worst_mm: m.worst_mm,
                worst_mm_interval: m.worst_mm_interval,
                net_delta_q32: m.net_delta.to_bits(),
                short_min_im: m.short_min_im,
                short_min_mm: m.short_min_mm,
                conf_addon: m.conf_addon,
                impact_addon: m.impact_addon,
                pnl: m.pnl.to_vec(),
                gap: m.gap.to_vec(),
            })
            .collect();
        let positions = positions
            .iter()
            .zip(&b.positions)
            .map(|((series, qty), p)| PositionRiskReport {
                series: *series,
                qty_contracts: *qty,
                mark: p.mark,
                mark_stable: p.mark_stable,
                value: p.value,
                value_im: p.value_im,
                rounding: p.rounding,
                delta_q32: p.greeks.delta.to_bits(),
                gamma_q32: p.greeks.gamma.to_bits(),
                vega: p.greeks.vega,
                theta: p.greeks.theta,
            })
            .collect();
        Ok(MarginReport {
            account,
            now,
            collateral: b.collateral,
            equity_mm: b.equity_mm,
            equity_im: b.equity_im,
            mm: b.mm,
            im: b.im,
            scan_mm: b.scan_mm,
            scan_im: b.scan_im,
            offset_mm: b.offset_mm,
            offset_im: b.offset_im,
            addons: b.addons,
            short_min_mm: b.short_min_mm,
            short_min_im: b.short_min_im,
            rounding: b.rounding,
            health_mm: b.health_mm(),
            health_im: b.health_im(),
            withdrawable: status.withdrawable,
            liquidatable: status.liquidatable,
            liquidation_level: status.level,
            stress_q32: status.stress.to_bits(),
            markets,
            positions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_data_is_anchors_encoding_in_a_buffer_of_its_size() {
        let e = ExchangeInitialized {
            exchange: Pubkey::new_from_array([1; 32]),
            admin: Pubkey::new_from_array([2; 32]),
            quote_mint: Pubkey::new_from_array([3; 32]),
            quote_vault: Pubkey::new_from_array([4; 32]),
            quote_token_program: Pubkey::new_from_array([5; 32]),
            quote_decimals: 6,
            taker_fee_bps: 5,
            maker_fee_bps: 2,
        };
        let ours = event_data(&e);
        assert_eq!(ours, anchor_lang::Event::data(&e));
        assert_eq!(ours.capacity(), ours.len());
    }

    /// A breakdown with every reported figure distinct (a field written out of order or
    /// dropped changes the bytes).
    fn breakdown(n_markets: usize, n_positions: usize) -> Box<keel_risk::MarginBreakdown> {
        let mut b = Box::<keel_risk::MarginBreakdown>::default();
        let mut x = 1_000i64;
        let mut next = || {
            x += 7;
            x
        };
        b.now = next();
        b.collateral = next();
        b.equity_mm = next();
        b.equity_im = next();
        b.mm = next();
        b.im = next();
        b.scan_mm = next();
        b.scan_im = next();
        b.offset_mm = next();
        b.offset_im = next();
        b.addons = next();
        b.short_min_mm = next();
        b.short_min_im = next();
        b.rounding = next();
        b.n_markets = n_markets as u8;
        b.n_positions = n_positions as u8;
        for m in b.markets.iter_mut().take(n_markets) {
            m.spot = next();
            m.stable_spot = next();
            m.conf = next();
            m.sigma = keel_risk::Fx::from_bits(next());
            m.mark_sigma = keel_risk::Fx::from_bits(next());
            m.realised_sigma = keel_risk::Fx::from_bits(next());
            m.range = keel_risk::Fx::from_bits(next());
            m.anchor_ts = next();
            m.anchor_spot = next();
            m.worst_im = next();
            m.worst_im_interval = 17;
            m.worst_mm = next();
            m.worst_mm_interval = 43;
            m.net_delta = keel_risk::Fx::from_bits(-next());
            m.short_min_im = next();
            m.short_min_mm = next();
            m.conf_addon = next();
            m.impact_addon = next();
            for p in m.pnl.iter_mut().chain(m.gap.iter_mut()) {
                *p = -next();
            }
        }
        for p in b.positions.iter_mut().take(n_positions) {
            p.mark = next();
            p.mark_stable = next();
            p.value = -next();
            p.value_im = next();
            p.rounding = next();
            p.greeks.delta = keel_risk::Fx::from_bits(next());
            p.greeks.gamma = keel_risk::Fx::from_bits(next());
            p.greeks.vega = next();
            p.greeks.theta = -next();
        }
        b
    }

    #[test]
    fn margin_report_view_encodes_the_event_from_breakdown_encodes() {
        for (n_markets, n_positions) in [(0, 0), (1, 3), (4, 32)] {
            let b = breakdown(n_markets, n_positions);
            let keys: Vec<Pubkey> = (0..n_markets)
                .map(|i| Pubkey::new_from_array([i as u8 + 9; 32]))
                .collect();
            let positions: Vec<(Pubkey, i64)> = (0..n_positions)
                .map(|i| (Pubkey::new_from_array([i as u8 + 50; 32]), i as i64 - 5))
                .collect();
            let account = Pubkey::new_from_array([3; 32]);
            let lp = keel_risk::LiquidationParams::DEFAULT;
            let report =
                MarginReport::from_breakdown(account, 1_767_225_600, &b, &keys, &positions, &lp)
                    .unwrap();
            let view = MarginReportView {
                account,
                now: 1_767_225_600,
                breakdown: &b,
                status: keel_risk::liquidation::status(&b, &lp).unwrap(),
                market_keys: &keys,
                positions: &positions,
            };
            let ours = encoded(
                <MarginReport as anchor_lang::Discriminator>::DISCRIMINATOR,
                &view,
            );
            assert_eq!(
                ours,
                anchor_lang::Event::data(&report),
                "{n_markets}x{n_positions}"
            );
            assert_eq!(ours.capacity(), ours.len());
        }
    }
}
