//! `keel deposit` and `keel withdraw`: amounts in quote units (`100.5`), from / to the
//! signer's associated token account unless told otherwise.

use crate::env::{associated_token_account, create_ata_idempotent, Env};
use crate::error::{CliError, CliResult};
use crate::names::money;
use crate::output::{kv, Render};
use anchor_lang::prelude::Pubkey;
use keel_client::{ix, Chain};
use keel_migrations::units::Decimal;
use serde::Serialize;

/// A deposit or withdrawal that went through.
#[derive(Clone, Debug, Serialize)]
pub struct Moved {
    /// `deposit` or `withdraw`.
    pub action: String,
    /// The margin account.
    pub account: String,
    /// The token account the money came from / went to.
    pub token_account: String,
    /// Amount, quote native units.
    pub amount_native: u64,
    /// The account's collateral afterwards.
    pub collateral_native: i64,
    /// Quote decimals.
    pub decimals: u8,
    /// The transaction.
    pub signature: String,
    /// A deposit into an account in a liquidation episode: whether the episode ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidation_episode: Option<String>,
}

impl Render for Moved {
    fn render(&self) -> String {
        let mut pairs = vec![
            (
                self.action.as_str(),
                money(self.amount_native as i64, self.decimals),
            ),
            ("account", self.account.clone()),
            (
                if self.action == "deposit" {
                    "from"
                } else {
                    "to"
                },
                self.token_account.clone(),
            ),
            (
                "collateral now",
                money(self.collateral_native, self.decimals),
            ),
            ("signature", self.signature.clone()),
        ];
        if let Some(e) = &self.liquidation_episode {
            pairs.push(("liquidation episode", e.clone()));
        }
        kv(&pairs)
    }
}

/// Parses an amount in quote units into native units.
pub fn amount_native(amount: &str, decimals: u8) -> CliResult<u64> {
    let d = Decimal::parse(amount).map_err(CliError::Usage)?;
    let n = d
        .to_native(decimals as u32)
        .map_err(|e| CliError::Usage(format!("amount: {e}")))?;
    if n <= 0 {
        return Err(CliError::Usage("the amount must be positive".into()));
    }
    Ok(n as u64)
}

/// Deposits `amount` into `account` (default: the signer's account `id`) from `from` (default:
/// the signer's associated token account).
pub async fn deposit<C: Chain>(
    env: &Env<C>,
    amount: &str,
    account: Option<Pubkey>,
    id: u32,
    from: Option<Pubkey>,
) -> CliResult<Moved> {
    let (ex, e) = env.exchange().await?;
    let key = account.unwrap_or_else(|| env.my_account(id));
    let before = env.margin_account(&key).await?;
    let native = amount_native(amount, e.quote_decimals)?;
    let source = from
        .unwrap_or_else(|| associated_token_account(&env.me(), &ex.quote_mint, &ex.token_program));
    // In a liquidation episode the account's markets go along, so that a deposit restoring it
    // ends the episode (the program ignores them otherwise).
    let episode = before.in_liquidation_episode();
    let margin = if episode {
        env.snapshot().await?.deposit_metas(&before)?
    } else {
        Vec::new()
    };
    let me = env.me();
    let with_margin = ix::deposit_checking_margin(&ex, &me, &key, &source, native, &margin);
    let (sent, unchecked) = match env.send("deposit", &[with_margin], &[]).await {
        Ok(s) => (s, None),
        // The margin part was refused (a stale oracle, say): the money still goes in, and the
        // episode stays open until the account is found healthy or it lapses.
        Err(err) if episode => {
            let plain = ix::deposit(&ex, &me, &key, &source, native);
            (env.send("deposit", &[plain], &[]).await?, Some(err))
        }
        Err(err) => return Err(err),
    };
    let after = env.margin_account(&key).await?;
    let liquidation_episode = episode.then(|| match (&unchecked, after.in_liquidation_episode()) {
        (_, false) => "ended (at or above its liquidation trigger level)".to_string(),
        (None, true) => "still open (below its liquidation trigger level)".to_string(),
        (Some(err), true) => format!("still open (margin not checked: {err})"),
    });
    Ok(Moved {
        action: "deposit".into(),
        account: key.to_string(),
        token_account: source.to_string(),
        amount_native: native,
        collateral_native: after.collateral_native,
        decimals: e.quote_decimals,
        signature: sent.signature,
        liquidation_episode,
    })
}

/// Withdraws `amount` (or `max`: what the margin allows now) from `account` to `to` (default:
/// the signer's associated token account, created if missing).
pub async fn withdraw<C: Chain>(
    env: &Env<C>,
    amount: &str,
    account: Option<Pubkey>,
    id: u32,
    to: Option<Pubkey>,
) -> CliResult<Moved> {
    let snap = env.snapshot().await?;
    let ex = keel_client::ix::exchange_keys(&snap.exchange);
    let decimals = snap.exchange.quote_decimals;
    let key = account.unwrap_or_else(|| env.my_account(id));
    let acc = match snap.accounts.get(&key) {
        Some(a) => *a,
        None => env.margin_account(&key).await?,
    };
    // The program refuses risk arrays not priced at a usable anchor: crank what is due on the
    // account's markets first (permissionless), and size `max` on the arrays as they will be.
    let markets = snap.markets_of(&[&acc]);
    crate::commands::cranks::send_due_cranks(env, &snap, Some(&markets)).await?;
    let native = if amount == "max" {
        let (view, _) = crate::env::margin_view(&snap, &acc, snap.now)?;
        let b = view.margin(&acc, None)?;
        // What `withdraw` accepts: above IM and at or above the liquidation trigger.
        let w = keel_risk::liquidation::withdrawable(&b, &snap.exchange.liquidation_params)
            .unwrap_or(0);
        if w <= 0 {
            return Err(CliError::Refused(format!(
                "nothing can be withdrawn from {key} now: `keel margin {key}` shows why"
            )));
        }
        w as u64
    } else {
        amount_native(amount, decimals)?
    };
    let metas = env.margin_metas(&snap, &[&acc], &[])?;
    let mut ixs = vec![];
    let dest = match to {
        Some(t) => t,
        None => {
            ixs.push(create_ata_idempotent(
                &env.me(),
                &env.me(),
                &ex.quote_mint,
                &ex.token_program,
            ));
            associated_token_account(&env.me(), &ex.quote_mint, &ex.token_program)
        }
    };
    ixs.push(ix::withdraw(&ex, &env.me(), &key, &dest, native, &metas));
    let sent = env.send("withdraw", &ixs, &[]).await?;
    let after = env.margin_account(&key).await?;
    Ok(Moved {
        action: "withdraw".into(),
        account: key.to_string(),
        token_account: dest.to_string(),
        amount_native: native,
        collateral_native: after.collateral_native,
        decimals,
        signature: sent.signature,
        liquidation_episode: None,
    })
}
