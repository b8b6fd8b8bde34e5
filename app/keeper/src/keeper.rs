//! The keeper's pass over the chain: read a snapshot, decide (`plan`), send what is due —
//! through [`Chain`], so the same code runs against a real node and the in-process bank.

use crate::metrics::Metrics;
use crate::plan::{plan, Action, Plan, Policy};
use crate::tracker::{Backoff, Tracker};
use keel::error::KeelError;
use keel::events::Liquidated;
use keel_client::errors::code_of;
use keel_client::ix;
use keel_client::lookup::{self, Ensured};
use keel_client::view::{OracleDirectory, Snapshot, ViewError};
use keel_client::{Budget, Chain, ChainError, Pubkey, SendError, Sent};

use crate::plan::FILL_SERIES_PER_CRANK;
use keel_state::array_page::{NO_PAGE, PAGE_SERIES};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Compute-unit limit of a `crank_arrays` transaction (Solana's maximum): one call prices up to
/// `PAGE_SERIES` series.
pub const ARRAY_CRANK_CU_LIMIT: u32 = 1_400_000;

/// Everything that shapes the keeper's behaviour.
#[derive(Clone, Debug)]
pub struct KeeperConfig {
    /// What to act on and when.
    pub policy: Policy,
    /// Compute budget and priority fee of every transaction.
    pub budget: Budget,
    /// Whether `liquidate` asks for the compute units a simulation saw it use (plus headroom,
    /// [`Budget::fitted`]) instead of `budget`'s limit: the scheduler charges the requested limit
    /// against the per-slot caps, so a fitted request lets many more liquidations into a slot.
    /// A fitted transaction that runs out of units is sent again at `budget`'s limit.
    pub fit_liquidation_budget: bool,
    /// The most of a book the keeper takes over per call (basis points; 10 000: as planned).
    pub max_fraction_bps: u16,
    /// Retry schedule.
    pub backoff: Backoff,
    /// Oracle accounts of markets that do not pin one.
    pub oracles: OracleDirectory,
}

impl Default for KeeperConfig {
    fn default() -> Self {
        KeeperConfig {
            policy: Policy::default(),
            budget: Budget::default(),
            fit_liquidation_budget: true,
            max_fraction_bps: 10_000,
            backoff: Backoff::default(),
            oracles: OracleDirectory::default(),
        }
    }
}

/// What happened to one action.
#[derive(Debug)]
pub struct Outcome {
    /// The action.
    pub action: Action,
    /// The transaction, or why it did not land.
    pub result: Result<Sent, SendError>,
    /// The liquidation event, when the chain returned logs.
    pub liquidated: Option<Liquidated>,
    /// When its transaction was handed to the chain.
    pub sent_at: Instant,
    /// When the chain answered (confirmed, or the error).
    pub answered_at: Instant,
}

/// One pass.
#[derive(Debug, Default)]
pub struct TickReport {
    /// The decision.
    pub plan: Plan,
    /// What was sent, in order.
    pub outcomes: Vec<Outcome>,
    /// Actions skipped because an attempt is in flight or backing off.
    pub deferred: usize,
}

impl TickReport {
    /// Liquidations that landed.
    pub fn liquidations(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.action, Action::Liquidate { .. }) && o.result.is_ok())
    }
}

/// The keeper: its authority (owner or delegate of its margin account), that account, its
/// attempt tracker and metrics.
pub struct Keeper {
    /// Configuration.
    pub config: KeeperConfig,
    authority: Keypair,
    /// The keeper's margin account (the liquidator).
    pub liquidator_account: Pubkey,
    tracker: Tracker,
    /// Metrics (shared with the endpoint).
    pub metrics: Arc<Metrics>,
    /// Whether the chain's lookup tables were read from the chain (the keeper's own, from an
    /// earlier run).
    tables_loaded: AtomicBool,
}

impl Keeper {
    /// A keeper signing with `authority` and liquidating into `liquidator_account`.
    pub fn new(config: KeeperConfig, authority: Keypair, liquidator_account: Pubkey) -> Self {
        let mut config = config;
        config.policy.liquidator_account = Some(liquidator_account);
        Keeper {
            tracker: Tracker::new(config.backoff),
            config,
            authority,
            liquidator_account,
            metrics: Arc::new(Metrics::new()),
            tables_loaded: AtomicBool::new(false),
        }
    }

    /// Every address the keeper's transactions name that a lookup table can carry: the
    /// exchange, its vault, mint and token program, every market, oracle, correlation and
    /// series, and the keeper's own margin account.
    pub fn table_addresses(&self, s: &Snapshot) -> Vec<Pubkey> {
        let ex = ix::exchange_keys(&s.exchange);
        let mut v = vec![
            ex.exchange,
            ex.vault,
            ex.quote_mint,
            ex.token_program,
            self.liquidator_account,
        ];
        for (k, m) in &s.markets {
            v.push(*k);
            v.push(m.oracle_key);
        }
        v.extend(s.correlations.keys());
        v.extend(s.series.keys());
        v
    }

    /// Puts every address of [`Keeper::table_addresses`] into the chain's lookup tables (the
    /// keeper's own: created and extended with its keypair as authority), so a liquidation of an
    /// account at full capacity fits one transaction. Run it before passes (the binary does
    /// each time round on the snapshot it acts on); new addresses become usable in the slot
    /// after the one that added them.
    pub async fn prepare(&self, chain: &impl Chain, s: &Snapshot) -> Result<Ensured, ChainError> {
        let Some(tables) = chain.lookup_tables() else {
            return Ok(Ensured::default());
        };
        self.load_tables(chain, tables).await?;
        let wanted = self.table_addresses(s);
        lookup::ensure(chain, tables, &self.authority, &wanted).await
    }

    /// Sends `ix`; when it is too large for a legacy transaction, puts its shared accounts in
    /// the keeper's lookup tables, waits until they are usable and sends it as v0.
    async fn send(
        &self,
        chain: &impl Chain,
        ix: &anchor_lang::solana_program::instruction::Instruction,
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        match chain.send(std::slice::from_ref(ix), signers, budget).await {
            Err(SendError::TooLarge { size }) if chain.lookup_tables().is_some() => {
                tracing::info!(
                    size,
                    "too large for a legacy transaction: using lookup tables"
                );
                self.cover(chain, ix)
                    .await
                    .map_err(|e| SendError::Transport(e.0))?;
                chain.send(std::slice::from_ref(ix), signers, budget).await
            }
            r => r,
        }
    }

    /// A `liquidate`: at a limit fitted to its simulation, or at `budget` when fitting is off.
    async fn send_liquidation(
        &self,
        chain: &impl Chain,
        ix: &anchor_lang::solana_program::instruction::Instruction,
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        if self.config.fit_liquidation_budget {
            self.send_fitted(chain, ix, signers, budget).await
        } else {
            self.send(chain, ix, signers, budget).await
        }
    }

    /// Sends `ix` with the compute-unit limit fitted to a simulation of it ([`Budget::fitted`]);
    /// without a usable simulation, or when the fitted limit runs out, at `budget`'s limit.
    async fn send_fitted(
        &self,
        chain: &impl Chain,
        ix: &anchor_lang::solana_program::instruction::Instruction,
        signers: &[&Keypair],
        budget: Budget,
    ) -> Result<Sent, SendError> {
        let fitted =
            keel_client::chain::fitted_budget(chain, std::slice::from_ref(ix), signers, budget)
                .await;
        if fitted.cu_limit >= budget.cu_limit {
            return self.send(chain, ix, signers, budget).await;
        }
        self.metrics
            .liquidate_cu_requested
            .observe(fitted.cu_limit as f64);
        match self.send(chain, ix, signers, fitted).await {
            Err(e) if keel_client::chain::ran_out_of_compute(&e) => {
                tracing::warn!(limit = fitted.cu_limit, "fitted limit ran out: resending");
                self.send(chain, ix, signers, budget).await
            }
            r => r,
        }
    }

    /// Reads the keeper's tables from the chain once (those an earlier run made).
    async fn load_tables(
        &self,
        chain: &impl Chain,
        tables: &lookup::LookupTables,
    ) -> Result<(), ChainError> {
        if !self.tables_loaded.load(Ordering::Relaxed) {
            lookup::load(chain, tables, &self.authority.pubkey()).await?;
            self.tables_loaded.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn cover(
        &self,
        chain: &impl Chain,
        ix: &anchor_lang::solana_program::instruction::Instruction,
    ) -> Result<(), ChainError> {
        let tables = chain.lookup_tables().expect("checked by the caller");
        self.load_tables(chain, tables).await?;
        let wanted: Vec<Pubkey> = ix
            .accounts
            .iter()
            .filter(|m| !m.is_signer)
            .map(|m| m.pubkey)
            .collect();
        let done = lookup::ensure(chain, tables, &self.authority, &wanted).await?;
        if done.appended > 0 {
            lookup::wait_active(
                chain,
                done.active_after_slot,
                std::time::Duration::from_secs(10),
            )
            .await?;
        }
        Ok(())
    }

    /// A keeper whose margin account is `authority`'s account `account_id` on the exchange.
    pub fn for_account(config: KeeperConfig, authority: Keypair, account_id: u32) -> Self {
        let acc = keel_client::pda::margin_account(
            &keel_client::pda::exchange(),
            &authority.pubkey(),
            account_id,
        );
        Self::new(config, authority, acc)
    }

    /// The instruction for `a`, derived from `s`.
    fn instruction(
        &self,
        s: &Snapshot,
        payer: &Pubkey,
        a: &Action,
    ) -> Result<anchor_lang::solana_program::instruction::Instruction, String> {
        let ex = ix::exchange_keys(&s.exchange);
        Ok(match a {
            Action::Crank { market, .. } => {
                let mv = &s.markets[market];
                // A market without a vol authority folds its series' new option fills into
                // its implied vol at the crank.
                let fills = s.fill_series(market, FILL_SERIES_PER_CRANK);
                ix::update_volatility_with_fills(&ex, market, &mv.oracle_key, &fills)
            }
            Action::CrankArrays { market, page } => {
                let mv = &s.markets[market];
                ix::crank_arrays(&ex, market, &mv.oracle_key, *page, 0, PAGE_SERIES as u8)
            }
            Action::Liquidate { account, .. } => {
                let victim = &s.accounts[account];
                let me = s.accounts.get(&self.liquidator_account).ok_or_else(|| {
                    format!(
                        "the keeper's margin account {} does not exist: open and fund it",
                        self.liquidator_account
                    )
                })?;
                let remaining = s
                    .liquidate_metas_reading_held(victim, me)
                    .map_err(|e| e.to_string())?;
                ix::liquidate(
                    &ex,
                    account,
                    &self.liquidator_account,
                    &self.authority.pubkey(),
                    self.config.max_fraction_bps,
                    &remaining,
                )
            }
            Action::SettleSeries { series, market } => {
                let mv = &s.markets[market];
                // An option frees its risk-array slot: its page goes along.
                let page = s
                    .series
                    .get(series)
                    .filter(|x| x.array_page != NO_PAGE)
                    .map(|x| {
                        s.page_of(market, x.array_page)
                            .map(|(k, _)| k)
                            .ok_or_else(|| {
                                format!(
                                    "the risk-array page {} of {series} is not on chain",
                                    x.array_page
                                )
                            })
                    })
                    .transpose()?;
                ix::settle_series(&ex, payer, market, series, &mv.oracle_key, page)
            }
            Action::SettlePositions {
                account, series, ..
            } => ix::settle_positions(&ex, account, series),
            Action::ResolveBankruptcy { account, .. } => ix::resolve_bankruptcy(&ex, account),
        })
    }

    /// One pass: snapshot, plan, send what is due (in the plan's order, one at a time, so a
    /// crank lands before the liquidations that need it).
    pub async fn tick(&mut self, chain: &impl Chain) -> Result<TickReport, ViewError> {
        let started = Instant::now();
        let s = Snapshot::load(chain, &self.config.oracles).await?;
        Ok(self.act(chain, &s, started).await)
    }

    /// Plans on `s` and sends what is due, in order. `observed` is when the data that
    /// prompted this pass was received (a notification, or the start of a read): the
    /// update-to-send latency is measured from it.
    pub async fn act(&mut self, chain: &impl Chain, s: &Snapshot, observed: Instant) -> TickReport {
        let started = Instant::now();
        let now = s.now;
        let plan = plan(s, now, &self.config.policy);
        let m = self.metrics.clone();
        m.queue_length.set(plan.actions.len() as i64);
        m.accounts_watched.set(plan.watched as i64);
        m.accounts_liquidatable.set(plan.liquidatable.len() as i64);
        m.crank_lag_secs.set(
            plan.crank_lag_secs
                .iter()
                .map(|(_, l)| *l)
                .max()
                .unwrap_or(0),
        );
        // A cap of 1 or less (the exchange's) turns the stress off whatever the markets keep.
        let stress_on = s.exchange.liquidation_params.realised_stress_cap > keel_risk::Fx::ONE;
        m.markets_stressed.set(
            s.markets
                .values()
                .filter(|mv| {
                    let (p, v) = (&mv.market.risk_params, &mv.market.vol_state);
                    stress_on && p.realised_tau_secs > 0 && v.realised_vol > v.margin_vol
                })
                .count() as i64,
        );
        for (k, why) in &plan.skipped {
            tracing::warn!(%k, why, "skipped");
        }
        let mut report = TickReport::default();
        let payer = chain.payer();
        let mut queue: std::collections::VecDeque<Action> = plan.actions.clone().into();
        while let Some(action) = queue.pop_front() {
            m.queue_length.dec();
            let key = action.key();
            if !self.tracker.begin(key, now) {
                report.deferred += 1;
                continue;
            }
            let ix = match self.instruction(s, &payer, &action) {
                Ok(ix) => ix,
                Err(why) => {
                    tracing::error!(?action, why, "cannot build");
                    self.tracker.failed(key, now);
                    continue;
                }
            };
            let signers: Vec<&Keypair> = match action {
                Action::Liquidate { .. } => vec![&self.authority],
                _ => vec![],
            };
            match &action {
                Action::Liquidate { publish_time, .. } => {
                    m.liquidations_sent.inc();
                    m.oracle_to_send_secs
                        .observe(now.saturating_sub(*publish_time).max(0) as f64);
                }
                Action::Crank { publish_time, .. } => {
                    m.cranks_sent.inc();
                    m.oracle_to_send_secs
                        .observe(now.saturating_sub(*publish_time).max(0) as f64);
                }
                Action::CrankArrays { .. } => m.array_cranks_sent.inc(),
                _ => {}
            }
            let budget = match action {
                // Pricing a full page takes ~40k CU per series: ask for Solana's maximum.
                Action::CrankArrays { .. } => Budget {
                    cu_limit: ARRAY_CRANK_CU_LIMIT,
                    ..self.config.budget
                },
                _ => self.config.budget,
            };
            let sent_at = Instant::now();
            m.update_to_send_secs
                .observe(sent_at.saturating_duration_since(observed).as_secs_f64());
            let result = match action {
                Action::Liquidate { .. } => {
                    let read_only = ix
                        .accounts
                        .iter()
                        .any(|m| !m.is_writable && s.series.contains_key(&m.pubkey));
                    let r = self.send_liquidation(chain, &ix, &signers, budget).await;
                    match r {
                        // A slice the program found whole (or netting): every series writable.
                        Err(e)
                            if read_only
                                && e.code() == Some(code_of(KeelError::SeriesNotWritable)) =>
                        {
                            let mut all = ix.clone();
                            for m in all
                                .accounts
                                .iter_mut()
                                .filter(|m| s.series.contains_key(&m.pubkey))
                            {
                                m.is_writable = true;
                            }
                            m.liquidations_series_retried.inc();
                            self.send_liquidation(chain, &all, &signers, budget).await
                        }
                        Ok(sent) => {
                            if read_only {
                                m.liquidations_series_read.inc();
                            }
                            Ok(sent)
                        }
                        r => r,
                    }
                }
                _ => self.send(chain, &ix, &signers, budget).await,
            };
            let answered_at = Instant::now();
            m.send_to_answer_secs
                .observe(answered_at.saturating_duration_since(sent_at).as_secs_f64());
            let mut liquidated = None;
            match (&action, &result) {
                (
                    Action::Liquidate {
                        account, shortfall, ..
                    },
                    Ok(sent),
                ) => {
                    m.liquidations_confirmed.inc();
                    liquidated = keel_client::events::decode::<Liquidated>(&sent.logs)
                        .ok()
                        .and_then(|mut v| v.pop());
                    tracing::info!(%account, shortfall, sig = %sent.signature, "liquidated");
                    self.tracker.succeeded(key);
                }
                (Action::Liquidate { account, .. }, Err(e))
                    if e.code() == Some(code_of(KeelError::NotLiquidatable)) =>
                {
                    // Someone else got there first, or the price moved back: nothing to do.
                    tracing::info!(%account, "no longer liquidatable");
                    self.tracker.succeeded(key);
                }
                (Action::Liquidate { account, .. }, Err(e)) => {
                    m.liquidations_failed.inc();
                    tracing::warn!(%account, error = %e, "liquidation failed");
                    self.tracker.failed(key, now);
                }
                (Action::Crank { market, reason, .. }, Ok(_)) => {
                    m.cranks_confirmed.inc();
                    tracing::info!(%market, ?reason, "cranked");
                    self.tracker.succeeded(key);
                }
                (Action::CrankArrays { market, page }, Ok(_)) => {
                    m.array_cranks_confirmed.inc();
                    tracing::info!(%market, ?page, "risk arrays cranked");
                    self.tracker.succeeded(key);
                }
                (Action::ResolveBankruptcy { account, shortfall }, Ok(_)) => {
                    m.bankruptcies_resolved.inc();
                    tracing::info!(%account, shortfall, "bankruptcy resolved");
                    self.tracker.succeeded(key);
                }
                (Action::SettleSeries { .. } | Action::SettlePositions { .. }, Ok(_)) => {
                    m.settlements_confirmed.inc();
                    tracing::info!(?action, "settled");
                    self.tracker.succeeded(key);
                }
                (_, Err(e)) => {
                    tracing::warn!(?action, error = %e, "failed");
                    self.tracker.failed(key, now);
                }
            }
            // A liquidation that left its account without positions and below zero: resolve the
            // bankruptcy next, in this pass (insurance and socialisation should not wait a poll).
            if let Some(ev) = liquidated
                .as_ref()
                .filter(|ev| ev.liquidatee_positions_after == 0)
                .filter(|ev| ev.liquidatee_collateral_native < 0)
            {
                let resolve = Action::ResolveBankruptcy {
                    account: ev.liquidatee,
                    shortfall: -ev.liquidatee_collateral_native,
                };
                if !queue.iter().any(|a| a.key() == resolve.key()) {
                    queue.push_front(resolve);
                    m.queue_length.inc();
                }
            }
            report.outcomes.push(Outcome {
                action,
                result,
                liquidated,
                sent_at,
                answered_at,
            });
        }
        m.queue_length.set(0);
        m.tick_secs.observe(started.elapsed().as_secs_f64());
        report.plan = plan;
        report
    }
}

#[cfg(test)]
mod tests;
