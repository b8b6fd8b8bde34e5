// Every Keel account of one deployment at one moment, read over RPC — the TypeScript side of
// keel-client's `view::Snapshot` — and the remaining accounts an instruction checking margin
// needs (markets with their oracles, risk-array pages, correlations, series), chosen as
// keel-client chooses them.

import { Buffer } from "buffer";
import { AccountInfo, AccountMeta, Connection, PublicKey, SYSVAR_CLOCK_PUBKEY } from "@solana/web3.js";
import {
  ArrayPage,
  Correlation,
  NO_PAGE,
  Exchange,
  Keyed,
  MarginAccount,
  Market,
  Series,
  activePositions,
  decodeAccount,
  fetchArrayPages,
  fetchCorrelations,
  fetchKeyed,
  fetchMarginAccounts,
  fetchMarkets,
  fetchSeries,
  positionOnSide,
  usedMarkets,
  withLedgers,
} from "./accounts";
import { exchangePda, ledgerPdas, pythFeedAccount } from "./pda";
import { marginMetas, seriesMetas } from "./instructions";
import { buildFrame } from "./engine";

/** Where a series' risk array lives: its market and page index (`Series::array_page`). */
export interface SeriesPage {
  market: PublicKey;
  arrayPage: number;
}

/** `Clock::unix_timestamp` from the sysvar's data (the fifth little-endian 8-byte field). */
export function clockUnixTimestamp(data: Buffer): number {
  return Number(data.readBigInt64LE(32));
}

/** The cluster's unix time (the Clock sysvar). */
export async function clusterTime(connection: Connection): Promise<number> {
  const a = await connection.getAccountInfo(SYSVAR_CLOCK_PUBKEY);
  if (!a) throw new Error("no Clock sysvar");
  return clockUnixTimestamp(a.data);
}

/**
 * Which oracle account prices each market: the market's pinned account if it has one, else an
 * override, else the Pyth sponsored feed account of its feed id (keel-client's
 * `OracleDirectory`).
 */
export function oracleOf(key: PublicKey, market: Market, overrides: Map<string, PublicKey> = new Map()): PublicKey {
  if (!market.oracle.account.equals(PublicKey.default)) return market.oracle.account;
  return overrides.get(key.toBase58()) ?? pythFeedAccount(market.oracle.feedId, 0);
}

/** A market with the oracle account that prices it. */
export interface MarketView extends Keyed<Market> {
  oracleKey: PublicKey;
  oracle: AccountInfo<Buffer> | null;
}

export class Snapshot {
  constructor(
    public readonly now: number,
    public readonly exchangeKey: PublicKey,
    public readonly exchange: Exchange,
    public readonly markets: MarketView[],
    public readonly series: Keyed<Series>[],
    public readonly accounts: Keyed<MarginAccount>[],
    public readonly correlations: Keyed<Correlation>[],
    /** The exchange account's bytes (for the WebAssembly engine). */
    public readonly exchangeData?: Buffer,
    /** The risk-array pages (docs/risk-model.md §4.8). */
    public readonly pages: Keyed<ArrayPage>[] = [],
  ) {}

  /** Reads every Keel account and every market's oracle. */
  static async load(connection: Connection, overrides: Map<string, PublicKey> = new Map()): Promise<Snapshot> {
    const [now, exchange, markets, series, accounts, correlations, pages] = await Promise.all([
      clusterTime(connection),
      fetchKeyed(connection, "exchange", exchangePda()),
      fetchMarkets(connection),
      fetchSeries(connection),
      fetchMarginAccounts(connection),
      fetchCorrelations(connection),
      fetchArrayPages(connection),
    ]);
    if (!exchange) throw new Error(`no Keel exchange at ${exchangePda().toBase58()}`);
    // The exchange's aggregates are its own fields plus its ledger shards'.
    const shards = await connection.getMultipleAccountsInfo(ledgerPdas(exchangePda()));
    const ledgers = shards.map((a, i) => {
      if (!a) throw new Error(`ledger shard ${i} of the exchange is missing`);
      return decodeAccount("ledger", a.data);
    });
    const oracleKeys = markets.map((m) => oracleOf(m.address, m.account, overrides));
    const oracles = oracleKeys.length ? await connection.getMultipleAccountsInfo(oracleKeys) : [];
    const views = markets.map((m, i) => ({ ...m, oracleKey: oracleKeys[i], oracle: oracles[i] }));
    const folded = withLedgers(exchange.account, ledgers);
    return new Snapshot(now, exchangePda(), folded, views, series, accounts, correlations, exchange.data, pages);
  }

  /**
   * The WebAssembly engine's input for the margin of `account` (`crates/wasm/src/frame.rs`):
   * the bytes read, every market with its oracle, every correlation, the account's risk-array
   * pages; optionally a what-if (oracle prices × `spotMult`, vols × `volMult`; the engine
   * re-anchors the arrays as the crank would).
   */
  frame(account: PublicKey, spotMult = 1, volMult = 1, now = this.now): Uint8Array {
    const a = this.accounts.find((x) => x.address.equals(account));
    if (!a?.data || !this.exchangeData) throw new Error("snapshot without account bytes");
    return buildFrame({
      now,
      spotMult,
      volMult,
      exchange: this.exchangeData,
      accountKey: account,
      account: a.data,
      markets: this.markets.map((m) => ({
        key: m.address,
        data: m.data!,
        oracleKey: m.oracleKey,
        oracleOwner: m.oracle?.owner ?? PublicKey.default,
        oracleData: m.oracle?.data ?? Buffer.alloc(0),
      })),
      correlations: this.correlations.map((c) => c.data!),
      pages: this.pagesFor([a.account]).map((k) => this.pages.find((p) => p.address.equals(k))!.data!),
    });
  }

  market(key: PublicKey): MarketView | undefined {
    return this.markets.find((m) => m.address.equals(key));
  }

  account(key: PublicKey): MarginAccount | undefined {
    return this.accounts.find((a) => a.address.equals(key))?.account;
  }

  /** The markets `accounts` hold positions in, in a stable order. */
  marketsOf(accounts: MarginAccount[]): PublicKey[] {
    const v: PublicKey[] = [];
    for (const a of accounts) for (const m of usedMarkets(a)) if (!v.some((k) => k.equals(m))) v.push(m);
    return v;
  }

  /** Page `index` of `market`, if loaded. */
  pageOf(market: PublicKey, index: number): Keyed<ArrayPage> | undefined {
    // `ArrayPage::market` is a byte array in the layout (not a `PubkeyBytes`).
    const m = market.toBuffer();
    return this.pages.find((p) => Buffer.from(p.account.market).equals(m) && p.account.pageIndex === index);
  }

  /** The pages holding the arrays of `accounts`' option positions, in a stable order (keel-client's `pages_for`). */
  pagesFor(accounts: MarginAccount[], series: SeriesPage[] = []): PublicKey[] {
    const wanted: [PublicKey, number][] = [];
    for (const a of accounts) {
      for (const p of activePositions(a)) {
        if (p.arrayPage === NO_PAGE || p.kind === 2) continue;
        wanted.push([a.markets[p.marketSlot], p.arrayPage]);
      }
    }
    for (const s of series) if (s.arrayPage !== NO_PAGE) wanted.push([s.market, s.arrayPage]);
    const keys: PublicKey[] = [];
    for (const [m, i] of wanted) {
      const page = this.pageOf(m, i);
      if (page && !keys.some((k) => k.equals(page.address))) keys.push(page.address);
    }
    return keys;
  }

  /**
   * Remaining accounts of an instruction checking the margin of `accounts`: (market, oracle)
   * for every market they use, plus `extraMarkets`, the pages of their options' risk arrays,
   * then every correlation between two of the markets. `extraSeries`: the series an
   * instruction adds a position in (a trade's), whose market and risk-array page it needs too
   * (keel-client's `margin_metas`; a decoded `Series` account has both fields).
   */
  marginMetas(accounts: MarginAccount[], extraMarkets: PublicKey[] = [], extraSeries: SeriesPage[] = []): AccountMeta[] {
    const markets = this.marketsOf(accounts);
    for (const m of [...extraMarkets, ...extraSeries.map((s) => s.market)]) if (!markets.some((k) => k.equals(m))) markets.push(m);
    const pairs: [PublicKey, PublicKey][] = markets.map((m) => {
      const mv = this.market(m);
      if (!mv) throw new Error(`market ${m.toBase58()} missing`);
      return [m, mv.oracleKey];
    });
    const has = (k: PublicKey) => markets.some((m) => m.equals(k));
    const corr = this.correlations
      .filter((c) => has(c.account.marketA) && has(c.account.marketB))
      .map((c) => c.address);
    return marginMetas(pairs, this.pagesFor(accounts, extraSeries), corr);
  }

  /**
   * Remaining accounts of `liquidate`: both accounts' markets, every risk-array page of those
   * markets (the liquidator may have taken over positions on other pages since this snapshot)
   * and their correlations, then the liquidatee's series (keel-client's `liquidate_metas`).
   */
  liquidateMetas(liquidatee: MarginAccount, liquidator: MarginAccount): AccountMeta[] {
    const accounts = [liquidatee, liquidator];
    const markets = this.marketsOf(accounts);
    const pages = this.pagesFor(accounts);
    for (const p of this.pages) {
      const m = new PublicKey(Buffer.from(p.account.market));
      if (markets.some((k) => k.equals(m)) && !pages.some((k) => k.equals(p.address))) pages.push(p.address);
    }
    const pairs: [PublicKey, PublicKey][] = markets.map((m) => {
      const mv = this.market(m);
      if (!mv) throw new Error(`market ${m.toBase58()} missing`);
      return [m, mv.oracleKey];
    });
    const has = (k: PublicKey) => markets.some((m) => m.equals(k));
    const corr = this.correlations
      .filter((c) => has(c.account.marketA) && has(c.account.marketB))
      .map((c) => c.address);
    return [
      ...marginMetas(pairs, pages, corr),
      ...seriesMetas(activePositions(liquidatee).map((p) => p.series)),
    ];
  }

  /**
   * The series of `market` whose option fills the market has not folded into its implied vol
   * yet, newest first, at most `max` (keel-client's `fill_series`); none for a market with a
   * vol authority.
   */
  fillSeries(market: PublicKey, max = 16): PublicKey[] {
    const mv = this.market(market);
    if (!mv || !mv.account.volAuthority.equals(PublicKey.default)) return [];
    const folded = mv.account.fillVol;
    const fresh = this.series
      .filter((s) => s.account.market.equals(market) && s.account.fillVol.fills.gtn(0))
      .filter((s) => folded.fills.isZero() || s.account.fillVol.ts.gt(folded.ts))
      .sort((a, b) => b.account.fillVol.ts.cmp(a.account.fillVol.ts) || Buffer.compare(b.address.toBuffer(), a.address.toBuffer()));
    return fresh.slice(0, max).map((s) => s.address);
  }

  /**
   * `liquidateMetas` with the series the liquidator already holds on the liquidatee's side
   * passed read-only (keel-client's `liquidate_metas_reading_held`): a partial slice of them
   * changes nothing the series counts, so the program only reads them and liquidations in one
   * series need not queue on it. Where the slice turns out whole (the position closes) the
   * program refuses with `SeriesNotWritable`: send again with `liquidateMetas` (keel-keeper does).
   */
  liquidateMetasReadingHeld(liquidatee: MarginAccount, liquidator: MarginAccount): AccountMeta[] {
    const metas = this.liquidateMetas(liquidatee, liquidator);
    for (const p of activePositions(liquidatee)) {
      if (positionOnSide(liquidator, p.series, p.qtyContracts) === undefined) continue;
      for (const m of metas) if (m.pubkey.equals(p.series)) m.isWritable = false;
    }
    return metas;
  }

  /**
   * The vault balance the books require: Σ collateral + insurance + fees + settlement pools −
   * socialised losses not yet charged (`Exchange::liabilities_native`), as a bigint.
   */
  liabilitiesNative(): bigint {
    const e = this.exchange;
    const b = (v: { toString(): string }) => BigInt(v.toString());
    return (
      b(e.totalCollateralNative) +
      b(e.insuranceFundNative) +
      b(e.feesNative) +
      b(e.settlementPoolsNative) -
      b(e.socialLossPendingNative)
    );
  }
}
