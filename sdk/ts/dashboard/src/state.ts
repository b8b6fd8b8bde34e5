// Everything the page shows, read from the chain through the SDK and computed with the
// WebAssembly engine (the program's own margin code): no figure is recomputed in JavaScript.

import { Connection, PublicKey } from "@solana/web3.js";
import * as keel from "../../src";
import type { EngineReport } from "../../src";

export interface MarketRow {
  key: string;
  name: string;
  oracle: string;
  /** Oracle price and confidence per contract as the program reads them (native units). */
  price?: string;
  conf?: string;
  publishTime?: number;
  oracleError?: string;
  /** The stable price (vol state), per contract. */
  stablePrice: string;
  /** Vol in force for marks (`raw_vol`), for margin (after anti-procyclicality), implied feed. */
  markVol: string;
  marginVol: string;
  impliedVol: string;
  impliedVolTs: number;
  volTs: number;
  nObs: string;
  seriesCount: number;
}

export interface AccountRow {
  key: string;
  owner: string;
  accountId: number;
  report?: EngineReport;
  error?: string;
}

export interface EventRow {
  signature: string;
  slot: number;
  time: number | null;
  name: string;
  data: Record<string, unknown>;
}

export interface VolPoint {
  ts: number;
  price: number;
  stable: number;
  markVol: number;
  marginVol: number;
  impliedVol: number;
}

export interface State {
  now: number;
  decimals: number;
  exchange: keel.Exchange;
  vaultNative: string;
  liabilitiesNative: string;
  markets: MarketRow[];
  series: Map<string, keel.Series>;
  marketNames: Map<string, string>;
  accounts: AccountRow[];
  events: EventRow[];
  volHistory: Map<string, VolPoint[]>;
  snapshot: keel.Snapshot;
}

const s = (v: { toString(): string }) => v.toString();

/** Health ordering: the account closest to (or furthest below) maintenance margin first. */
export function healthRatio(r: EngineReport | undefined): number {
  if (!r) return -Infinity;
  const mm = Number(r.mm);
  const h = Number(r.health_mm);
  return mm > 0 ? h / mm : h >= 0 ? Infinity : -Infinity;
}

/** Decoded transactions of the program, by signature (they never change). */
const txCache = new Map<string, EventRow[]>();

async function recentEvents(connection: Connection, limit: number): Promise<EventRow[]> {
  const sigs = await connection.getSignaturesForAddress(keel.PROGRAM_ID, { limit });
  const missing = sigs.filter((x) => !txCache.has(x.signature) && !x.err);
  for (let i = 0; i < missing.length; i += 50) {
    const batch = missing.slice(i, i + 50);
    const txs = await connection.getTransactions(
      batch.map((x) => x.signature),
      { maxSupportedTransactionVersion: 0, commitment: "confirmed" },
    );
    txs.forEach((tx, j) => {
      const sig = batch[j].signature;
      const logs = tx?.meta?.logMessages ?? [];
      txCache.set(
        sig,
        keel.decodeEvents(logs).map((e) => ({
          signature: sig,
          slot: tx?.slot ?? 0,
          time: tx?.blockTime ?? null,
          name: e.name,
          data: e.data as Record<string, unknown>,
        })),
      );
    });
  }
  return sigs.flatMap((x) => txCache.get(x.signature) ?? []);
}

export async function loadState(
  connection: Connection,
  engine: keel.Engine,
  oracles: Record<string, string>,
  eventLimit = 200,
): Promise<State> {
  const overrides = new Map(Object.entries(oracles).map(([m, a]) => [m, new PublicKey(a)]));
  const snap = await keel.Snapshot.load(connection, overrides);
  const ex = snap.exchange;
  const [vault, events] = await Promise.all([
    connection.getTokenAccountBalance(ex.quoteVault),
    recentEvents(connection, eventLimit),
  ]);
  // Oracle prices per contract, read by the engine with the program's identity checks.
  const pricesFrame = keel.buildFrame({
    now: snap.now,
    spotMult: 1,
    volMult: 1,
    exchange: snap.exchangeData!,
    accountKey: PublicKey.default,
    account: new Uint8Array(0),
    markets: snap.markets.map((m) => ({
      key: m.address,
      data: m.data!,
      oracleKey: m.oracleKey,
      oracleOwner: m.oracle?.owner ?? PublicKey.default,
      oracleData: m.oracle?.data ?? new Uint8Array(0),
    })),
    correlations: [],
  });
  const prices = new Map(engine.prices(pricesFrame).map((p) => [p.market, p]));
  const marketNames = new Map<string, string>();
  const markets: MarketRow[] = snap.markets.map((m) => {
    const a = m.account;
    const key = m.address.toBase58();
    const name = keel.fixedString(a.name);
    marketNames.set(key, name);
    const p = prices.get(key);
    return {
      key,
      name,
      oracle: m.oracleKey.toBase58(),
      price: p?.price_native,
      conf: p?.conf_native,
      publishTime: p?.publish_time ? Number(p.publish_time) : undefined,
      oracleError: p?.error,
      stablePrice: s(a.volState.stablePrice),
      markVol: s(a.volState.rawVol.isZero() ? a.volState.marginVol : a.volState.rawVol),
      marginVol: s(a.volState.marginVol),
      impliedVol: s(a.impliedVol),
      impliedVolTs: keel.num(a.impliedVolTs),
      volTs: keel.num(a.volState.lastTs),
      nObs: s(a.volState.nObs),
      seriesCount: a.seriesCount,
    };
  });
  const accounts: AccountRow[] = snap.accounts.map((k) => {
    const r = engine.margin(snap.frame(k.address));
    const row: AccountRow = {
      key: k.address.toBase58(),
      owner: k.account.owner.toBase58(),
      accountId: k.account.accountId,
    };
    if ("error" in r) row.error = r.error;
    else row.report = r;
    return row;
  });
  accounts.sort((a, b) => healthRatio(a.report) - healthRatio(b.report) || a.key.localeCompare(b.key));
  const volHistory = new Map<string, VolPoint[]>();
  for (const e of [...events].reverse()) {
    if (e.name !== "volatilityUpdated") continue;
    const d = e.data as Record<string, { toString(): string }>;
    const key = d.market.toString();
    const list = volHistory.get(key) ?? [];
    list.push({
      ts: Number(d.publishTime.toString()),
      price: Number(d.priceNative.toString()),
      stable: Number(d.stablePriceNative.toString()),
      markVol: keel.fx(BigInt(d.rawVolQ32.toString())),
      marginVol: keel.fx(BigInt(d.marginVolQ32.toString())),
      impliedVol: keel.fx(BigInt(d.impliedVolQ32.toString())),
    });
    volHistory.set(key, list);
  }
  return {
    now: snap.now,
    decimals: ex.quoteDecimals,
    exchange: ex,
    vaultNative: vault.value.amount,
    liabilitiesNative: snap.liabilitiesNative().toString(),
    markets,
    series: new Map(snap.series.map((x) => [x.address.toBase58(), x.account])),
    marketNames,
    accounts,
    events,
    volHistory,
    snapshot: snap,
  };
}
