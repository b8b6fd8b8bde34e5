// The WebAssembly engine (crates/wasm, built by scripts/build-wasm.sh) on the bank's accounts:
// its margin report is keel-client's (and the program's) field for field, and every what-if
// output is byte for byte the native engine's (test/fixtures/engine.json, written and checked by
// crates/wasm's tests).

import { describe, it } from "node:test";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as keel from "../src";
import { Json, ROOT, b64, loadFixtures, pk } from "./helpers";

const WASM = path.join(ROOT, "wasm/keel_wasm.wasm");
const skip = fs.existsSync(WASM) ? false : `${WASM} missing: run scripts/build-wasm.sh`;
const F = loadFixtures();

function frame(account: string, spotMultBits?: bigint, volMultBits?: bigint): Uint8Array {
  const of = (t: string) => F.accounts.filter((a: Json) => a.type === t);
  const acc = F.accounts.find((a: Json) => a.address === account);
  return keel.buildFrame({
    now: F.now,
    spotMult: 1,
    volMult: 1,
    spotMultBits,
    volMultBits,
    exchange: b64(of("Exchange")[0].data),
    accountKey: pk(account),
    account: b64(acc.data),
    markets: of("Market").map((m: Json) => {
      const o = F.oracles.find((x: Json) => x.market === m.address);
      return { key: pk(m.address), data: b64(m.data), oracleKey: pk(o.address), oracleOwner: pk(o.owner), oracleData: b64(o.data) };
    }),
    correlations: of("Correlation").map((c: Json) => b64(c.data)),
    pages: of("ArrayPage").map((p: Json) => b64(p.data)),
  });
}

describe("WebAssembly engine", { skip }, () => {
  it("computes keel-client's margin report on the bank's accounts", async () => {
    const engine = await keel.Engine.load(fs.readFileSync(WASM));
    for (const r of F.marginReports) {
      assert.deepEqual(engine.margin(frame(r.account)), r, r.account);
    }
  });

  it("is bit-identical to the native engine on the what-if grid", async () => {
    const engine = await keel.Engine.load(fs.readFileSync(WASM));
    const cases = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/engine.json"), "utf8"));
    assert.equal(cases.length, 30);
    for (const c of cases) {
      const out = engine.marginJson(frame(c.account, BigInt(c.spotMult), BigInt(c.volMult)));
      assert.equal(out, c.output, `${c.account} spot×${c.spotMult} vol×${c.volMult}`);
    }
    // The grid moves the figures (not one answer repeated).
    assert.ok(new Set(cases.map((c: Json) => JSON.parse(c.output).equity_mm)).size >= 10);
  });

  it("reads each market's oracle price as the program does", async () => {
    const engine = await keel.Engine.load(fs.readFileSync(WASM));
    const r = F.marginReports[0];
    const prices = engine.prices(frame(r.account));
    assert.equal(prices.length, 2);
    const btc = prices.find((p) => p.market === r.markets[0].market)!;
    assert.equal(btc.price_native, r.markets[0].spot);
    assert.equal(btc.conf_native, r.markets[0].conf);
  });

  it("names the scenario points as keel-risk does", async () => {
    const engine = await keel.Engine.load(fs.readFileSync(WASM));
    const names = engine.scenarioNames();
    // The risk arrays' 70 points (keel_risk::array::POINTS); an interval is named by its first.
    assert.equal(names.length, 70);
    names.forEach((n, s) => assert.ok(n.startsWith(`#${s}: `), n));
    const r = F.marginReports[0].markets[0];
    assert.match(names[r.worst_mm_interval], /vol (up|down)|extreme|named shock/);
  });

  it("reports errors instead of failing", async () => {
    const engine = await keel.Engine.load(fs.readFileSync(WASM));
    assert.deepEqual(engine.margin(new Uint8Array([1, 2, 3])), { error: "frame truncated" });
  });
});
