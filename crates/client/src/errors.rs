//! Program errors a person can act on: the error's name, its message, and what to do about it.
//!
//! Keel's own errors (codes 6000 + index) come from the committed IDL (`idl/keel.json`, kept in
//! sync with the program by a test), so a new error needs no change here; Anchor's framework
//! errors that Keel's account validation can raise are named from `anchor_lang` itself.

use anchor_lang::error::ErrorCode as AnchorCode;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A decoded program error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    /// The numeric code.
    pub code: u32,
    /// `Keel` or `Anchor`.
    pub source: &'static str,
    /// The error's name (`BelowInitialMargin`).
    pub name: String,
    /// Its message.
    pub message: String,
    /// What to do about it, where there is something to say.
    pub hint: Option<&'static str>,
}

impl std::fmt::Display for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} error {} ({}): {}",
            self.source, self.name, self.code, self.message
        )?;
        if let Some(h) = self.hint {
            write!(f, "\n  what to do: {h}")?;
        }
        Ok(())
    }
}

const IDL: &str = include_str!("../../../idl/keel.json");

fn keel_errors() -> &'static BTreeMap<u32, (String, String)> {
    static TABLE: OnceLock<BTreeMap<u32, (String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let idl: serde_json::Value = serde_json::from_str(IDL).unwrap_or_default();
        idl["errors"]
            .as_array()
            .map(|errs| {
                errs.iter()
                    .filter_map(|e| {
                        Some((
                            e["code"].as_u64()? as u32,
                            (
                                e["name"].as_str()?.to_string(),
                                e["msg"].as_str().unwrap_or_default().to_string(),
                            ),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Anchor framework errors Keel's instructions can raise (account validation), named and worded
/// by `anchor_lang` itself.
macro_rules! anchor_errors {
    ($($name:ident),* $(,)?) => {
        fn anchor_error(code: u32) -> Option<(String, String)> {
            $( if code == AnchorCode::$name as u32 {
                return Some((stringify!($name).to_string(), AnchorCode::$name.to_string()));
            } )*
            None
        }
    };
}

anchor_errors!(
    InstructionMissing,
    InstructionFallbackNotFound,
    InstructionDidNotDeserialize,
    ConstraintMut,
    ConstraintHasOne,
    ConstraintSigner,
    ConstraintRaw,
    ConstraintOwner,
    ConstraintSeeds,
    ConstraintAddress,
    ConstraintTokenMint,
    ConstraintTokenOwner,
    ConstraintMintTokenProgram,
    ConstraintTokenTokenProgram,
    ConstraintDuplicateMutableAccount,
    RequireViolated,
    RequireKeysEqViolated,
    AccountDiscriminatorNotFound,
    AccountDiscriminatorMismatch,
    AccountDidNotDeserialize,
    AccountNotEnoughKeys,
    AccountNotMutable,
    AccountOwnedByWrongProgram,
    InvalidProgramId,
    AccountNotSigner,
    AccountNotInitialized,
    DeclaredProgramIdMismatch,
);

/// What to do about a Keel error, by name (also written into the TypeScript SDK's
/// `sdk/ts/src/idl/hints.json` by `keel-idl`).
pub fn hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "NotAdmin" => "sign with the exchange admin's keypair (--keypair)",
        "NotOwner" => "only the account's owner may do this: sign with the owner's keypair",
        "NotTrader" => "sign with the account's owner or its delegate",
        "ExchangePaused" => "the admin has paused this operation; `keel exchange show` shows the pause flags",
        "InsufficientCollateral" => "withdraw at most the account's collateral (`keel account show`)",
        "WithdrawalBelowInitialMargin" => {
            "withdraw at most the 'withdrawable' amount `keel margin <account>` shows, or reduce risk first"
        }
        "BelowInitialMargin" => {
            "deposit collateral or trade a smaller size; `keel margin <account>` shows the headroom"
        }
        "TradeIncreasesRisk" => {
            "the account is below initial margin: only trades that reduce its risk are allowed until it deposits"
        }
        "ExpiredPositionsUnsettled" => "settle the expired series and positions first (`keel settle <series>`)",
        "SeriesExpired" => "this series has expired; trade a later expiry (`keel series`)",
        "SeriesNotExpired" => "settlement is possible only after expiry",
        "SeriesNotSettled" => "run `keel settle <series>` first",
        "SettlementPoolShort" => "settle the losing accounts of this series first; winners are paid from their payments",
        "AccountHasPositions" | "AccountHasCollateral" => {
            "close or settle every position and withdraw all collateral before closing the account"
        }
        "TooManyPositions" => "an account holds at most 32 series: close some or open another account",
        "TooManyMarkets" => "an account spans at most 4 markets: open another account",
        "MarketMissing" => "pass every market (and its oracle) the accounts hold; the CLI derives them — retry",
        "OracleWrongOwner" | "OracleWrongAccount" | "OracleInvalidAccount" | "OracleWrongFeed" => {
            "the oracle account passed is not one this market accepts: for a market that takes any \
             update of its feed, name a current PriceUpdateV2 account (`--oracle MARKET=ACCOUNT`)"
        }
        "OracleStale" => "the oracle price is older than the market allows: post a fresh oracle update and retry",
        "OracleConfidenceTooWide" => "the oracle is uncertain right now; retry when its confidence interval narrows",
        "VolStateStale" => "run the volatility crank for the market (`keel crank <market>`), then retry",
        "ObservationTooSoon" => "the crank ran moments ago; wait for the market's minimum interval",
        "ObservationOutOfOrder" => "the oracle has not published a newer price since the last crank",
        "NotLiquidatable" => {
            "the account is at or above its liquidation trigger level (maintenance margin, raised toward initial margin while vol is above the reference): nothing to liquidate"
        }
        "LiquidatorBelowInitialMargin" => {
            "deposit more collateral into the liquidator's account or take a smaller fraction"
        }
        "SelfLiquidation" => {
            "liquidate with an account of a different owner, signed by a key that neither owns nor is delegate of the liquidatee"
        }
        "OracleOutOfOrder" => {
            "a newer update of this feed was already used: pass the newest PriceUpdateV2 (`--oracle MARKET=ACCOUNT`)"
        }
        "OracleFutureDated" => "the update is dated ahead of the chain's clock: wait and retry",
        "PriceOutsideBand" => {
            "price the trade nearer the series' mark: `keel series` shows each series' band"
        }
        "SameSignerBothSides" => "the maker and the taker must be signed by different keys",
        "ReduceWorseThanMark" => {
            "below initial margin a reducing trade may not be priced worse than the mark: use the mark or better, or deposit"
        }
        "TradeLeavesNegativeCollateral" => "deposit collateral first or trade a smaller size",
        "NotUpgradeAuthority" => "initialise the exchange with the program's upgrade authority keypair",
        "MarketNotWritable" => "pass the market accounts writable (the CLI and keel-client do)",
        "ParamOutOfBounds" | "GuardOutOfBounds" => {
            "a parameter is outside its hard bounds; the transaction log names it"
        }
        "ConservationViolated" => "the vault does not match the books: stop and report this (it is a bug)",
        "LedgersMissing" | "WrongLedger" => {
            "pass the exchange's four ledger shards in index order (keel-client and the SDK do): rebuild the transaction"
        }
        "NoPositionsToLiquidate" => {
            "the account holds nothing left to take over: send resolve_bankruptcy for it instead (the keeper does)"
        }
        "NotBankrupt" => "only an account with no positions and negative collateral can be resolved",
        "SeriesNotWritable" => {
            "this liquidation changes a series' counters (a new holder, netting, a position closed): pass its series writable (keel-client does)"
        }
        "RangeLimitWithOptions" => {
            "the range speed limit is sound for futures only: list options on a market without it, or set apc_max_rise_per_day to 0 first"
        }
        "TradeLeavesLiquidatable" | "WithdrawalLeavesLiquidatable" | "LiquidatorLeavesLiquidatable" => {
            "the market's realised vol is above its margin vol, which raises the liquidation trigger above IM: add collateral or reduce (keel margin shows the stress)"
        }
        _ => return None,
    })
}

/// Names and explains `code`, if it is a Keel or Anchor error.
pub fn describe(code: u32) -> Option<Described> {
    if let Some((name, message)) = keel_errors().get(&code) {
        return Some(Described {
            code,
            source: "Keel",
            hint: hint(name),
            name: name.clone(),
            message: message.clone(),
        });
    }
    anchor_error(code).map(|(name, message)| Described {
        code,
        source: "Anchor",
        name,
        message,
        hint: None,
    })
}

/// The code of a named Keel error.
pub fn code_of(e: keel::error::KeelError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel::error::KeelError;

    #[test]
    fn keel_errors_are_named_from_the_idl() {
        let d = describe(code_of(KeelError::BelowInitialMargin)).unwrap();
        assert_eq!(d.name, "BelowInitialMargin");
        assert_eq!(d.source, "Keel");
        assert_eq!(d.message, KeelError::BelowInitialMargin.to_string());
        assert!(d.hint.unwrap().contains("keel margin"));
        // Every error of the program is in the table, in order.
        let last = KeelError::LiquidatorLeavesLiquidatable as u32;
        for i in 0..=last {
            assert!(describe(6000 + i).is_some(), "code {}", 6000 + i);
        }
        assert!(describe(6000 + last + 1).is_none());
    }

    #[test]
    fn anchor_errors_are_named() {
        let d = describe(AnchorCode::ConstraintSeeds as u32).unwrap();
        assert_eq!((d.source, d.name.as_str()), ("Anchor", "ConstraintSeeds"));
        assert!(describe(1).is_none());
    }
}
