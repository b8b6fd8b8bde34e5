//! Solana's throughput limits on liquidation (issue 15 §2): how many `liquidate` calls the
//! chain can land in a time interval, for the former one-Exchange layout and for the program's
//! ledger-shard layout. The cascade study (`cascade.rs`) uses it to make liquidatable accounts wait when the
//! queue exceeds what the chain can land.
//!
//! The block producer's cost model (Agave 4.2.2, crate `solana-cost-model` 4.2.2,
//! `block_cost_limits.rs`, `cost_model.rs`, `cost_tracker.rs`): a transaction costs
//! `signatures·720 + write_locks·300 + instruction_data_bytes/4 + requested CU limit +
//! loaded-accounts-data cost` (8 CU per 32 KiB page of the requested loaded-accounts-data limit;
//! 64 MiB, i.e. 16 384 CU, when the transaction sets none); the scheduler charges the *requested*
//! CU limit until the transaction has executed. A block holds at most `MAX_BLOCK_UNITS` = 60M of
//! cost, and the transactions of a block that write one account at most
//! `MAX_WRITABLE_ACCOUNT_UNITS` = 24M. A slot is 400 ms.
//!
//! Layouts:
//! - **today** (the program before its ledger shards; the name stays for the report's
//!   continuity) — `deposit`, `withdraw`, `trade`, `liquidate` and `settle_positions` all write
//!   the one Exchange account, so every liquidation and every trade of the protocol shares one
//!   24M budget per slot;
//! - **sharded** (the program now: `keel_state::ledger`) — `trade`, `liquidate` and
//!   `settle_positions` take the Exchange read-only and write one of `LEDGER_SHARDS` ledger
//!   shards, so the shards together bound a slot at `shards · floor(24M / cost)`; a
//!   liquidation writes a series its liquidatee holds when the transfer changes what the series
//!   counts (open interest, holders, the futures settlement pool: the liquidator new to it or
//!   netting, or the slice closing the position), so those calls share that series' 24M: at
//!   most `floor(24M / cost)` a slot per series ([`Chain::series_calls_in`], applied by the
//!   cascade to each series of the queue, charging only the calls that write it:
//!   `cascade::SeriesRoom`). A partial slice to a keeper already holding that side only reads
//!   the series. Liquidations of accounts in different series share only the block and the
//!   liquidators' own accounts.
//!
//! In both layouts every `liquidate` writes the liquidator's margin account (it takes the
//! positions over) and its fee payer, so one keeper's liquidations serialise on its own account:
//! `keepers` liquidator accounts land at most `keepers · floor(24M / cost)` calls per slot.
//!
//! Competing trades are charged first (they are a given load on the same accounts); the
//! liquidations get what is left. The rest of the network's load on the block is
//! `1 − block_share` of it (1: Keel alone in the block, an upper bound).

use serde::Serialize;

/// Slot time (seconds).
pub const SLOT_SECS: f64 = 0.4;
/// Agave 4.2.2 `block_cost_limits::MAX_BLOCK_UNITS` (SIMD-0256).
pub const MAX_BLOCK_UNITS: u64 = 60_000_000;
/// Agave 4.2.2 `block_cost_limits::MAX_WRITABLE_ACCOUNT_UNITS`.
pub const MAX_WRITABLE_ACCOUNT_UNITS: u64 = 24_000_000;
/// Agave `SIGNATURE_COST` (30 CU/µs × 24 µs).
pub const SIGNATURE_COST: u64 = 720;
/// Agave `WRITE_LOCK_UNITS` (30 × 10), per writable account.
pub const WRITE_LOCK_UNITS: u64 = 300;
/// Agave `INSTRUCTION_DATA_BYTES_COST`: instruction data bytes per CU.
pub const INSTRUCTION_DATA_BYTES_PER_CU: u64 = 4;
/// The loaded-accounts-data cost of a transaction that sets no limit: the 64 MiB default in
/// 32 KiB pages at `DEFAULT_HEAP_COST` = 8 CU a page.
pub const DEFAULT_LOADED_ACCOUNTS_DATA_COST: u64 = (64 * 1024 * 1024 / (32 * 1024)) * 8;
/// Solana's maximum compute-unit limit, `Budget::default()` in crates/client/src/chain.rs: what
/// keel-keeper requested for `liquidate` before it fitted the request to a simulation
/// (`Budget::fitted`; still its limit for other transactions), and what the CLI and the
/// TypeScript SDK's `withComputeBudget` request for `trade`.
pub const KEEPER_CU_REQUEST: u64 = 1_400_000;
/// The keeper's default poll interval (app/keeper/src/config.rs): its latency from a price
/// move to a transaction in flight.
pub const KEEPER_LATENCY_SECS: f64 = 2.0;

/// Measured compute units per account shape ("<series>x<markets>"): `liquidate` and `trade`
/// budgets of tests/sbf/budgets.toml (largest measured in LiteSVM + 5%). A unit test checks
/// them against the file.
pub const MEASURED: [(&str, u64, u64); 10] = [
    ("1x1", 36_700, 30_500),
    ("8x1", 74_500, 44_300),
    ("16x1", 122_000, 60_100),
    ("28x1", 202_600, 83_700),
    ("32x1", 231_400, 90_900),
    ("8x4", 112_200, 73_000),
    ("16x4", 162_800, 90_600),
    ("20x4", 187_600, 97_200),
    ("24x4", 214_000, 104_500),
    ("32x4", 272_300, 120_900),
];

/// The shapes of the report's capacity table: the cascade population's (one series on one
/// market), and larger books up to the largest measured.
pub const CAPACITY_SHAPES: &[&str] = &["1x1", "8x1", "32x1", "32x4"];

/// Series in a shape name "<series>x<markets>".
pub fn shape_series(shape: &str) -> u64 {
    shape
        .split('x')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// One transaction as the cost model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Tx {
    /// Requested compute-unit limit (what the scheduler charges).
    pub requested_cu: u64,
    /// Signatures.
    pub signatures: u64,
    /// Writable accounts (write locks), fee payer included.
    pub write_locks: u64,
    /// Instruction data bytes (the compute-budget instruction's included).
    pub data_bytes: u64,
}

impl Tx {
    /// `liquidate` of an account holding `series` series, requesting `requested_cu`: one
    /// signature (the keeper pays and signs as the liquidator's authority); writes the fee payer,
    /// the Exchange (today) or a ledger shard (sharded), the liquidatee, the liquidator's account
    /// and every series the liquidatee holds; 10 bytes of instruction data + 5 of
    /// `set_compute_unit_limit`.
    pub fn liquidate(requested_cu: u64, series: u64) -> Tx {
        Tx {
            requested_cu,
            signatures: 1,
            write_locks: 4 + series,
            data_bytes: 15,
        }
    }

    /// `trade`: one signature; writes the fee payer, the Exchange, the series and both margin
    /// accounts; about 40 bytes of instruction data (approximate: it moves the cost by < 10 CU).
    pub fn trade(requested_cu: u64) -> Tx {
        Tx {
            requested_cu,
            signatures: 1,
            write_locks: 5,
            data_bytes: 40,
        }
    }

    /// Its cost in the block (Agave's `UsageCostDetails::sum` with no loaded-accounts-data limit
    /// set).
    pub fn cost(&self) -> u64 {
        self.signatures * SIGNATURE_COST
            + self.write_locks * WRITE_LOCK_UNITS
            + self.data_bytes / INSTRUCTION_DATA_BYTES_PER_CU
            + self.requested_cu
            + DEFAULT_LOADED_ACCOUNTS_DATA_COST
    }
}

/// Which accounts liquidations and trades share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// Today's program: every liquidation and trade writes the Exchange account.
    Today,
    /// The program's ledger shards: liquidations share a shard (of four), the series they
    /// touch, and the block.
    Sharded,
    /// No chain limit at all (the cascade study as it was).
    Unconstrained,
}

impl Layout {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Today => "today (one Exchange account)",
            Layout::Sharded => "ledger shards (the program)",
            Layout::Unconstrained => "unconstrained",
        }
    }
}

/// The chain as liquidations see it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Chain {
    /// Slot time (seconds).
    pub slot_secs: f64,
    /// Block cost limit.
    pub block_units: u64,
    /// Cost limit of the transactions writing one account, per block.
    pub account_units: u64,
    /// Share of the block Keel's transactions may use (1: all of it).
    pub block_share: f64,
    /// One liquidation call.
    pub liquidate: Tx,
    /// One competing trade.
    pub trade: Tx,
    /// Competing trades per slot (landed before liquidations).
    pub trades_per_slot: u64,
    /// Liquidator accounts (keepers), each liquidation writing one of them.
    pub keepers: u64,
    /// Ledger shards (the sharded layout: each liquidation writes one of them).
    pub ledger_shards: u64,
    /// From the keeper reading a state to its first transaction landing (seconds).
    pub keeper_latency_secs: f64,
    /// Layout.
    pub layout: Layout,
}

impl Chain {
    /// Agave 4.2.2 limits, a 1.4M request (the keeper's former default) for `liquidate` on a one-series account
    /// and for `trade`, no competing trades, 4 keepers, Keel alone in the block.
    pub fn new(layout: Layout) -> Chain {
        Chain {
            slot_secs: SLOT_SECS,
            block_units: MAX_BLOCK_UNITS,
            account_units: MAX_WRITABLE_ACCOUNT_UNITS,
            block_share: 1.0,
            liquidate: Tx::liquidate(KEEPER_CU_REQUEST, 1),
            trade: Tx::trade(KEEPER_CU_REQUEST),
            trades_per_slot: 0,
            keepers: 4,
            ledger_shards: keel_state::LEDGER_SHARDS as u64,
            keeper_latency_secs: KEEPER_LATENCY_SECS,
            layout,
        }
    }

    /// Liquidation calls one slot can hold (`u64::MAX` unconstrained).
    pub fn liquidations_per_slot(&self) -> u64 {
        if self.layout == Layout::Unconstrained {
            return u64::MAX;
        }
        let l = self.liquidate.cost().max(1);
        let trades = self.trades_per_slot.saturating_mul(self.trade.cost());
        let block = ((self.block_units as f64 * self.block_share.clamp(0.0, 1.0)).floor() as u64)
            .saturating_sub(trades)
            / l;
        // Each keeper's liquidations write its own margin account (and fee payer).
        let keepers = self.keepers.saturating_mul(self.account_units / l);
        let n = block.min(keepers);
        match self.layout {
            // Liquidations and trades all write the Exchange.
            Layout::Today => n.min(self.account_units.saturating_sub(trades) / l),
            // Each liquidation writes one ledger shard (the trades, in their series' shards,
            // are not charged to them: an upper bound on the shards' room).
            Layout::Sharded => n.min(self.ledger_shards.saturating_mul(self.account_units / l)),
            Layout::Unconstrained => n,
        }
    }

    /// Liquidation calls per second the queue is sure to get, whatever series it holds: the
    /// per-second capacity, and in the sharded layout at most one series' (every call could be
    /// in the same series). Its critical population is therefore a lower bound there.
    pub fn guaranteed_per_second(&self) -> f64 {
        match self.layout {
            Layout::Sharded => self
                .per_second()
                .min((self.account_units / self.liquidate.cost().max(1)) as f64 / self.slot_secs),
            _ => self.per_second(),
        }
    }

    /// Liquidation calls writing one series that can land in an interval of `secs` seconds
    /// (sharded layout: that series' 24M a slot; infinite otherwise, where the Exchange or
    /// nothing binds first).
    pub fn series_calls_in(&self, secs: f64) -> f64 {
        match self.layout {
            Layout::Sharded => {
                (self.account_units / self.liquidate.cost().max(1)) as f64
                    * (secs - self.keeper_latency_secs).max(0.0)
                    / self.slot_secs
            }
            _ => f64::INFINITY,
        }
    }

    /// Liquidation calls per second.
    pub fn per_second(&self) -> f64 {
        match self.layout {
            Layout::Unconstrained => f64::INFINITY,
            _ => self.liquidations_per_slot() as f64 / self.slot_secs,
        }
    }

    /// Liquidation calls that can land in an interval of `secs` seconds in which the keepers
    /// read the state at the start: none before the keeper latency, then the slots' capacity
    /// (fractional: the cascade carries the remainder).
    pub fn calls_in(&self, secs: f64) -> f64 {
        match self.layout {
            Layout::Unconstrained => f64::INFINITY,
            _ => {
                self.liquidations_per_slot() as f64 * (secs - self.keeper_latency_secs).max(0.0)
                    / self.slot_secs
            }
        }
    }
}

/// The capacity of one configuration, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct Capacity {
    /// What the request is ("1.4M", the keeper's former default, or a measured shape).
    pub request: String,
    /// Requested CU of `liquidate`.
    pub liquidate_cu: u64,
    /// Its cost in the block.
    pub liquidate_cost: u64,
    /// Competing trades per slot.
    pub trades_per_slot: u64,
    /// Keepers.
    pub keepers: u64,
    /// Liquidation calls per slot, today's layout.
    pub today_per_slot: u64,
    /// Per second, today's layout.
    pub today_per_sec: f64,
    /// Per slot, sharded.
    pub sharded_per_slot: u64,
    /// Per second, sharded.
    pub sharded_per_sec: f64,
}

/// Liquidation capacity at the keeper's request and at the measured budgets of `shapes`, with
/// each of `trade_loads` competing trades per slot (each requesting the same as the keeper's, or
/// the shape's measured `trade`) and each of `keepers` liquidator accounts.
pub fn capacities(
    base: &Chain,
    shapes: &[&str],
    trade_loads: &[u64],
    keepers: &[u64],
) -> Vec<Capacity> {
    let mut out = Vec::new();
    let mut requests: Vec<(String, u64, u64, u64)> = vec![(
        "the study's request (--throughput-cu)".to_string(),
        base.liquidate.requested_cu,
        base.trade.requested_cu,
        base.liquidate.write_locks.saturating_sub(4),
    )];
    for s in shapes {
        if let Some((_, l, t)) = MEASURED.iter().find(|(n, _, _)| n == s) {
            requests.push((format!("measured {s}"), *l, *t, shape_series(s)));
        }
    }
    for (name, l, t, series) in requests {
        for &trades in trade_loads {
            for &k in keepers {
                let c = |layout| Chain {
                    liquidate: Tx::liquidate(l, series),
                    trade: Tx::trade(t),
                    trades_per_slot: trades,
                    keepers: k,
                    layout,
                    ..*base
                };
                let (today, sharded) = (c(Layout::Today), c(Layout::Sharded));
                out.push(Capacity {
                    request: name.clone(),
                    liquidate_cu: l,
                    liquidate_cost: today.liquidate.cost(),
                    trades_per_slot: trades,
                    keepers: k,
                    today_per_slot: today.liquidations_per_slot(),
                    today_per_sec: today.per_second(),
                    sharded_per_slot: sharded.liquidations_per_slot(),
                    sharded_per_sec: sharded.per_second(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cost of the keeper's `liquidate` of a one-series account: 1.4M requested + 720 (one
    /// signature) + 5 write locks · 300 + 15/4 bytes + 16 384 (64 MiB of loaded data).
    #[test]
    fn a_liquidation_costs_its_request_plus_the_fixed_charges() {
        assert_eq!(DEFAULT_LOADED_ACCOUNTS_DATA_COST, 16_384);
        assert_eq!(
            Tx::liquidate(1_400_000, 1).cost(),
            1_400_000 + 720 + 1_500 + 3 + 16_384
        );
        assert_eq!(Tx::liquidate(40_400, 1).cost(), 59_007);
    }

    /// Today's layout at request R admits exactly floor(24M / cost) Exchange-writing
    /// transactions per slot: 16 at the keeper's 1.4M (not 17: the fixed charges push the cost
    /// to 1 418 607), 433 at the measured one-series budget.
    #[test]
    fn todays_layout_admits_floor_of_the_account_limit_over_the_cost() {
        let mut c = Chain::new(Layout::Today);
        c.keepers = 1_000;
        for r in [1_400_000u64, 1_000_000, 293_200, 78_400, 58_400, 40_400, 1] {
            c.liquidate = Tx::liquidate(r, 1);
            let cost = c.liquidate.cost();
            assert_eq!(c.liquidations_per_slot(), 24_000_000 / cost, "request {r}");
            // One more would exceed the account limit, that many do not.
            assert!(c.liquidations_per_slot() * cost <= 24_000_000);
            assert!((c.liquidations_per_slot() + 1) * cost > 24_000_000);
        }
        c.liquidate = Tx::liquidate(1_400_000, 1);
        assert_eq!(c.liquidations_per_slot(), 16);
        assert_eq!(c.per_second(), 40.0);
        c.liquidate = Tx::liquidate(36_700, 1);
        assert_eq!(c.liquidate.cost(), 55_307);
        assert_eq!(c.liquidations_per_slot(), 433);
        assert_eq!(c.per_second(), 1_082.5);
        // The keeper's fitted request for that budget (keel-client's Budget::fitted: 36,700 +
        // 20% + 10,000), docs/liquidation.md §6: cost 72,647, 330 a slot, 825 a second.
        c.liquidate = Tx::liquidate(54_040, 1);
        assert_eq!(c.liquidate.cost(), 72_647);
        assert_eq!(c.liquidations_per_slot(), 330);
        assert_eq!(c.per_second(), 825.0);
        // The budgets before the third round of compute cuts (40,400 and its fitted 58,480).
        c.liquidate = Tx::liquidate(40_400, 1);
        assert_eq!(c.liquidations_per_slot(), 406);
        assert_eq!(c.per_second(), 1_015.0);
        c.liquidate = Tx::liquidate(58_480, 1);
        assert_eq!(c.liquidate.cost(), 77_087);
        assert_eq!(c.liquidations_per_slot(), 311);
        assert_eq!(c.per_second(), 777.5);
        // The budgets before the second round of compute cuts (58,400 and its fitted 80,080).
        c.liquidate = Tx::liquidate(58_400, 1);
        assert_eq!(c.liquidations_per_slot(), 311);
        c.liquidate = Tx::liquidate(80_080, 1);
        assert_eq!(c.liquidate.cost(), 98_687);
        assert_eq!(c.liquidations_per_slot(), 243);
        assert_eq!(c.per_second(), 607.5);
        // The budgets before the engine's compute cuts (78,400 and its fitted 104,080), which
        // the throughput study's populations were run at (docs/liquidation.md §6).
        c.liquidate = Tx::liquidate(78_400, 1);
        assert_eq!(c.liquidate.cost(), 97_007);
        assert_eq!(c.liquidations_per_slot(), 247);
        c.liquidate = Tx::liquidate(104_080, 1);
        assert_eq!(c.liquidate.cost(), 122_687);
        assert_eq!(c.liquidations_per_slot(), 195);
        assert_eq!(c.per_second(), 487.5);
        // The limits are Agave 4.2.2's.
        assert_eq!(MAX_WRITABLE_ACCOUNT_UNITS, 24_000_000);
        assert_eq!(MAX_BLOCK_UNITS, 60_000_000);
        assert_eq!(SLOT_SECS, 0.4);
    }

    /// Competing trades take their cost out of the Exchange's 24M first; enough of them leave
    /// no room for a liquidation.
    #[test]
    fn competing_trades_shrink_todays_capacity_and_not_the_sharded_one_until_the_block() {
        let mut c = Chain::new(Layout::Today);
        c.trades_per_slot = 8;
        let trades = 8 * Tx::trade(1_400_000).cost();
        assert_eq!(
            c.liquidations_per_slot(),
            (24_000_000 - trades) / c.liquidate.cost()
        );
        assert_eq!(c.liquidations_per_slot(), 8);
        c.trades_per_slot = 17;
        assert_eq!(c.liquidations_per_slot(), 0);
        // Sharded: the trades only take block space: (60M − 17 trades) / cost.
        c.layout = Layout::Sharded;
        c.keepers = 100;
        assert_eq!(
            c.liquidations_per_slot(),
            (60_000_000 - 17 * Tx::trade(1_400_000).cost()) / c.liquidate.cost()
        );
    }

    /// Sharded: the ledger shards bound the slot at shards · floor(24M / cost), one series at
    /// floor(24M / cost) — today's whole-protocol bound, per series.
    #[test]
    fn the_sharded_layout_is_bound_by_its_shards_and_per_series() {
        let mut c = Chain::new(Layout::Sharded);
        c.liquidate = Tx::liquidate(104_080, 1);
        c.keepers = 1_000;
        // Block: 60M / 122,687 = 489 < 4 shards · 195 = 780.
        assert_eq!(c.liquidations_per_slot(), 489);
        c.block_units = u64::MAX / 2;
        assert_eq!(c.liquidations_per_slot(), 4 * 195);
        c.ledger_shards = 1;
        assert_eq!(
            c.liquidations_per_slot(),
            Chain {
                layout: Layout::Today,
                ..c
            }
            .liquidations_per_slot()
        );
        // One series: 195 a slot whatever the shards, after the keeper latency.
        c.ledger_shards = 4;
        assert_eq!(c.series_calls_in(2.0), 0.0);
        assert!((c.series_calls_in(2.4) - 195.0).abs() < 1e-9);
        assert!(Chain::new(Layout::Today)
            .series_calls_in(10.0)
            .is_infinite());
    }

    /// Sharded: the block limit floor(60M / cost), or the keepers' own accounts
    /// keepers · floor(24M / cost), whichever is smaller; one keeper is no better than today.
    #[test]
    fn the_sharded_layout_is_bound_by_the_block_and_the_keepers() {
        let mut c = Chain::new(Layout::Sharded);
        let cost = c.liquidate.cost();
        c.keepers = 1;
        assert_eq!(c.liquidations_per_slot(), 24_000_000 / cost);
        assert_eq!(
            c.liquidations_per_slot(),
            Chain {
                layout: Layout::Today,
                ..c
            }
            .liquidations_per_slot()
        );
        c.keepers = 2;
        assert_eq!(c.liquidations_per_slot(), 32);
        c.keepers = 4;
        assert_eq!(c.liquidations_per_slot(), 60_000_000 / cost);
        assert_eq!(c.liquidations_per_slot(), 42);
        c.block_share = 0.5;
        assert_eq!(c.liquidations_per_slot(), 30_000_000 / cost);
        assert_eq!(
            Chain::new(Layout::Unconstrained).liquidations_per_slot(),
            u64::MAX
        );
    }

    /// Calls in an interval: nothing within the keeper latency, then per-slot capacity.
    #[test]
    fn calls_in_an_interval_start_after_the_keeper_latency() {
        let c = Chain::new(Layout::Today);
        assert_eq!(c.calls_in(1.0), 0.0);
        assert_eq!(c.calls_in(2.0), 0.0);
        assert!((c.calls_in(902.0) - 16.0 * 900.0 / 0.4).abs() < 1e-6);
        assert!(Chain::new(Layout::Unconstrained)
            .calls_in(1.0)
            .is_infinite());
    }

    /// The measured figures are tests/sbf/budgets.toml's.
    #[test]
    fn the_measured_budgets_are_the_budget_files() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sbf/budgets.toml");
        let text = std::fs::read_to_string(path).expect("tests/sbf/budgets.toml");
        let value = |table: &str, key: &str| -> u64 {
            let start = text
                .find(&format!("[\"{table}\"]"))
                .unwrap_or_else(|| panic!("table {table}"));
            text[start..]
                .lines()
                .skip(1)
                .take_while(|l| !l.starts_with('['))
                .find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().parse().expect("number"))
                })
                .unwrap_or_else(|| panic!("{table}.{key}"))
        };
        for (shape, l, t) in MEASURED {
            assert_eq!(value(shape, "liquidate"), l, "{shape} liquidate");
            assert_eq!(value(shape, "trade"), t, "{shape} trade");
        }
    }
}
