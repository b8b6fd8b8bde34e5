// A local chain for the validator-backed tests: solana-test-validator (agave) running the real
// keel.so (upgradeable, the admin as upgrade authority so init_exchange accepts it), then
// bootstrapped through the SDK: the quote mint, the exchange, a BTC market and a future listed
// with Anchor's own resolver (the IDL's corrected seeds), its parameters updated with typed
// RiskParams, three funded traders with margin accounts, and a trade.
//
// Oracle: a validator cannot write a Pyth account after genesis, so a sequence of
// `PriceUpdateV2` accounts of the market's feed is loaded at genesis, published 2 s apart
// (ORACLE_PATH), at most 30 s ahead of the chain's clock (what the program accepts). The market
// accepts any update of its feed; `advance` cranks through them in order, ending in a 32% fall.
//
// Found: the validator at $KEEL_TEST_VALIDATOR or `solana-test-validator` on PATH; keel.so at
// $KEEL_SO, else $CARGO_TARGET_DIR/deploy/keel.so, else target/deploy/keel.so (built by
// scripts/build-program-sbf.sh). Without either, `localnetSkip()` says why and the tests skip.

import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import BN from "bn.js";
import {
  ComputeBudgetProgram,
  Connection,
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";
import { AnchorProvider, Wallet } from "@anchor-lang/core";
import { TOKEN_PROGRAM_ID, createAccount, createMint, mintTo } from "@solana/spl-token";
import * as keel from "../src";
import { ROOT } from "./helpers";

const REPO = path.resolve(ROOT, "../..");

export function validatorBinary(): string | null {
  const env = process.env.KEEL_TEST_VALIDATOR;
  if (env) return fs.existsSync(env) ? env : null;
  try {
    return execFileSync("sh", ["-c", "command -v solana-test-validator"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

export function keelSo(): string | null {
  const candidates = [
    process.env.KEEL_SO,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, "deploy/keel.so"),
    path.join(REPO, "target/deploy/keel.so"),
  ].filter((x): x is string => !!x);
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** Why the validator-backed tests cannot run here (`false`: they can). */
export function localnetSkip(): string | false {
  if (!validatorBinary()) {
    return "solana-test-validator not found (set KEEL_TEST_VALIDATOR or install agave-validator 4.2.2: cargo install agave-validator --version 4.2.2 --locked --bin solana-test-validator)";
  }
  if (!keelSo()) return "keel.so not found (set KEEL_SO or build it: scripts/build-program-sbf.sh)";
  return false;
}

export const USDC = 1_000_000n;
/** The oracle's USD prices, one update every 2 s; the market is created at the first. */
export const ORACLE_PATH = [60_000, 60_200, 59_900, 60_400, 60_100, 58_800, 57_500, 56_000, 52_000, 46_000, 42_000, 41_000];
/** 0.01 BTC per contract: 600 USDC per contract at the first price. */
export const FUTURE_PRICE = 600n * USDC;
/** Contracts Alice buys from Bob at bootstrap (15 000 USDC of notional on 5 000 of collateral). */
export const TRADE_QTY = 25;

export interface Trader {
  kp: Keypair;
  tokens: PublicKey;
  account: PublicKey;
}

export interface Localnet {
  rpc: string;
  connection: Connection;
  admin: Keypair;
  ex: keel.ExchangeKeys;
  market: PublicKey;
  /** The oracle updates in publish order (ORACLE_PATH). */
  oracles: PublicKey[];
  /** Index of the newest update the market has accepted. */
  oracleIndex: number;
  future: PublicKey;
  alice: Trader;
  bob: Trader;
  carol: Trader;
  send(ixs: TransactionInstruction[], signers?: Keypair[]): Promise<string>;
  /** The oracle account to read the market with now (the newest accepted). */
  overrides(): Map<string, PublicKey>;
  /** All state, read with the current oracle. */
  snapshot(): Promise<keel.Snapshot>;
  stop(): Promise<void>;
}

async function healthy(rpc: string): Promise<boolean> {
  try {
    const r = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getHealth" }),
    });
    return (await r.json()).result === "ok";
  } catch {
    return false;
  }
}

/**
 * Closes the connection's websocket (the confirmations' subscriptions) for good. web3.js closes
 * it only after 500 ms idle, and rpc-websockets reconnects forever to a socket that dropped: a
 * validator stopped while it is open leaves the test process running after the last test.
 */
function closeWebSocket(connection: Connection): void {
  const c = connection as unknown as {
    _rpcWebSocket: { setAutoReconnect(on: boolean): void; close(): void };
    _rpcWebSocketIdleTimeout: ReturnType<typeof setTimeout> | null;
  };
  if (c._rpcWebSocketIdleTimeout !== null) clearTimeout(c._rpcWebSocketIdleTimeout);
  c._rpcWebSocketIdleTimeout = null;
  c._rpcWebSocket.setAutoReconnect(false);
  c._rpcWebSocket.close();
}

/** Starts the validator and bootstraps the exchange. */
export async function startLocalnet(): Promise<Localnet> {
  const bin = validatorBinary()!;
  const so = keelSo()!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-localnet-"));
  const base = 20_000 + Math.floor(Math.random() * 400) * 50;
  const rpcPort = base;
  const admin = Keypair.generate();
  const feedId = Buffer.alloc(32, 1);
  // Published a little ahead of the chain's clock (accepted up to 30 s ahead): fresh for the
  // market's 1-hour staleness guard for the whole run.
  const t0 = Math.floor(Date.now() / 1000) + 5;
  const oracles: PublicKey[] = [];
  const accountArgs: string[] = [];
  ORACLE_PATH.forEach((usd, k) => {
    const key = Keypair.generate().publicKey;
    const data = keel.encodePriceUpdateV2(keel.usdQuote(feedId, usd, 5, t0 + 2 * k));
    const file = path.join(dir, `oracle-${k}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        pubkey: key.toBase58(),
        account: {
          lamports: 10_000_000,
          data: [data.toString("base64"), "base64"],
          owner: keel.PYTH_RECEIVER.toBase58(),
          executable: false,
          rentEpoch: 0,
          space: data.length,
        },
      }),
    );
    oracles.push(key);
    accountArgs.push("--account", key.toBase58(), file);
  });
  const args = [
    "--ledger", path.join(dir, "ledger"), "--reset", "--quiet", "--bind-address", "127.0.0.1",
    "--rpc-port", String(rpcPort), "--faucet-port", String(base + 3), "--gossip-port", String(base + 4),
    "--dynamic-port-range", `${base + 5}-${base + 45}`,
    "--mint", admin.publicKey.toBase58(),
    "--upgradeable-program", keel.PROGRAM_ID.toBase58(), so, admin.publicKey.toBase58(),
    ...accountArgs,
  ];
  const child: ChildProcess = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const rpc = `http://127.0.0.1:${rpcPort}`;
  const connection = new Connection(rpc, "confirmed");
  const stop = async () => {
    closeWebSocket(connection);
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; !(await healthy(rpc)); i++) {
    if (child.exitCode !== null || i > 240) {
      await stop();
      throw new Error(`solana-test-validator did not start: ${stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return await bootstrap(rpc, connection, admin, oracles, feedId, stop);
  } catch (e) {
    await stop();
    throw e;
  }
}

async function bootstrap(
  rpc: string,
  connection: Connection,
  admin: Keypair,
  oracles: PublicKey[],
  feedId: Buffer,
  stop: () => Promise<void>,
): Promise<Localnet> {
  const send = (ixs: TransactionInstruction[], signers: Keypair[] = []) =>
    sendAndConfirmTransaction(connection, new Transaction().add(...keel.withComputeBudget(ixs)), [admin, ...signers], {
      commitment: "confirmed",
    });
  // The program is usable once the validator has produced a few slots.
  while ((await connection.getSlot()) < 2) await new Promise((r) => setTimeout(r, 200));
  const mint = await createMint(connection, admin, admin.publicKey, null, 6);
  const ex = keel.newExchangeKeys(mint, TOKEN_PROGRAM_ID);
  await send([keel.initExchange(ex, admin.publicKey, { takerFeeBps: 5, makerFeeBps: 2 })]);

  // Market and series through Anchor's own method builder: its resolver derives their PDAs from
  // the IDL's seeds, reading exchange.market_count and market.series_count from the chain.
  const program = keel.keelProgram(new AnchorProvider(connection, new Wallet(admin), { commitment: "confirmed" }));
  const budget = [ComputeBudgetProgram.setComputeUnitLimit({ units: 1_400_000 })];
  const name = Buffer.alloc(16);
  name.write("BTC/USD");
  const guards = {
    maxStalenessSecs: new BN(3_600),
    maxConfBps: new BN(200),
    minSignatures: 0,
    maxVolAgeSecs: new BN(7 * 86_400),
    settleWindowSecs: new BN(300),
    bandVolFracQ32: new BN(2 ** 31),
    bandOptionSpotBps: 10,
    bandFutureBps: 200,
  };
  await program.methods
    .createMarket({
      name: [...name],
      // Any PriceUpdateV2 of the feed (account all zero), as on mainnet.
      oracle: { kind: 0, account: PublicKey.default, program: keel.PYTH_RECEIVER, feedId: [...feedId] },
      contractSizeMantissa: new BN(1),
      contractSizeExpo: -2,
      guards,
      volAuthority: admin.publicKey,
      riskParams: Buffer.alloc(0),
    })
    .accounts({ admin: admin.publicKey, exchange: ex.exchange, oracle: oracles[0] })
    .preInstructions(budget)
    .rpc();
  const market = keel.marketPda(ex.exchange, 0);
  const now = await keel.clusterTime(connection);
  await program.methods
    .listSeries({ kind: 2, strikeNative: new BN(0), expiryTs: new BN(now + 7 * 86_400) })
    // A future has no risk array: no page.
    .accounts({ admin: admin.publicKey, exchange: ex.exchange, market, arrayPage: null })
    .preInstructions(budget)
    .rpc();
  const future = keel.seriesPda(market, 0);
  // The oracle updates come 2 s apart: let the crank accept observations 1 s apart. The market's
  // typed RiskParams, changed and encoded back to the bytes update_market_params takes.
  const m = await keel.fetchOne(connection, "market", market);
  const params = { ...m!.riskParams, minObsIntervalSecs: new BN(1) };
  await send([keel.updateMarketParams(ex, admin.publicKey, market, { riskParams: keel.encodeRiskParams(params), guards })]);
  const trader = async (deposit: bigint): Promise<Trader> => {
    const kp = Keypair.generate();
    await send([SystemProgram.transfer({ fromPubkey: admin.publicKey, toPubkey: kp.publicKey, lamports: 10_000_000_000 })]);
    const tokens = await createAccount(connection, admin, mint, kp.publicKey, Keypair.generate());
    await mintTo(connection, admin, mint, tokens, admin, 10_000n * USDC);
    const account = keel.marginAccountPda(ex.exchange, kp.publicKey, 0);
    await send([keel.openAccount(ex, kp.publicKey, 0), keel.deposit(ex, kp.publicKey, account, tokens, deposit)], [kp]);
    return { kp, tokens, account };
  };
  const alice = await trader(5_000n * USDC);
  const bob = await trader(5_000n * USDC);
  const carol = await trader(1_000n * USDC);

  // The market's risk arrays anchored (a future needs no page; its margin reads the anchor's
  // scenario points), then Alice buys futures from Bob at the oracle price (both sign).
  await send([keel.crankArrays(ex, market, oracles[0])]);
  const snap = await keel.Snapshot.load(connection, new Map([[market.toBase58(), oracles[0]]]));
  const metas = snap.marginMetas([snap.account(alice.account)!, snap.account(bob.account)!], [market]);
  await send(
    [keel.trade(ex, future, alice.account, alice.kp.publicKey, bob.account, bob.kp.publicKey, { qtyContracts: TRADE_QTY, priceNative: new BN(FUTURE_PRICE.toString()) }, metas)],
    [alice.kp, bob.kp],
  );
  const net: Localnet = {
    rpc, connection, admin, ex, market, oracles, oracleIndex: 0, future, alice, bob, carol, send, stop,
    overrides: () => new Map([[market.toBase58(), oracles[net.oracleIndex]]]),
    snapshot: () => keel.Snapshot.load(connection, net.overrides()),
  };
  return net;
}

/**
 * Cranks the market's volatility through the oracle updates up to `last` (in order), each with
 * the risk-array crank (a re-anchor when the move or the vol makes one due).
 */
export async function advance(net: Localnet, last: number): Promise<string[]> {
  const sigs: string[] = [];
  for (let k = net.oracleIndex + 1; k <= last; k++) {
    sigs.push(
      await net.send([
        keel.updateVolatility(net.ex, net.market, net.oracles[k]),
        keel.crankArrays(net.ex, net.market, net.oracles[k]),
      ]),
    );
    net.oracleIndex = k;
  }
  return sigs;
}
