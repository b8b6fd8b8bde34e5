// One builder per Keel instruction, as keel-client's `ix` builds them: the accounts in the IDL's
// order with its signer/writable flags, the arguments encoded by Anchor's instruction coder, and
// the remaining accounts (markets and oracles, correlations, series) a margin check needs.
// Builders are synchronous and need no RPC; `withComputeBudget` adds the compute-unit request
// that margin-checking instructions need (they use more than the default 200,000 CU), and
// `fittedComputeBudget` fits that request to a simulation.

import { Buffer } from "buffer";
import BN from "bn.js";
import {
  AccountMeta,
  ComputeBudgetProgram,
  Connection,
  PublicKey,
  SystemProgram,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import type { IdlTypes } from "@anchor-lang/core";
import type { Keel } from "./idl/keel";
import { PROGRAM_ID, camelIdl, coder } from "./program";
import {
  correlationPda,
  LEDGER_SHARDS,
  exchangePda,
  ledgerPdas,
  marginAccountPda,
  marketPda,
  programDataPda,
  seriesPda,
  vaultPda,
} from "./pda";
import type { Exchange } from "./accounts";

/** An integer argument: BN, bigint or a safe integer. */
export type Int = BN | bigint | number;
const bn = (v: Int): BN => (BN.isBN(v) ? (v as BN) : new BN(v.toString()));

/** What every instruction touching tokens needs to know about the exchange. */
export interface ExchangeKeys {
  exchange: PublicKey;
  vault: PublicKey;
  quoteMint: PublicKey;
  tokenProgram: PublicKey;
  /** The ledger shards (`ledgerPdas`), index 0 first. */
  ledgers: PublicKey[];
}

/** The keys of the (single) exchange of `quoteMint` under `tokenProgram`. */
export function newExchangeKeys(quoteMint: PublicKey, tokenProgram: PublicKey): ExchangeKeys {
  const exchange = exchangePda();
  return { exchange, vault: vaultPda(exchange), quoteMint, tokenProgram, ledgers: ledgerPdas(exchange) };
}

/** The keys of an exchange read from its account. */
export function exchangeKeys(ex: Exchange): ExchangeKeys {
  const exchange = exchangePda();
  return {
    exchange,
    vault: ex.quoteVault,
    quoteMint: ex.quoteMint,
    tokenProgram: ex.quoteTokenProgram,
    ledgers: ledgerPdas(exchange),
  };
}

/**
 * The ledger shard instructions about `account` book their money movements in
 * (keel_state::ledger::shard_for): the first byte of its address modulo the shard count.
 */
export function ledgerFor(ex: ExchangeKeys, account: PublicKey): PublicKey {
  return ex.ledgers[account.toBytes()[0] % LEDGER_SHARDS];
}

/** Every ledger shard, read-only, index 0 first: the head of the remaining accounts of the instructions that move tokens. */
export function ledgerMetas(ex: ExchangeKeys): AccountMeta[] {
  return ex.ledgers.map((l) => ({ pubkey: l, isSigner: false, isWritable: false }));
}

/**
 * Instruction `name` with `accounts` (by IDL name; fixed addresses such as the system program
 * are filled in), `args` and `remaining` accounts appended.
 */
export function buildInstruction(
  name: string,
  accounts: Record<string, PublicKey>,
  args: Record<string, unknown> = {},
  remaining: AccountMeta[] = [],
): TransactionInstruction {
  const def = camelIdl.instructions.find((i) => i.name === name);
  if (!def) throw new Error(`no instruction ${name} in the IDL`);
  const keys: AccountMeta[] = def.accounts.map((a) => {
    if ("accounts" in a) throw new Error(`${name}: composite accounts are not used by Keel`);
    // An optional account left out is passed as the program's id (Anchor's `None`).
    const pubkey = a.address
      ? new PublicKey(a.address)
      : (accounts[a.name] ?? ("optional" in a && a.optional ? PROGRAM_ID : undefined));
    if (!pubkey) throw new Error(`${name}: account ${a.name} missing`);
    if (pubkey.equals(PROGRAM_ID)) return { pubkey, isSigner: false, isWritable: false };
    return { pubkey, isSigner: !!a.signer, isWritable: !!a.writable };
  });
  const data = coder.instruction.encode(name, args);
  return new TransactionInstruction({ programId: PROGRAM_ID, keys: [...keys, ...remaining], data });
}

/**
 * Remaining accounts of a margin check: (market, oracle) pairs, the risk-array pages of the
 * option positions, then correlations. Markets are writable (each records the newest oracle
 * update it accepted); oracles, pages and correlations are read-only.
 */
export function marginMetas(
  markets: [PublicKey, PublicKey][],
  pages: PublicKey[] = [],
  correlations: PublicKey[] = [],
): AccountMeta[] {
  const v: AccountMeta[] = [];
  for (const [m, o] of markets) {
    v.push({ pubkey: m, isSigner: false, isWritable: true });
    v.push({ pubkey: o, isSigner: false, isWritable: false });
  }
  for (const p of pages) v.push({ pubkey: p, isSigner: false, isWritable: false });
  for (const c of correlations) v.push({ pubkey: c, isSigner: false, isWritable: false });
  return v;
}

/** Writable series accounts (`liquidate` and `settle_positions` take those of the positions). */
export function seriesMetas(series: PublicKey[]): AccountMeta[] {
  return series.map((s) => ({ pubkey: s, isSigner: false, isWritable: true }));
}

/** Solana's largest compute-unit limit per transaction (keel-client's `Budget::MAX_CU_LIMIT`). */
export const MAX_CU_LIMIT = 1_400_000;

/** `ixs` preceded by a compute-unit limit request (at most 1,400,000 per transaction). */
export function withComputeBudget(ixs: TransactionInstruction[], units = MAX_CU_LIMIT): TransactionInstruction[] {
  return [ComputeBudgetProgram.setComputeUnitLimit({ units }), ...ixs];
}

/**
 * The limit to request for a transaction whose simulation consumed `consumed` units: that + 20% +
 * 10,000, at most 1,400,000 (keel-client's `Budget::fitted`). The block scheduler charges the
 * *requested* limit against a block's and each written account's caps until the transaction has
 * run, so asking for 1.4M makes every transaction as expensive as the largest possible one
 * (docs/liquidation.md §6).
 */
export function fittedUnits(consumed: number): number {
  return Math.min(consumed + Math.ceil((consumed * 200) / 1000) + 10_000, MAX_CU_LIMIT);
}

/**
 * `ixs` with a compute-unit limit fitted to a simulation (`fittedUnits`): simulates them from
 * `payer` at the full limit without signatures (signatures are not verified, the blockhash is
 * replaced), then asks for what they used plus headroom. A simulation that fails or reports no
 * consumption keeps the full limit; a state that moved before the send may still need more — a
 * send that runs out of compute (`exceeded CUs meter`) should be retried at `withComputeBudget`.
 */
export async function fittedComputeBudget(
  connection: Connection,
  payer: PublicKey,
  ixs: TransactionInstruction[],
): Promise<TransactionInstruction[]> {
  const full = withComputeBudget(ixs);
  const { blockhash } = await connection.getLatestBlockhash();
  const message = new TransactionMessage({ payerKey: payer, recentBlockhash: blockhash, instructions: full })
    .compileToV0Message();
  const sim = await connection.simulateTransaction(new VersionedTransaction(message), {
    sigVerify: false,
    replaceRecentBlockhash: true,
  });
  const used = sim.value.unitsConsumed;
  if (sim.value.err || used === undefined) return full;
  return withComputeBudget(ixs, fittedUnits(used));
}

// ---- wallet ----

export function openAccount(ex: ExchangeKeys, owner: PublicKey, accountId: number): TransactionInstruction {
  return buildInstruction(
    "openAccount",
    { owner, exchange: ex.exchange, marginAccount: marginAccountPda(ex.exchange, owner, accountId) },
    { args: { accountId } },
  );
}

export function setDelegate(owner: PublicKey, account: PublicKey, delegate: PublicKey): TransactionInstruction {
  return buildInstruction("setDelegate", { owner, marginAccount: account }, { args: { delegate } });
}

export function deposit(
  ex: ExchangeKeys,
  depositor: PublicKey,
  account: PublicKey,
  source: PublicKey,
  amountNative: Int,
): TransactionInstruction {
  return buildInstruction(
    "deposit",
    { depositor, ...tokenAccounts(ex), marginAccount: account, source },
    { args: { amountNative: bn(amountNative) } },
    ledgerMetas(ex),
  );
}

export function withdraw(
  ex: ExchangeKeys,
  owner: PublicKey,
  account: PublicKey,
  destination: PublicKey,
  amountNative: Int,
  margin: AccountMeta[],
): TransactionInstruction {
  return buildInstruction(
    "withdraw",
    { owner, ...tokenAccounts(ex), marginAccount: account, destination },
    { args: { amountNative: bn(amountNative) } },
    [...ledgerMetas(ex), ...margin],
  );
}

/** A trade's terms: the taker buys `qtyContracts` (sells if negative) at `priceNative` each. */
export interface TradeTerms {
  qtyContracts: Int;
  priceNative: Int;
}

/** A bilateral trade: maker and taker both sign the transaction. */
export function trade(
  ex: ExchangeKeys,
  series: PublicKey,
  takerAccount: PublicKey,
  taker: PublicKey,
  makerAccount: PublicKey,
  maker: PublicKey,
  terms: TradeTerms,
  margin: AccountMeta[],
): TransactionInstruction {
  return buildInstruction(
    "trade",
    { exchange: ex.exchange, ledger: ledgerFor(ex, takerAccount), series, takerAccount, taker, makerAccount, maker },
    { args: { qtyContracts: bn(terms.qtyContracts), priceNative: bn(terms.priceNative) } },
    margin,
  );
}

export function closeAccount(owner: PublicKey, account: PublicKey): TransactionInstruction {
  return buildInstruction("closeAccount", { owner, marginAccount: account });
}

// ---- permissionless ----

export function fundInsurance(ex: ExchangeKeys, funder: PublicKey, source: PublicKey, amountNative: Int): TransactionInstruction {
  return buildInstruction(
    "fundInsurance",
    { funder, ...tokenAccounts(ex), source },
    { args: { amountNative: bn(amountNative) } },
    ledgerMetas(ex),
  );
}

/** The volatility crank. */
/**
 * The vol crank. `series`: series of this market whose option fills to fold into its implied
 * vol first (a market without a vol authority; keel-client's `update_volatility_with_fills`,
 * `Snapshot.fillSeries` picks them), passed read-only.
 */
export function updateVolatility(
  ex: ExchangeKeys,
  market: PublicKey,
  oracle: PublicKey,
  series: PublicKey[] = [],
): TransactionInstruction {
  const remaining = series.map((pubkey) => ({ pubkey, isSigner: false, isWritable: false }));
  return buildInstruction("updateVolatility", { exchange: ex.exchange, market, oracle }, {}, remaining);
}

/** The correlation crank: `[market, oracle]` of each side (a's index < b's). */
export function updateCorrelation(
  ex: ExchangeKeys,
  a: [PublicKey, PublicKey],
  b: [PublicKey, PublicKey],
): TransactionInstruction {
  return buildInstruction("updateCorrelation", {
    exchange: ex.exchange,
    correlation: correlationPda(a[0], b[0]),
    marketA: a[0],
    oracleA: a[1],
    marketB: b[0],
    oracleB: b[1],
  });
}

/** `settle_series`: an option passes the risk-array page holding its slot (freed at settlement). */
export function settleSeries(
  ex: ExchangeKeys,
  caller: PublicKey,
  market: PublicKey,
  series: PublicKey,
  oracle: PublicKey,
  arrayPage: PublicKey | null = null,
): TransactionInstruction {
  const accounts: Record<string, PublicKey> = { caller, exchange: ex.exchange, market, series, oracle };
  if (arrayPage) accounts.arrayPage = arrayPage;
  return buildInstruction("settleSeries", accounts);
}

/**
 * `crank_arrays` (permissionless): re-anchors the market's risk arrays when due, then prices
 * `count` slots of `page` from `firstSlot` (no page: a re-anchor alone).
 */
export function crankArrays(
  ex: ExchangeKeys,
  market: PublicKey,
  oracle: PublicKey,
  page: PublicKey | null = null,
  firstSlot = 0,
  count = 16,
): TransactionInstruction {
  const accounts: Record<string, PublicKey> = { exchange: ex.exchange, market, oracle };
  if (page) accounts.page = page;
  return buildInstruction("crankArrays", accounts, { args: { firstSlot, count } });
}

export function settlePositions(ex: ExchangeKeys, account: PublicKey, series: PublicKey[]): TransactionInstruction {
  return buildInstruction(
    "settlePositions",
    { exchange: ex.exchange, ledger: ledgerFor(ex, account), marginAccount: account },
    {},
    seriesMetas(series),
  );
}

/** `liquidate`: `remaining` = markets/oracles of both accounts, correlations, then the liquidatee's series. */
export function liquidate(
  ex: ExchangeKeys,
  liquidatee: PublicKey,
  liquidatorAccount: PublicKey,
  liquidator: PublicKey,
  maxFractionBps: number,
  remaining: AccountMeta[],
): TransactionInstruction {
  return buildInstruction(
    "liquidate",
    { exchange: ex.exchange, ledger: ledgerFor(ex, liquidatee), liquidatee, liquidatorAccount, liquidator },
    { args: { maxFractionBps } },
    remaining,
  );
}

/** `resolve_bankruptcy` (permissionless): settles the negative balance of an account `liquidate` left without positions. */
export function resolveBankruptcy(ex: ExchangeKeys, account: PublicKey): TransactionInstruction {
  return buildInstruction("resolveBankruptcy", { exchange: ex.exchange, marginAccount: account }, {}, ledgerMetas(ex));
}

/** Emits the account's margin breakdown as a `MarginReport` event: simulate it. */
export function marginReport(ex: ExchangeKeys, account: PublicKey, margin: AccountMeta[]): TransactionInstruction {
  return buildInstruction("marginReport", { exchange: ex.exchange, marginAccount: account }, {}, margin);
}

// ---- admin and vol authority ----

export type InitExchangeArgs = IdlTypes<Keel>["initExchangeArgs"];
export type CreateMarketArgs = IdlTypes<Keel>["createMarketArgs"];
export type ListSeriesArgs = IdlTypes<Keel>["listSeriesArgs"];
export type CreateCorrelationArgs = IdlTypes<Keel>["createCorrelationArgs"];
export type UpdateMarketParamsArgs = IdlTypes<Keel>["updateMarketParamsArgs"];

export function initExchange(ex: ExchangeKeys, admin: PublicKey, args: InitExchangeArgs): TransactionInstruction {
  return buildInstruction(
    "initExchange",
    { admin, programData: programDataPda(), ...tokenAccounts(ex) },
    { args },
    ex.ledgers.map((l) => ({ pubkey: l, isSigner: false, isWritable: true })),
  );
}

export function setPause(ex: ExchangeKeys, admin: PublicKey, flags: number): TransactionInstruction {
  return buildInstruction("setPause", { admin, exchange: ex.exchange }, { args: { flags } });
}

export function createMarket(
  ex: ExchangeKeys,
  admin: PublicKey,
  marketIndex: number,
  oracle: PublicKey,
  args: CreateMarketArgs,
): TransactionInstruction {
  return buildInstruction(
    "createMarket",
    { admin, exchange: ex.exchange, market: marketPda(ex.exchange, marketIndex), oracle },
    { args },
  );
}

export function updateMarketParams(
  ex: ExchangeKeys,
  admin: PublicKey,
  market: PublicKey,
  args: UpdateMarketParamsArgs,
): TransactionInstruction {
  return buildInstruction("updateMarketParams", { admin, exchange: ex.exchange, market }, { args });
}

export function publishImpliedVol(market: PublicKey, authority: PublicKey, impliedVolBps: number): TransactionInstruction {
  return buildInstruction("publishImpliedVol", { volAuthority: authority, market }, { args: { impliedVolBps } });
}

/** `list_series`: an option takes a slot of `arrayPage` (a page of the market with room). */
export function listSeries(
  ex: ExchangeKeys,
  admin: PublicKey,
  market: PublicKey,
  seriesIndex: number,
  args: ListSeriesArgs,
  arrayPage: PublicKey | null = null,
): TransactionInstruction {
  const accounts: Record<string, PublicKey> = { admin, exchange: ex.exchange, market, series: seriesPda(market, seriesIndex) };
  if (arrayPage) accounts.arrayPage = arrayPage;
  return buildInstruction("listSeries", accounts, { args });
}

/** `create_array_page` (admin): initialises `page` (allocated by the client at its full size, owned by Keel) as the market's next page. */
export function createArrayPage(ex: ExchangeKeys, admin: PublicKey, market: PublicKey, page: PublicKey): TransactionInstruction {
  return buildInstruction("createArrayPage", { admin, exchange: ex.exchange, market, page });
}

export function createCorrelation(
  ex: ExchangeKeys,
  admin: PublicKey,
  marketA: PublicKey,
  marketB: PublicKey,
  args: CreateCorrelationArgs,
): TransactionInstruction {
  return buildInstruction(
    "createCorrelation",
    { admin, exchange: ex.exchange, marketA, marketB, correlation: correlationPda(marketA, marketB) },
    { args },
  );
}

export function withdrawFees(
  ex: ExchangeKeys,
  admin: PublicKey,
  destination: PublicKey,
  amountNative: Int,
): TransactionInstruction {
  return buildInstruction(
    "withdrawFees",
    { admin, ...tokenAccounts(ex), destination },
    { args: { amountNative: bn(amountNative) } },
    ledgerMetas(ex),
  );
}

export function updateLiquidationParams(ex: ExchangeKeys, admin: PublicKey, liquidationParams: Buffer): TransactionInstruction {
  return buildInstruction(
    "updateLiquidationParams",
    { admin, exchange: ex.exchange },
    { args: { liquidationParams } },
  );
}

function tokenAccounts(ex: ExchangeKeys): Record<string, PublicKey> {
  return {
    exchange: ex.exchange,
    vault: ex.vault,
    quoteMint: ex.quoteMint,
    tokenProgram: ex.tokenProgram,
    systemProgram: SystemProgram.programId,
  };
}
