//! The bootstrap itself: read the chain, create what the config has and the chain lacks, and
//! compare what both have. Idempotent: a second run over the same config sends nothing.
//! An option series takes a free slot of one of its market's risk-array pages; a page is created
//! only when every page of the market is full (or it has none).

use crate::config::{differing_fields, to_hex, Config, MarketConfig};
use crate::pages::{self, PageRoom};
use anchor_lang::prelude::Pubkey;
use keel_client::ix::{self, ExchangeKeys};
use keel_client::{pda, Budget, Chain, SendError};
use keel_state::array_page::PAGE_SERIES;
use keel_state::{discriminator, read_account, Correlation, Exchange, Market, Series};
use serde::Serialize;

/// How to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Report what would be sent; send nothing.
    pub dry_run: bool,
    /// Where a market's guards or risk parameters differ from the config, send
    /// `update_market_params` (otherwise the difference is reported as a mismatch).
    pub update_params: bool,
}

/// What happened to one thing the config describes.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It was missing and was created.
    Created,
    /// It is missing and would be created (dry run).
    WouldCreate,
    /// It exists and matches the config.
    Exists,
    /// Its updatable parameters differed and were updated.
    Updated,
    /// Its updatable parameters differ and would be updated (dry run).
    WouldUpdate,
    /// It exists and differs from the config (see `details`); nothing was changed.
    Mismatch,
    /// Not created (see `details`, e.g. a series whose expiry has passed).
    Skipped,
    /// On chain but not in the config (informational).
    NotInConfig,
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// `exchange`, `market`, `array-page`, `series` or `correlation`.
    pub kind: &'static str,
    /// What it is (`BTC/USD`, `BTC/USD call 62000 2026-06-26T08:00:00Z`).
    pub name: String,
    /// Its address.
    pub address: String,
    /// What happened.
    pub status: Status,
    /// Differences or reasons.
    pub details: Vec<String>,
}

/// Everything a bootstrap run did and found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// One line per thing, in order.
    pub items: Vec<Item>,
    /// Signatures of the transactions sent (empty on a re-run).
    pub sent: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Report {
    /// Items whose on-chain state differs from the config.
    pub fn mismatches(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.status == Status::Mismatch)
    }

    fn push(
        &mut self,
        kind: &'static str,
        name: String,
        address: Pubkey,
        status: Status,
    ) -> &mut Item {
        self.items.push(Item {
            kind,
            name,
            address: address.to_string(),
            status,
            details: vec![],
        });
        self.items.last_mut().expect("just pushed")
    }
}

/// A bootstrap that stopped: what it did before, and why it stopped.
#[derive(Debug)]
pub struct Failed {
    /// The report up to the failure.
    pub report: Report,
    /// The failure.
    pub error: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (after {} transaction(s); re-running continues from here)",
            self.error,
            self.report.sent.len()
        )
    }
}

impl std::error::Error for Failed {}

struct Run<'a, C: Chain> {
    chain: &'a C,
    opts: Options,
    report: Report,
}

impl<C: Chain> Run<'_, C> {
    fn fail(&mut self, e: impl std::fmt::Display) -> Failed {
        Failed {
            report: std::mem::take(&mut self.report),
            error: e.to_string(),
        }
    }

    async fn get(&mut self, key: &Pubkey) -> Result<Option<solana_account::Account>, Failed> {
        keel_client::chain::account(self.chain, key)
            .await
            .map_err(|e| self.fail(format!("reading {key}: {e}")))
    }

    async fn send(
        &mut self,
        what: &str,
        ix: anchor_lang::solana_program::instruction::Instruction,
    ) -> Result<(), Failed> {
        match self.chain.send(&[ix], &[], Budget::default()).await {
            Ok(s) => {
                self.report.sent.push(s.signature);
                Ok(())
            }
            Err(e) => Err(self.fail(format!("{what}: {}", describe_send(&e)))),
        }
    }
}

/// A send error as a person reads it: the decoded error and the program's own log lines.
pub fn describe_send(e: &SendError) -> String {
    let mut s = e.to_string();
    if let SendError::Rejected { logs, .. } = e {
        for l in logs {
            if let Some(m) = l.strip_prefix("Program log: ") {
                if !m.starts_with("Program data:") && !m.starts_with("Instruction:") {
                    s.push_str(&format!("\n  program log: {m}"));
                }
            }
        }
    }
    s
}

fn decode<T: keel_state::Layout>(
    a: &solana_account::Account,
    disc: &[u8; 8],
    key: &Pubkey,
) -> Result<T, String> {
    if a.owner != keel::ID {
        return Err(format!("{key} is not owned by the Keel program"));
    }
    read_account::<T>(&a.data, disc).map_err(|e| format!("{key}: {e:?}"))
}

/// The decimals of an SPL Token / Token-2022 mint (byte 44 of the base layout).
fn mint_decimals(a: &solana_account::Account) -> Option<u8> {
    a.data.get(44).copied().filter(|_| a.data.len() >= 82)
}

fn name_of(bytes: &[u8; 16]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

/// Bootstraps the deployment `config` describes on `chain`, signing as the chain's payer (who
/// becomes, or must be, the exchange admin).
pub async fn bootstrap<C: Chain>(
    chain: &C,
    config: &Config,
    opts: Options,
) -> Result<Report, Failed> {
    let mut run = Run {
        chain,
        opts,
        report: Report {
            dry_run: opts.dry_run,
            ..Report::default()
        },
    };
    config.validate().map_err(|e| run.fail(e))?;
    let now = chain.unix_time().await.map_err(|e| run.fail(e))?;
    let payer = chain.payer();

    // ---- exchange ----
    let ecfg = &config.exchange;
    let mint =
        crate::config::pubkey(&ecfg.quote_mint, "exchange.quote_mint").map_err(|e| run.fail(e))?;
    let token_program = ecfg.token_program().map_err(|e| run.fail(e))?;
    let expected_admin = match &ecfg.admin {
        Some(a) => crate::config::pubkey(a, "exchange.admin").map_err(|e| run.fail(e))?,
        None => payer,
    };
    let mint_acc = run.get(&mint).await?.ok_or_else(|| {
        run.fail(format!(
            "the quote mint {mint} does not exist on this cluster"
        ))
    })?;
    let decimals =
        mint_decimals(&mint_acc).ok_or_else(|| run.fail(format!("{mint} is not a token mint")))?;
    let ex = ExchangeKeys::new(mint, token_program);
    let mut market_count: u16 = 0;
    match run.get(&ex.exchange).await? {
        Some(a) => {
            let e: Exchange =
                decode(&a, &discriminator::EXCHANGE, &ex.exchange).map_err(|e| run.fail(e))?;
            market_count = e.market_count;
            let mut d = vec![];
            let cmp = |d: &mut Vec<String>, what: &str, chain: String, cfg: String| {
                if chain != cfg {
                    d.push(format!("{what}: chain has {chain}, config says {cfg}"));
                }
            };
            cmp(
                &mut d,
                "quote_mint",
                Pubkey::new_from_array(e.quote_mint).to_string(),
                mint.to_string(),
            );
            cmp(
                &mut d,
                "token_program",
                Pubkey::new_from_array(e.quote_token_program).to_string(),
                token_program.to_string(),
            );
            cmp(
                &mut d,
                "taker_fee_bps",
                e.taker_fee_bps.to_string(),
                ecfg.taker_fee_bps.to_string(),
            );
            cmp(
                &mut d,
                "maker_fee_bps",
                e.maker_fee_bps.to_string(),
                ecfg.maker_fee_bps.to_string(),
            );
            cmp(
                &mut d,
                "admin",
                Pubkey::new_from_array(e.admin).to_string(),
                expected_admin.to_string(),
            );
            let status = if d.is_empty() {
                Status::Exists
            } else {
                Status::Mismatch
            };
            run.report
                .push(
                    "exchange",
                    format!("exchange of {mint}"),
                    ex.exchange,
                    status,
                )
                .details = d;
            if Pubkey::new_from_array(e.admin) != payer && !opts.dry_run {
                // Nothing below could be sent: say so once, clearly, rather than per market.
                let missing = config.markets.len() > market_count as usize;
                if missing {
                    return Err(run.fail(format!(
                        "the exchange admin is {}, not the signer {payer}: sign with the admin's keypair (--keypair)",
                        Pubkey::new_from_array(e.admin)
                    )));
                }
            }
        }
        None => {
            if expected_admin != payer {
                return Err(run.fail(format!(
                    "the config names admin {expected_admin} but the signer is {payer}: the signer of init_exchange becomes the admin"
                )));
            }
            let status = if opts.dry_run {
                Status::WouldCreate
            } else {
                Status::Created
            };
            run.report.push(
                "exchange",
                format!("exchange of {mint}"),
                ex.exchange,
                status,
            );
            if !opts.dry_run {
                let i = ix::init_exchange(
                    &ex,
                    &payer,
                    keel::instructions::InitExchangeArgs {
                        taker_fee_bps: ecfg.taker_fee_bps,
                        maker_fee_bps: ecfg.maker_fee_bps,
                    },
                );
                run.send("init_exchange", i).await?;
            }
        }
    }

    // ---- markets and their series ----
    let mut market_keys = Vec::new();
    for (i, mcfg) in config.markets.iter().enumerate() {
        let index = i as u16;
        let key = pda::market(&ex.exchange, index);
        market_keys.push(key);
        let existing = run.get(&key).await?;
        let market = match existing {
            Some(a) => {
                let m: Market =
                    decode(&a, &discriminator::MARKET, &key).map_err(|e| run.fail(e))?;
                if !compare_market(&mut run, &ex, &key, &m, mcfg, &payer).await? {
                    // Strikes per contract depend on the contract size: listing series from a
                    // config that disagrees with the market would list the wrong ones.
                    for s in &mcfg.series {
                        run.report
                            .push(
                                "series",
                                format!("{} {:?}", mcfg.name, s.kind).to_lowercase(),
                                Pubkey::default(),
                                Status::Skipped,
                            )
                            .details
                            .push("not checked: its market does not match the config".into());
                    }
                    continue;
                }
                Some(m)
            }
            None => {
                if index != market_count && !opts.dry_run {
                    return Err(run.fail(format!(
                        "market {} would get index {index} but the exchange's next index is {market_count}",
                        mcfg.name
                    )));
                }
                let args = mcfg.create_args().map_err(|e| run.fail(e))?;
                let oracle = mcfg.price_account().map_err(|e| run.fail(e))?;
                let status = if opts.dry_run {
                    Status::WouldCreate
                } else {
                    Status::Created
                };
                run.report
                    .push("market", mcfg.name.clone(), key, status)
                    .details
                    .push(format!("index {index}, created reading oracle {oracle}"));
                if !opts.dry_run {
                    run.send(
                        &format!("create_market {}", mcfg.name),
                        ix::create_market(&ex, &payer, index, &oracle, args),
                    )
                    .await?;
                    market_count += 1;
                }
                None
            }
        };
        series_of(
            &mut run,
            &ex,
            &key,
            market.as_ref(),
            mcfg,
            decimals,
            now,
            &payer,
        )
        .await?;
    }
    for index in config.markets.len() as u16..market_count {
        let key = pda::market(&ex.exchange, index);
        let name = match run.get(&key).await? {
            Some(a) => decode::<Market>(&a, &discriminator::MARKET, &key)
                .map(|m| name_of(&m.name))
                .unwrap_or_default(),
            None => String::new(),
        };
        run.report
            .push("market", name, key, Status::NotInConfig)
            .details
            .push(format!("index {index}"));
    }

    // ---- correlations ----
    for c in &config.correlations {
        let mut ids: Vec<u16> = c
            .markets
            .iter()
            .map(|n| config.market_index(n).expect("validated"))
            .collect();
        ids.sort();
        let (a, b) = (market_keys[ids[0] as usize], market_keys[ids[1] as usize]);
        let key = pda::correlation(&a, &b);
        let name = format!(
            "{} ~ {}",
            config.markets[ids[0] as usize].name, config.markets[ids[1] as usize].name
        );
        match run.get(&key).await? {
            Some(acc) => {
                let s: Correlation =
                    decode(&acc, &discriminator::CORRELATION, &key).map_err(|e| run.fail(e))?;
                let mut d = vec![];
                for (what, chain_v, cfg_v) in [
                    ("tau_secs", s.tau_secs, c.tau_secs),
                    (
                        "min_interval_secs",
                        s.min_interval_secs,
                        c.min_interval_secs,
                    ),
                    ("max_sync_secs", s.max_sync_secs, c.max_sync_secs),
                ] {
                    if chain_v != cfg_v {
                        d.push(format!("{what}: chain has {chain_v}, config says {cfg_v}"));
                    }
                }
                let status = if d.is_empty() {
                    Status::Exists
                } else {
                    Status::Mismatch
                };
                run.report.push("correlation", name, key, status).details = d;
            }
            None => {
                let status = if opts.dry_run {
                    Status::WouldCreate
                } else {
                    Status::Created
                };
                run.report.push("correlation", name.clone(), key, status);
                if !opts.dry_run {
                    let i = ix::create_correlation(
                        &ex,
                        &payer,
                        &a,
                        &b,
                        keel::instructions::CreateCorrelationArgs {
                            tau_secs: c.tau_secs,
                            min_interval_secs: c.min_interval_secs,
                            max_sync_secs: c.max_sync_secs,
                        },
                    );
                    run.send(&format!("create_correlation {name}"), i).await?;
                }
            }
        }
    }
    Ok(run.report)
}

/// Compares an existing market with its config; updates guards/params if asked. `false` if
/// what cannot be updated (name, oracle, contract size, vol authority) differs.
async fn compare_market<C: Chain>(
    run: &mut Run<'_, C>,
    ex: &ExchangeKeys,
    key: &Pubkey,
    m: &Market,
    cfg: &MarketConfig,
    payer: &Pubkey,
) -> Result<bool, Failed> {
    let args = cfg.create_args().map_err(|e| run.fail(e))?;
    let params = cfg.risk_params().map_err(|e| run.fail(e))?;
    let mut fixed = vec![];
    let mut cmp = |what: &str, chain: String, conf: String| {
        if chain != conf {
            fixed.push(format!("{what}: chain has {chain}, config says {conf}"));
        }
    };
    cmp("name", name_of(&m.name), cfg.name.clone());
    cmp(
        "oracle.kind",
        m.oracle.kind.to_string(),
        args.oracle.kind.to_string(),
    );
    cmp(
        "oracle.account",
        Pubkey::new_from_array(m.oracle.account).to_string(),
        args.oracle.account.to_string(),
    );
    cmp(
        "oracle.program",
        Pubkey::new_from_array(m.oracle.program).to_string(),
        args.oracle.program.to_string(),
    );
    cmp(
        "oracle.feed_id",
        to_hex(&m.oracle.feed_id),
        to_hex(&args.oracle.feed_id),
    );
    cmp(
        "contract_size",
        format!("{}e{}", m.contract_size_mantissa, m.contract_size_expo),
        format!(
            "{}e{}",
            args.contract_size_mantissa, args.contract_size_expo
        ),
    );
    cmp(
        "vol_authority",
        Pubkey::new_from_array(m.vol_authority).to_string(),
        args.vol_authority.to_string(),
    );
    // Guards and risk parameters can be changed by `update_market_params`.
    let chain_guards = crate::config::GuardsConfig::from_market(m);
    let mut updatable: Vec<String> = differing_fields(&chain_guards, &cfg.guards.normalized())
        .into_iter()
        .map(|d| format!("guards.{d} (chain vs config)"))
        .collect();
    updatable.extend(
        differing_fields(&m.risk_params, &params)
            .into_iter()
            .map(|d| format!("risk_params.{d} (chain vs config)")),
    );
    let mut details = fixed.clone();
    let status = if !fixed.is_empty() {
        details.push("these cannot be changed on an existing market: fix the config".into());
        details.extend(updatable.iter().cloned());
        Status::Mismatch
    } else if updatable.is_empty() {
        Status::Exists
    } else if !run.opts.update_params {
        details.extend(updatable.iter().cloned());
        details.push("re-run with --update-params to send update_market_params".into());
        Status::Mismatch
    } else if run.opts.dry_run {
        details.extend(updatable.iter().cloned());
        Status::WouldUpdate
    } else {
        details.extend(updatable.iter().cloned());
        Status::Updated
    };
    run.report
        .push("market", cfg.name.clone(), *key, status)
        .details = details;
    if status == Status::Updated {
        let i = ix::update_market_params(
            ex,
            payer,
            key,
            keel::instructions::UpdateMarketParamsArgs {
                risk_params: bytemuck::bytes_of(&params).to_vec(),
                guards: cfg.guards.into(),
            },
        );
        run.send(&format!("update_market_params {}", cfg.name), i)
            .await?;
    }
    Ok(fixed.is_empty())
}

/// The series of one market: existing ones matched by (kind, strike, expiry), missing ones
/// listed at the next indices.
#[allow(clippy::too_many_arguments)]
async fn series_of<C: Chain>(
    run: &mut Run<'_, C>,
    ex: &ExchangeKeys,
    market_key: &Pubkey,
    market: Option<&Market>,
    cfg: &MarketConfig,
    decimals: u8,
    now: i64,
    payer: &Pubkey,
) -> Result<(), Failed> {
    let count = market.map(|m| m.series_count).unwrap_or(0);
    let keys: Vec<Pubkey> = (0..count).map(|i| pda::series(market_key, i)).collect();
    let accounts = run
        .chain
        .accounts(&keys)
        .await
        .map_err(|e| run.fail(format!("reading series: {e}")))?;
    let mut existing: Vec<(Pubkey, Series)> = Vec::new();
    for (k, a) in keys.iter().zip(accounts) {
        if let Some(a) = a {
            existing.push((
                *k,
                decode(&a, &discriminator::SERIES, k).map_err(|e| run.fail(e))?,
            ));
        }
    }
    let size = cfg.contract_size_decimal().map_err(|e| run.fail(e))?;
    // The market's risk-array pages, reported as they are; options fill their free slots.
    let mut rooms = match market {
        Some(_) => pages::market_pages(run.chain, market_key)
            .await
            .map_err(|e| run.fail(e))?,
        None => vec![],
    };
    for p in &rooms {
        run.report
            .push(
                "array-page",
                page_name(&cfg.name, p.index),
                p.key,
                Status::Exists,
            )
            .details
            .push(format!("{} of {PAGE_SERIES} slots free", p.free));
    }
    let mut next_page = market.map(|m| m.array_pages).unwrap_or(0);
    let mut next = count;
    let mut seen: Vec<(u8, i64, i64)> = Vec::new();
    for s in &cfg.series {
        let kind = s.kind.code();
        let strike = s
            .strike_native(size, decimals)
            .map_err(|e| run.fail(format!("{}: {e}", cfg.name)))?;
        let expiry = s.expiry_ts().map_err(|e| run.fail(e))?;
        let name = format!(
            "{} {:?} {}{}",
            cfg.name,
            s.kind,
            s.strike
                .as_deref()
                .map(|k| format!("{k} "))
                .unwrap_or_default(),
            crate::units::fmt_time(expiry)
        )
        .replace("Call", "call")
        .replace("Put", "put")
        .replace("Future", "future");
        if seen.contains(&(kind, strike, expiry)) {
            continue;
        }
        seen.push((kind, strike, expiry));
        if let Some((k, _)) = existing
            .iter()
            .find(|(_, e)| e.kind == kind && e.strike_native == strike && e.expiry_ts == expiry)
        {
            run.report.push("series", name, *k, Status::Exists);
            continue;
        }
        let key = pda::series(market_key, next);
        if expiry <= now {
            run.report
                .push("series", name, key, Status::Skipped)
                .details
                .push(format!(
                    "expiry {} has passed; a series cannot be listed after it",
                    crate::units::fmt_time(expiry)
                ));
            continue;
        }
        let status = if run.opts.dry_run {
            Status::WouldCreate
        } else {
            Status::Created
        };
        let page = if kind == FUTURE {
            None
        } else {
            Some(
                slot_for_option(
                    run,
                    ex,
                    market_key,
                    &cfg.name,
                    &mut rooms,
                    &mut next_page,
                    payer,
                )
                .await?,
            )
        };
        run.report
            .push("series", name.clone(), key, status)
            .details
            .push(format!("index {next}, strike_native {strike}"));
        if !run.opts.dry_run {
            let i = ix::list_series(
                ex,
                payer,
                market_key,
                next,
                page,
                keel::instructions::ListSeriesArgs {
                    kind,
                    strike_native: strike,
                    expiry_ts: expiry,
                },
            );
            run.send(&format!("list_series {name}"), i).await?;
        }
        next += 1;
    }
    Ok(())
}

/// `SeriesKind::Future`'s code: the one kind without a risk array.
const FUTURE: u8 = 2;

fn page_name(market: &str, index: u16) -> String {
    format!("{market} risk-array page {index}")
}

/// A page of `market` with a free slot for one more option: the first of `rooms` with room
/// (its free count taken down by one), else a new page, created (or, in a dry run, reported as
/// to be created: its address is a fresh keypair's, unknown until then).
async fn slot_for_option<C: Chain>(
    run: &mut Run<'_, C>,
    ex: &ExchangeKeys,
    market_key: &Pubkey,
    market_name: &str,
    rooms: &mut Vec<PageRoom>,
    next_page: &mut u16,
    payer: &Pubkey,
) -> Result<Pubkey, Failed> {
    if let Some(r) = rooms.iter_mut().find(|r| r.free > 0) {
        r.free -= 1;
        return Ok(r.key);
    }
    let index = *next_page;
    let name = page_name(market_name, index);
    let key = if run.opts.dry_run {
        Pubkey::default()
    } else {
        let (key, sent) =
            pages::create_page(run.chain, ex, payer, &[], market_key, Budget::default())
                .await
                .map_err(|e| run.fail(format!("create_array_page {name}: {e}")))?;
        run.report.sent.push(sent.signature);
        key
    };
    let status = if run.opts.dry_run {
        Status::WouldCreate
    } else {
        Status::Created
    };
    run.report
        .push("array-page", name, key, status)
        .details
        .push(format!(
            "index {index}, {PAGE_SERIES} slots, at a new keypair's address"
        ));
    *next_page += 1;
    rooms.push(PageRoom {
        key,
        index,
        free: PAGE_SERIES - 1,
    });
    Ok(key)
}
