//! `keel account open|show|close`.

use crate::env::Env;
use crate::error::{CliError, CliResult};
use crate::names::{kind_name, money, series_label};
use crate::output::{kv, Render, Table};
use anchor_lang::prelude::Pubkey;
use keel_client::{ix, Chain};
use serde::Serialize;

/// `account open`.
#[derive(Clone, Debug, Serialize)]
pub struct Opened {
    /// The new account.
    pub account: String,
    /// Its owner.
    pub owner: String,
    /// Its id among the owner's accounts.
    pub account_id: u32,
    /// The transaction.
    pub signature: String,
}

impl Render for Opened {
    fn render(&self) -> String {
        format!(
            "opened margin account {} (id {}) for {}\n{}\n",
            self.account, self.account_id, self.owner, self.signature
        )
    }
}

/// Opens margin account `id` of the signer.
pub async fn open<C: Chain>(env: &Env<C>, id: u32) -> CliResult<Opened> {
    let (ex, _) = env.exchange().await?;
    let i = ix::open_account(&ex, &env.me(), id);
    let sent = env.send("open_account", &[i], &[]).await?;
    Ok(Opened {
        account: env.my_account(id).to_string(),
        owner: env.me().to_string(),
        account_id: id,
        signature: sent.signature,
    })
}

/// One position of `account show`.
#[derive(Clone, Debug, Serialize)]
pub struct PositionView {
    /// The series.
    pub series: String,
    /// Human label.
    pub label: String,
    /// `call`, `put`, `future`.
    pub kind: String,
    /// Contracts (> 0 long).
    pub qty_contracts: i64,
    /// Cash carried (premium paid/received, futures entry), quote native units.
    pub cash_native: i64,
}

/// `account show`.
#[derive(Clone, Debug, Serialize)]
pub struct AccountView {
    /// The account.
    pub account: String,
    /// Its owner.
    pub owner: String,
    /// Its delegate (empty: none).
    pub delegate: String,
    /// Its id.
    pub account_id: u32,
    /// Quote mint decimals.
    pub decimals: u8,
    /// Collateral, native units.
    pub collateral_native: i64,
    /// Σ deposits.
    pub deposited_native: i64,
    /// Σ withdrawals.
    pub withdrawn_native: i64,
    /// Realised P&L.
    pub realised_pnl_native: i64,
    /// Fees paid.
    pub fees_paid_native: i64,
    /// Being liquidated.
    pub being_liquidated: bool,
    /// Positions.
    pub positions: Vec<PositionView>,
    /// Equity (MM), IM, MM and withdrawable now, if the margin could be computed.
    pub margin: Option<MarginSummary>,
    /// Why the margin could not be computed, if it could not.
    pub margin_error: Option<String>,
}

/// The margin headline figures.
#[derive(Clone, Debug, Serialize)]
pub struct MarginSummary {
    /// Equity for MM.
    pub equity_mm: i64,
    /// Equity for IM.
    pub equity_im: i64,
    /// Initial margin.
    pub im: i64,
    /// Maintenance margin.
    pub mm: i64,
    /// What may be withdrawn.
    pub withdrawable: i64,
    /// The equity below which it is liquidatable (`keel margin` explains it).
    pub liquidation_level: i64,
    /// Below that level.
    pub liquidatable: bool,
}

impl Render for AccountView {
    fn render(&self) -> String {
        let d = self.decimals;
        let mut pairs = vec![
            ("account", self.account.clone()),
            ("owner", self.owner.clone()),
            (
                "delegate",
                if self.delegate.is_empty() {
                    "none".into()
                } else {
                    self.delegate.clone()
                },
            ),
            ("id", self.account_id.to_string()),
            ("collateral", money(self.collateral_native, d)),
            ("deposited", money(self.deposited_native, d)),
            ("withdrawn", money(self.withdrawn_native, d)),
            ("realised P&L", money(self.realised_pnl_native, d)),
            ("fees paid", money(self.fees_paid_native, d)),
        ];
        if self.being_liquidated {
            pairs.push(("status", "BEING LIQUIDATED".into()));
        }
        match (&self.margin, &self.margin_error) {
            (Some(m), _) => pairs.extend([
                ("equity", money(m.equity_mm, d)),
                ("initial margin", money(m.im, d)),
                ("maint. margin", money(m.mm, d)),
                ("withdrawable", money(m.withdrawable, d)),
                (
                    "liquidation level",
                    if m.liquidatable {
                        format!("{} (LIQUIDATABLE: below it)", money(m.liquidation_level, d))
                    } else {
                        money(m.liquidation_level, d)
                    },
                ),
            ]),
            (None, Some(e)) => pairs.push(("margin", format!("not computable now ({e})"))),
            _ => {}
        }
        let mut s = kv(&pairs);
        if !self.positions.is_empty() {
            let mut t = Table::new(&["series", "label", "qty", "cash"]);
            for p in &self.positions {
                t.row(vec![
                    p.series.clone(),
                    p.label.clone(),
                    p.qty_contracts.to_string(),
                    money(p.cash_native, d),
                ]);
            }
            s.push('\n');
            s.push_str(&t.to_string());
        }
        s
    }
}

/// Shows `account` (default: the signer's account `id`).
pub async fn show<C: Chain>(
    env: &Env<C>,
    account: Option<Pubkey>,
    id: u32,
) -> CliResult<AccountView> {
    let key = account.unwrap_or_else(|| env.my_account(id));
    let snap = env.snapshot().await?;
    let acc = match snap.accounts.get(&key) {
        Some(a) => *a,
        None => env.margin_account(&key).await?,
    };
    let positions = acc
        .active_positions()
        .map(|p| {
            let sk = Pubkey::new_from_array(p.series);
            let s = snap.series.get(&sk);
            let m = s.and_then(|s| snap.markets.get(&Pubkey::new_from_array(s.market)));
            PositionView {
                series: sk.to_string(),
                label: s
                    .map(|s| series_label(s, m.map(|m| &m.market)))
                    .unwrap_or_default(),
                kind: kind_name(p.kind).into(),
                qty_contracts: p.qty_contracts,
                cash_native: p.cash_native,
            }
        })
        .collect();
    // As `keel margin`: on the risk arrays as they will be once cranked, if they are due.
    let (view, _) = crate::env::margin_view(&snap, &acc, snap.now)?;
    // What `withdraw` accepts (IM and the liquidation trigger) and the trigger itself.
    let summary = view
        .margin(&acc, None)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            let st = keel_risk::liquidation::status(&b, &snap.exchange.liquidation_params)
                .map_err(|e| format!("{e:?}"))?;
            Ok(MarginSummary {
                equity_mm: b.equity_mm,
                equity_im: b.equity_im,
                im: b.im,
                mm: b.mm,
                withdrawable: st.withdrawable,
                liquidation_level: st.level,
                liquidatable: st.liquidatable,
            })
        });
    let (margin, margin_error) = match summary {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e)),
    };
    Ok(AccountView {
        account: key.to_string(),
        owner: Pubkey::new_from_array(acc.owner).to_string(),
        delegate: if acc.delegate == [0; 32] {
            String::new()
        } else {
            Pubkey::new_from_array(acc.delegate).to_string()
        },
        account_id: acc.account_id,
        decimals: snap.exchange.quote_decimals,
        collateral_native: acc.collateral_native,
        deposited_native: acc.deposited_native,
        withdrawn_native: acc.withdrawn_native,
        realised_pnl_native: acc.realised_pnl_native,
        fees_paid_native: acc.fees_paid_native,
        being_liquidated: acc.flags & keel_state::account::FLAG_BEING_LIQUIDATED != 0,
        positions,
        margin,
        margin_error,
    })
}

/// `account close`.
#[derive(Clone, Debug, Serialize)]
pub struct Closed {
    /// The closed account.
    pub account: String,
    /// The transaction.
    pub signature: String,
}

impl Render for Closed {
    fn render(&self) -> String {
        format!(
            "closed {} (rent returned to the owner)\n{}\n",
            self.account, self.signature
        )
    }
}

/// Closes `account` (default: the signer's account `id`), which must be empty.
pub async fn close<C: Chain>(env: &Env<C>, account: Option<Pubkey>, id: u32) -> CliResult<Closed> {
    let key = account.unwrap_or_else(|| env.my_account(id));
    let acc = env.margin_account(&key).await?;
    if Pubkey::new_from_array(acc.owner) != env.me() {
        return Err(CliError::Usage(format!(
            "{key} belongs to {}, not to the signer {}: use the owner's --keypair",
            Pubkey::new_from_array(acc.owner),
            env.me()
        )));
    }
    let sent = env
        .send("close_account", &[ix::close_account(&env.me(), &key)], &[])
        .await?;
    Ok(Closed {
        account: key.to_string(),
        signature: sent.signature,
    })
}
