//! `keel trade make|take`: a bilateral trade signed by both parties in turn.
//!
//! The maker builds the `trade` transaction with the taker as fee payer over a recent blockhash,
//! signs it, and exports it ([`TradeOffer`]: base64 transaction plus a readable summary) to a
//! file or stdout. The taker reads it, decodes what the transaction itself says (never trusting
//! the summary), refuses anything but compute-budget instructions and exactly one Keel `trade`
//! naming the taker's own account, checks the maker's signature, then signs and sends.
//! The blockhash expires after about a minute on a real cluster: the taker must send before.
//! When the trade names more accounts than a legacy transaction carries (two accounts over
//! many markets), the maker puts the shared ones in its address lookup tables and signs a v0
//! transaction; the taker reads those tables from the chain to see every account it names.

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::names::{money, series_label};
use crate::output::{kv, Render};
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine;
use keel::instructions::TradeArgs;
use keel_client::chain::{budget_instructions, message, partial_sign};
use keel_client::lookup::{resolve, Table};
use keel_client::{ix, pda, Chain, SendError};
use serde::{Deserialize, Serialize};
use solana_message::VersionedMessage;
use solana_transaction::versioned::VersionedTransaction;

/// The compute-budget program.
pub const COMPUTE_BUDGET: Pubkey =
    anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");

/// What a trade transaction says, decoded from the transaction itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TradeSummary {
    /// The series.
    pub series: String,
    /// Its label.
    pub series_label: String,
    /// Contracts the taker buys (> 0) or sells (< 0).
    pub taker_qty_contracts: i64,
    /// In words: `taker buys 10 BTC/USD call ... from maker at 8 per contract`.
    pub description: String,
    /// Price per contract, quote native units.
    pub price_native: i64,
    /// |qty| · price.
    pub notional_native: i64,
    /// The taker's fee at the exchange's current rate (rounded up).
    pub taker_fee_native: i64,
    /// The maker's fee.
    pub maker_fee_native: i64,
    /// Quote decimals.
    pub decimals: u8,
    /// The taker (fee payer).
    pub taker: String,
    /// The taker's margin account.
    pub taker_account: String,
    /// The maker.
    pub maker: String,
    /// The maker's margin account.
    pub maker_account: String,
    /// The blockhash signed over.
    pub blockhash: String,
    /// Compute-unit limit and priority fee (micro-lamports per unit).
    pub cu_limit: u32,
    /// Priority fee, micro-lamports per compute unit.
    pub cu_price_micro_lamports: u64,
}

/// The file the maker hands the taker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TradeOffer {
    /// Always `keel-trade-offer`.
    pub format: String,
    /// What the maker says it is (the taker re-derives it from `transaction`).
    pub summary: TradeSummary,
    /// The partially signed transaction, bincode, base64.
    pub transaction: String,
}

/// The offer file's `format`.
pub const OFFER_FORMAT: &str = "keel-trade-offer/1";

impl Render for TradeOffer {
    fn render(&self) -> String {
        format!(
            "{}\n{}",
            render_summary(&self.summary),
            serde_json::to_string_pretty(self).expect("serialises")
        )
    }
}

fn render_summary(s: &TradeSummary) -> String {
    let d = s.decimals;
    kv(&[
        ("trade", s.description.clone()),
        ("series", format!("{} ({})", s.series_label, s.series)),
        ("price/contract", money(s.price_native, d)),
        ("notional", money(s.notional_native, d)),
        (
            "fees",
            format!(
                "taker {}, maker {}",
                money(s.taker_fee_native, d),
                money(s.maker_fee_native, d)
            ),
        ),
        ("taker", format!("{} account {}", s.taker, s.taker_account)),
        ("maker", format!("{} account {}", s.maker, s.maker_account)),
        (
            "compute",
            format!(
                "limit {}, priority {} µlamports/CU",
                s.cu_limit, s.cu_price_micro_lamports
            ),
        ),
        ("blockhash", s.blockhash.clone()),
    ])
}

/// What the maker proposes.
#[derive(Clone, Debug)]
pub struct MakeArgs {
    /// The series.
    pub series: Pubkey,
    /// Contracts the taker buys (> 0) or sells (< 0).
    pub taker_qty: i64,
    /// Price per contract, quote units (`8.5`).
    pub price: String,
    /// The taker (fee payer, co-signer).
    pub taker: Pubkey,
    /// The taker's account (default: the taker's account 0).
    pub taker_account: Option<Pubkey>,
    /// The maker's account (default: the signer's account `id`).
    pub maker_account: Option<Pubkey>,
}

fn fee(notional: i64, bps: u16) -> i64 {
    ((notional as i128 * bps as i128 + 9_999) / 10_000) as i64
}

/// Builds, signs (as maker) and exports a trade.
pub async fn make<C: Chain>(env: &Env<C>, args: MakeArgs, maker_id: u32) -> CliResult<TradeOffer> {
    if args.taker_qty == 0 {
        return Err(CliError::Usage("--qty must not be zero".into()));
    }
    if args.taker == env.me() {
        return Err(CliError::Usage(
            "the taker must be someone else (a trade has two parties)".into(),
        ));
    }
    let snap = env.snapshot().await?;
    let ex = ix::exchange_keys(&snap.exchange);
    if !snap.series.contains_key(&args.series) {
        return Err(CliError::Usage(format!(
            "{} is not a Keel series (`keel series` lists them)",
            args.series
        )));
    }
    let price_native = keel_migrations::units::Decimal::parse(&args.price)
        .and_then(|d| d.to_native(snap.exchange.quote_decimals as u32))
        .map_err(|e| CliError::Usage(format!("--price: {e}")))?;
    let maker_account = args
        .maker_account
        .unwrap_or_else(|| env.my_account(maker_id));
    let taker_account = args
        .taker_account
        .unwrap_or_else(|| pda::margin_account(&ex.exchange, &args.taker, 0));
    let maker_acc = snap.accounts.get(&maker_account).ok_or_else(|| {
        CliError::Usage(format!(
            "no maker margin account at {maker_account} (`keel account open`)"
        ))
    })?;
    let taker_acc = snap.accounts.get(&taker_account).ok_or_else(|| {
        CliError::Usage(format!(
            "no taker margin account at {taker_account}: the taker opens one first"
        ))
    })?;
    if !maker_acc.is_trader(&env.me().to_bytes()) {
        return Err(CliError::Usage(format!(
            "{maker_account} is not yours to trade (owner {})",
            Pubkey::new_from_array(maker_acc.owner)
        )));
    }
    if !taker_acc.is_trader(&args.taker.to_bytes()) {
        return Err(CliError::Usage(format!(
            "{taker_account} is not the taker's account"
        )));
    }
    let metas = env.margin_metas(&snap, &[taker_acc, maker_acc], &[args.series])?;
    let trade = ix::trade(
        &ex,
        &args.series,
        &taker_account,
        &args.taker,
        &maker_account,
        &env.me(),
        TradeArgs {
            qty_contracts: args.taker_qty,
            price_native,
        },
        &metas,
    );
    let mut ixs = budget_instructions(env.budget);
    ixs.push(trade.clone());
    let blockhash = env.chain.latest_blockhash().await?;
    let msg = match message(&args.taker, &ixs, blockhash, &[]) {
        Err(SendError::TooLarge { .. }) if env.chain.lookup_tables().is_some() => {
            env.cover(&[trade]).await?;
            let slot = env.chain.slot().await?;
            let tables = env.chain.lookup_tables().expect("checked").active(slot);
            message(&args.taker, &ixs, blockhash, &tables)
        }
        r => r,
    }
    .map_err(|e| CliError::send("trade", e))?;
    let mut tx = VersionedTransaction {
        signatures: vec![],
        message: msg,
    };
    partial_sign(&mut tx, &env.keypair).map_err(|e| CliError::Chain(format!("signing: {e}")))?;
    let keys = account_keys(env, &tx.message).await?;
    let summary = summarise(&snap, &tx.message, &keys)?;
    Ok(TradeOffer {
        format: OFFER_FORMAT.into(),
        summary,
        transaction: base64::engine::general_purpose::STANDARD
            .encode(bincode::serialize(&tx).map_err(|e| CliError::Chain(e.to_string()))?),
    })
}

/// Every account `msg` names, its lookups resolved through the tables on the chain.
async fn account_keys<C: Chain>(env: &Env<C>, msg: &VersionedMessage) -> CliResult<Vec<Pubkey>> {
    let refuse = |m: String| CliError::Refused(format!("refusing this trade file: {m}"));
    let table_keys: Vec<Pubkey> = msg
        .address_table_lookups()
        .unwrap_or_default()
        .iter()
        .map(|l| l.account_key)
        .collect();
    let mut tables = Vec::new();
    for (k, a) in table_keys
        .iter()
        .zip(env.chain.accounts(&table_keys).await?)
    {
        let a = a.ok_or_else(|| refuse(format!("its lookup table {k} does not exist")))?;
        if a.owner != keel_client::lookup::PROGRAM {
            return Err(refuse(format!("{k} is not an address lookup table")));
        }
        tables.push(Table::decode(*k, &a.data).map_err(|e| refuse(e.0))?);
    }
    resolve(msg, &tables).map_err(refuse)
}

/// Decodes and checks a trade message (`keys`: every account it names, lookups resolved):
/// compute-budget instructions and exactly one Keel `trade`, nothing else; fee payer and maker
/// the only signers.
fn summarise(
    snap: &keel_client::view::Snapshot,
    msg: &VersionedMessage,
    keys: &[Pubkey],
) -> CliResult<TradeSummary> {
    let refuse = |m: String| CliError::Refused(format!("refusing this trade file: {m}"));
    let key = |i: u8| {
        keys.get(i as usize)
            .copied()
            .ok_or_else(|| refuse("an account index is out of range".into()))
    };
    let fee_payer = *keys.first().ok_or_else(|| refuse("no accounts".into()))?;
    let (mut cu_limit, mut cu_price) = (200_000u32, 0u64);
    let mut trade: Option<(TradeArgs, Vec<Pubkey>, Vec<u8>)> = None;
    for ci in msg.instructions() {
        let program = key(ci.program_id_index)?;
        if program == COMPUTE_BUDGET {
            match ci.data.first() {
                Some(2) if ci.data.len() == 5 => {
                    cu_limit = u32::from_le_bytes(ci.data[1..5].try_into().expect("4 bytes"))
                }
                Some(3) if ci.data.len() == 9 => {
                    cu_price = u64::from_le_bytes(ci.data[1..9].try_into().expect("8 bytes"))
                }
                _ => {
                    return Err(refuse(
                        "it has a compute-budget instruction other than a unit limit or price"
                            .into(),
                    ))
                }
            }
            continue;
        }
        if program != keel::ID {
            return Err(refuse(format!("it calls program {program}, not only Keel")));
        }
        if !ci.data.starts_with(keel::instruction::Trade::DISCRIMINATOR) {
            return Err(refuse(
                "it has a Keel instruction other than `trade`".into(),
            ));
        }
        if trade.is_some() {
            return Err(refuse("it has more than one `trade`".into()));
        }
        let args = TradeArgs::deserialize(&mut &ci.data[8..])
            .map_err(|_| refuse("its trade arguments do not decode".into()))?;
        let accs = ci
            .accounts
            .iter()
            .map(|i| key(*i))
            .collect::<CliResult<Vec<_>>>()?;
        trade = Some((args, accs, ci.accounts.clone()));
    }
    let (args, accs, idx) =
        trade.ok_or_else(|| refuse("it has no Keel `trade` instruction".into()))?;
    if accs.len() < 7 {
        return Err(refuse("its trade instruction has too few accounts".into()));
    }
    let (exchange, ledger, series, taker_account, taker, maker_account, maker) = (
        accs[0], accs[1], accs[2], accs[3], accs[4], accs[5], accs[6],
    );
    if exchange != snap.exchange_key {
        return Err(refuse(format!(
            "it names exchange {exchange}, not {}",
            snap.exchange_key
        )));
    }
    if !keel_client::pda::ledgers(&exchange).contains(&ledger) {
        return Err(refuse(format!(
            "{ledger} is not a ledger shard of the exchange"
        )));
    }
    if taker != fee_payer {
        return Err(refuse(format!(
            "the taker {taker} is not the fee payer {fee_payer}"
        )));
    }
    // Only the fee payer (taker) and the maker sign; the remaining accounts are read-only.
    if msg.header().num_required_signatures != 2 || !keys[..2].contains(&maker) {
        return Err(refuse(
            "it needs signatures from someone other than the taker and the maker".into(),
        ));
    }
    // Remaining accounts: Keel markets are writable (each records the newest oracle update it
    // accepted); everything else is read-only, and nothing else signs.
    for (n, i) in idx.iter().enumerate().skip(7) {
        let writable_ok = snap.markets.contains_key(&accs[n]);
        if (msg.is_maybe_writable(*i as usize, None) && !writable_ok) || msg.is_signer(*i as usize)
        {
            return Err(refuse(format!(
                "remaining account {} is writable or a signer",
                accs[n]
            )));
        }
    }
    let s = snap
        .series
        .get(&series)
        .ok_or_else(|| refuse(format!("{series} is not a Keel series")))?;
    for (what, k) in [("taker", &taker_account), ("maker", &maker_account)] {
        let a = snap
            .accounts
            .get(k)
            .ok_or_else(|| refuse(format!("the {what} account {k} does not exist")))?;
        let who = if what == "taker" { taker } else { maker };
        if !a.is_trader(&who.to_bytes()) {
            return Err(refuse(format!("the {what} account {k} is not {who}'s")));
        }
    }
    let m = snap
        .markets
        .get(&Pubkey::new_from_array(s.market))
        .map(|mv| &mv.market);
    let label = series_label(s, m);
    let d = snap.exchange.quote_decimals;
    let notional = (args.qty_contracts.unsigned_abs() as i128 * args.price_native as i128)
        .min(i64::MAX as i128) as i64;
    let verb = if args.qty_contracts > 0 {
        "buys"
    } else {
        "sells"
    };
    let prep = if args.qty_contracts > 0 { "from" } else { "to" };
    Ok(TradeSummary {
        series: series.to_string(),
        series_label: label.clone(),
        taker_qty_contracts: args.qty_contracts,
        description: format!(
            "taker {verb} {} {label} {prep} maker at {} per contract",
            args.qty_contracts.unsigned_abs(),
            money(args.price_native, d)
        ),
        price_native: args.price_native,
        notional_native: notional,
        taker_fee_native: fee(notional, snap.exchange.taker_fee_bps),
        maker_fee_native: fee(notional, snap.exchange.maker_fee_bps),
        decimals: d,
        taker: taker.to_string(),
        taker_account: taker_account.to_string(),
        maker: maker.to_string(),
        maker_account: maker_account.to_string(),
        blockhash: msg.recent_blockhash().to_string(),
        cu_limit,
        cu_price_micro_lamports: cu_price,
    })
}

/// What the taker insists on (refuse the file otherwise).
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// The series.
    pub series: Option<Pubkey>,
    /// The taker's quantity.
    pub taker_qty: Option<i64>,
    /// The price per contract (quote units).
    pub price: Option<String>,
}

/// `trade take`.
#[derive(Clone, Debug, Serialize)]
pub struct Taken {
    /// What was (or would be) signed.
    pub summary: TradeSummary,
    /// Whether it was sent.
    pub sent: bool,
    /// The transaction signature, if sent.
    pub signature: Option<String>,
    /// The taker's position in the series afterwards, if sent.
    pub taker_qty_after: Option<i64>,
}

impl Render for Taken {
    fn render(&self) -> String {
        let mut s = render_summary(&self.summary);
        match &self.signature {
            Some(sig) => s.push_str(&format!(
                "\nsigned and sent: {sig}\nyour position in the series is now {}\n",
                self.taker_qty_after.unwrap_or_default()
            )),
            None => s.push_str("\nnot sent: re-run with --yes to sign and send it\n"),
        }
        s
    }
}

/// Reads an offer as the taker: validates it, and with `send` signs and sends it.
pub async fn take<C: Chain>(
    env: &Env<C>,
    offer: &TradeOffer,
    expect: &Expect,
    send: bool,
) -> CliResult<Taken> {
    let refuse = |m: String| CliError::Refused(format!("refusing this trade file: {m}"));
    if offer.format != OFFER_FORMAT {
        return Err(refuse(format!(
            "its format is `{}`, not `{OFFER_FORMAT}`",
            offer.format
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(offer.transaction.trim())
        .map_err(|_| refuse("the transaction is not base64".into()))?;
    let mut tx: VersionedTransaction = bincode::deserialize(&bytes)
        .map_err(|_| refuse("the transaction does not decode".into()))?;
    let snap = env.snapshot().await?;
    let keys = account_keys(env, &tx.message).await?;
    let summary = summarise(&snap, &tx.message, &keys)?;
    if summary.taker != env.me().to_string() {
        return Err(refuse(format!(
            "it is for taker {}, and you are {}",
            summary.taker,
            env.me()
        )));
    }
    if summary != offer.summary {
        return Err(refuse(format!(
            "its summary does not match its transaction: the transaction says \"{}\" at {} per contract (series {}, taker account {}), the summary says \"{}\"",
            summary.description, summary.price_native, summary.series, summary.taker_account, offer.summary.description
        )));
    }
    if let Some(s) = expect.series {
        if s.to_string() != summary.series {
            return Err(refuse(format!(
                "it is for series {}, not {s}",
                summary.series
            )));
        }
    }
    if let Some(q) = expect.taker_qty {
        if q != summary.taker_qty_contracts {
            return Err(refuse(format!(
                "its quantity is {}, not {q}",
                summary.taker_qty_contracts
            )));
        }
    }
    if let Some(p) = &expect.price {
        let want = keel_migrations::units::Decimal::parse(p)
            .and_then(|d| d.to_native(summary.decimals as u32))
            .map_err(|e| CliError::Usage(format!("--expect-price: {e}")))?;
        if want != summary.price_native {
            return Err(refuse(format!(
                "its price is {} per contract, not {p}",
                money(summary.price_native, summary.decimals)
            )));
        }
    }
    // The maker's signature must be over exactly this message.
    let maker: Pubkey = summary.maker.parse().expect("a key we printed");
    let maker_pos = tx
        .message
        .static_account_keys()
        .iter()
        .position(|k| *k == maker)
        .expect("checked");
    if !tx
        .verify_with_results()
        .get(maker_pos)
        .copied()
        .unwrap_or(false)
    {
        return Err(refuse(
            "the maker's signature does not verify (the file was altered after signing)".into(),
        ));
    }
    if !send {
        return Ok(Taken {
            summary,
            sent: false,
            signature: None,
            taker_qty_after: None,
        });
    }
    // The program refuses risk arrays that are not priced at a usable anchor: re-anchor and
    // re-price what is due on the trade's markets first (permissionless, paid by the taker).
    let taker_account: Pubkey = summary.taker_account.parse().expect("a key we printed");
    let maker_account: Pubkey = summary.maker_account.parse().expect("a key we printed");
    let series: Pubkey = summary.series.parse().expect("a key we printed");
    let mut markets = snap.markets_of(&[
        &snap.accounts[&taker_account],
        &snap.accounts[&maker_account],
    ]);
    let traded = Pubkey::new_from_array(snap.series[&series].market);
    if !markets.contains(&traded) {
        markets.push(traded);
    }
    crate::commands::cranks::send_due_cranks(env, &snap, Some(&markets)).await?;
    partial_sign(&mut tx, &env.keypair).map_err(|e| CliError::Chain(format!("signing: {e}")))?;
    let sent = env
        .chain
        .send_transaction(&tx)
        .await
        .map_err(|e| CliError::send("trade", e))?;
    let acc = env.margin_account(&taker_account).await?;
    let qty = acc
        .position_index(&series.to_bytes())
        .map(|i| acc.positions[i].qty_contracts)
        .unwrap_or(0);
    Ok(Taken {
        summary,
        sent: true,
        signature: Some(sent.signature),
        taker_qty_after: Some(qty),
    })
}

/// Reads an offer from a file or `-` (stdin).
pub fn read_offer(path: &str) -> CliResult<TradeOffer> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| CliError::Usage(format!("reading stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("reading {path}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::Refused(format!(
            "refusing this trade file: it is not a Keel trade offer ({e})"
        ))
    })
}
