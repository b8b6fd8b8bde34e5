//! Address lookup tables: what lets one transaction name more accounts than a legacy message
//! carries in Solana's 1 232-byte packet.
//!
//! A legacy message spends 32 bytes per account; `liquidate` of an account at full capacity
//! (32 series over 4 markets) names ~50 accounts (its markets, oracles, correlations and every
//! series, writable) and cannot fit. A v0 message names an account held in a lookup table by a
//! one-byte index. The keeper and the CLI keep their own tables (authority: their keypair), hold
//! them in a [`LookupTables`] shared with their chain, and [`ensure`] extends them with whatever
//! addresses they are about to use; the chain then compiles a transaction against them whenever
//! the legacy form would not fit (`chain::compile`).
//!
//! Rules of the lookup-table program this follows: a table is created at the address derived from
//! its authority and a recent slot (one in the `SlotHashes` sysvar); it holds at most 256
//! addresses; addresses appended in slot `s` can be looked up only from slot `s + 1`
//! ([`Table::active`]); only the authority extends it.

use crate::chain::{Budget, Chain, ChainError, SendError};
use anchor_lang::prelude::Pubkey;
use solana_address_lookup_table_interface::{instruction, program, state::AddressLookupTable};
use solana_keypair::Keypair;
use solana_message::AddressLookupTableAccount;
use solana_signer::Signer;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The address lookup table program.
pub const PROGRAM: Pubkey = program::ID;
/// Most addresses one table holds.
pub const MAX_ADDRESSES: usize = 256;
/// Addresses appended per `extend` transaction (each costs 32 bytes of the packet).
pub const EXTEND_CHUNK: usize = 24;
/// The `SlotHashes` sysvar.
pub const SLOT_HASHES: Pubkey = anchor_lang::pubkey!("SysvarS1otHashes111111111111111111111111111");
/// Offset of the authority (after the `Some` tag) in a table account: the program-state tag
/// (u32), deactivation slot, last extended slot, start index (u8), then `Option<Pubkey>`.
pub const AUTHORITY_OFFSET: usize = 4 + 8 + 8 + 1 + 1;

/// One table as last read from the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its address.
    pub key: Pubkey,
    /// Its authority (`None`: frozen).
    pub authority: Option<Pubkey>,
    /// Every address it holds, in index order.
    pub addresses: Vec<Pubkey>,
    /// The slot of its last extension.
    pub last_extended_slot: u64,
    /// How many addresses it held before that extension.
    pub last_extended_start: usize,
    /// `u64::MAX` unless deactivated.
    pub deactivation_slot: u64,
}

impl Table {
    /// Decodes a table account's data.
    pub fn decode(key: Pubkey, data: &[u8]) -> Result<Table, ChainError> {
        let t = AddressLookupTable::deserialize(data)
            .map_err(|e| ChainError(format!("lookup table {key}: {e}")))?;
        Ok(Table {
            key,
            authority: t.meta.authority,
            addresses: t.addresses.to_vec(),
            last_extended_slot: t.meta.last_extended_slot,
            last_extended_start: t.meta.last_extended_slot_start_index as usize,
            deactivation_slot: t.meta.deactivation_slot,
        })
    }

    /// The addresses a transaction executed in `slot` can look up (the runtime's rule: those
    /// appended in the current slot are not yet visible).
    pub fn active(&self, slot: u64) -> &[Pubkey] {
        if self.deactivation_slot != u64::MAX {
            return &[];
        }
        let n = if slot > self.last_extended_slot {
            self.addresses.len()
        } else {
            self.last_extended_start.min(self.addresses.len())
        };
        &self.addresses[..n]
    }
}

/// The tables a client compiles its transactions against, shared between it and its chain.
#[derive(Clone, Debug, Default)]
pub struct LookupTables(Arc<RwLock<BTreeMap<Pubkey, Table>>>);

impl LookupTables {
    /// Adds or replaces `t`.
    pub fn insert(&self, t: Table) {
        self.0.write().expect("lookup tables").insert(t.key, t);
    }

    /// Every table.
    pub fn all(&self) -> Vec<Table> {
        self.0
            .read()
            .expect("lookup tables")
            .values()
            .cloned()
            .collect()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.read().expect("lookup tables").is_empty()
    }

    /// The tables as a v0 message compiles against them at `slot` (active addresses only).
    pub fn active(&self, slot: u64) -> Vec<AddressLookupTableAccount> {
        self.0
            .read()
            .expect("lookup tables")
            .values()
            .map(|t| AddressLookupTableAccount {
                key: t.key,
                addresses: t.active(slot).to_vec(),
            })
            .filter(|t| !t.addresses.is_empty())
            .collect()
    }

    /// The address behind `index` of table `table` (to resolve a received v0 message).
    pub fn resolve(&self, table: &Pubkey, index: u8) -> Option<Pubkey> {
        self.0
            .read()
            .expect("lookup tables")
            .get(table)?
            .addresses
            .get(index as usize)
            .copied()
    }

    /// Whether every address of `keys` is in some table.
    pub fn covers(&self, keys: &[Pubkey]) -> bool {
        let g = self.0.read().expect("lookup tables");
        keys.iter()
            .all(|k| g.values().any(|t| t.addresses.contains(k)))
    }
}

/// Every account `msg` names, in the runtime's order (static keys, then the addresses its
/// lookups load writable, then read-only), the lookups resolved through `tables` (read from the
/// chain by the caller). Fails when a lookup names a table or index that is not there.
pub fn resolve(
    msg: &solana_message::VersionedMessage,
    tables: &[Table],
) -> Result<Vec<Pubkey>, String> {
    let mut keys = msg.static_account_keys().to_vec();
    let Some(lookups) = msg.address_table_lookups() else {
        return Ok(keys);
    };
    let find = |table: &Pubkey, i: u8| -> Result<Pubkey, String> {
        let t = tables
            .iter()
            .find(|t| t.key == *table)
            .ok_or_else(|| format!("lookup table {table} is not on the chain"))?;
        t.addresses
            .get(i as usize)
            .copied()
            .ok_or_else(|| format!("lookup table {table} has no index {i}"))
    };
    for l in lookups {
        for i in &l.writable_indexes {
            keys.push(find(&l.account_key, *i)?);
        }
    }
    for l in lookups {
        for i in &l.readonly_indexes {
            keys.push(find(&l.account_key, *i)?);
        }
    }
    Ok(keys)
}

/// What [`ensure`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ensured {
    /// Tables created.
    pub created: Vec<Pubkey>,
    /// Addresses appended (to new or existing tables).
    pub appended: usize,
    /// The slot after which everything appended can be looked up (0: nothing appended).
    pub active_after_slot: u64,
}

/// Reads the tables of `authority` from the chain into `tables` (the ones it already made, e.g.
/// by an earlier run), replacing what `tables` held for them.
pub async fn load(
    chain: &impl Chain,
    tables: &LookupTables,
    authority: &Pubkey,
) -> Result<usize, ChainError> {
    let found = chain.lookup_tables_of(authority).await?;
    let n = found.len();
    for (key, data) in found {
        let t = Table::decode(key, &data)?;
        if t.authority == Some(*authority) && t.deactivation_slot == u64::MAX {
            tables.insert(t);
        }
    }
    Ok(n)
}

/// The `n`-th newest slot (0: the newest) in the `SlotHashes` sysvar: a slot the lookup-table
/// program accepts as `recent_slot` when creating a table (a table's address derives from its
/// authority and that slot, so two tables made at once need two slots).
pub async fn recent_slot(chain: &impl Chain, n: usize) -> Result<u64, ChainError> {
    let key = SLOT_HASHES;
    let a = crate::chain::account(chain, &key)
        .await?
        .ok_or_else(|| ChainError("no SlotHashes sysvar".into()))?;
    // bincode: u64 length, then (slot u64, hash [u8; 32]) newest first.
    let at = 8 + 40 * n;
    let slot = a
        .data
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| ChainError(format!("SlotHashes has fewer than {} entries", n + 1)))?;
    Ok(slot)
}

fn send_error(e: SendError) -> ChainError {
    ChainError(format!("lookup table: {e}"))
}

/// Makes sure every address of `wanted` is in one of `tables` (tables of `authority`, which
/// signs and pays through `chain`): appends the missing ones to the last table with room, or to
/// new tables, `EXTEND_CHUNK` per transaction, then re-reads what it changed. Does not wait for
/// the new addresses to become usable (the next slot): transactions compiled before that simply
/// do not use them ([`Table::active`]).
pub async fn ensure(
    chain: &impl Chain,
    tables: &LookupTables,
    authority: &Keypair,
    wanted: &[Pubkey],
) -> Result<Ensured, ChainError> {
    let mut out = Ensured::default();
    let mut missing: Vec<Pubkey> = Vec::new();
    {
        let all = tables.all();
        for k in wanted {
            if !missing.contains(k) && !all.iter().any(|t| t.addresses.contains(k)) {
                missing.push(*k);
            }
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let me = authority.pubkey();
    let budget = Budget {
        cu_limit: 200_000,
        cu_price_micro_lamports: 0,
    };
    let mut touched: Vec<Pubkey> = Vec::new();
    while !missing.is_empty() {
        // The last of our tables with room, else a new one.
        let mut target = tables
            .all()
            .into_iter()
            .filter(|t| {
                t.authority == Some(me)
                    && t.deactivation_slot == u64::MAX
                    && t.addresses.len() < MAX_ADDRESSES
            })
            .map(|t| (t.key, t.addresses.len()))
            .next_back();
        let mut ixs = Vec::new();
        if target.is_none() {
            let slot = recent_slot(chain, out.created.len()).await?;
            let (ix, key) = instruction::create_lookup_table(me, chain.payer(), slot);
            ixs.push(ix);
            out.created.push(key);
            target = Some((key, 0));
        }
        let (key, len) = target.expect("a table");
        let n = missing.len().min(EXTEND_CHUNK).min(MAX_ADDRESSES - len);
        let chunk: Vec<Pubkey> = missing.drain(..n).collect();
        ixs.push(instruction::extend_lookup_table(
            key,
            me,
            Some(chain.payer()),
            chunk.clone(),
        ));
        chain
            .send(&ixs, &[authority], budget)
            .await
            .map_err(send_error)?;
        out.appended += chunk.len();
        // Keep the in-memory copy current so the next chunk picks the right table and index.
        let mut t = tables
            .all()
            .into_iter()
            .find(|t| t.key == key)
            .unwrap_or(Table {
                key,
                authority: Some(me),
                addresses: Vec::new(),
                last_extended_slot: 0,
                last_extended_start: 0,
                deactivation_slot: u64::MAX,
            });
        t.last_extended_start = t.addresses.len();
        t.addresses.extend(chunk);
        t.last_extended_slot = u64::MAX; // not usable until re-read
        tables.insert(t);
        if !touched.contains(&key) {
            touched.push(key);
        }
    }
    // What the chain holds now (the real extension slot and indexes).
    let accounts = chain.accounts(&touched).await?;
    for (key, acc) in touched.iter().zip(accounts) {
        let acc = acc.ok_or_else(|| ChainError(format!("lookup table {key} vanished")))?;
        let t = Table::decode(*key, &acc.data)?;
        out.active_after_slot = out.active_after_slot.max(t.last_extended_slot);
        tables.insert(t);
    }
    Ok(out)
}

/// Waits (polling the chain's slot) until addresses appended at `slot` are usable, for at most
/// `timeout`.
pub async fn wait_active(
    chain: &impl Chain,
    slot: u64,
    timeout: std::time::Duration,
) -> Result<(), ChainError> {
    let start = std::time::Instant::now();
    loop {
        if chain.slot().await? > slot {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(ChainError(format!(
                "the chain did not pass slot {slot} within {timeout:?}"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize, last_extended_slot: u64, start: usize) -> Table {
        Table {
            key: Pubkey::new_unique(),
            authority: Some(Pubkey::new_unique()),
            addresses: (0..n).map(|_| Pubkey::new_unique()).collect(),
            last_extended_slot,
            last_extended_start: start,
            deactivation_slot: u64::MAX,
        }
    }

    #[test]
    fn addresses_appended_in_a_slot_are_usable_from_the_next() {
        let t = table(30, 100, 20);
        assert_eq!(t.active(99).len(), 20);
        assert_eq!(t.active(100).len(), 20, "not in the slot of the extension");
        assert_eq!(t.active(101).len(), 30);
        let mut d = t.clone();
        d.deactivation_slot = 200;
        assert!(d.active(300).is_empty(), "a deactivated table is not used");
    }

    #[test]
    fn decodes_what_the_program_writes() {
        use solana_address_lookup_table_interface::state::LookupTableMeta;
        let authority = Pubkey::new_unique();
        let addresses: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        let data = AddressLookupTable {
            meta: LookupTableMeta {
                deactivation_slot: u64::MAX,
                last_extended_slot: 7,
                last_extended_slot_start_index: 1,
                authority: Some(authority),
                _padding: 0,
            },
            addresses: std::borrow::Cow::Owned(addresses.clone()),
        }
        .serialize_for_tests()
        .unwrap();
        assert_eq!(
            &data[AUTHORITY_OFFSET..AUTHORITY_OFFSET + 32],
            authority.as_ref(),
            "the authority sits where getProgramAccounts filters on it"
        );
        let t = Table::decode(Pubkey::new_unique(), &data).unwrap();
        assert_eq!(t.addresses, addresses);
        assert_eq!(t.authority, Some(authority));
        assert_eq!((t.last_extended_slot, t.last_extended_start), (7, 1));
    }

    #[test]
    fn resolve_and_cover() {
        let t = table(3, 1, 0);
        let set = LookupTables::default();
        set.insert(t.clone());
        assert_eq!(set.resolve(&t.key, 2), Some(t.addresses[2]));
        assert_eq!(set.resolve(&t.key, 3), None);
        assert!(set.covers(&t.addresses[..2]));
        assert!(!set.covers(&[Pubkey::new_unique()]));
        assert_eq!(set.active(2)[0].addresses.len(), 3);
    }
}
