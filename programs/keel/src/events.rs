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
    let data = event_data(&event);
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::log::sol_log_data(&[&data]);
    #[cfg(not(target_os = "solana"))]
    {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        solana_sysvar::program_stubs::sol_log(&format!("Program data: {b64}"));
    }
}

/// Anchor's event encoding (discriminator, then borsh), written into a buffer of exactly its
/// size. Anchor's own `Event::data` grows a `Vec` from 256 bytes by doubling; on the SBF bump
/// allocator, which never frees, a large event (`MarginReport` at 32 positions) then costs about
/// twice its size in heap — enough to exhaust the 32 KiB heap.
pub fn event_data<E: anchor_lang::Event>(event: &E) -> Vec<u8> {
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
    let _ = event.serialize(&mut n);
    let disc = <E as anchor_lang::Discriminator>::DISCRIMINATOR;
    let mut data = Vec::with_capacity(disc.len() + n.0);
    data.extend_from_slice(disc);
    let _ = event.serialize(&mut data);
    data
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
    pub fees_native: i64,
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
    pub range_q32: i64,
    pub worst_im: i64,
    pub worst_im_scenario: u8,
    pub worst_mm: i64,
    pub worst_mm_scenario: u8,
    pub net_delta_q32: i64,
    pub short_min_im: i64,
    pub short_min_mm: i64,
    pub conf_addon: i64,
    pub impact_addon: i64,
    /// P&L of the market's positions in each of the 30 scenarios.
    pub pnl: Vec<i64>,
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
    /// Socialised losses still to be charged to accounts.
    pub pending_native: i64,
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
    pub insurance_fund_native: i64,
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
    /// trigger level raised while vol is high).
    pub fn from_breakdown(
        account: Pubkey,
        now: i64,
        b: &keel_risk::MarginBreakdown,
        market_keys: &[Pubkey],
        positions: &[(Pubkey, i64)],
        liquidation_params: &keel_risk::LiquidationParams,
    ) -> keel_risk::RiskResult<MarginReport> {
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
                range_q32: m.range.to_bits(),
                worst_im: m.worst_im,
                worst_im_scenario: m.worst_im_scenario,
                worst_mm: m.worst_mm,
                worst_mm_scenario: m.worst_mm_scenario,
                net_delta_q32: m.net_delta.to_bits(),
                short_min_im: m.short_min_im,
                short_min_mm: m.short_min_mm,
                conf_addon: m.conf_addon,
                impact_addon: m.impact_addon,
                pnl: m.pnl.to_vec(),
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
            withdrawable: b.withdrawable(),
            liquidatable: keel_risk::liquidation::is_liquidatable(
                b,
                keel_risk::liquidation::max_sigma(b),
                liquidation_params,
            )?,
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
}
