// Keel's accounts: decoding their bytes with Anchor's coder (the IDL describes the zero-copy
// layouts byte for byte) and fetching them over RPC.

import { Buffer } from "buffer";
import BN from "bn.js";
import { utils } from "@anchor-lang/core";
import type { IdlAccounts, IdlTypes } from "@anchor-lang/core";
import { Connection, PublicKey } from "@solana/web3.js";
import type { Keel } from "./idl/keel";
import { PROGRAM_ID, coder } from "./program";
import { exchangePda } from "./pda";

export type Exchange = IdlAccounts<Keel>["exchange"];
export type Market = IdlAccounts<Keel>["market"];
export type Series = IdlAccounts<Keel>["series"];
export type MarginAccount = IdlAccounts<Keel>["marginAccount"];
export type Correlation = IdlAccounts<Keel>["correlation"];
export type ArrayPage = IdlAccounts<Keel>["arrayPage"];
export type Ledger = IdlAccounts<Keel>["ledger"];
export type RiskParams = IdlTypes<Keel>["riskParams"];
export type LiquidationParams = IdlTypes<Keel>["liquidationParams"];
export type VolState = IdlTypes<Keel>["volState"];
export type Position = IdlTypes<Keel>["position"];

/** The account types, by their name in the coder. */
export interface KeelAccounts {
  exchange: Exchange;
  market: Market;
  series: Series;
  marginAccount: MarginAccount;
  correlation: Correlation;
  arrayPage: ArrayPage;
  ledger: Ledger;
}
export type AccountName = keyof KeelAccounts;

/** An account with its address (and its raw bytes when fetched). */
export interface Keyed<T> {
  address: PublicKey;
  account: T;
  data?: Buffer;
}

/** Bytes of Anchor's discriminator in front of every account. */
export const DISCRIMINATOR_LEN = 8;

/** Layout version stored in byte 0 of every Keel account (after the discriminator). */
export const LAYOUT_VERSION = 1;

/** The discriminator of account type `name`. */
export function discriminator(name: AccountName): Buffer {
  return coder.accounts.accountDiscriminator(name);
}

/**
 * Decodes account `data` of type `name`: checks the discriminator and the layout version as
 * keel-state's `read_account` does, then decodes every field.
 */
export function decodeAccount<N extends AccountName>(name: N, data: Buffer | Uint8Array): KeelAccounts[N] {
  const buf = Buffer.from(data);
  const size = coder.accounts.size(name);
  if (buf.length < size) throw new Error(`${name}: account too small (${buf.length} < ${size})`);
  if (buf[DISCRIMINATOR_LEN] !== LAYOUT_VERSION) {
    throw new Error(`${name}: unknown layout version ${buf[DISCRIMINATOR_LEN]}`);
  }
  return coder.accounts.decode(name, buf) as KeelAccounts[N];
}

/** Every account of type `name` (getProgramAccounts filtered by discriminator). */
export async function fetchAll<N extends AccountName>(
  connection: Connection,
  name: N,
  extraFilters: { memcmp: { offset: number; bytes: string } }[] = [],
): Promise<Keyed<KeelAccounts[N]>[]> {
  const res = await connection.getProgramAccounts(PROGRAM_ID, {
    filters: [{ memcmp: { offset: 0, bytes: utils.bytes.bs58.encode(discriminator(name)) } }, ...extraFilters],
  });
  return res
    .map(({ pubkey, account }) => ({
      address: pubkey,
      account: decodeAccount(name, account.data),
      data: Buffer.from(account.data),
    }))
    .sort((a, b) => a.address.toBase58().localeCompare(b.address.toBase58()));
}

/** One account of type `name` with its bytes, or null when absent. */
export async function fetchKeyed<N extends AccountName>(
  connection: Connection,
  name: N,
  address: PublicKey,
): Promise<Keyed<KeelAccounts[N]> | null> {
  const info = await connection.getAccountInfo(address);
  if (!info) return null;
  if (!info.owner.equals(PROGRAM_ID)) throw new Error(`${address.toBase58()} is not owned by Keel`);
  return { address, account: decodeAccount(name, info.data), data: Buffer.from(info.data) };
}

/** One account of type `name`, or null when absent. */
export async function fetchOne<N extends AccountName>(
  connection: Connection,
  name: N,
  address: PublicKey,
): Promise<KeelAccounts[N] | null> {
  return (await fetchKeyed(connection, name, address))?.account ?? null;
}

/** The exchange (at its PDA). */
export function fetchExchange(connection: Connection): Promise<Exchange | null> {
  return fetchOne(connection, "exchange", exchangePda());
}

/** Every market. */
export function fetchMarkets(connection: Connection): Promise<Keyed<Market>[]> {
  return fetchAll(connection, "market");
}

/** Every series (of one market when given: memcmp on `market` at byte 8 + 40). */
export function fetchSeries(connection: Connection, market?: PublicKey): Promise<Keyed<Series>[]> {
  const f = market ? [{ memcmp: { offset: 8 + 40, bytes: market.toBase58() } }] : [];
  return fetchAll(connection, "series", f);
}

/** Every margin account (of one owner when given: memcmp on `owner` at byte 8 + 40). */
export function fetchMarginAccounts(connection: Connection, owner?: PublicKey): Promise<Keyed<MarginAccount>[]> {
  const f = owner ? [{ memcmp: { offset: 8 + 40, bytes: owner.toBase58() } }] : [];
  return fetchAll(connection, "marginAccount", f);
}

/** Every correlation account. */
export function fetchCorrelations(connection: Connection): Promise<Keyed<Correlation>[]> {
  return fetchAll(connection, "correlation");
}

/** Every risk-array page (docs/risk-model.md §4.8). */
export function fetchArrayPages(connection: Connection): Promise<Keyed<ArrayPage>[]> {
  return fetchAll(connection, "arrayPage");
}

/** `Position::array_page` of a future (no risk array). */
export const NO_PAGE = 0xffff;

const ZERO = PublicKey.default;

/** The occupied position slots of an account. */
export function activePositions(a: MarginAccount): Position[] {
  return a.positions.filter((p) => !p.series.equals(ZERO));
}

/**
 * Index of the slot of `a` holding `series` on the side of `side` (long if > 0, short if < 0),
 * or undefined (keel-state's `MarginAccount::position_on_side`).
 */
export function positionOnSide(a: MarginAccount, series: PublicKey, side: BN): number | undefined {
  if (series.equals(ZERO)) return undefined;
  const i = a.positions.findIndex((p) => p.series.equals(series));
  if (i < 0) return undefined;
  const q = a.positions[i].qtyContracts;
  return (q.isNeg() && side.isNeg()) || (q.gtn(0) && side.gtn(0)) ? i : undefined;
}

/** The markets an account's positions refer to (non-zero entries of `markets`). */
export function usedMarkets(a: MarginAccount): PublicKey[] {
  return a.markets.filter((m) => !m.equals(ZERO));
}

/** Encodes risk parameters as the bytes `create_market` / `update_market_params` take. */
export function encodeRiskParams(p: RiskParams): Buffer {
  return coder.types.encode("riskParams", p);
}

/** Encodes liquidation parameters as the bytes `update_liquidation_params` takes. */
export function encodeLiquidationParams(p: LiquidationParams): Buffer {
  return coder.types.encode("liquidationParams", p);
}

/** Decodes risk parameters from those bytes. */
export function decodeRiskParams(b: Buffer): RiskParams {
  return coder.types.decode("riskParams", b);
}

/** The aggregates of the exchange that ledger shards hold parts of (keel_state::Totals). */
const LEDGER_FIELDS = [
  "totalCollateralNative",
  "insuranceFundNative",
  "feesNative",
  "settlementPoolsNative",
  "socialLossPendingNative",
  "positiveCollateralNative",
  "liquidationBonusNative",
  "liquidationCount",
] as const;

/**
 * The exchange as its readers see it: `ex` (the account's own fields) with every ledger shard's
 * part added to its aggregates (keel_state::Totals::folded_into).
 */
export function withLedgers(ex: Exchange, ledgers: Ledger[]): Exchange {
  const out = { ...ex } as Record<string, unknown>;
  for (const f of LEDGER_FIELDS) {
    let v = (ex as Record<string, unknown>)[f] as BN;
    for (const l of ledgers) v = v.add((l.totals as Record<string, unknown>)[f] as BN);
    out[f] = v;
  }
  return out as Exchange;
}
