//! keel-demo: the main job on an embedded default. One call starts a local chain in-process
//! (solana-program-test's bank with Keel native, real SPL Token), creates an exchange and a BTC
//! market whose oracle replays a real price history (by default the March 2020 crash in
//! `../shared/data/btc_usdt_2h.csv`; any OHLC CSV in the same format works), lists series, opens
//! accounts with different leverage and trades them with a market maker, then steps through
//! the history bar by bar: the oracle moves, a vol authority publishes realised vol, and the
//! keeper (keel-keeper's own pass, through keel-client's `Chain`) cranks volatility and the risk
//! arrays, liquidates accounts in AVSL steps, settles expiries and resolves bankruptcies through the insurance fund.
//! At the end: a summary (per account and for the system, with the conservation identity) and
//! a chart.

pub mod backend;
pub mod chart;
pub mod feed;
pub mod local;
pub mod setup;
pub mod summary;
pub mod unwind;
pub mod validator;

use keel::events::Bankrupt;
use keel_client::view::Snapshot;
use keel_client::{ix, Chain, Pubkey};
use keel_keeper::{Action, Keeper, KeeperConfig};
use keel_state::account::FLAG_BANKRUPT;
use solana_signer::Signer;
use std::collections::BTreeMap;
use std::path::PathBuf;
use summary::{
    usd, AccountSample, AccountSummary, BankruptcyRecord, KeeperPnl, LiquidationRecord, Sample,
    Summary, SystemSummary,
};

/// The default window: BTC's March 2020 crash (−39% on the 12th, −50% peak to trough).
pub const DEFAULT_FROM: &str = "2020-03-08";
/// End of the default window.
pub const DEFAULT_TO: &str = "2020-03-17";

/// What to replay and where to write the chart.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// OHLC CSV (`date|time,open,high,low,close[,volume]`).
    pub prices: PathBuf,
    /// First bar (inclusive), `YYYY-MM-DD[ HH:MM[:SS]]`.
    pub from: String,
    /// Last bar (inclusive).
    pub to: String,
    /// Where the chart goes.
    pub out_dir: PathBuf,
    /// Insurance fund seeded by the operator, USDC.
    pub insurance_usdc: i64,
    /// Keeper passes per bar at most (15 s apart), so capped liquidations can continue.
    pub passes_per_bar: usize,
}

impl DemoConfig {
    /// The default demo, with the repository at `root` (the market history in
    /// [`shared_data_dir`]).
    pub fn default_at(root: &std::path::Path) -> Self {
        DemoConfig {
            prices: shared_data_dir(root).join("btc_usdt_2h.csv"),
            from: DEFAULT_FROM.into(),
            to: DEFAULT_TO.into(),
            out_dir: root.join("out/demo"),
            insurance_usdc: 20_000,
            passes_per_bar: 20,
        }
    }
}

/// Where the bundled market history lives: `$KEEL_SHARED_DATA` when set, else `../shared/data`
/// beside the repository at `root` (it is read in place, never copied into the project).
pub fn shared_data_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("KEEL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"))
}

/// Why the demo stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoError(pub String);

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

fn err(what: &str, e: impl std::fmt::Display) -> DemoError {
    DemoError(format!("{what}: {e}"))
}

/// The first Friday 08:00 UTC at least `min_days` after `ts` (Deribit's expiry time).
pub fn friday_expiry(ts: i64, min_days: i64) -> i64 {
    const DAY: i64 = 86_400;
    let day = (ts + min_days * DAY).div_euclid(DAY);
    // 1970-01-01 was a Thursday: weekday 0 = Thursday, 1 = Friday.
    let to_friday = (1 - day.rem_euclid(7)).rem_euclid(7);
    (day + to_friday) * DAY + 8 * 3_600
}

fn parse_bound(s: &str) -> Result<i64, DemoError> {
    keel_backtest::data::parse_time(s)
        .map(|(t, _)| t)
        .map_err(|e| DemoError(format!("bad date '{s}': {e}")))
}

/// The bars of `cfg`'s window and the file's bar interval (seconds).
fn bars(cfg: &DemoConfig) -> Result<(Vec<keel_backtest::data::Bar>, i64), DemoError> {
    let series = keel_backtest::data::read_prices(&cfg.prices).map_err(|e| err("price file", e))?;
    let (from, to) = (parse_bound(&cfg.from)?, parse_bound(&cfg.to)?);
    // Bar times are closes; `to` as a date means the end of that day.
    let to = if cfg.to.len() <= 10 { to + 86_400 } else { to };
    let bars: Vec<_> = series
        .bars
        .iter()
        .filter(|b| b.ts >= from && b.ts <= to)
        .copied()
        .collect();
    if bars.len() < 2 {
        return Err(DemoError(format!(
            "{}: fewer than two bars between {} and {}",
            cfg.prices.display(),
            cfg.from,
            cfg.to
        )));
    }
    Ok((bars, series.interval))
}

/// Runs the demo on the in-process bank; `on_bar(done, total)` is called after every bar (for a
/// progress bar).
pub async fn run(cfg: &DemoConfig, on_bar: impl FnMut(usize, usize)) -> Result<Summary, DemoError> {
    let started = std::time::Instant::now();
    let (bars, interval) = bars(cfg)?;
    let mut c = local::LocalChain::start(bars[0].ts).await;
    replay(cfg, &mut c, &bars, interval, started, on_bar).await
}

/// Runs the demo on a local `solana-test-validator` running keel.so (`target`: start one, or
/// use a running one); the same replay and summary as [`run`], in real time
/// ([`validator::ValidatorChain`] says what that changes).
pub async fn run_on_validator(
    cfg: &DemoConfig,
    target: validator::Target,
    on_bar: impl FnMut(usize, usize),
) -> Result<Summary, DemoError> {
    let started = std::time::Instant::now();
    let (bars, interval) = bars(cfg)?;
    let mut c = validator::ValidatorChain::connect(target, bars[0].ts, &cfg.out_dir).await?;
    replay(cfg, &mut c, &bars, interval, started, on_bar).await
}

/// The replay itself, on any [`backend::DemoChain`].
async fn replay(
    cfg: &DemoConfig,
    c: &mut impl backend::DemoChain,
    bars: &[keel_backtest::data::Bar],
    interval: i64,
    started: std::time::Instant,
    mut on_bar: impl FnMut(usize, usize),
) -> Result<Summary, DemoError> {
    let first = bars[0];
    let week1 = friday_expiry(first.ts, 2);
    let bootstrap_config = cfg.out_dir.join("bootstrap.toml");
    let x = setup::build(
        c,
        first.close,
        [c.chain_time(week1), c.chain_time(week1 + 14 * 86_400)],
        &bootstrap_config,
    )
    .await?;

    // The operator seeds the insurance fund.
    let admin_tokens = solana_keypair::Keypair::new();
    let payer = c.payer();
    let mut ixs = keel_bank::token::create_token_account(
        &payer,
        &admin_tokens.pubkey(),
        &x.ex.quote_mint,
        &x.admin.pubkey(),
        &x.ex.token_program,
    );
    let seed = (cfg.insurance_usdc * setup::USDC) as u64;
    ixs.push(keel_bank::token::mint_to(
        &x.ex.quote_mint,
        &admin_tokens.pubkey(),
        &x.admin.pubkey(),
        seed,
        &x.ex.token_program,
    ));
    ixs.push(ix::fund_insurance(
        &x.ex,
        &x.admin.pubkey(),
        &admin_tokens.pubkey(),
        seed,
    ));
    c.send(&ixs, &[&admin_tokens, &x.admin])
        .await
        .map_err(|e| err("seed the insurance fund", e))?;

    let keeper_p = x.keeper();
    let mut keeper = Keeper::new(
        KeeperConfig {
            oracles: x.oracles.clone(),
            ..KeeperConfig::default()
        },
        keeper_p.kp.insecure_clone(),
        keeper_p.account,
    );
    let names: BTreeMap<Pubkey, &str> =
        x.participants.iter().map(|p| (p.account, p.name)).collect();
    let traders: Vec<Pubkey> = x.traders().iter().map(|t| t.account).collect();

    let snap0 = Snapshot::load(c.chain(), &x.oracles)
        .await
        .map_err(|e| err("read the chain", e))?;
    let mut equity_start = BTreeMap::new();
    for p in &x.participants {
        let b = snap0
            .margin(&snap0.accounts[&p.account], None)
            .map_err(|e| err("margin", e))?;
        equity_start.insert(p.account, b.equity_mm);
    }

    let mut feed = feed::RealisedVol::new(interval, 7 * 86_400, 0.6);
    feed.update(first.close);
    let mut timeline = Vec::with_capacity(bars.len());
    let mut liquidations = Vec::new();
    let mut bankruptcies = Vec::new();
    let (mut cranks, mut array_cranks, mut settlements) = (0u64, 0u64, 0u64);
    let mut keeper_errors = Vec::new();
    // What the keeper kept of the bonuses, and what closing what it took over cost.
    let (mut keeper_bonus_kept, mut unwound) = (0i64, unwind::Unwound::default());
    for (i, bar) in bars.iter().enumerate() {
        // The oracle walks the bar's path — the extreme against the close first, then the other
        // extreme, then the close, at thirds of the bar — so liquidations meet the prices a live
        // oracle would have shown, not only the closes.
        let path: Vec<(i64, f64)> = if i == 0 {
            vec![(bar.ts, bar.close)]
        } else {
            let (a, b) = if bar.close >= bar.open {
                (bar.low, bar.high)
            } else {
                (bar.high, bar.low)
            };
            let start = bars[i - 1].ts;
            let third = (bar.ts - start) / 3;
            vec![
                (start + third, a),
                (start + 2 * third, b),
                (bar.ts, bar.close),
            ]
        };
        for &(ts, price) in &path {
            // History's clock: on the bank the chain's too; a validator's runs on its own.
            let mut hist_now = ts;
            c.reach(ts).await;
            c.publish(&x.oracle, price).await?;
            if ts == bar.ts {
                // The vol authority publishes once per bar, from the closes.
                feed.update(bar.close);
                c.send(
                    &[ix::publish_implied_vol(
                        &x.market,
                        &x.vol_authority.pubkey(),
                        feed.bps(),
                    )],
                    &[&x.vol_authority],
                )
                .await
                .map_err(|e| err("publish the implied vol", e))?;
            }
            for pass in 0..cfg.passes_per_bar.max(1) {
                if pass > 0 {
                    // The next keeper pass comes 15 s later, with a fresh oracle update.
                    hist_now += 15;
                    c.reach(hist_now).await;
                    c.publish(&x.oracle, price).await?;
                }
                let r = keeper
                    .tick(c.chain())
                    .await
                    .map_err(|e| err("keeper pass", e))?;
                let mut liquidated = false;
                for o in &r.outcomes {
                    match (&o.action, &o.result) {
                        (Action::Liquidate { account, .. }, Ok(_)) => {
                            liquidated = true;
                            if let Some(ev) = &o.liquidated {
                                keeper_bonus_kept += ev.bonus_native - ev.insurance_share_native;
                                let contracts: i64 =
                                    ev.transfers.iter().map(|t| t.qty_contracts.abs()).sum();
                                liquidations.push(LiquidationRecord {
                                    ts: hist_now,
                                    account: names.get(account).unwrap_or(&"?").to_string(),
                                    fraction: ev.fraction_q32 as f64 / 4_294_967_296.0,
                                    fraction_cap: ev.fraction_cap_q32 as f64 / 4_294_967_296.0,
                                    bonus_rate: ev.bonus_rate_q32 as f64 / 4_294_967_296.0,
                                    bonus: usd(ev.bonus_native),
                                    notional: contracts as f64 * 0.1 * price,
                                    healthy_after: ev.healthy_after,
                                    price,
                                });
                            }
                        }
                        (Action::ResolveBankruptcy { .. }, Ok(sent)) => {
                            for b in keel_client::events::decode::<Bankrupt>(&sent.logs)
                                .unwrap_or_default()
                            {
                                bankruptcies.push(BankruptcyRecord {
                                    ts: hist_now,
                                    account: names.get(&b.account).unwrap_or(&"?").to_string(),
                                    shortfall: usd(b.shortfall_native),
                                    insurance_paid: usd(b.insurance_paid_native),
                                    socialised: usd(b.socialised_native),
                                });
                            }
                        }
                        (Action::Crank { .. }, Ok(_)) => cranks += 1,
                        (Action::CrankArrays { .. }, Ok(_)) => array_cranks += 1,
                        (Action::SettleSeries { .. } | Action::SettlePositions { .. }, Ok(_)) => {
                            settlements += 1
                        }
                        // A lost race: the account recovered between the snapshot and the send.
                        (Action::Liquidate { .. }, Err(e))
                            if e.code()
                                == Some(keel_client::errors::code_of(
                                    keel::error::KeelError::NotLiquidatable,
                                )) => {}
                        (a, Err(e)) => keeper_errors.push(format!("{a:?}: {e}")),
                    }
                }
                if liquidated {
                    // A refused close (the maker out of margin) leaves the position with the
                    // keeper and is reported, as a failed keeper action is.
                    match unwind::close_keeper_positions(c, &x).await {
                        Ok(u) => {
                            unwound.trades += u.trades;
                            unwound.fees_native += u.fees_native;
                        }
                        Err(e) => keeper_errors.push(e.0),
                    }
                }
                if r.outcomes.is_empty() {
                    break;
                }
            }
        }
        let snap = Snapshot::load(c.chain(), &x.oracles)
            .await
            .map_err(|e| err("read the chain", e))?;
        let accounts = traders
            .iter()
            .map(|k| match snap.margin(&snap.accounts[k], None) {
                Ok(b) => AccountSample {
                    equity: usd(b.equity_mm),
                    mm: usd(b.mm),
                    im: usd(b.im),
                },
                Err(_) => AccountSample::default(),
            })
            .collect();
        timeline.push(Sample {
            ts: bar.ts,
            price: bar.close,
            margin_vol: snap.markets[&x.market]
                .market
                .vol_state
                .margin_vol
                .to_num::<f64>(),
            implied_vol: feed.vol(),
            accounts,
            insurance_fund: usd(snap.exchange.insurance_fund_native),
        });
        on_bar(i + 1, bars.len());
    }

    // The end state.
    let snap = Snapshot::load(c.chain(), &x.oracles)
        .await
        .map_err(|e| err("read the chain", e))?;
    let mut accounts = Vec::new();
    let order: Vec<&setup::Participant> = x
        .traders()
        .iter()
        .chain(x.participants[..2].iter())
        .collect();
    for p in order {
        let a = &snap.accounts[&p.account];
        let settled = snap.settled(a);
        let end = snap
            .margin(a, None)
            .map(|b| b.equity_mm)
            .unwrap_or(settled.collateral_native);
        let ti = traders.iter().position(|k| *k == p.account);
        let peak = |f: fn(&AccountSample) -> f64| {
            ti.map_or(0.0, |i| {
                timeline
                    .iter()
                    .map(|s| f(&s.accounts[i]))
                    .fold(0.0, f64::max)
            })
        };
        accounts.push(AccountSummary {
            name: p.name.into(),
            role: p.role.into(),
            im_multiple: p.im_multiple,
            equity_start: usd(equity_start[&p.account]),
            equity_end: usd(end),
            loss: usd(equity_start[&p.account] - end),
            peak_im: peak(|s| s.im),
            peak_mm: peak(|s| s.mm),
            liquidations: a.liquidations,
            bonus_paid: liquidations
                .iter()
                .filter(|l| l.account == p.name)
                // A fold from +0: f64's `sum` of nothing is -0.0, printed "-0.00".
                .fold(0.0, |t, l| t + l.bonus),
            bankrupt: a.flags & FLAG_BANKRUPT != 0,
            insurance_received: usd(a.insurance_received_native),
            socialised_borne: usd(settled.socialised_loss_native),
        });
    }
    let ex = &snap.exchange;
    let vault = c
        .chain()
        .accounts(&[x.ex.vault])
        .await
        .map_err(|e| err("read the vault", e))?
        .pop()
        .flatten()
        .and_then(|a| keel_bank::token::amount(&a.data))
        .ok_or_else(|| DemoError("the vault is missing".into()))?;
    let sum_collateral: i64 = snap.accounts.values().map(|a| a.collateral_native).sum();
    let owed = ex.liabilities_native();
    let system = SystemSummary {
        liquidation_calls: liquidations.len(),
        liquidated_notional: liquidations.iter().map(|l| l.notional).sum(),
        bonus_paid: usd(ex.liquidation_bonus_native),
        bankruptcies: bankruptcies.len(),
        insurance_fund_start: cfg.insurance_usdc as f64,
        insurance_fund_end: usd(ex.insurance_fund_native),
        insurance_paid: usd(ex.insurance_paid_native),
        bad_debt_socialised: usd(ex.socialised_loss_native),
        cranks,
        array_cranks,
        settlements,
        peak_margin_vol: timeline.iter().map(|s| s.margin_vol).fold(0.0, f64::max),
        vault_native: vault,
        total_collateral_native: ex.total_collateral_native,
        insurance_fund_native: ex.insurance_fund_native,
        fees_native: ex.fees_native,
        settlement_pools_native: ex.settlement_pools_native,
        social_loss_pending_native: ex.social_loss_pending_native,
        keeper: {
            let k = x.keeper().account;
            let end = snap
                .margin(&snap.accounts[&k], None)
                .map_err(|e| err("margin", e))?
                .equity_mm;
            let pnl = end - equity_start[&k];
            KeeperPnl {
                pnl: usd(pnl),
                bonus_kept: usd(keeper_bonus_kept),
                closing_fees: usd(unwound.fees_native),
                mark_to_market: usd(pnl - keeper_bonus_kept + unwound.fees_native),
                closing_trades: unwound.trades,
                positions_left: snap.accounts[&k].active_positions().count(),
            }
        },
        conservation_holds: owed == Some(vault as i64)
            && sum_collateral == ex.total_collateral_native,
    };
    let label = |ts| keel_backtest::data::format_ts(ts, true);
    let mut s = Summary {
        chain: c.describe(),
        prices: cfg.prices.display().to_string(),
        from: label(first.ts),
        to: label(bars[bars.len() - 1].ts),
        bars: bars.len(),
        bootstrap_config: bootstrap_config.display().to_string(),
        bootstrap_transactions: x.bootstrap_sent,
        accounts,
        system,
        liquidations,
        bankruptcies,
        chart_png: None,
        chart_svg: None,
        keeper_errors,
        elapsed_secs: 0.0,
        timeline,
    };
    match chart::write(&s, &cfg.out_dir) {
        Ok((svg, png)) => {
            s.chart_svg = Some(svg.display().to_string());
            s.chart_png = png.map(|p| p.display().to_string());
        }
        Err(e) => s.keeper_errors.push(format!("chart: {e}")),
    }
    s.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(s)
}
