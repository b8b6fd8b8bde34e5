// The SDK against the bank's own bytes (test/fixtures/bank.json, exported by
// `cargo run -p keel-tests --bin keel-ts-fixtures`): every account decodes to the values
// keel-state reads, every builder produces the bytes keel-client produces, every event decodes to
// what keel-client decodes, PDAs and errors are keel-client's — compared field by field.

import { describe, it } from "node:test";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import { Program, convertIdlToCamelCase } from "@anchor-lang/core";
import type { Idl } from "@anchor-lang/core";
import * as keel from "../src";
import rawIdl from "../src/idl/keel.json";
import { Json, ROOT, b64, camel, compareFields, loadFixtures, metas, metasJson, norm, pk } from "./helpers";

const F = loadFixtures();
const ex: keel.ExchangeKeys = {
  exchange: pk(F.exchangeKeys.exchange),
  vault: pk(F.exchangeKeys.vault),
  quoteMint: pk(F.exchangeKeys.quoteMint),
  tokenProgram: pk(F.exchangeKeys.tokenProgram),
  ledgers: keel.ledgerPdas(pk(F.exchangeKeys.exchange)),
};
const accountName = (t: string) => camel(t.replace(/^[A-Z]/, (c) => c.toLowerCase())) as keel.AccountName;

describe("IDL and types", () => {
  it("the types file is the IDL as Anchor's client converts it", () => {
    const ts = fs.readFileSync(path.join(ROOT, "src/idl/keel.ts"), "utf8");
    const body = ts.slice(ts.indexOf("export type Keel = ") + "export type Keel = ".length, ts.lastIndexOf(";"));
    assert.deepEqual(JSON.parse(body), convertIdlToCamelCase(rawIdl as unknown as Idl));
    assert.equal(keel.PROGRAM_ID.toBase58(), F.programId);
  });
});

describe("PDAs", () => {
  it("are keel-client's", () => {
    const p = F.pdas;
    assert.equal(keel.exchangePda().toBase58(), p.exchange);
    assert.equal(keel.programDataPda().toBase58(), p.programData);
    assert.equal(keel.vaultPda(ex.exchange).toBase58(), p.vault);
    p.markets.forEach((m: string, i: number) => assert.equal(keel.marketPda(ex.exchange, i).toBase58(), m));
    p.series.forEach((s: string, i: number) => assert.equal(keel.seriesPda(pk(p.markets[0]), i).toBase58(), s));
    for (const a of p.accounts) {
      assert.equal(keel.marginAccountPda(ex.exchange, pk(a.owner), a.accountId).toBase58(), a.address);
    }
    assert.equal(keel.correlationPda(pk(p.markets[0]), pk(p.markets[1])).toBase58(), p.correlation);
    assert.equal(keel.pythFeedAccount(p.pythFeedAccount.feedId).toBase58(), p.pythFeedAccount.address);
    assert.equal(keel.PYTH_RECEIVER.toBase58(), p.pythReceiver);
  });

  it("Anchor's resolver derives create_market, list_series and open_account from the IDL", async () => {
    // A connection that serves the bank's account bytes: the resolver reads
    // `exchange.market_count` and `market.series_count` from them.
    const byKey = new Map<string, Json>(F.accounts.map((a: Json) => [a.address, a]));
    const connection = {
      getAccountInfo: async (k: PublicKey) => {
        const a = byKey.get(k.toBase58());
        return a ? { data: b64(a.data), owner: keel.PROGRAM_ID, executable: false, lamports: 1 } : null;
      },
    };
    const program = new Program(keel.IDL, { connection } as never);
    const exchange = keel.decodeAccount("exchange", b64(byKey.get(ex.exchange.toBase58()).data));
    const btc = pk(F.pdas.markets[0]);
    const market = keel.decodeAccount("market", b64(byKey.get(btc.toBase58()).data));
    const admin = pk(F.instructions.find((i: Json) => i.name === "listSeries").inputs.admin);
    const cm = await program.methods
      .createMarket({} as never)
      .accounts({ admin, exchange: ex.exchange, oracle: PublicKey.default } as never)
      .pubkeys();
    assert.equal(exchange.marketCount, 2);
    assert.equal((cm.market as PublicKey).toBase58(), keel.marketPda(ex.exchange, exchange.marketCount).toBase58());
    const ls = await program.methods
      .listSeries({ kind: 0, strikeNative: new BN(1), expiryTs: new BN(1) })
      .accounts({ admin, exchange: ex.exchange, market: btc } as never)
      .pubkeys();
    assert.equal(market.seriesCount, 3);
    assert.equal((ls.series as PublicKey).toBase58(), keel.seriesPda(btc, market.seriesCount).toBase58());
    const owner = pk(F.pdas.accounts[0].owner);
    const oa = await program.methods
      .openAccount({ accountId: 7 })
      .accounts({ owner, exchange: ex.exchange } as never)
      .pubkeys();
    assert.equal((oa.marginAccount as PublicKey).toBase58(), keel.marginAccountPda(ex.exchange, owner, 7).toBase58());
  });
});

describe("accounts", () => {
  it("decode field by field to what keel-state reads", () => {
    const kinds = new Set<string>();
    let leaves = 0;
    for (const a of F.accounts) {
      const name = accountName(a.type);
      const data = b64(a.data);
      assert.deepEqual([...data.subarray(0, 8)], [...keel.discriminator(name)], `${a.type} discriminator`);
      const decoded = norm(keel.decodeAccount(name, data));
      leaves += compareFields(decoded, a.fields, `${a.type} ${a.address}`);
      kinds.add(a.type);
    }
    assert.deepEqual([...kinds].sort(), ["ArrayPage", "Correlation", "Exchange", "MarginAccount", "Market", "Series"]);
    assert.equal(F.accounts.length, 11);
    assert.ok(leaves > 2000, `${leaves} values compared`);
  });

  it("types the risk-engine structs and keys", () => {
    const m = F.accounts.find((a: Json) => a.type === "Market");
    const market = keel.decodeAccount("market", b64(m.data));
    assert.ok(market.exchange instanceof PublicKey);
    assert.equal(keel.fixedString(market.name), "BTC/USD");
    assert.equal(market.volState.marginVol.toString(), m.fields.vol_state.margin_vol);
    assert.equal(market.riskParams.namedShocks[1].weight.toString(), m.fields.risk_params.named_shocks[1].weight);
    assert.ok(keel.fx(market.volState.marginVol) > 0.05 && keel.fx(market.volState.marginVol) < 5);
    const e = keel.decodeAccount("exchange", b64(F.accounts.find((a: Json) => a.type === "Exchange").data));
    assert.equal(e.liquidationParams.bonusCap.toString(), F.accounts[0].fields.liquidation_params.bonus_cap);
    const c = keel.decodeAccount("correlation", b64(F.accounts.find((a: Json) => a.type === "Correlation").data));
    assert.ok(c.marketA.equals(pk(F.pdas.markets[0])));
    assert.equal(c.state.nObs.toString(), F.accounts.find((a: Json) => a.type === "Correlation").fields.state.n_obs);
  });

  it("encode risk parameters as the zero-copy bytes (create_market's `risk_params`)", () => {
    const m = F.accounts.find((a: Json) => a.type === "Market");
    const data = b64(m.data);
    const market = keel.decodeAccount("market", data);
    // Market.risk_params sits at byte 344 of the layout (IDL: after the discriminator, +8).
    const bytes = keel.encodeRiskParams(market.riskParams);
    assert.equal(bytes.length, 496);
    assert.ok(bytes.equals(data.subarray(8 + 344, 8 + 344 + 496)));
    assert.deepEqual(norm(keel.decodeRiskParams(bytes)), norm(market.riskParams));
    const e = keel.decodeAccount("exchange", b64(F.accounts[0].data));
    assert.ok(keel.encodeLiquidationParams(e.liquidationParams).equals(b64(F.accounts[0].data).subarray(8 + 192, 8 + 352)));
  });

  it("rejects bytes of another type or layout version", () => {
    const m = b64(F.accounts.find((a: Json) => a.type === "Market").data);
    assert.throws(() => keel.decodeAccount("series", m), /discriminator|too small/);
    const v2 = Buffer.from(m);
    v2[8] = 2;
    assert.throws(() => keel.decodeAccount("market", v2), /layout version/);
  });
});

/** The SDK's builder of each recorded instruction, called with the recorded inputs. */
function build(name: string, i: Json) {
  const k = (n: string) => pk(i[n]);
  switch (name) {
    case "openAccount": return keel.openAccount(ex, k("owner"), i.accountId);
    case "setDelegate": return keel.setDelegate(k("owner"), k("account"), k("delegate"));
    case "deposit": return keel.deposit(ex, k("depositor"), k("account"), k("source"), new BN(i.amountNative));
    case "withdraw": return keel.withdraw(ex, k("owner"), k("account"), k("destination"), BigInt(i.amountNative), metas(i.margin));
    case "trade":
      return keel.trade(ex, k("series"), k("takerAccount"), k("taker"), k("makerAccount"), k("maker"),
        { qtyContracts: new BN(i.qtyContracts), priceNative: new BN(i.priceNative) }, metas(i.margin));
    case "closeAccount": return keel.closeAccount(k("owner"), k("account"));
    case "fundInsurance": return keel.fundInsurance(ex, k("funder"), k("source"), Number(i.amountNative));
    case "updateVolatility": return keel.updateVolatility(ex, k("market"), k("oracle"), i.series.map(pk));
    case "updateCorrelation": return keel.updateCorrelation(ex, [k("marketA"), k("oracleA")], [k("marketB"), k("oracleB")]);
    case "settleSeries": return keel.settleSeries(ex, k("caller"), k("market"), k("series"), k("oracle"), i.arrayPage ? k("arrayPage") : null);
    case "settlePositions": return keel.settlePositions(ex, k("account"), i.series.map(pk));
    case "liquidate": return keel.liquidate(ex, k("liquidatee"), k("liquidatorAccount"), k("liquidator"), i.maxFractionBps, metas(i.remaining));
    case "marginReport": return keel.marginReport(ex, k("account"), metas(i.margin));
    case "resolveBankruptcy": return keel.resolveBankruptcy(ex, k("account"));
    case "listSeries":
      return keel.listSeries(ex, k("admin"), k("market"), i.seriesIndex,
        { kind: i.kind, strikeNative: new BN(i.strikeNative), expiryTs: new BN(i.expiryTs) },
        i.arrayPage ? k("arrayPage") : null);
    case "setPause": return keel.setPause(ex, k("admin"), i.flags);
    case "publishImpliedVol": return keel.publishImpliedVol(k("market"), k("authority"), i.impliedVolBps);
    default: throw new Error(`no builder for ${name}`);
  }
}

describe("instructions", () => {
  it("are keel-client's, byte for byte", () => {
    const names: string[] = [];
    for (const i of F.instructions) {
      const ix = build(i.name, i.inputs);
      assert.equal(ix.programId.toBase58(), i.expected.programId, i.name);
      assert.deepEqual(metasJson(ix.keys), i.expected.keys, `${i.name} accounts`);
      assert.equal(ix.data.toString("base64"), i.expected.data, `${i.name} data`);
      names.push(i.name);
    }
    assert.equal(names.length, 17);
    for (const flow of ["openAccount", "deposit", "withdraw", "trade", "closeAccount", "updateVolatility",
      "updateCorrelation", "settleSeries", "settlePositions", "liquidate", "resolveBankruptcy", "marginReport",
      "fundInsurance"]) {
      assert.ok(names.includes(flow), flow);
    }
  });

  it("are what Anchor's method builder makes", async () => {
    const program = keel.keelProgram({ connection: {} } as never);
    const i = F.instructions.find((x: Json) => x.name === "trade").inputs;
    const viaAnchor = await program.methods
      .trade({ qtyContracts: new BN(i.qtyContracts), priceNative: new BN(i.priceNative) })
      .accountsStrict({
        exchange: ex.exchange, ledger: keel.ledgerFor(ex, pk(i.takerAccount)), series: pk(i.series),
        takerAccount: pk(i.takerAccount), taker: pk(i.taker),
        makerAccount: pk(i.makerAccount), maker: pk(i.maker),
      })
      .remainingAccounts(metas(i.margin))
      .instruction();
    const ours = build("trade", i);
    assert.deepEqual(metasJson(viaAnchor.keys), metasJson(ours.keys));
    assert.ok(viaAnchor.data.equals(ours.data));
  });

  it("request the compute budget margin checks need", () => {
    const ixs = keel.withComputeBudget([build("marginReport", F.instructions.find((x: Json) => x.name === "marginReport").inputs)]);
    assert.equal(ixs.length, 2);
    assert.equal(ixs[0].programId.toBase58(), "ComputeBudget111111111111111111111111111111");
    assert.equal(ixs[0].data.readUInt32LE(1), 1_400_000);
  });

  it("fit the compute request as keel-client's Budget::fitted does, at its bounds", () => {
    assert.ok(F.fittedBudgets.length >= 8);
    for (const { consumed, limit } of F.fittedBudgets) assert.equal(keel.fittedUnits(consumed), limit, `${consumed}`);
  });

  it("derive the ledger shards as keel-client does", () => {
    assert.deepEqual(keel.ledgerPdas(ex.exchange).map((k) => k.toBase58()), F.pdas.ledgers);
  });
});

describe("remaining accounts", () => {
  it("are chosen as keel-client chooses them", () => {
    const byType = (t: string) => F.accounts.filter((a: Json) => a.type === t);
    const dec = (a: Json) => ({ address: pk(a.address), account: keel.decodeAccount(accountName(a.type), b64(a.data)) });
    const markets = byType("Market").map((a: Json) => {
      const o = F.oracles.find((x: Json) => x.market === a.address);
      return { ...dec(a), oracleKey: pk(o.address), oracle: null };
    });
    const snap = new keel.Snapshot(F.now, ex.exchange, dec(byType("Exchange")[0]).account as keel.Exchange, markets,
      byType("Series").map(dec), byType("MarginAccount").map(dec), byType("Correlation").map(dec),
      undefined, byType("ArrayPage").map(dec));
    const input = (n: string) => F.instructions.find((x: Json) => x.name === n).inputs;
    const a = snap.account(pk(input("withdraw").account))!;
    const b = snap.account(pk(input("liquidate").liquidatee))!;
    assert.deepEqual(metasJson(snap.marginMetas([a])), input("withdraw").margin);
    assert.deepEqual(metasJson(snap.marginMetas([a, b])), input("trade").margin);
    assert.deepEqual(metasJson(snap.liquidateMetas(b, a)), input("liquidate").remaining);
    // Read-only series: none where the liquidator holds the other side, all where it holds
    // the same one, as keel-client passes them.
    assert.deepEqual(metasJson(snap.liquidateMetasReadingHeld(b, a)), input("liquidate").remainingReadingHeld);
    assert.deepEqual(metasJson(snap.liquidateMetasReadingHeld(b, b)), input("liquidate").remainingReadingHeldBySelf);
    const held = keel.activePositions(b).map((p) => p.series.toBase58());
    const readOnly = (ms: { pubkey: { toBase58(): string }; isWritable: boolean }[]) =>
      ms.filter((m) => !m.isWritable && held.includes(m.pubkey.toBase58())).length;
    assert.equal(readOnly(snap.liquidateMetasReadingHeld(b, a)), 0);
    assert.equal(readOnly(snap.liquidateMetasReadingHeld(b, b)), held.length);
    // Alice with her positions turned round and all but the first emptied: on Bob's side in one
    // series only, which alone is read-only.
    const one = { ...a, positions: a.positions.map((p) => ({ ...p, qtyContracts: p.qtyContracts.neg() })) };
    const first = keel.activePositions(one)[0];
    one.positions = one.positions.map((p) => (p.series.equals(first.series) ? p : { ...p, qtyContracts: p.qtyContracts.muln(0) }));
    const metas = snap.liquidateMetasReadingHeld(b, one);
    assert.ok(keel.positionOnSide(b, first.series, first.qtyContracts) !== undefined);
    assert.deepEqual(
      metas.filter((m) => !m.isWritable && held.includes(m.pubkey.toBase58())).map((m) => m.pubkey.toBase58()),
      [first.series.toBase58()],
    );
    assert.ok(keel.activePositions(a).length >= 3);
    // The series whose fills a crank folds, as keel-client picks them.
    const upd = input("updateVolatility");
    assert.deepEqual(snap.fillSeries(pk(upd.market)).map((x) => x.toBase58()), upd.series);
    assert.ok(upd.series.length > 0);
  });
});

describe("events", () => {
  it("decode from the logs field by field as keel-client decodes them", () => {
    let reports = 0;
    let traded = 0;
    for (const tx of F.transactions) {
      const events = keel.decodeEvents(tx.logs);
      assert.deepEqual(events.map((e) => e.name), tx.events.names.map((n: string) => camel(n[0].toLowerCase() + n.slice(1))), tx.label);
      const mr = keel.marginReports(tx.logs).map(norm);
      compareFields(mr, tx.events.MarginReport, `${tx.label} MarginReport`);
      const tr = keel.eventsOf(tx.logs, "traded").map(norm);
      compareFields(tr, tx.events.Traded, `${tx.label} Traded`);
      reports += mr.length;
      traded += tr.length;
    }
    assert.equal(reports, 2);
    assert.equal(traded, 3);
  });
});

describe("errors", () => {
  it("have keel-client's names, messages and hints", () => {
    for (const e of F.errors) {
      const d = keel.describeError(e.code);
      assert.ok(d, `${e.code}`);
      assert.equal(d!.name, e.name);
      if (d!.source === "Keel") assert.equal(d!.message, e.message, e.name);
      assert.equal(d!.hint ?? null, e.hint, e.name);
    }
    const code = keel.errorCode("BelowInitialMargin");
    const logs = [`Program log: AnchorError occurred. Error Code: BelowInitialMargin. Error Number: ${code}. Error Message: x.`];
    assert.equal(keel.programErrorCode(logs), code);
    assert.equal(keel.programErrorCode({ message: `custom program error: 0x${code.toString(16)}` }), code);
    assert.match(keel.explain(logs)!, /BelowInitialMargin.*\n  what to do: deposit collateral/);
  });
});

describe("oracle accounts", () => {
  it("encode PriceUpdateV2 as the receiver SDK serialises it (the bank's bytes)", () => {
    for (const o of F.oracles) {
      const data = b64(o.data);
      const u = keel.decodePriceUpdateV2(data);
      assert.ok(keel.encodePriceUpdateV2(u).equals(data), o.address);
      // keel-client's Quote::usd: 8 decimals, confidence 5 bps, ema = price, posted slot 1.
      const again = keel.usdQuote(u.feedId, Number(u.price / 100_000_000n), 5, u.publishTime);
      assert.ok(keel.encodePriceUpdateV2(again).equals(data), o.address);
    }
  });
});
