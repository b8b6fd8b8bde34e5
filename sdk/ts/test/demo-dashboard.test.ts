// The dashboard on the demo's chain: `keel demo --validator` replays the crash afternoon of
// 2020-03-12 on a solana-test-validator started by scripts/local-validator.sh (keel.so, the local
// push oracle), then `keel dashboard` serves that chain to headless Chromium. The page's exchange
// figures equal the demo's own summary and the vault's token balance, it lists every account the
// demo opened, and its liquidations panel shows every liquidation and bankruptcy the demo's
// keeper produced. A screenshot of the whole page goes to docs/img/dashboard-demo.png.
//
// Needs what dashboard.test.ts needs (without keel-monitor) and the market history the demo
// replays ($KEEL_SHARED_DATA or ../shared/data); skips, saying which is missing.

import { after, before, describe, it } from "node:test";
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Connection } from "@solana/web3.js";
import { Browser, Page } from "puppeteer-core";
import * as keel from "../src";
import { ROOT } from "./helpers";
import { REPO, SHOTS, browserSkip, keelCli, openPage, serveDashboard } from "./browser";
import { keelSo, localnetSkip, validatorBinary } from "./localnet";

const HISTORY = path.join(process.env.KEEL_SHARED_DATA ?? path.join(REPO, "../shared/data"), "btc_usdt_2h.csv");

const skip =
  localnetSkip() ||
  browserSkip() ||
  (fs.existsSync(HISTORY) ? false : `${HISTORY} not present (set KEEL_SHARED_DATA to the market history's folder)`);

/** The demo's JSON summary (the fields this test reads). */
interface DemoSummary {
  chain: string;
  accounts: { name: string }[];
  bankruptcies: unknown[];
  system: { vault_native: number; liquidation_calls: number; total_collateral_native: number; insurance_fund_native: number; conservation_holds: boolean };
}

describe("dashboard on the chain of `keel demo --validator`", { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-demo-dashboard-"));
  const ledger = path.join(dir, "ledger");
  const env = { ...process.env, HOME: os.tmpdir(), KEEL_TEST_VALIDATOR: validatorBinary() ?? "" };
  let rpc: string;
  let summary: DemoSummary;
  let server: ChildProcess;
  let browser: Browser;
  let page: Page;

  before(async () => {
    execFileSync("npx", ["vite", "build", "dashboard", "--logLevel", "error"], { cwd: ROOT, stdio: "inherit" });
    // Ports away from the other validator suites' (20 000–40 000).
    const base = 40_000 + Math.floor(Math.random() * 200) * 50;
    const out = execFileSync(
      path.join(REPO, "scripts/local-validator.sh"),
      ["--ledger", ledger, "--so", keelSo()!, "--rpc-port", String(base), "--faucet-port", String(base + 3),
        "--gossip-port", String(base + 4), "--dynamic-port-range", `${base + 5}-${base + 45}`],
      { cwd: REPO, env, encoding: "utf8" },
    );
    const info = Object.fromEntries(out.trim().split("\n").map((l) => l.split("=", 2) as [string, string]));
    rpc = info.rpc_url;
    summary = JSON.parse(
      execFileSync(
        keelCli()!,
        ["--url", rpc, "--keypair", info.authority, "--output", "json", "demo", "--validator",
          "--from", "2020-03-12 08:00", "--to", "2020-03-12 14:00", "--out", path.join(dir, "demo")],
        { cwd: REPO, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 },
      ),
    );
    let url: string;
    [server, url] = await serveDashboard(rpc);
    [browser, page] = await openPage(url);
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) server.kill("SIGTERM");
    try {
      execFileSync(path.join(REPO, "scripts/local-validator.sh"), ["--ledger", ledger, "--stop"], { cwd: REPO, env, stdio: "ignore" });
    } catch {
      // already stopped
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const natives = (sel: string) =>
    page.$$eval(sel, (els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-field"), e.getAttribute("data-native")])));

  it("shows the demo's exchange, accounts and liquidations", async () => {
    assert.ok(summary.chain.startsWith("solana-test-validator"), summary.chain);
    assert.ok(summary.system.conservation_holds);
    const shown = await natives("#exchange [data-field][data-native]");
    // The vault, read by the page from the chain, is the one the demo balanced to the unit.
    const connection = new Connection(rpc, "confirmed");
    const ex = (await keel.Snapshot.load(connection)).exchange;
    const vault = await connection.getTokenAccountBalance(ex.quoteVault);
    assert.equal(shown.vault, vault.value.amount);
    assert.equal(shown.vault, String(summary.system.vault_native));
    assert.equal(shown.total_collateral_native, String(summary.system.total_collateral_native));
    assert.equal(shown.insurance_fund_native, String(summary.system.insurance_fund_native));
    assert.equal(await page.$eval('[data-field="conservation"]', (e) => e.getAttribute("data-ok")), "true");
    assert.equal(shown.liquidation_count, String(summary.system.liquidation_calls));
    // Every account the demo opened (maker, keeper, traders).
    assert.equal(await page.$$eval("tr[data-account]", (trs) => trs.length), summary.accounts.length);
    // Every liquidation and bankruptcy the demo's keeper produced, and the operator's funding.
    const events = await page.$$eval('[data-testid="events"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute("data-event")));
    const count = (name: string) => events.filter((e) => e === name).length;
    assert.ok(summary.system.liquidation_calls > 0, "the crash afternoon liquidates");
    assert.equal(count("liquidated"), summary.system.liquidation_calls);
    assert.equal(count("bankrupt"), summary.bankruptcies.length);
    assert.equal(count("insuranceFunded"), 1);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "dashboard-demo.png"), fullPage: true });
  });
});
