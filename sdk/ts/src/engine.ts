// The margin engine in the browser or Node: keel-state + keel-risk compiled to WebAssembly
// (`crates/wasm`, built by `scripts/build-wasm.sh`), bit-identical to the native engine the
// program, keel-client and the CLI run. It takes account bytes exactly as fetched.

import { Buffer } from "buffer";
import { PublicKey } from "@solana/web3.js";
import { toFx } from "./fx";

/** One market of a frame: its account and its oracle account. */
export interface FrameMarket {
  key: PublicKey;
  data: Buffer | Uint8Array;
  oracleKey: PublicKey;
  oracleOwner: PublicKey;
  oracleData: Buffer | Uint8Array;
}

/** The input of a computation (`crates/wasm/src/frame.rs`). */
export interface FrameInput {
  now: number;
  /** Oracle prices × this (1 = unchanged). Rounded to Q32.32. */
  spotMult: number;
  /** Vols in force × this (1 = unchanged). Rounded to Q32.32. */
  volMult: number;
  exchange: Buffer | Uint8Array;
  accountKey: PublicKey;
  account: Buffer | Uint8Array;
  markets: FrameMarket[];
  correlations: (Buffer | Uint8Array)[];
  /** The risk-array pages (`ArrayPage` accounts) of the account's options (none: no options). */
  pages?: (Buffer | Uint8Array)[];
}

/** Multipliers as raw Q32.32 bits (to reproduce a recorded case exactly). */
export interface RawMults {
  spotMultBits?: bigint;
  volMultBits?: bigint;
}

/** Serialises a frame. */
export function buildFrame(f: FrameInput & RawMults): Uint8Array {
  const parts: Buffer[] = [];
  const i64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    parts.push(b);
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const blob = (d: Buffer | Uint8Array) => {
    u32(d.length);
    parts.push(Buffer.from(d));
  };
  i64(BigInt(f.now));
  i64(f.spotMultBits ?? BigInt(toFx(f.spotMult).toString()));
  i64(f.volMultBits ?? BigInt(toFx(f.volMult).toString()));
  u32(f.markets.length);
  u32(f.correlations.length);
  u32(f.pages?.length ?? 0);
  blob(f.exchange);
  parts.push(f.accountKey.toBuffer());
  blob(f.account);
  for (const m of f.markets) {
    parts.push(m.key.toBuffer());
    blob(m.data);
    parts.push(m.oracleKey.toBuffer());
    parts.push(m.oracleOwner.toBuffer());
    blob(m.oracleData);
  }
  for (const c of f.correlations) blob(c);
  for (const p of f.pages ?? []) blob(p);
  return new Uint8Array(Buffer.concat(parts));
}

/** A position of a margin report (the program's `PositionRiskReport`; integers as strings). */
export interface EnginePosition {
  series: string;
  qty_contracts: string;
  mark: string;
  mark_stable: string;
  value: string;
  value_im: string;
  rounding: string;
  delta_q32: string;
  gamma_q32: string;
  vega: string;
  theta: string;
}

/** A market of a margin report (the program's `MarketRiskReport`). */
export interface EngineMarket {
  market: string;
  spot: string;
  stable_spot: string;
  conf: string;
  sigma_q32: string;
  mark_sigma_q32: string;
  /** Realised vol (Q32.32; 0 = none kept): above the margin vol it raises the liquidation trigger. */
  realised_sigma_q32: string;
  range_q32: string;
  /** The risk arrays' anchor: when, and its oracle price per contract. */
  anchor_ts: string;
  anchor_spot: string;
  worst_im: string;
  /** The worst IM interval (its first scenario point of the anchor's 70). */
  worst_im_interval: number;
  worst_mm: string;
  worst_mm_interval: number;
  net_delta_q32: string;
  short_min_im: string;
  short_min_mm: string;
  conf_addon: string;
  impact_addon: string;
  /** P&L of the market's positions at each of the anchor's 70 scenario points. */
  pnl: string[];
  /** Per interval (by its first point): Σ over longs of qty × the interval's gap. */
  gap: string[];
}

/** The engine's margin report: the program's `MarginReport`, field for field. */
export interface EngineReport {
  account: string;
  now: string;
  collateral: string;
  equity_mm: string;
  equity_im: string;
  mm: string;
  im: string;
  scan_mm: string;
  scan_im: string;
  offset_mm: string;
  offset_im: string;
  addons: string;
  short_min_mm: string;
  short_min_im: string;
  rounding: string;
  health_mm: string;
  health_im: string;
  withdrawable: string;
  liquidatable: boolean;
  /** The equity (MM) below which `liquidate` accepts the account. */
  liquidation_level: string;
  /** The realised-vol stress k the level reads MM and IM at (Q32.32 bits; 2^32 = none). */
  stress_q32: string;
  markets: EngineMarket[];
  positions: EnginePosition[];
}

/** A market's oracle price per contract as the program reads it. */
export interface EnginePrice {
  market: string;
  price_native?: string;
  conf_native?: string;
  publish_time?: string;
  error?: string;
}

interface Exports {
  memory: WebAssembly.Memory;
  keel_alloc(len: number): number;
  keel_free(ptr: number, len: number): void;
  keel_margin(ptr: number, len: number): bigint;
  keel_prices(ptr: number, len: number): bigint;
  keel_scenario_names(): bigint;
}

export class Engine {
  private constructor(private readonly x: Exports) {}

  /** Instantiates the module from its bytes. */
  static async load(wasm: BufferSource): Promise<Engine> {
    const { instance } = await WebAssembly.instantiate(wasm, {});
    return new Engine(instance.exports as unknown as Exports);
  }

  private call(f: "keel_margin" | "keel_prices", input: Uint8Array): string {
    const ptr = this.x.keel_alloc(input.length);
    new Uint8Array(this.x.memory.buffer, ptr, input.length).set(input);
    const packed = this.x[f](ptr, input.length);
    this.x.keel_free(ptr, input.length);
    return this.take(packed);
  }

  private take(packed: bigint): string {
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    const text = new TextDecoder().decode(new Uint8Array(this.x.memory.buffer, outPtr, outLen));
    this.x.keel_free(outPtr, outLen);
    return text;
  }

  /** The raw JSON output of the margin computation (for bit-exact comparisons). */
  marginJson(frame: Uint8Array): string {
    return this.call("keel_margin", frame);
  }

  /** The margin report of the frame's account, or an error. */
  margin(frame: Uint8Array): EngineReport | { error: string } {
    return JSON.parse(this.marginJson(frame));
  }

  /** Every scenario number's description, as `keel margin` prints it (`#11: price +5/6 of range, vol up`). */
  scenarioNames(): string[] {
    return JSON.parse(this.take(this.x.keel_scenario_names()));
  }

  /** Each market's oracle price per contract. */
  prices(frame: Uint8Array): EnginePrice[] {
    return JSON.parse(this.call("keel_prices", frame));
  }
}
