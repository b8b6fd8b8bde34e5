// The SDK against the real keel.so on a local solana-test-validator (test/localnet.ts): the
// wallet flows and cranks built by the SDK's builders, accounts fetched and decoded, the
// MarginReport event of a simulated margin_report equal field by field to the WebAssembly
// engine on the same bytes, program errors named with the CLI's hints, conservation.
// Skips, saying why, without the validator binary or keel.so.

import { after, before, describe, it } from "node:test";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { Keypair, Transaction } from "@solana/web3.js";
import * as keel from "../src";
import { ROOT } from "./helpers";
import { FUTURE_PRICE, Localnet, ORACLE_PATH, TRADE_QTY, USDC, advance, localnetSkip, startLocalnet } from "./localnet";

const WASM = path.join(ROOT, "wasm/keel_wasm.wasm");
const skip = localnetSkip() || (fs.existsSync(WASM) ? false : `${WASM} missing: run scripts/build-wasm.sh`);

describe("against keel.so on solana-test-validator", { skip }, () => {
  let net: Localnet;
  let engine: keel.Engine;
  before(async () => {
    net = await startLocalnet();
    engine = await keel.Engine.load(fs.readFileSync(WASM));
  });
  after(async () => net?.stop());

  /** Simulates `ixs` (fee payer `payer`, the admin by default) and expects the program's `name`. */
  async function expectError(ixs: Parameters<Localnet["send"]>[0], signers: Parameters<Localnet["send"]>[1], name: string, payer: Keypair = net.admin) {
    const tx = new Transaction().add(...keel.withComputeBudget(ixs));
    tx.feePayer = payer.publicKey;
    tx.recentBlockhash = (await net.connection.getLatestBlockhash()).blockhash;
    tx.sign(payer, ...(signers ?? []));
    const sim = await net.connection.simulateTransaction(tx);
    const why = `${JSON.stringify(sim.value.err)}\n${(sim.value.logs ?? []).join("\n")}`;
    assert.ok(sim.value.err, `expected ${name}`);
    const code = keel.programErrorCode(sim.value.logs ?? []);
    const d = keel.describeError(code!);
    assert.equal(d?.name, name, why);
    return d!;
  }

  it("bootstrapped through the SDK and Anchor's resolver: accounts decode", async () => {
    const snap = await net.snapshot();
    assert.equal(snap.exchange.marketCount, 1);
    assert.ok(snap.markets[0].address.equals(net.market));
    assert.equal(keel.fixedString(snap.markets[0].account.name), "BTC/USD");
    assert.equal(snap.markets[0].account.seriesCount, 1);
    assert.equal(snap.series.length, 1);
    assert.equal(snap.accounts.length, 3);
    const a = snap.account(net.alice.account)!;
    assert.ok(a.owner.equals(net.alice.kp.publicKey));
    const [p] = keel.activePositions(a);
    assert.ok(p.series.equals(net.future));
    assert.equal(p.qtyContracts.toString(), String(TRADE_QTY));
    // update_market_params took the typed RiskParams, encoded: only the changed field moved.
    const m = snap.markets[0].account;
    assert.equal(m.riskParams.minObsIntervalSecs.toString(), "1");
    assert.equal(m.riskParams.imHorizonSecs.toString(), "86400");
    assert.equal((await keel.fetchMarginAccounts(net.connection, net.bob.kp.publicKey)).length, 1);
    // Conservation: the vault holds what the books owe.
    const vault = await net.connection.getTokenAccountBalance(net.ex.vault);
    assert.equal(BigInt(vault.value.amount), snap.liabilitiesNative());
    assert.ok(snap.exchange.feesNative.gtn(0));
  });

  it("margin_report's event is the WebAssembly engine's report, field by field", async () => {
    const snap = await net.snapshot();
    for (const t of [net.alice, net.bob]) {
      const ix = keel.marginReport(net.ex, t.account, snap.marginMetas([snap.account(t.account)!]));
      const tx = new Transaction().add(...keel.withComputeBudget([ix]));
      tx.feePayer = net.admin.publicKey;
      tx.recentBlockhash = (await net.connection.getLatestBlockhash()).blockhash;
      tx.sign(net.admin);
      const sim = await net.connection.simulateTransaction(tx);
      assert.equal(sim.value.err, null, (sim.value.logs ?? []).join("\n"));
      const [ev] = keel.marginReports(sim.value.logs ?? []);
      const now = Number(ev.now.toString());
      const ours = engine.margin(snap.frame(t.account, 1, 1, now));
      assert.ok(!("error" in ours), JSON.stringify(ours));
      const norm = (v: unknown): unknown =>
        v && typeof v === "object" && "toBase58" in (v as object)
          ? (v as { toBase58(): string }).toBase58()
          : v && typeof v === "object" && "toArrayLike" in (v as object)
            ? (v as { toString(): string }).toString()
            : Array.isArray(v)
              ? v.map(norm)
              : v && typeof v === "object"
                ? Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()), norm(x)]))
                : v;
      assert.deepEqual(norm(ev), ours);
      assert.equal(ours.positions.length, 1);
    }
  });

  it("withdraw: above initial margin refused by name with the CLI's hint; within it paid", async () => {
    const snap = await net.snapshot();
    const a = snap.account(net.alice.account)!;
    const metas = snap.marginMetas([a]);
    const all = BigInt(a.collateralNative.toString());
    const d = await expectError(
      [keel.withdraw(net.ex, net.alice.kp.publicKey, net.alice.account, net.alice.tokens, all, metas)],
      [net.alice.kp],
      "WithdrawalBelowInitialMargin",
    );
    assert.match(d.hint!, /withdrawable/);
    const before = BigInt((await net.connection.getTokenAccountBalance(net.alice.tokens)).value.amount);
    await net.send([keel.withdraw(net.ex, net.alice.kp.publicKey, net.alice.account, net.alice.tokens, 100n * USDC, metas)], [net.alice.kp]);
    const after = BigInt((await net.connection.getTokenAccountBalance(net.alice.tokens)).value.amount);
    assert.equal(after - before, 100n * USDC);
  });

  it("trade: one account on both sides is refused as SelfTrade", async () => {
    const snap = await net.snapshot();
    const metas = snap.marginMetas([snap.account(net.alice.account)!]);
    const d = await expectError(
      [keel.trade(net.ex, net.future, net.alice.account, net.alice.kp.publicKey, net.alice.account, net.alice.kp.publicKey, { qtyContracts: 1, priceNative: FUTURE_PRICE }, metas)],
      [net.alice.kp],
      "SelfTrade",
    );
    assert.equal(d.code, 6033);
  });

  it("trade: one owner's two accounts on both sides are refused as SameSignerBothSides", async () => {
    // The owner signs for taker and maker: it could set any price between its own accounts.
    const alice = net.alice;
    const second = keel.marginAccountPda(net.ex.exchange, alice.kp.publicKey, 1);
    await net.send([keel.openAccount(net.ex, alice.kp.publicKey, 1), keel.deposit(net.ex, alice.kp.publicKey, second, alice.tokens, 100n * USDC)], [alice.kp]);
    const snap = await net.snapshot();
    const metas = snap.marginMetas([snap.account(alice.account)!, snap.account(second)!]);
    await expectError(
      [keel.trade(net.ex, net.future, alice.account, alice.kp.publicKey, second, alice.kp.publicKey, { qtyContracts: 1, priceNative: FUTURE_PRICE }, metas)],
      [alice.kp],
      "SameSignerBothSides",
    );
    // The second account, which never traded, is emptied and closed (the later cases see the
    // bootstrap's three accounts).
    await net.send([keel.withdraw(net.ex, alice.kp.publicKey, second, alice.tokens, 100n * USDC, []), keel.closeAccount(alice.kp.publicKey, second)], [alice.kp]);
    assert.equal(await net.connection.getAccountInfo(second), null);
  });

  it("cranks: the same update twice is refused by name; newer ones move the vol state", async () => {
    await expectError([keel.updateVolatility(net.ex, net.market, net.oracles[0])], [], "ObservationOutOfOrder");
    const before = (await net.snapshot()).markets[0].account.volState;
    const sigs = await advance(net, 4);
    const after = (await net.snapshot()).markets[0].account.volState;
    assert.equal(after.nObs.toNumber(), before.nObs.toNumber() + 4);
    // The last observation's price per contract: 0.01 BTC at the fifth update.
    assert.equal(after.lastPrice.toString(), String(BigInt(ORACLE_PATH[4]) * USDC / 100n));
    const tx = await net.connection.getTransaction(sigs[3], { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    const [ev] = keel.eventsOf(tx?.meta?.logMessages ?? [], "volatilityUpdated");
    assert.ok(ev.market.equals(net.market));
    assert.equal(ev.marginVolQ32.toString(), after.marginVol.toString());
    // An update older than the newest accepted is refused. Cranked by another keeper (Bob pays):
    // the admin's crank of this update a moment ago, under the same blockhash, is the same
    // transaction, which the validator refuses as AlreadyProcessed before the program runs.
    await expectError([keel.updateVolatility(net.ex, net.market, net.oracles[2])], [], "OracleOutOfOrder", net.bob.kp);
  });

  it("close: an emptied account closes and its rent returns", async () => {
    const c = net.carol;
    const snap = await net.snapshot();
    const acc = snap.account(c.account)!;
    await net.send([keel.withdraw(net.ex, c.kp.publicKey, c.account, c.tokens, BigInt(acc.collateralNative.toString()), [])], [c.kp]);
    await net.send([keel.closeAccount(c.kp.publicKey, c.account)], [c.kp]);
    assert.equal(await net.connection.getAccountInfo(c.account), null);
    const events = await net.connection.getSignaturesForAddress(c.account, { limit: 1 });
    const tx = await net.connection.getTransaction(events[0].signature, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    assert.deepEqual(keel.decodeEvents(tx?.meta?.logMessages ?? []).map((e) => e.name), ["accountClosed"]);
  });
});
