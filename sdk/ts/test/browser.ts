// What the dashboard's browser tests share: the binaries they run (`keel`, `keel-monitor`),
// a process whose stderr announces its URL, and the page loaded in headless Chromium (Debian's
// package, driven by puppeteer-core) at a laptop's 1366×768, with no page error.

import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import puppeteer, { Browser, Page } from "puppeteer-core";
import { ROOT } from "./helpers";

export const REPO = path.resolve(ROOT, "../..");
export const CHROMIUM = process.env.KEEL_CHROMIUM ?? "/usr/bin/chromium";
export const WASM = path.join(ROOT, "wasm/keel_wasm.wasm");
export const SHOTS = path.join(REPO, "docs/img");

/** A workspace binary: `env`, else $CARGO_TARGET_DIR/debug/`name`, else target/debug/`name`. */
function binary(env: string | undefined, name: string): string | null {
  const c = [
    env,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, "debug", name),
    path.join(REPO, "target/debug", name),
  ].filter((x): x is string => !!x);
  return c.find((p) => fs.existsSync(p)) ?? null;
}
export const keelCli = () => binary(process.env.KEEL_CLI, "keel");
export const keelMonitor = () => binary(process.env.KEEL_MONITOR, "keel-monitor");

/** Why the page cannot be tested here, beyond the chain (`false`: it can). */
export function browserSkip(): string | false {
  return (
    (fs.existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set KEEL_CHROMIUM)`) ||
    (fs.existsSync(WASM) ? false : `${WASM} missing: run scripts/build-wasm.sh`) ||
    (keelCli() ? false : "the keel CLI binary is missing (cargo build -p keel-cli, or set KEEL_CLI)")
  );
}

/** Spawns `bin` and resolves with the first match of `re` in its stderr. */
export function spawnAndRead(bin: string, args: string[], re: RegExp): Promise<[ChildProcess, string]> {
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

/**
 * `keel dashboard` serving the built page for the chain at `rpc` (`global`: options before the
 * subcommand, e.g. `--oracle`; `options`: the subcommand's, e.g. `--monitor`); resolves with its URL.
 */
export function serveDashboard(rpc: string, global: string[] = [], options: string[] = []): Promise<[ChildProcess, string]> {
  return spawnAndRead(
    keelCli()!,
    ["--url", rpc, ...global, "dashboard", "--listen", "127.0.0.1:0", "--dir", path.join(ROOT, "dashboard/dist"),
      "--refresh", "0", ...options],
    /keel dashboard: (http:\/\/[^ ]+\/)/,
  );
}

/** Headless Chromium at a laptop's screen, `url` loaded until the page says it is, no page error. */
export async function openPage(url: string): Promise<[Browser, Page]> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "keel-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`],
    defaultViewport: { width: 1366, height: 768 },
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("body[data-loaded]", { timeout: 60_000 });
  assert.deepEqual(errors, []);
  return [browser, page];
}
