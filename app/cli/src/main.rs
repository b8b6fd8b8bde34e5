//! `keel`: the Keel wallet and admin CLI. Everything chain-facing lives in the `keel_cli`
//! library (the same functions the end-to-end tests run on the in-process bank); this file
//! only parses arguments, builds an `RpcChain` and prints.

use clap::{Args, Parser, Subcommand};
use keel_cli::commands::{
    account, admin, bootstrap, cranks, dashboard, demo, margin, markets, trade, verify, wallet,
};
use keel_cli::output::{print, Format};
use keel_cli::solana_config::{self, SolanaConfig};
use keel_cli::{CliError, Env, Render};
use keel_client::rpc::RpcChain;
use keel_client::{Budget, Pubkey};
use keel_migrations::config::{
    GuardsConfig, MarketConfig, OracleConfig, OracleKind, SeriesConfig, SeriesKindConfig,
};
use solana_keypair::Keypair;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "keel", version, about = "Keel options protocol: wallet, margin and admin commands", long_about = None)]
struct Cli {
    /// RPC URL or moniker (mainnet-beta, devnet, testnet, localhost). Default: the Solana CLI
    /// config's json_rpc_url, else localhost.
    #[arg(short = 'u', long, global = true)]
    url: Option<String>,
    /// Signer keypair file. Default: the Solana CLI config's keypair_path, else
    /// ~/.config/solana/id.json.
    #[arg(short = 'k', long, global = true)]
    keypair: Option<String>,
    /// processed, confirmed or finalized. Default: the Solana CLI config's, else confirmed.
    #[arg(long, global = true)]
    commitment: Option<String>,
    /// The Solana CLI config file.
    #[arg(short = 'C', long = "solana-config", global = true)]
    solana_config: Option<PathBuf>,
    /// table (for people) or json (for scripts).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// The oracle account of an unpinned pull-oracle market (MARKET=ACCOUNT; repeatable).
    /// Default: the feed's Pyth sponsored price account.
    #[arg(long = "oracle", global = true, value_name = "MARKET=ACCOUNT")]
    oracles: Vec<String>,
    /// Priority fee, micro-lamports per compute unit.
    #[arg(long, global = true, default_value_t = 0)]
    priority_fee: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Copy)]
struct AccountId {
    /// The signer's account id (when no account address is given).
    #[arg(long, default_value_t = 0)]
    id: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Open, show or close a margin account.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Deposit collateral (quote units, e.g. 100.5).
    Deposit {
        amount: String,
        /// The margin account (default: yours, --id).
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        id: AccountId,
        /// Token account to pay from (default: your associated token account).
        #[arg(long)]
        from: Option<String>,
    },
    /// Withdraw collateral (quote units, or `max`).
    Withdraw {
        amount: String,
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        id: AccountId,
        /// Token account to pay to (default: your associated token account, created if needed).
        #[arg(long)]
        to: Option<String>,
    },
    /// A bilateral trade: the maker signs and exports it, the taker checks, signs and sends it.
    #[command(subcommand)]
    Trade(TradeCmd),
    /// List markets with oracle price, margin vol and stable price.
    Markets,
    /// List series.
    Series {
        /// Only this market's (address).
        #[arg(long)]
        market: Option<String>,
    },
    /// The full margin breakdown of an account.
    Margin {
        /// The margin account (default: yours, --id).
        account: Option<String>,
        #[command(flatten)]
        id: AccountId,
        /// Value at this unix time instead of the cluster's (the stable price moves with time):
        /// to compare with figures computed at that time, e.g. the dashboard's.
        #[arg(long, value_name = "UNIX_SECS")]
        at: Option<i64>,
    },
    /// Recompute an account's margin off-chain and compare it bit for bit with the program's
    /// (simulated with your keypair as fee payer: it must exist on the cluster).
    Verify {
        account: Option<String>,
        #[command(flatten)]
        id: AccountId,
    },
    /// Exchange administration.
    #[command(subcommand)]
    Exchange(ExchangeCmd),
    /// Market administration.
    #[command(subcommand)]
    Market(MarketCmd),
    /// Create what a bootstrap config lists and the chain lacks; check the rest.
    Bootstrap {
        /// The bootstrap config (see migrations/localnet.toml).
        #[arg(long)]
        config: PathBuf,
        /// Report what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send update_market_params where guards or risk parameters drifted.
        #[arg(long)]
        update_params: bool,
    },
    /// Run a market's volatility crank, or (`crank arrays`) the risk-array crank
    /// (permissionless; keepers normally do).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Crank {
        /// Market address, index or name (the volatility crank).
        #[arg(required = true)]
        market: Option<String>,
        #[command(subcommand)]
        what: Option<CrankCmd>,
    },
    /// Fix an expired series' settlement price and realise its positions (losers first).
    Settle {
        /// The series (address).
        series: String,
        /// Only these accounts (default: every holder).
        #[arg(long = "account")]
        accounts: Vec<String>,
    },
    /// The demo: a local chain in-process replays real price history (by default BTC's March
    /// 2020 crash, 2-hourly), traders with different leverage, the keeper liquidating.
    Demo {
        /// OHLC CSV (date|time,open,high,low,close[,volume]). Default: btc_usdt_2h.csv in
        /// $KEEL_SHARED_DATA, else in ../shared/data beside the repository.
        #[arg(long)]
        prices: Option<PathBuf>,
        /// First bar, YYYY-MM-DD[ HH:MM].
        #[arg(long, default_value = keel_demo::DEFAULT_FROM)]
        from: String,
        /// Last bar (a date includes the whole day).
        #[arg(long, default_value = keel_demo::DEFAULT_TO)]
        to: String,
        /// Where the chart (keel-demo.png, keel-demo.svg) goes.
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
        /// Insurance fund seeded by the operator, USDC.
        #[arg(long, default_value_t = 20_000)]
        insurance: i64,
        /// Replay on a local solana-test-validator running keel.so instead of in-process:
        /// started here (scripts/local-validator.sh), or the one at --url (started by that
        /// script, no exchange yet) with --keypair its upgrade authority. Real time: see
        /// keel_demo::validator for what that changes.
        #[arg(long)]
        validator: bool,
    },
    /// Serve the web risk dashboard for the cluster at --url (static files and /config.json).
    Dashboard {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The built dashboard (default: sdk/ts/dashboard/dist in the repository).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The model monitor's JSON endpoint (the keeper's, e.g. http://127.0.0.1:9464/monitor.json).
        #[arg(long)]
        monitor: Option<String>,
        /// Seconds between refreshes (0: manual).
        #[arg(long, default_value_t = 10)]
        refresh: u64,
    },
}

#[derive(Subcommand)]
enum CrankCmd {
    /// Re-anchor every market whose risk arrays are due and re-price its pages (one transaction
    /// per page, 1.4M compute units each); nothing is sent when nothing is due.
    Arrays {
        /// Only this market (address, index or name; default: every market).
        market: Option<String>,
    },
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Open margin account --id for the signer.
    Open {
        #[command(flatten)]
        id: AccountId,
    },
    /// Show an account's balances, positions and headline margin.
    Show {
        account: Option<String>,
        #[command(flatten)]
        id: AccountId,
    },
    /// Close an empty account (rent back to the owner).
    Close {
        account: Option<String>,
        #[command(flatten)]
        id: AccountId,
    },
}

#[derive(Subcommand)]
enum TradeCmd {
    /// As maker: build and sign a trade, write it for the taker.
    Make {
        /// The series (address; `keel series` lists them).
        #[arg(long)]
        series: String,
        /// Contracts the taker buys (negative: sells).
        #[arg(long, allow_hyphen_values = true)]
        qty: i64,
        /// Price per contract, quote units.
        #[arg(long)]
        price: String,
        /// The taker's wallet (fee payer and co-signer).
        #[arg(long)]
        taker: String,
        /// The taker's margin account (default: the taker's account 0).
        #[arg(long)]
        taker_account: Option<String>,
        /// Your margin account (default: yours, --id).
        #[arg(long)]
        maker_account: Option<String>,
        #[command(flatten)]
        id: AccountId,
        /// Where to write the offer (`-`: stdout).
        #[arg(long, default_value = "-")]
        out: String,
    },
    /// As taker: check a trade file, and with --yes sign and send it.
    Take {
        /// The offer file (`-`: stdin).
        #[arg(long = "in", default_value = "-")]
        input: String,
        /// Refuse unless it is for this series.
        #[arg(long)]
        expect_series: Option<String>,
        /// Refuse unless you buy (negative: sell) this many.
        #[arg(long, allow_hyphen_values = true)]
        expect_qty: Option<i64>,
        /// Refuse unless the price per contract is this.
        #[arg(long)]
        expect_price: Option<String>,
        /// Sign and send (otherwise only show what it is).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum ExchangeCmd {
    /// Create the exchange (the signer becomes admin).
    Init {
        #[arg(long)]
        mint: String,
        /// spl-token, token-2022, or an address.
        #[arg(long, default_value = "spl-token")]
        token_program: String,
        #[arg(long, default_value_t = 5)]
        taker_fee_bps: u16,
        #[arg(long, default_value_t = 2)]
        maker_fee_bps: u16,
    },
    /// Show the exchange's books and settings.
    Show,
    /// Set the pause flags to exactly these (all, none, deposit, withdraw, trade, settle,
    /// crank, liquidate, listing).
    Pause {
        #[arg(required = true, value_delimiter = ',')]
        flags: Vec<String>,
    },
}

#[derive(Args)]
struct GuardArgs {
    #[arg(long)]
    max_staleness_secs: Option<i64>,
    #[arg(long)]
    max_conf_bps: Option<u64>,
    #[arg(long)]
    min_signatures: Option<u8>,
    #[arg(long)]
    max_vol_age_secs: Option<i64>,
    #[arg(long)]
    settle_window_secs: Option<i64>,
}

impl GuardArgs {
    fn overrides(&self) -> admin::GuardOverrides {
        admin::GuardOverrides {
            max_staleness_secs: self.max_staleness_secs,
            max_conf_bps: self.max_conf_bps,
            min_signatures: self.min_signatures,
            max_vol_age_secs: self.max_vol_age_secs,
            settle_window_secs: self.settle_window_secs,
        }
    }
}

#[derive(Subcommand)]
enum MarketCmd {
    /// Create a market at the next index.
    Create {
        #[arg(long)]
        name: String,
        /// Underlying units per contract (e.g. 0.01).
        #[arg(long)]
        contract_size: String,
        /// Pyth pull feed id (hex) …
        #[arg(long, conflicts_with = "legacy_account")]
        feed_id: Option<String>,
        /// … or a legacy Pyth price account.
        #[arg(long)]
        legacy_account: Option<String>,
        /// Pin the market to one PriceUpdateV2 account.
        #[arg(long)]
        pin_account: Option<String>,
        /// The oracle account to read at creation (default: pinned, else sponsored feed).
        #[arg(long)]
        price_account: Option<String>,
        /// May publish implied vols.
        #[arg(long)]
        vol_authority: Option<String>,
        /// Risk parameter differing from the defaults (NAME=VALUE; repeatable).
        #[arg(long = "param")]
        params: Vec<String>,
        #[command(flatten)]
        guards: GuardArgs,
    },
    /// Change risk parameters (NAME=VALUE, on top of the current ones) and guards.
    UpdateParams {
        /// Market address, index or name.
        market: String,
        #[arg(long = "param")]
        params: Vec<String>,
        #[command(flatten)]
        guards: GuardArgs,
    },
    /// Add a risk-array page to a market (16 option series each; `list-series` creates one
    /// itself when the market's pages are full).
    CreatePage {
        /// Market address, index or name.
        market: String,
    },
    /// List a series on a market (an option takes a slot of a risk-array page with room).
    ListSeries {
        /// Market address, index or name.
        market: String,
        /// call, put or future.
        #[arg(long)]
        kind: String,
        /// Strike per unit of underlying, quote units (options).
        #[arg(long)]
        strike: Option<String>,
        /// Expiry, UTC (2026-06-26T08:00:00Z) or unix seconds.
        #[arg(long)]
        expiry: String,
    },
}

fn key(s: &Option<String>, what: &str) -> Result<Option<Pubkey>, CliError> {
    s.as_deref()
        .map(|v| keel_cli::env::pubkey(v, what))
        .transpose()
}

fn emit<R: Render>(r: R, format: Format) -> i32 {
    println!("{}", print(&r, format).trim_end());
    0
}

/// The repository the binary was built from (where the bundled history sits beside).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `keel dashboard`: needs only the cluster's URL (no keypair).
async fn serve_dashboard(
    cli: &Cli,
    listen: std::net::SocketAddr,
    dir: Option<PathBuf>,
    monitor: Option<String>,
    refresh: u64,
) -> Result<i32, CliError> {
    let scfg = cli
        .solana_config
        .clone()
        .or_else(solana_config::default_config_path)
        .map(|p| SolanaConfig::load(&p).map_err(CliError::Usage))
        .transpose()?
        .unwrap_or_default();
    let url = cli
        .url
        .clone()
        .or(scfg.json_rpc_url)
        .unwrap_or_else(|| "localhost".into());
    let mut oracles = std::collections::BTreeMap::new();
    for o in &cli.oracles {
        let (m, a) = o
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--oracle `{o}`: expected MARKET=ACCOUNT")))?;
        oracles.insert(m.to_string(), a.to_string());
    }
    let dir = dashboard::dist_dir(dir, &repo_root()).map_err(CliError::Usage)?;
    let config = dashboard::PageConfig {
        rpc: keel_client::rpc::resolve_url(&url),
        oracles,
        monitor,
        refresh_secs: refresh,
    };
    let (listener, addr) = dashboard::bind(listen)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {listen}: {e}")))?;
    eprintln!(
        "keel dashboard: http://{addr}/ (reading {}; Ctrl-C stops)",
        config.rpc
    );
    dashboard::serve(listener, dir, config)
        .await
        .map_err(|e| CliError::Usage(format!("dashboard server: {e}")))?;
    Ok(0)
}

async fn run(cli: Cli) -> Result<i32, CliError> {
    // The demo needs no cluster, keypair or Solana config: it brings its own chain.
    if let Command::Demo {
        prices,
        from,
        to,
        out,
        insurance,
        validator,
    } = &cli.command
    {
        let defaults = keel_demo::DemoConfig::default_at(&repo_root());
        let cfg = keel_demo::DemoConfig {
            prices: prices.clone().unwrap_or(defaults.prices),
            from: from.clone(),
            to: to.clone(),
            out_dir: out.clone(),
            insurance_usdc: *insurance,
            ..defaults
        };
        let target = match (*validator, &cli.url) {
            (false, _) => None,
            (true, None) => Some(keel_demo::validator::Target::Start),
            (true, Some(url)) => {
                let path = cli.keypair.as_deref().ok_or_else(|| {
                    CliError::Usage(
                        "--validator with --url needs --keypair: the program's upgrade authority (scripts/local-validator.sh prints it)".into(),
                    )
                })?;
                let authority =
                    solana_keypair::read_keypair_file(solana_config::expand_tilde(path))
                        .map_err(|e| CliError::Usage(format!("--keypair {path}: {e}")))?;
                Some(keel_demo::validator::Target::Url {
                    url: keel_client::rpc::resolve_url(url),
                    authority: Box::new(authority),
                })
            }
        };
        let report = demo::demo(&cfg, cli.output == Format::Table, target).await?;
        return Ok(emit(report, cli.output));
    }
    if let Command::Dashboard {
        listen,
        dir,
        monitor,
        refresh,
    } = &cli.command
    {
        return serve_dashboard(&cli, *listen, dir.clone(), monitor.clone(), *refresh).await;
    }
    let scfg_path = cli
        .solana_config
        .clone()
        .or_else(solana_config::default_config_path);
    let scfg = match &scfg_path {
        Some(p) => SolanaConfig::load(p).map_err(CliError::Usage)?,
        None => SolanaConfig::default(),
    };
    let url = cli
        .url
        .clone()
        .or(scfg.json_rpc_url.clone())
        .unwrap_or_else(|| "localhost".into());
    let commitment = solana_config::commitment(
        cli.commitment
            .as_deref()
            .or(scfg.commitment.as_deref())
            .unwrap_or("confirmed"),
    )
    .map_err(CliError::Usage)?;
    let kp_path = cli
        .keypair
        .as_deref()
        .map(solana_config::expand_tilde)
        .or(scfg
            .keypair_path
            .as_deref()
            .map(solana_config::expand_tilde))
        .or_else(solana_config::default_keypair_path)
        .ok_or_else(|| {
            CliError::Usage("no --keypair and no $HOME to find the default keypair".into())
        })?;
    let read_only = matches!(
        cli.command,
        Command::Markets
            | Command::Series { .. }
            | Command::Margin { .. }
            | Command::Exchange(ExchangeCmd::Show)
    ) || matches!(
        cli.command,
        Command::Account(AccountCmd::Show {
            account: Some(_),
            ..
        })
    );
    let keypair = match solana_keypair::read_keypair_file(&kp_path) {
        Ok(k) => k,
        // Reading needs no signer; a throwaway one keeps the chain's fee payer defined.
        Err(_) if read_only => Keypair::new(),
        Err(e) => {
            return Err(CliError::Usage(format!(
                "cannot read the keypair {}: {e} (pass --keypair, or create one with `solana-keygen new`)",
                kp_path.display()
            )))
        }
    };
    let chain = RpcChain::new(&url, commitment, keypair.insecure_clone(), keel::ID);
    let mut env = Env::new(chain, keypair);
    env.budget = Budget {
        cu_price_micro_lamports: cli.priority_fee,
        ..Budget::default()
    };
    for o in &cli.oracles {
        let (m, a) = o
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--oracle `{o}`: expected MARKET=ACCOUNT")))?;
        env.oracles.overrides.insert(
            keel_cli::env::pubkey(m, "--oracle market")?,
            keel_cli::env::pubkey(a, "--oracle account")?,
        );
    }
    let f = cli.output;
    Ok(match cli.command {
        Command::Account(AccountCmd::Open { id }) => emit(account::open(&env, id.id).await?, f),
        Command::Account(AccountCmd::Show { account: a, id }) => {
            emit(account::show(&env, key(&a, "account")?, id.id).await?, f)
        }
        Command::Account(AccountCmd::Close { account: a, id }) => {
            emit(account::close(&env, key(&a, "account")?, id.id).await?, f)
        }
        Command::Deposit {
            amount,
            account: a,
            id,
            from,
        } => emit(
            wallet::deposit(
                &env,
                &amount,
                key(&a, "--account")?,
                id.id,
                key(&from, "--from")?,
            )
            .await?,
            f,
        ),
        Command::Withdraw {
            amount,
            account: a,
            id,
            to,
        } => emit(
            wallet::withdraw(
                &env,
                &amount,
                key(&a, "--account")?,
                id.id,
                key(&to, "--to")?,
            )
            .await?,
            f,
        ),
        Command::Trade(TradeCmd::Make {
            series,
            qty,
            price,
            taker,
            taker_account,
            maker_account,
            id,
            out,
        }) => {
            let args = trade::MakeArgs {
                series: keel_cli::env::pubkey(&series, "--series")?,
                taker_qty: qty,
                price,
                taker: keel_cli::env::pubkey(&taker, "--taker")?,
                taker_account: key(&taker_account, "--taker-account")?,
                maker_account: key(&maker_account, "--maker-account")?,
            };
            let offer = trade::make(&env, args, id.id).await?;
            let json = serde_json::to_string_pretty(&offer).expect("serialises");
            if out == "-" {
                println!("{json}");
            } else {
                std::fs::write(&out, json.clone() + "\n")
                    .map_err(|e| CliError::Usage(format!("writing {out}: {e}")))?;
                // Scripts asking for JSON read the offer on stdout as well.
                if f == Format::Json {
                    println!("{json}");
                }
                eprintln!(
                    "{}",
                    offer
                        .render()
                        .split("\n{")
                        .next()
                        .unwrap_or_default()
                        .trim_end()
                );
                eprintln!("written to {out}: send it to the taker (`keel trade take --in {out}`) within a minute");
            }
            0
        }
        Command::Trade(TradeCmd::Take {
            input,
            expect_series,
            expect_qty,
            expect_price,
            yes,
        }) => {
            let offer = trade::read_offer(&input)?;
            let expect = trade::Expect {
                series: key(&expect_series, "--expect-series")?,
                taker_qty: expect_qty,
                price: expect_price,
            };
            emit(trade::take(&env, &offer, &expect, yes).await?, f)
        }
        Command::Markets => emit(markets::markets(&env).await?, f),
        Command::Series { market } => {
            emit(markets::series(&env, key(&market, "--market")?).await?, f)
        }
        Command::Margin { account: a, id, at } => emit(
            margin::margin_at(&env, key(&a, "account")?, id.id, at).await?,
            f,
        ),
        Command::Verify { account: a, id } => {
            let v = verify::verify(&env, key(&a, "account")?, id.id).await?;
            let ok = v.ok;
            emit(v, f);
            if ok {
                0
            } else {
                3
            }
        }
        Command::Exchange(ExchangeCmd::Init {
            mint,
            token_program,
            taker_fee_bps,
            maker_fee_bps,
        }) => emit(
            admin::exchange_init(
                &env,
                keel_cli::env::pubkey(&mint, "--mint")?,
                &token_program,
                taker_fee_bps,
                maker_fee_bps,
            )
            .await?,
            f,
        ),
        Command::Exchange(ExchangeCmd::Show) => emit(admin::exchange_show(&env).await?, f),
        Command::Exchange(ExchangeCmd::Pause { flags }) => {
            emit(admin::exchange_pause(&env, &flags).await?, f)
        }
        Command::Market(MarketCmd::Create {
            name,
            contract_size,
            feed_id,
            legacy_account,
            pin_account,
            price_account,
            vol_authority,
            params,
            guards,
        }) => {
            let mut risk_params = toml::Table::new();
            for p in &params {
                let (k, v) = p.split_once('=').ok_or_else(|| {
                    CliError::Usage(format!("--param `{p}`: expected NAME=VALUE"))
                })?;
                let v = v
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .unwrap_or_else(|_| toml::Value::String(v.trim().into()));
                risk_params.insert(k.trim().into(), v);
            }
            let cfg = MarketConfig {
                name,
                contract_size,
                oracle: OracleConfig {
                    kind: if legacy_account.is_some() {
                        OracleKind::PythLegacy
                    } else {
                        OracleKind::PythPull
                    },
                    feed_id,
                    account: legacy_account.or(pin_account),
                    price_account,
                    program: None,
                },
                guards: guards.overrides().apply(GuardsConfig::default()),
                vol_authority,
                risk_params,
                series: vec![],
            };
            emit(admin::market_create(&env, &cfg).await?, f)
        }
        Command::Market(MarketCmd::UpdateParams {
            market,
            params,
            guards,
        }) => emit(
            admin::market_update_params(&env, &market, &params, guards.overrides()).await?,
            f,
        ),
        Command::Market(MarketCmd::CreatePage { market }) => {
            emit(admin::create_array_page(&env, &market).await?, f)
        }
        Command::Market(MarketCmd::ListSeries {
            market,
            kind,
            strike,
            expiry,
        }) => {
            let kind = match kind.as_str() {
                "call" => SeriesKindConfig::Call,
                "put" => SeriesKindConfig::Put,
                "future" => SeriesKindConfig::Future,
                other => {
                    return Err(CliError::Usage(format!(
                        "--kind `{other}`: call, put or future"
                    )))
                }
            };
            let s = SeriesConfig {
                kind,
                strike,
                expiry: toml::Value::String(expiry),
            };
            emit(admin::list_series(&env, &market, &s).await?, f)
        }
        Command::Demo { .. } | Command::Dashboard { .. } => {
            unreachable!("handled before the chain is set up")
        }
        Command::Crank {
            what: Some(CrankCmd::Arrays { market }),
            ..
        } => emit(cranks::crank_arrays(&env, market.as_deref()).await?, f),
        Command::Crank {
            market: Some(market),
            what: None,
        } => emit(cranks::crank(&env, &market).await?, f),
        Command::Crank { .. } => {
            return Err(CliError::Usage(
                "keel crank <MARKET> | keel crank arrays [MARKET]".into(),
            ))
        }
        Command::Settle { series, accounts } => {
            let accounts = accounts
                .iter()
                .map(|a| keel_cli::env::pubkey(a, "--account"))
                .collect::<Result<Vec<_>, _>>()?;
            emit(
                cranks::settle(&env, keel_cli::env::pubkey(&series, "series")?, &accounts).await?,
                f,
            )
        }
        Command::Bootstrap {
            config,
            dry_run,
            update_params,
        } => {
            let cfg = keel_migrations::Config::from_file(&config).map_err(CliError::Usage)?;
            let r = bootstrap::bootstrap(
                &env,
                &cfg,
                keel_migrations::Options {
                    dry_run,
                    update_params,
                },
            )
            .await?;
            let clean = r.mismatches == 0;
            emit(r, f);
            if clean {
                0
            } else {
                3
            }
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let json = cli.output == Format::Json;
    let code = match run(cli).await {
        Ok(c) => c,
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({ "error": e.to_string() }));
            }
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
