// The web dashboard in headless Chromium against a running chain (test/localnet.ts), served by
// `keel dashboard`: the numbers it shows equal keel-client's (`keel margin --output json`, the
// CLI's off-chain computation) for the same accounts, the exchange figures equal the accounts'
// and the vault's, the page is usable from the keyboard (Tab to an account row, Enter, what-if
// form), and screenshots go to docs/img/ for docs/dashboard.md.
//
// Needs: solana-test-validator and keel.so (as the validator tests), Chromium ($KEEL_CHROMIUM or
// /usr/bin/chromium), the `keel` and `keel-monitor` binaries ($KEEL_CLI / $KEEL_MONITOR, else
// $CARGO_TARGET_DIR/debug/, else target/debug/), the WebAssembly engine. Skips, saying which is
// missing.

import { after, before, describe, it } from "node:test";
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import puppeteer, { Browser, Page } from "puppeteer-core";
import * as keel from "../src";
import { ROOT } from "./helpers";
import { Localnet, ORACLE_PATH, advance, localnetSkip, startLocalnet } from "./localnet";

const REPO = path.resolve(ROOT, "../..");
const CHROMIUM = process.env.KEEL_CHROMIUM ?? "/usr/bin/chromium";
const WASM = path.join(ROOT, "wasm/keel_wasm.wasm");
const SHOTS = path.join(REPO, "docs/img");

function binary(env: string | undefined, name: string): string | null {
  const c = [
    env,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, "debug", name),
    path.join(REPO, "target/debug", name),
  ].filter((x): x is string => !!x);
  return c.find((p) => fs.existsSync(p)) ?? null;
}
const keelCli = () => binary(process.env.KEEL_CLI, "keel");
const keelMonitor = () => binary(process.env.KEEL_MONITOR, "keel-monitor");

/** Spawns `bin` and resolves with the first match of `re` in its stderr. */
function spawnAndRead(bin: string, args: string[], re: RegExp): Promise<[ChildProcess, string]> {
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, HOME: os.tmpdir() } });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d) => {
      err += d;
      const m = re.exec(err);
      if (m) resolve([child, m[1]]);
    });
    child.once("exit", () => reject(new Error(`${bin} exited: ${err}`)));
  });
}

const skip =
  localnetSkip() ||
  (fs.existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set KEEL_CHROMIUM)`) ||
  (fs.existsSync(WASM) ? false : `${WASM} missing: run scripts/build-wasm.sh`) ||
  (keelCli() ? false : "the keel CLI binary is missing (cargo build -p keel-cli, or set KEEL_CLI)") ||
  (keelMonitor() ? false : "the keel-monitor binary is missing (cargo build -p keel-monitor, or set KEEL_MONITOR)");

/** keel-client's margin of `account`, as the CLI computes and prints it. */
function cliMargin(net: Localnet, account: string): Record<string, unknown> {
  const oracle = `${net.market.toBase58()}=${net.oracles[net.oracleIndex].toBase58()}`;
  const out = execFileSync(keelCli()!, ["--url", net.rpc, "--output", "json", "--oracle", oracle, "margin", account], {
    encoding: "utf8",
    env: { ...process.env, HOME: os.tmpdir() },
  });
  return JSON.parse(out);
}

describe("dashboard in headless Chromium", { skip }, () => {
  let net: Localnet;
  let server: ChildProcess;
  let monitor: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;

  before(async () => {
    net = await startLocalnet();
    // The market's cranks through the oracle updates, ending 32% down: Alice's long futures fall
    // below maintenance margin and Bob liquidates her (events for the vol chart and the
    // liquidations panel).
    await advance(net, ORACLE_PATH.length - 1);
    const snap = await net.snapshot();
    const [a, b] = [snap.account(net.alice.account)!, snap.account(net.bob.account)!];
    await net.send(
      [keel.liquidate(net.ex, net.alice.account, net.bob.account, net.bob.kp.publicKey, 10_000, snap.liquidateMetas(a, b))],
      [net.bob.kp],
    );
    execFileSync("npx", ["vite", "build", "dashboard", "--logLevel", "error"], { cwd: ROOT, stdio: "inherit" });
    const records = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keel-monitor-")), "horizons.jsonl");
    let monitorUrl: string;
    [monitor, monitorUrl] = await spawnAndRead(
      keelMonitor()!,
      ["--url", net.rpc, "--listen", "127.0.0.1:0", "--records", records, "--interval", "1"],
      /and (http:\/\/[^ ]+\/monitor\.json)/,
    );
    [server, url] = await spawnAndRead(
      keelCli()!,
      ["--url", net.rpc, "--oracle", `${net.market.toBase58()}=${net.oracles[net.oracleIndex].toBase58()}`, "dashboard",
        "--listen", "127.0.0.1:0", "--dir", path.join(ROOT, "dashboard/dist"), "--refresh", "0", "--monitor", monitorUrl],
      /keel dashboard: (http:\/\/[^ ]+\/)/,
    );
    // The monitor has read the market once (a book struck, no horizon yet).
    await new Promise((r) => setTimeout(r, 2500));
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "keel-chromium-"));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`],
      defaultViewport: { width: 1440, height: 900 },
    });
    page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForSelector("body[data-loaded]", { timeout: 60_000 });
    assert.deepEqual(errors, []);
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) server.kill("SIGTERM");
    if (monitor && monitor.exitCode === null) monitor.kill("SIGTERM");
    await net?.stop();
  });

  const natives = (sel: string) =>
    page.$$eval(sel, (els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-field"), e.getAttribute("data-native")])));

  it("shows the exchange's figures and the conservation check", async () => {
    const snap = await keel.Snapshot.load(net.connection);
    const shown = await natives("#exchange [data-field][data-native]");
    const e = snap.exchange;
    assert.equal(shown.total_collateral_native, e.totalCollateralNative.toString());
    assert.equal(shown.insurance_fund_native, e.insuranceFundNative.toString());
    assert.equal(shown.fees_native, e.feesNative.toString());
    assert.equal(shown.social_loss_pending_native, e.socialLossPendingNative.toString());
    const vault = await net.connection.getTokenAccountBalance(net.ex.vault);
    assert.equal(shown.vault, vault.value.amount);
    assert.equal(await page.$eval('[data-field="conservation"]', (e) => e.getAttribute("data-ok")), "true");
    // The model monitor's panel: the market, no realised horizon yet, no alert.
    const mon = await page.$$eval('[data-testid="monitor"] tbody tr', (trs) =>
      trs.map((tr) => ({ market: tr.getAttribute("data-market"), zone: tr.getAttribute("data-zone") })),
    );
    assert.deepEqual(mon, [{ market: net.market.toBase58(), zone: "insufficient" }]);
    assert.equal(await page.$('[data-testid="monitor-alert"]'), null);
    await page.screenshot({ path: path.join(SHOTS, "dashboard-overview.png"), fullPage: true });
  });

  it("shows the vols over time and the liquidation", async () => {
    // One point per crank event (the cranks after the market's creation), drawn by uPlot.
    const points = await page.$eval('[data-testid="vol-chart"]', (e) => e.getAttribute("data-points"));
    assert.equal(points, String(ORACLE_PATH.length - 1));
    assert.equal(await page.$$eval('[data-testid="vol-chart"] canvas', (e) => e.length), 1);
    const events = await page.$$eval('[data-testid="events"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute("data-event")));
    assert.deepEqual(events, ["liquidated"]);
    const snap = await net.snapshot();
    assert.equal(snap.exchange.liquidationCount.toString(), "1");
    const shown = await natives("#exchange [data-field][data-native]");
    assert.equal(shown.liquidation_count, "1");
  });

  it("shows every account's margin as keel-client computes it, ranked by health", async () => {
    const rows = await page.$$eval("tr[data-account]", (trs) =>
      trs.map((tr) => ({
        key: tr.getAttribute("data-account")!,
        ...Object.fromEntries([...tr.querySelectorAll("[data-field][data-native]")].map((td) => [td.getAttribute("data-field"), td.getAttribute("data-native")])),
        text: (tr.querySelector('[data-field="equity_mm"]') as HTMLElement | null)?.innerText,
        scenario: tr.querySelector('[data-field="worst"]')?.getAttribute("data-scenario"),
      })),
    );
    assert.equal(rows.length, 3);
    const health: number[] = [];
    for (const r of rows) {
      const cli = cliMargin(net, r.key);
      for (const f of ["equity_mm", "im", "mm", "health_mm", "health_im"]) {
        assert.equal((r as Record<string, unknown>)[f], String(cli[f]), `${r.key} ${f}`);
      }
      // The text is the amount in USDC with 6 decimals.
      const eq = BigInt(String(cli.equity_mm));
      assert.equal(r.text!.replace(/,/g, ""), `${eq / 1_000_000n}.${(eq % 1_000_000n).toString().padStart(6, "0")}`);
      // The worst interval is the CLI's of the market with the largest MM loss: the CLI's name
      // is the interval's first scenario point as the engine names it, then the prices it spans.
      const markets = cli.markets as { worst_mm: number; worst_mm_interval_name: string }[];
      const worst = markets.reduce((a, b) => (b.worst_mm > a.worst_mm ? b : a));
      assert.ok(worst.worst_mm_interval_name.startsWith(r.scenario!), `${r.key} worst interval: ${r.scenario} vs ${worst.worst_mm_interval_name}`);
      const mm = Number(cli.mm);
      health.push(mm > 0 ? Number(cli.health_mm) / mm : Infinity);
    }
    assert.deepEqual([...health].sort((a, b) => a - b), health, "ranked closest to maintenance first");
  });

  it("opens an account from the keyboard: positions, heatmap, what-if", async () => {
    const key = net.alice.account.toBase58();
    await page.focus(`tr[data-account="${key}"]`);
    await page.keyboard.press("Enter");
    await page.waitForSelector('[data-testid="heatmap"]');
    const cli = cliMargin(net, key);
    const pos = await page.$$eval('[data-testid="positions"] tbody tr', (trs) =>
      trs.map((tr) => Object.fromEntries([...tr.querySelectorAll("[data-field]")].map((td) => [td.getAttribute("data-field"), td.getAttribute("data-native")]))),
    );
    const cliPos = cli.positions as Record<string, unknown>[];
    assert.equal(pos.length, cliPos.length);
    pos.forEach((p, i) => {
      for (const f of ["qty_contracts", "mark", "mark_stable", "value", "delta_q32", "gamma_q32", "vega", "theta"]) {
        assert.equal(p[f], String(cliPos[i][f]), `position ${i} ${f}`);
      }
    });
    // The heatmap: 5 vol shocks × 9 moves; no move and no shock is no P&L; a long future gains
    // when the price rises.
    const cells = await page.$$eval('[data-testid="heatmap"] td[data-native]', (tds) =>
      tds.map((td) => ({ move: Number(td.getAttribute("data-move")), vol: Number(td.getAttribute("data-vol")), pnl: BigInt(td.getAttribute("data-native")!).toString() })),
    );
    assert.equal(cells.length, 45);
    assert.equal(cells.find((c) => c.move === 0 && c.vol === 1)!.pnl, "0");
    assert.ok(BigInt(cells.find((c) => c.move === 0.1 && c.vol === 1)!.pnl) > 0n);
    // The what-if at no move equals the account's figures; a 30% fall is shown with its loss.
    const base = await natives('[data-testid="summary"] [data-field]');
    const wi = await natives('[data-testid="whatif"] [data-field]');
    assert.equal(wi.whatif_equity_mm, base.equity_mm);
    assert.equal(base.equity_mm, String(cli.equity_mm));
    await page.focus("#whatif-spot");
    await page.keyboard.down("Control");
    await page.keyboard.press("a");
    await page.keyboard.up("Control");
    await page.keyboard.type("-30");
    await page.keyboard.press("Enter");
    await page.waitForFunction((v) => document.querySelector('[data-field="whatif_equity_mm"]')?.getAttribute("data-native") !== v, {}, base.equity_mm);
    const moved = await natives('[data-testid="whatif"] [data-field]');
    assert.ok(BigInt(moved.whatif_equity_mm!) < BigInt(base.equity_mm!));
    await page.screenshot({ path: path.join(SHOTS, "dashboard-account.png"), fullPage: true });
  });
});
