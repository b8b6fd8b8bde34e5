//! Stateful instruction-sequence fuzzing of Keel (docs/security.md §7), written once against
//! [`Backend`] so the same seeded sequences run on the bank (the program natively; `keel-fuzz`
//! for long runs and libFuzzer) and on `keel.so` in LiteSVM (tests/sbf). In the style of
//! openbook-v2's `fuzz/`: an input is a byte string decoded into [`Action`]s
//! ([`input::next_action`]), executed by four actors — two honest traders (Alice, Bob), a
//! keeper (also BTC's vol authority), and an attacker (Mallory) who owns two accounts and is
//! delegate of a third (Carol's) — plus the admin, over two markets (BTC, ETH) with a
//! correlation: trades at free prices and sizes, liquidations, deposits and withdrawals (also
//! by the delegate), delegate changes, accounts closed and reopened, oracle pumps, crashes,
//! stale, older and future-dated updates, clock warps, cranks, implied vol, admin parameter
//! changes inside and outside their bounds, pauses, fee withdrawals, insurance funding and
//! settlement (by the admin or permissionless, from the update covering the expiry or not).
//!
//! Every instruction is checked against what the spec says must fail (a fill outside the band,
//! one key on both sides, a signer that does not control the account, a liquidation by
//! someone who controls the liquidatee, an oracle update older than the market's newest or
//! dated beyond the tolerance, a paused instruction, a parameter outside its bounds, a
//! non-admin's admin call, fees beyond those collected, closing a non-empty account, …): such
//! an instruction succeeding fails the run. After every step ([`Harness::step`]):
//!
//! 1. the vault holds Σ collateral + insurance + fees + settlement pools − pending social loss,
//!    recomputed from every account (`World::assert_conservation`);
//! 2. collateral falls below zero only by liquidation or settlement, and a liquidatee left
//!    with negative collateral is insolvent (equity below zero: on its way to bankruptcy) or,
//!    without positions, bankrupt — whose record accounts for the shortfall to the unit
//!    (insurance paid + socialised = shortfall, the account at zero, the exchange's totals
//!    moved by exactly those amounts);
//! 3. a deposit credits exactly its amount, less at most the pending social-loss charge;
//! 4. the attacker's value (her wallet plus the equity at the oracle of her accounts the step
//!    touches) grows in a trade by at most the band's width per contract, in a liquidation by
//!    at most the bonus and any written-off shortfall, and not at all by a deposit,
//!    withdrawal or leaving. When her accounts cannot be valued (a stale oracle or vol state,
//!    an update out of order) the step, if it needs their margin, must have been refused.
//!
//! A violated invariant panics (the fuzzer's crash).

pub mod harness;
pub mod input;

pub use harness::{run, Harness, Stats, ACCOUNTS};
pub use input::{decode, encode, next_action, seeded_bytes, Action, OracleSel, PriceSel, KINDS};

use crate::backend::Backend;

/// Decodes `data` and runs up to `max_steps` of it on a fresh exchange on `b`.
pub async fn run_bytes<B: Backend>(b: B, data: &[u8], max_steps: usize) -> Harness<B> {
    run(b, decode(data), max_steps).await
}

/// The deterministic slice both backends run and compare (tests/sbf against `keel.so`,
/// tests/bank/shared_scenarios.rs on the bank): these seeds, [`SLICE_STEPS`] steps each.
pub const SLICE_SEEDS: [u64; 2] = [11, 12];
/// Steps per slice sequence.
pub const SLICE_STEPS: usize = 150;

/// Slice sequence `seed` on `b`.
pub async fn slice<B: Backend>(b: B, seed: u64) -> Harness<B> {
    run_bytes(b, &seeded_bytes(seed, SLICE_STEPS * 24), SLICE_STEPS).await
}
