// The web dashboard in headless Chromium against a running chain (test/localnet.ts), served by
// `keel dashboard`: the numbers it shows equal keel-client's (`keel margin --output json`, the
// CLI's off-chain computation) for the same accounts, the exchange figures equal the accounts'
// and the vault's, the page is usable from the keyboard (Tab from the top of the page to an
// account row, Enter, Tab on to the what-if form), and screenshots of each panel go to docs/img/
// for docs/dashboard.md.
//
// Needs: solana-test-validator and keel.so (as the validator tests), Chromium ($KEEL_CHROMIUM or
// /usr/bin/chromium), the `keel` and `keel-monitor` binaries ($KEEL_CLI / $KEEL_MONITOR, else
// $CARGO_TARGET_DIR/debug/, else target/debug/), the WebAssembly engine. Skips, saying which is
// missing.

import { after, before, describe, it } from "node:test";
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import BN from "bn.js";
import { Browser, Page } from "puppeteer-core";
import { Keypair, SystemProgram } from "@solana/web3.js";
import { AnchorProvider, Wallet } from "@anchor-lang/core";
import * as keel from "../src";
import { ROOT } from "./helpers";
import { SHOTS, browserSkip, keelCli, keelMonitor, openPage, serveDashboard, spawnAndRead } from "./browser";
import { FUTURE_PRICE, Localnet, ORACLE_PATH, advance, localnetSkip, startLocalnet } from "./localnet";

/** Futures Carol buys from Bob (600 USDC each at the first price, on her 1 000 USDC)... */
const CAROL_QTY = 2;
/**
 * ...and puts struck at 42 000 USD (420 USDC per 0.01 BTC contract): far out of the money when
 * bought, at the money after the fall, so her book has vega. Bought at 0.01 USDC: inside the
 * trade band, which reaches 0.1% of spot above the put's value at 1.5× the vol in force.
 */
const PUT_STRIKE = 420n * 1_000_000n;
const PUT_PRICE = 10_000n;

const skip =
  localnetSkip() ||
  browserSkip() ||
  (keelMonitor() ? false : "the keel-monitor binary is missing (cargo build -p keel-monitor, or set KEEL_MONITOR)");

/**
 * keel-client's margin of `account`, as the CLI computes and prints it, valued at unix time `at`
 * (the page's: the stable price, hence the IM side, moves with time).
 */
function cliMargin(net: Localnet, account: string, at: number): Record<string, unknown> {
  const oracle = `${net.market.toBase58()}=${net.oracles[net.oracleIndex].toBase58()}`;
  const out = execFileSync(keelCli()!, ["--url", net.rpc, "--output", "json", "--oracle", oracle, "margin", account, "--at", String(at)], {
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
    // Carol buys futures and puts from Bob too: she keeps them through the fall (the account
    // the detail test opens), while Alice's futures are taken over below.
    const fut = (await keel.fetchOne(net.connection, "series", net.future))!;
    // An option is listed into a risk-array page (allocated here at its full size, owned by
    // Keel, initialised by create_array_page) and priced there by the permissionless crank.
    const arrays = Keypair.generate();
    const program = keel.keelProgram(new AnchorProvider(net.connection, new Wallet(net.admin), { commitment: "confirmed" }));
    const space = program.account.arrayPage.size;
    await net.send(
      [
        SystemProgram.createAccount({
          fromPubkey: net.admin.publicKey,
          newAccountPubkey: arrays.publicKey,
          lamports: await net.connection.getMinimumBalanceForRentExemption(space),
          space,
          programId: keel.PROGRAM_ID,
        }),
        keel.createArrayPage(net.ex, net.admin.publicKey, net.market, arrays.publicKey),
      ],
      [arrays],
    );
    await net.send([keel.listSeries(net.ex, net.admin.publicKey, net.market, 1, { kind: 1, strikeNative: new BN(PUT_STRIKE.toString()), expiryTs: fut.expiryTs }, arrays.publicKey)]);
    const crankPage = () => net.send([keel.crankArrays(net.ex, net.market, net.oracles[net.oracleIndex], arrays.publicKey)]);
    await crankPage();
    const put = keel.seriesPda(net.market, 1);
    for (const [series, qty, price] of [[net.future, CAROL_QTY, FUTURE_PRICE], [put, CAROL_QTY, PUT_PRICE]] as const) {
      const s0 = await net.snapshot();
      const [c0, b0] = [s0.account(net.carol.account)!, s0.account(net.bob.account)!];
      // The put's risk-array page goes with the trade (neither account holds the series yet).
      const traded = (await keel.fetchOne(net.connection, "series", series))!;
      await net.send(
        [keel.trade(net.ex, series, net.carol.account, net.carol.kp.publicKey, net.bob.account, net.bob.kp.publicKey,
          { qtyContracts: qty, priceNative: new BN(price.toString()) }, s0.marginMetas([c0, b0], [net.market], [traded]))],
        [net.carol.kp, net.bob.kp],
      );
    }
    // The market's cranks through the oracle updates, ending 32% down: Alice's long futures fall
    // below maintenance margin and Bob liquidates her (events for the vol chart and the
    // liquidations panel).
    await advance(net, ORACLE_PATH.length - 1);
    // The fall re-anchored the market's arrays: the page is repriced before Bob's (short put)
    // margin is checked in the liquidation.
    await crankPage();
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
    [server, url] = await serveDashboard(
      net.rpc,
      ["--oracle", `${net.market.toBase58()}=${net.oracles[net.oracleIndex].toBase58()}`],
      ["--monitor", monitorUrl],
    );
    // The monitor has read the market once (a book struck, no horizon yet).
    await new Promise((r) => setTimeout(r, 2500));
    [browser, page] = await openPage(url);
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) server.kill("SIGTERM");
    if (monitor && monitor.exitCode === null) monitor.kill("SIGTERM");
    await net?.stop();
  });

  /** A screenshot of one panel, for docs/dashboard.md. */
  const shot = async (sel: string, name: string) => {
    const el = await page.$(sel);
    assert.ok(el, sel);
    await el.screenshot({ path: path.join(SHOTS, `dashboard-${name}.png`) });
  };

  /** Presses Tab until the focused element matches `sel`; returns the presses (at most `max`). */
  const tabTo = async (sel: string, max: number): Promise<number> => {
    for (let n = 1; n <= max; n++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate((q) => document.activeElement?.matches(q) ?? false, sel)) return n;
    }
    assert.fail(`Tab did not reach ${sel} in ${max} presses`);
  };

  /** The cluster time the page computed its figures at. */
  const pageNow = async () => Number(await page.$eval("body", (b) => b.getAttribute("data-now")));

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
    await shot("#exchange", "exchange");
    await shot("#monitor", "monitor");
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
    await shot("#markets", "markets");
    await shot("#vol", "vol");
    await shot("#events", "liquidations");
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
    const at = await pageNow();
    for (const r of rows) {
      const cli = cliMargin(net, r.key, at);
      for (const f of ["equity_mm", "im", "mm", "health_mm", "health_im"]) {
        assert.equal((r as Record<string, unknown>)[f], String(cli[f]), `${r.key} ${f}`);
      }
      // The text is the amount in USDC with 6 decimals.
      const eq = BigInt(String(cli.equity_mm));
      assert.equal(r.text!.replace(/,/g, ""), `${eq / 1_000_000n}.${(eq % 1_000_000n).toString().padStart(6, "0")}`);
      // The worst interval is the CLI's of the market with the largest MM loss (none for an
      // account without positions): the CLI's name is the interval's first scenario point as
      // the engine names it, then the prices it spans.
      const markets = cli.markets as { worst_mm: number; worst_mm_interval_name: string }[];
      const worst = markets.length ? markets.reduce((a, b) => (b.worst_mm > a.worst_mm ? b : a)).worst_mm_interval_name : null;
      if (worst === null) assert.equal(r.scenario, null, `${r.key} worst interval`);
      else assert.ok(worst.startsWith(r.scenario!), `${r.key} worst interval: ${r.scenario} vs ${worst}`);
      const mm = Number(cli.mm);
      health.push(mm > 0 ? Number(cli.health_mm) / mm : Infinity);
    }
    assert.deepEqual([...health].sort((a, b) => a - b), health, "ranked closest to maintenance first");
    // After the liquidation: Alice flat, Bob short what Carol bought, Carol long.
    const flat = rows.filter((r) => r.scenario === null).map((r) => r.key);
    assert.deepEqual(flat, [net.alice.account.toBase58()]);
    await shot("#accounts", "accounts");
  });

  it("opens an account from the keyboard: positions, heatmap, what-if", async () => {
    // From the top of the page: the skip link is the first Tab stop, Enter on it moves focus to
    // the accounts, Tab reaches the rows; Enter opens one and focus moves to its panel.
    const key = net.carol.account.toBase58();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    assert.equal(await tabTo("a.skip", 1), 1);
    await page.keyboard.press("Enter");
    const rank = await page.$$eval("tr[data-account]", (trs, k) => trs.findIndex((tr) => tr.getAttribute("data-account") === k), key);
    assert.ok(rank >= 0);
    assert.equal(await tabTo(`tr[data-account="${key}"]`, 10), rank + 1, "one Tab per row, in rank order");
    await page.keyboard.press("Enter");
    await page.waitForSelector('[data-testid="heatmap"]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), "account");
    const cli = cliMargin(net, key, await pageNow());
    assert.equal(cli.now, await pageNow());
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
    const pnl = (move: number, vol: number) => BigInt(cells.find((c) => c.move === move && c.vol === vol)!.pnl);
    // Long futures, long puts: net long delta after the fall, so +10% gains.
    assert.ok(pnl(0.1, 1) > 0n, JSON.stringify(cells));
    // Long options gain with vol: at every move the P&L does not fall as the vol shock rises
    // (to the native unit per contract the engine rounds by, in the exchange's favour), and at
    // no move, where the puts are at the money, it strictly rises.
    const slack = BigInt(2 * CAROL_QTY);
    for (const move of [-0.3, -0.2, -0.1, -0.05, 0, 0.05, 0.1, 0.2, 0.3]) {
      for (const [lo, hi] of [[0.5, 0.75], [0.75, 1], [1, 1.5], [1.5, 2]]) {
        assert.ok(pnl(move, hi) >= pnl(move, lo) - slack, `move ${move}: vol ${lo} ${pnl(move, lo)} → ${hi} ${pnl(move, hi)}`);
      }
    }
    assert.ok(pnl(0, 0.5) < pnl(0, 1) && pnl(0, 1) < pnl(0, 2), JSON.stringify(cells));
    // The futures' share of a move is qty × the move × the oracle price per contract: the puts
    // (long, convex) make +10% gain less and −10% lose less than the futures alone.
    const spot = BigInt(String((cli.markets as { spot: number }[])[0].spot));
    const futures = (BigInt(CAROL_QTY) * spot) / 10n;
    assert.ok(pnl(0.1, 1) < futures && pnl(-0.1, 1) > -futures, `${pnl(0.1, 1)} ${pnl(-0.1, 1)} vs ±${futures}`);
    // The what-if at no move equals the account's figures; a 30% fall is shown with its loss.
    const base = await natives('[data-testid="summary"] [data-field]');
    const wi = await natives('[data-testid="whatif"] [data-field]');
    assert.equal(wi.whatif_equity_mm, base.equity_mm);
    assert.equal(base.equity_mm, String(cli.equity_mm));
    assert.equal(base.liquidation_level, String(cli.liquidation_level));
    // Tab on from the account's panel (through its focusable heatmap cells) to the what-if.
    assert.ok((await tabTo("#whatif-spot", 80)) > 45, "the heatmap cells are Tab stops");
    await page.keyboard.down("Control");
    await page.keyboard.press("a");
    await page.keyboard.up("Control");
    await page.keyboard.type("-30");
    await page.keyboard.press("Enter");
    await page.waitForSelector('[data-testid="whatif-out"][data-inputs="-30:1"]');
    const moved = await natives('[data-testid="whatif"] [data-field]');
    // The what-if at −30% is the heatmap's cell at −30%, no vol shock.
    assert.equal(BigInt(moved.whatif_equity_mm!) - BigInt(base.equity_mm!), pnl(-0.3, 1));
    // The vol shock field and the button are the next Tab stops; at twice the vol the what-if is
    // the heatmap's cell at −30%, 2×.
    assert.equal(await tabTo("#whatif-vol", 1), 1);
    await page.keyboard.down("Control");
    await page.keyboard.press("a");
    await page.keyboard.up("Control");
    await page.keyboard.type("2");
    assert.equal(await tabTo('.whatif button[type="submit"]', 1), 1);
    await page.keyboard.press("Enter");
    await page.waitForSelector('[data-testid="whatif-out"][data-inputs="-30:2"]');
    const shocked = await natives('[data-testid="whatif"] [data-field]');
    assert.equal(BigInt(shocked.whatif_equity_mm!) - BigInt(base.equity_mm!), pnl(-0.3, 2));
    await shot("#account", "account");
  });
});
