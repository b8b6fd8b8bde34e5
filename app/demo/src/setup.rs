//! The demo's exchange: a USDC-like mint, the exchange, a BTC market whose (pinned) oracle the
//! demo writes and whose implied-vol feed it publishes, series around the first price (the
//! options in the risk-array page the bootstrap creates for them), a market maker on the other
//! side of every trade, a keeper, and traders sized to different multiples of their initial
//! margin.

use crate::backend::DemoChain;
use crate::DemoError;
use keel::instructions::TradeArgs;
use keel_client::ix::{self, ExchangeKeys};
use keel_client::view::{OracleDirectory, Snapshot};
use keel_client::{pda, Pubkey};
use keel_risk::{Fx, SeriesKind};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Native units per USDC.
pub const USDC: i64 = 1_000_000;
/// The oracle's feed id (any fixed value: the market pins the account).
pub const FEED_ID: [u8; 32] = [7; 32];
/// Oracle confidence, basis points of the price.
pub const CONF_BPS: u64 = 5;

/// A listed series.
#[derive(Clone, Copy, Debug)]
pub struct Listed {
    /// Its address.
    pub key: Pubkey,
    /// Call, put or future.
    pub kind: SeriesKind,
    /// Strike per contract (native).
    pub strike: i64,
    /// Expiry.
    pub expiry: i64,
    /// A short label (`P-90%-27Mar`).
    pub label: &'static str,
}

/// A wallet with a quote token account and a margin account.
pub struct Participant {
    /// Display name.
    pub name: &'static str,
    /// What it does.
    pub role: &'static str,
    /// Its keypair.
    pub kp: Keypair,
    /// Its quote token account.
    pub tokens: Pubkey,
    /// Its margin account.
    pub account: Pubkey,
    /// Equity at initial-margin valuation ÷ IM after sizing (0 for the maker and keeper).
    pub im_multiple: f64,
}

/// One trader's book: (series index, contracts: > 0 long), and the IM multiple it keeps.
pub struct TraderSpec {
    /// Display name.
    pub name: &'static str,
    /// What it does.
    pub role: &'static str,
    /// Legs.
    pub legs: &'static [(usize, i64)],
    /// Collateral kept, as a multiple of IM.
    pub im_multiple: f64,
}

/// The series listed, relative to the first price: (kind, strike % of spot, expiry index,
/// label), in listing order (series i is the market's PDA of index i).
const SERIES: [(SeriesKind, i64, usize, &str); 6] = [
    (SeriesKind::Put, 95, 0, "P-95%-week1"),
    (SeriesKind::Put, 90, 1, "P-90%-week3"),
    (SeriesKind::Put, 80, 1, "P-80%-week3"),
    (SeriesKind::Call, 110, 1, "C-110%-week3"),
    (SeriesKind::Future, 0, 1, "F-week3"),
    (SeriesKind::Put, 100, 1, "P-100%-week3"),
];

/// The traders, from the one who gains in a crash to the reckless.
pub const TRADERS: [TraderSpec; 6] = [
    TraderSpec {
        name: "calls",
        role: "short 20 calls 10% OTM, 3x IM",
        legs: &[(3, -20)],
        im_multiple: 3.0,
    },
    TraderSpec {
        name: "hedged",
        role: "short 20/20 put spread 90/80, 4x IM",
        legs: &[(1, -20), (2, 20)],
        im_multiple: 4.0,
    },
    TraderSpec {
        name: "cautious",
        role: "short 10 puts 20% OTM, 8x IM",
        legs: &[(2, -10)],
        im_multiple: 8.0,
    },
    TraderSpec {
        name: "weekly",
        role: "short 30 weekly puts 5% OTM, 1.5x IM",
        legs: &[(0, -30)],
        im_multiple: 1.5,
    },
    TraderSpec {
        name: "futures",
        role: "long 30 futures, 1.5x IM",
        legs: &[(4, 30)],
        im_multiple: 1.5,
    },
    TraderSpec {
        name: "reckless",
        role: "short 60 ATM puts, 1.1x IM",
        legs: &[(5, -60)],
        im_multiple: 1.1,
    },
];

/// Everything the replay needs.
pub struct Exchange {
    /// Exchange keys.
    pub ex: ExchangeKeys,
    /// The admin (also the insurance fund's first funder).
    pub admin: Keypair,
    /// The BTC market.
    pub market: Pubkey,
    /// Its oracle account.
    pub oracle: Pubkey,
    /// Publishes the market's implied vol.
    pub vol_authority: Keypair,
    /// The series.
    pub series: Vec<Listed>,
    /// The market maker (index 0), the keeper (index 1), then the traders.
    pub participants: Vec<Participant>,
    /// The oracle directory (the market pins its oracle: empty).
    pub oracles: OracleDirectory,
    /// Transactions the bootstrap sent (a re-run sent none).
    pub bootstrap_sent: usize,
}

impl Exchange {
    /// The keeper.
    pub fn keeper(&self) -> &Participant {
        &self.participants[1]
    }

    /// The traders.
    pub fn traders(&self) -> &[Participant] {
        &self.participants[2..]
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> DemoError {
    DemoError(format!("{what}: {e}"))
}

async fn wallet(
    c: &impl DemoChain,
    ex: &ExchangeKeys,
    mint_authority: &Keypair,
    usdc: i64,
) -> Result<(Keypair, Pubkey), DemoError> {
    let kp = Keypair::new();
    let tokens = Keypair::new();
    let payer = c.payer();
    let mut ixs = vec![solana_system_interface::instruction::transfer(
        &payer,
        &kp.pubkey(),
        10_000_000_000,
    )];
    ixs.extend(keel_bank::token::create_token_account(
        &payer,
        &tokens.pubkey(),
        &ex.quote_mint,
        &kp.pubkey(),
        &ex.token_program,
    ));
    ixs.push(keel_bank::token::mint_to(
        &ex.quote_mint,
        &tokens.pubkey(),
        &mint_authority.pubkey(),
        usdc as u64,
        &ex.token_program,
    ));
    c.send(&ixs, &[&tokens, mint_authority])
        .await
        .map_err(|e| err("fund a wallet", e))?;
    Ok((kp, tokens.pubkey()))
}

/// The bootstrap config of the demo's deployment (keel-migrations' format): the exchange on
/// `mint`, one BTC market reading `oracle` with `vol_authority` and `risk_params`, and the
/// series around `usd`.
pub fn bootstrap_config(
    mint: &Pubkey,
    oracle: keel_migrations::config::OracleConfig,
    vol_authority: &Pubkey,
    usd: f64,
    expiries: [i64; 2],
    risk_params: toml::Table,
) -> keel_migrations::Config {
    use keel_migrations::config::*;
    let series = SERIES
        .iter()
        .map(|(kind, pct, e, _)| SeriesConfig {
            kind: match kind {
                SeriesKind::Call => SeriesKindConfig::Call,
                SeriesKind::Put => SeriesKindConfig::Put,
                SeriesKind::Future => SeriesKindConfig::Future,
            },
            // Strikes in USD per BTC, rounded to 100.
            strike: (*kind != SeriesKind::Future).then(|| {
                format!(
                    "{}",
                    ((usd * *pct as f64 / 100.0) / 100.0).round() as i64 * 100
                )
            }),
            expiry: toml::Value::Integer(expiries[*e]),
        })
        .collect();
    Config {
        exchange: ExchangeConfig {
            quote_mint: mint.to_string(),
            token_program: "spl-token".into(),
            taker_fee_bps: 5,
            maker_fee_bps: 2,
            admin: None,
        },
        markets: vec![MarketConfig {
            name: "BTC/USD".into(),
            contract_size: "0.1".into(),
            oracle,
            guards: GuardsConfig {
                max_staleness_secs: 60,
                max_conf_bps: 200,
                min_signatures: 0,
                max_vol_age_secs: 3 * 3_600,
                settle_window_secs: 600,
                ..GuardsConfig::default()
            },
            vol_authority: Some(vol_authority.to_string()),
            risk_params,
            series,
        }],
        correlations: vec![],
    }
}

/// Creates the exchange at the chain's current time with the first price `usd` — through
/// keel-migrations' bootstrap of a config written to `config_path`, run twice to show it is
/// idempotent — and opens every participant's account; the traders trade with the maker and are
/// sized to their IM multiples.
pub async fn build(
    c: &mut impl DemoChain,
    usd: f64,
    expiries: [i64; 2],
    config_path: &std::path::Path,
) -> Result<Exchange, DemoError> {
    let payer = c.payer();
    // The deployer: only the program's upgrade authority may initialise the exchange.
    let admin = c.deployer().await?;
    let mint = Keypair::new();
    let token_program = keel_bank::token::SPL_TOKEN;
    c.send(
        &keel_bank::token::create_mint(&payer, &mint.pubkey(), &admin.pubkey(), 6, &token_program),
        &[&mint],
    )
    .await
    .map_err(|e| err("create the quote mint", e))?;
    let ex = ExchangeKeys::new(mint.pubkey(), token_program);

    // The oracle the market pins, written before the market reads it.
    let (oracle, oracle_config) = c.create_oracle(usd).await?;
    let vol_authority = Keypair::new();
    let config = bootstrap_config(
        &mint.pubkey(),
        oracle_config,
        &vol_authority.pubkey(),
        usd,
        expiries,
        c.risk_params(),
    );
    if let Some(dir) = config_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err("output directory", e))?;
    }
    let text = toml::to_string(&config).map_err(|e| err("bootstrap config", e))?;
    std::fs::write(
        config_path,
        format!("# keel-migrations bootstrap of the demo's exchange (generated by `keel demo`).\n{text}"),
    )
    .map_err(|e| err("write the bootstrap config", e))?;
    let config =
        keel_migrations::Config::from_file(config_path).map_err(|e| err("bootstrap config", e))?;
    // The admin signs and pays for the bootstrap.
    let admin_chain = c.chain_for(&admin);
    let opts = keel_migrations::Options::default();
    let first = keel_migrations::bootstrap(&admin_chain, &config, opts)
        .await
        .map_err(|e| err("bootstrap", e))?;
    let again = keel_migrations::bootstrap(&admin_chain, &config, opts)
        .await
        .map_err(|e| err("bootstrap (re-run)", e))?;
    if !again.sent.is_empty() || again.mismatches().next().is_some() {
        return Err(DemoError(format!(
            "the bootstrap is not idempotent: a re-run sent {} transaction(s)",
            again.sent.len()
        )));
    }
    let market = pda::market(&ex.exchange, 0);
    let snap = Snapshot::load(c.chain(), &OracleDirectory::default())
        .await
        .map_err(|e| err("read the chain", e))?;
    let series = SERIES
        .iter()
        .enumerate()
        .map(|(i, (kind, _, e, label))| {
            let key = pda::series(&market, i as u32);
            Listed {
                key,
                kind: *kind,
                strike: snap.series.get(&key).map_or(0, |s| s.strike_native),
                expiry: expiries[*e],
                label,
            }
        })
        .collect();

    // Participants: the maker, the keeper, the traders (each deposits generously first).
    let mut participants = Vec::new();
    let specs: Vec<(&'static str, &'static str, i64, f64)> = [
        (
            "maker",
            "market maker: the other side of every trade",
            5_000_000,
            0.0,
        ),
        ("keeper", "liquidator: runs keel-keeper", 1_000_000, 0.0),
    ]
    .into_iter()
    .chain(
        TRADERS
            .iter()
            .map(|t| (t.name, t.role, 1_000_000, t.im_multiple)),
    )
    .collect();
    for (name, role, usdc, im_multiple) in specs {
        let (kp, tokens) = wallet(c, &ex, &admin, usdc * USDC).await?;
        let account = pda::margin_account(&ex.exchange, &kp.pubkey(), 0);
        c.send(
            &[
                ix::open_account(&ex, &kp.pubkey(), 0),
                ix::deposit(
                    &ex,
                    &kp.pubkey(),
                    &account,
                    &tokens,
                    usdc as u64 * USDC as u64,
                ),
            ],
            &[&kp],
        )
        .await
        .map_err(|e| err("open and fund an account", e))?;
        participants.push(Participant {
            name,
            role,
            kp,
            tokens,
            account,
            im_multiple,
        });
    }
    let mut x = Exchange {
        ex,
        admin,
        market,
        oracle,
        vol_authority,
        series,
        participants,
        oracles: OracleDirectory::default(),
        bootstrap_sent: first.sent.len(),
    };
    trade_books(c, &x).await?;
    size_accounts(c, &mut x).await?;
    Ok(x)
}

/// Runs every `crank_arrays` call due now: the demo's own upkeep before the margin checks of
/// its setup (in the replay the keeper does it). Returns the calls sent.
pub async fn crank_arrays(
    c: &impl DemoChain,
    oracles: &OracleDirectory,
) -> Result<usize, DemoError> {
    let snap = Snapshot::load(c.chain(), oracles)
        .await
        .map_err(|e| err("read the chain", e))?;
    let (_, due) = snap.with_arrays_cranked(snap.now);
    let calls = keel_migrations::pages::due_cranks(&due, snap.markets.keys().copied());
    for (market, page) in &calls {
        let ix = keel_migrations::pages::crank_ix(&snap, market, *page)
            .ok_or_else(|| DemoError(format!("market {market} is not on chain")))?;
        c.send(&[ix], &[])
            .await
            .map_err(|e| err("crank the risk arrays", e))?;
    }
    Ok(calls.len())
}

/// Each trader trades its legs with the maker at Black-76 value at the market's vol in force.
async fn trade_books(c: &mut impl DemoChain, x: &Exchange) -> Result<(), DemoError> {
    crank_arrays(c, &x.oracles).await?;
    let snap = Snapshot::load(c.chain(), &x.oracles)
        .await
        .map_err(|e| err("read the chain", e))?;
    let mv = &snap.markets[&x.market];
    let spot = mv.price_native().map_err(|e| err("oracle", e))?;
    let sigma: Fx = mv.market.vol_state.margin_vol;
    let maker = &x.participants[0];
    for (t, spec) in x.traders().iter().zip(TRADERS.iter()) {
        for &(i, qty) in spec.legs {
            let s = &x.series[i];
            let now = c.now().await?;
            let price =
                keel_risk::pricing::black76(s.kind, spot, s.strike.max(1), sigma, s.expiry - now)
                    .map_err(|e| err("price a series", format!("{e:?}")))?
                    .max(1);
            let snap = Snapshot::load(c.chain(), &x.oracles)
                .await
                .map_err(|e| err("read the chain", e))?;
            let metas = snap
                .margin_metas(
                    &[&snap.accounts[&t.account], &snap.accounts[&maker.account]],
                    &[s.key],
                )
                .map_err(|e| err("remaining accounts", e))?;
            c.send(
                &[ix::trade(
                    &x.ex,
                    &s.key,
                    &t.account,
                    &t.kp.pubkey(),
                    &maker.account,
                    &maker.kp.pubkey(),
                    TradeArgs {
                        qty_contracts: qty,
                        price_native: price,
                    },
                    &metas,
                )],
                &[&t.kp, &maker.kp],
            )
            .await
            .map_err(|e| err(&format!("{} trades {}", t.name, s.label), e))?;
        }
    }
    Ok(())
}

/// Withdraws each trader down to `im_multiple` × IM (at IM valuation).
async fn size_accounts(c: &impl DemoChain, x: &mut Exchange) -> Result<(), DemoError> {
    crank_arrays(c, &x.oracles).await?;
    let snap = Snapshot::load(c.chain(), &x.oracles)
        .await
        .map_err(|e| err("read the chain", e))?;
    for t in x.traders() {
        let acc = &snap.accounts[&t.account];
        let b = snap.margin(acc, None).map_err(|e| err("margin", e))?;
        let target = (b.im as f64 * t.im_multiple) as i64;
        let excess = b.equity_im - target;
        if excess <= 0 {
            continue;
        }
        let metas = snap
            .margin_metas(&[acc], &[])
            .map_err(|e| err("remaining accounts", e))?;
        c.send(
            &[ix::withdraw(
                &x.ex,
                &t.kp.pubkey(),
                &t.account,
                &t.tokens,
                excess as u64,
                &metas,
            )],
            &[&t.kp],
        )
        .await
        .map_err(|e| err(&format!("size {}", t.name), e))?;
    }
    Ok(())
}
