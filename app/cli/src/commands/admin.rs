//! Admin commands: `keel exchange init|show|pause`, `keel market create|update-params|
//! create-page|list-series`. Market and series arguments go through keel-migrations' config types, so a
//! market created by hand and one created by `keel bootstrap` are built by the same code.

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::names::{market_name, money, series_label};
use crate::output::{kv, Render};
use anchor_lang::prelude::Pubkey;
use keel_client::{ix, pda, Chain};
use keel_migrations::config::{
    apply_overrides, differing_fields, GuardsConfig, MarketConfig, SeriesConfig, SeriesKindConfig,
};
use keel_migrations::pages::{create_page, market_pages, with_room, CreatePageError};
use keel_state::array_page::PAGE_SERIES;
use keel_state::exchange::*;
use serde::Serialize;

/// A transaction an admin command sent.
#[derive(Clone, Debug, Serialize)]
pub struct Done {
    /// What was done.
    pub action: String,
    /// The account created or changed.
    pub address: String,
    /// Details.
    pub details: Vec<String>,
    /// The transaction.
    pub signature: String,
}

impl Render for Done {
    fn render(&self) -> String {
        let mut s = format!("{}: {}\n", self.action, self.address);
        for d in &self.details {
            s.push_str(&format!("  {d}\n"));
        }
        s.push_str(&format!("{}\n", self.signature));
        s
    }
}

/// Creates the exchange for `mint` (the signer becomes admin).
pub async fn exchange_init<C: Chain>(
    env: &Env<C>,
    mint: Pubkey,
    token_program: &str,
    taker_fee_bps: u16,
    maker_fee_bps: u16,
) -> CliResult<Done> {
    let cfg = keel_migrations::config::ExchangeConfig {
        quote_mint: mint.to_string(),
        token_program: token_program.into(),
        taker_fee_bps,
        maker_fee_bps,
        admin: None,
    };
    let tp = cfg.token_program().map_err(CliError::Usage)?;
    let ex = ix::ExchangeKeys::new(mint, tp);
    let i = ix::init_exchange(
        &ex,
        &env.me(),
        keel::instructions::InitExchangeArgs {
            taker_fee_bps,
            maker_fee_bps,
        },
    );
    let sent = env.send("init_exchange", &[i], &[]).await?;
    Ok(Done {
        action: "exchange created".into(),
        address: ex.exchange.to_string(),
        details: vec![format!(
            "quote mint {mint}, vault {}, admin {}",
            ex.vault,
            env.me()
        )],
        signature: sent.signature,
    })
}

/// `exchange show`.
#[derive(Clone, Debug, Serialize)]
pub struct ExchangeView {
    /// Address.
    pub address: String,
    /// Admin.
    pub admin: String,
    /// Quote mint.
    pub quote_mint: String,
    /// Vault.
    pub vault: String,
    /// Token program.
    pub token_program: String,
    /// Quote decimals.
    pub decimals: u8,
    /// Pause flags that are set, by name.
    pub paused: Vec<String>,
    /// Fees.
    pub taker_fee_bps: u16,
    /// Fees.
    pub maker_fee_bps: u16,
    /// Markets.
    pub market_count: u16,
    /// Accounts opened.
    pub account_count: u64,
    /// Σ collateral.
    pub total_collateral_native: i64,
    /// Insurance fund.
    pub insurance_fund_native: i64,
    /// Fees collected.
    pub fees_native: i64,
    /// Σ settlement pools.
    pub settlement_pools_native: i64,
    /// Socialised losses not yet charged.
    pub social_loss_pending_native: i64,
}

impl Render for ExchangeView {
    fn render(&self) -> String {
        let m = |v: i64| money(v, self.decimals);
        kv(&[
            ("exchange", self.address.clone()),
            ("admin", self.admin.clone()),
            (
                "quote mint",
                format!("{} ({} decimals)", self.quote_mint, self.decimals),
            ),
            ("vault", self.vault.clone()),
            ("token program", self.token_program.clone()),
            (
                "paused",
                if self.paused.is_empty() {
                    "nothing".into()
                } else {
                    self.paused.join(", ")
                },
            ),
            (
                "fees",
                format!(
                    "taker {} bps, maker {} bps",
                    self.taker_fee_bps, self.maker_fee_bps
                ),
            ),
            ("markets", self.market_count.to_string()),
            ("accounts", self.account_count.to_string()),
            ("collateral", m(self.total_collateral_native)),
            ("insurance fund", m(self.insurance_fund_native)),
            ("fees collected", m(self.fees_native)),
            ("settlement pools", m(self.settlement_pools_native)),
            ("pending social loss", m(self.social_loss_pending_native)),
        ])
    }
}

/// Pause flags by name.
pub const PAUSE_NAMES: [(&str, u8); 7] = [
    ("deposit", PAUSE_DEPOSIT),
    ("withdraw", PAUSE_WITHDRAW),
    ("trade", PAUSE_TRADE),
    ("settle", PAUSE_SETTLE),
    ("crank", PAUSE_CRANK),
    ("liquidate", PAUSE_LIQUIDATE),
    ("listing", PAUSE_LISTING),
];

/// Shows the exchange.
pub async fn exchange_show<C: Chain>(env: &Env<C>) -> CliResult<ExchangeView> {
    let (k, e) = env.exchange().await?;
    Ok(ExchangeView {
        address: k.exchange.to_string(),
        admin: Pubkey::new_from_array(e.admin).to_string(),
        quote_mint: k.quote_mint.to_string(),
        vault: k.vault.to_string(),
        token_program: k.token_program.to_string(),
        decimals: e.quote_decimals,
        paused: PAUSE_NAMES
            .iter()
            .filter(|(_, f)| e.pause_flags & f != 0)
            .map(|(n, _)| n.to_string())
            .collect(),
        taker_fee_bps: e.taker_fee_bps,
        maker_fee_bps: e.maker_fee_bps,
        market_count: e.market_count,
        account_count: e.account_count,
        total_collateral_native: e.total_collateral_native,
        insurance_fund_native: e.insurance_fund_native,
        fees_native: e.fees_native,
        settlement_pools_native: e.settlement_pools_native,
        social_loss_pending_native: e.social_loss_pending_native,
    })
}

/// Sets the pause flags to exactly `names` (`all`, `none`, or flag names).
pub async fn exchange_pause<C: Chain>(env: &Env<C>, names: &[String]) -> CliResult<Done> {
    let mut flags = 0u8;
    for n in names {
        match n.as_str() {
            "all" => flags = PAUSE_ALL,
            "none" => {}
            other => {
                flags |= PAUSE_NAMES
                    .iter()
                    .find(|(k, _)| *k == other)
                    .map(|(_, f)| *f)
                    .ok_or_else(|| CliError::Usage(format!("unknown pause flag `{other}` (all, none, deposit, withdraw, trade, settle, crank, liquidate, listing)")))?;
            }
        }
    }
    let (ex, _) = env.exchange().await?;
    let sent = env
        .send("set_pause", &[ix::set_pause(&ex, &env.me(), flags)], &[])
        .await?;
    Ok(Done {
        action: "pause flags set".into(),
        address: ex.exchange.to_string(),
        details: vec![format!("flags {flags:#04x}")],
        signature: sent.signature,
    })
}

/// Creates market `cfg` at the exchange's next index, reading `cfg.price_account()`.
pub async fn market_create<C: Chain>(env: &Env<C>, cfg: &MarketConfig) -> CliResult<Done> {
    let (ex, e) = env.exchange().await?;
    let args = cfg.create_args().map_err(CliError::Usage)?;
    let oracle = cfg.price_account().map_err(CliError::Usage)?;
    let index = e.market_count;
    let i = ix::create_market(&ex, &env.me(), index, &oracle, args);
    let sent = env.send("create_market", &[i], &[]).await?;
    Ok(Done {
        action: format!("market {} created", cfg.name),
        address: pda::market(&ex.exchange, index).to_string(),
        details: vec![format!("index {index}, oracle read at creation {oracle}")],
        signature: sent.signature,
    })
}

/// Resolves a market given by address, index or name.
pub async fn resolve_market<C: Chain>(
    env: &Env<C>,
    m: &str,
) -> CliResult<(Pubkey, keel_state::Market)> {
    let snap = env.snapshot().await?;
    if let Ok(k) = m.parse::<Pubkey>() {
        if let Some(mv) = snap.markets.get(&k) {
            return Ok((k, mv.market));
        }
    }
    snap.markets
        .values()
        .find(|mv| {
            m.parse::<u16>().ok() == Some(mv.market.market_index) || market_name(&mv.market) == m
        })
        .map(|mv| (mv.key, mv.market))
        .ok_or_else(|| CliError::Usage(format!("no market `{m}` (`keel markets` lists them)")))
}

/// Replaces `market`'s risk parameters and guards: the current ones with `params` overrides
/// (`NAME=VALUE`) and whichever guards are given.
pub async fn market_update_params<C: Chain>(
    env: &Env<C>,
    market: &str,
    params: &[String],
    guards: GuardOverrides,
) -> CliResult<Done> {
    let (key, m) = resolve_market(env, market).await?;
    let mut table = toml::Table::new();
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--param `{p}`: expected NAME=VALUE")))?;
        let value = v
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(v.trim().into()));
        table.insert(k.trim().to_string(), value);
    }
    let new_params = apply_overrides(&m.risk_params, &table).map_err(CliError::Usage)?;
    if let Some(name) = new_params.violation() {
        return Err(CliError::Usage(format!(
            "{name} would be outside its hard bounds"
        )));
    }
    let current = GuardsConfig::from_market(&m);
    let g = guards.apply(current);
    let mut details: Vec<String> = differing_fields(&m.risk_params, &new_params)
        .into_iter()
        .map(|d| format!("risk_params.{d} (old vs new)"))
        .collect();
    details.extend(
        differing_fields(&current, &g)
            .into_iter()
            .map(|d| format!("guards.{d} (old vs new)")),
    );
    if details.is_empty() {
        return Err(CliError::Usage(
            "nothing to change: pass --param NAME=VALUE or a guard".into(),
        ));
    }
    let (ex, _) = env.exchange().await?;
    let i = ix::update_market_params(
        &ex,
        &env.me(),
        &key,
        keel::instructions::UpdateMarketParamsArgs {
            risk_params: bytemuck::bytes_of(&new_params).to_vec(),
            guards: g.into(),
        },
    );
    let sent = env.send("update_market_params", &[i], &[]).await?;
    Ok(Done {
        action: format!("market {} parameters updated", market_name(&m)),
        address: key.to_string(),
        details,
        signature: sent.signature,
    })
}

/// Guards to change (`None`: keep).
#[derive(Clone, Copy, Debug, Default)]
pub struct GuardOverrides {
    /// max_staleness_secs.
    pub max_staleness_secs: Option<i64>,
    /// max_conf_bps.
    pub max_conf_bps: Option<u64>,
    /// min_signatures.
    pub min_signatures: Option<u8>,
    /// max_vol_age_secs.
    pub max_vol_age_secs: Option<i64>,
    /// settle_window_secs.
    pub settle_window_secs: Option<i64>,
}

impl GuardOverrides {
    /// `base` with these applied.
    pub fn apply(self, base: GuardsConfig) -> GuardsConfig {
        GuardsConfig {
            max_staleness_secs: self.max_staleness_secs.unwrap_or(base.max_staleness_secs),
            max_conf_bps: self.max_conf_bps.unwrap_or(base.max_conf_bps),
            min_signatures: self.min_signatures.unwrap_or(base.min_signatures),
            max_vol_age_secs: self.max_vol_age_secs.unwrap_or(base.max_vol_age_secs),
            settle_window_secs: self.settle_window_secs.unwrap_or(base.settle_window_secs),
            ..base
        }
    }
}

fn page_error(e: CreatePageError) -> CliError {
    match e {
        CreatePageError::Chain(m) => CliError::Chain(m),
        CreatePageError::Send(e) => CliError::send("create_array_page", e),
    }
}

/// Adds a risk-array page to `market` (address, index or name): an account at a fresh
/// keypair's address, allocated (rent-exempt, paid by the signer) and initialised as the
/// market's next page in one transaction. Options listed later take its slots.
pub async fn create_array_page<C: Chain>(env: &Env<C>, market: &str) -> CliResult<Done> {
    let (key, m) = resolve_market(env, market).await?;
    let (ex, _) = env.exchange().await?;
    let (page, sent) = create_page(
        &env.chain,
        &ex,
        &env.me(),
        &[&env.keypair],
        &key,
        env.budget,
    )
    .await
    .map_err(page_error)?;
    Ok(Done {
        action: format!(
            "risk-array page {} of {} created",
            m.array_pages,
            market_name(&m)
        ),
        address: page.to_string(),
        details: vec![format!(
            "{PAGE_SERIES} slots for the market's options (`keel crank arrays` prices them)"
        )],
        signature: sent.signature,
    })
}

/// Lists series `s` on `market` at its next index. An option takes a slot of the market's first
/// risk-array page with room; when every page is full (or there is none) a page is created
/// first, in its own transaction.
pub async fn list_series<C: Chain>(
    env: &Env<C>,
    market: &str,
    s: &SeriesConfig,
) -> CliResult<Done> {
    let (key, m) = resolve_market(env, market).await?;
    let size = crate::names::contract_size(&m);
    let strike = s
        .strike_native(size, m.quote_decimals)
        .map_err(CliError::Usage)?;
    let expiry = s.expiry_ts().map_err(CliError::Usage)?;
    let (ex, _) = env.exchange().await?;
    let index = m.series_count;
    let args = keel::instructions::ListSeriesArgs {
        kind: s.kind.code(),
        strike_native: strike,
        expiry_ts: expiry,
    };
    let mut details = vec![];
    let page = if s.kind == SeriesKindConfig::Future {
        None
    } else {
        let rooms = market_pages(&env.chain, &key)
            .await
            .map_err(CliError::Chain)?;
        Some(match with_room(&rooms) {
            Some(r) => r.key,
            None => {
                let (page, _) = create_page(
                    &env.chain,
                    &ex,
                    &env.me(),
                    &[&env.keypair],
                    &key,
                    env.budget,
                )
                .await
                .map_err(page_error)?;
                details.push(format!(
                    "created risk-array page {} at {page} (the market's pages were full)",
                    m.array_pages
                ));
                page
            }
        })
    };
    let sent = env
        .send(
            "list_series",
            &[ix::list_series(&ex, &env.me(), &key, index, page, args)],
            &[],
        )
        .await?;
    let addr = pda::series(&key, index);
    let listed = keel_state::Series {
        kind: s.kind.code(),
        strike_native: strike,
        expiry_ts: expiry,
        ..bytemuck::Zeroable::zeroed()
    };
    details.insert(
        0,
        format!(
            "{} (index {index}, strike {} per contract)",
            series_label(&listed, Some(&m)),
            money(strike, m.quote_decimals)
        ),
    );
    if let Some(page) = page {
        let acc = keel_client::chain::account(&env.chain, &addr).await?;
        if let Some(x) = acc.and_then(|a| {
            keel_state::read_account::<keel_state::Series>(
                &a.data,
                &keel_state::discriminator::SERIES,
            )
            .ok()
        }) {
            details.push(format!(
                "risk array in slot {} of page {} ({page})",
                x.array_slot, x.array_page
            ));
        }
    }
    Ok(Done {
        action: "series listed".into(),
        address: addr.to_string(),
        details,
        signature: sent.signature,
    })
}
