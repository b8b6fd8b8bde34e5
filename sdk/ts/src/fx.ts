// Keel's number formats: money is i64 native units of the quote mint; volatilities, fractions
// and greeks are Q32.32 fixed point stored as raw i64 bits (keel_risk::Fx).

import { Buffer } from "buffer";
import BN from "bn.js";

const TWO32 = 4294967296;

/** A Q32.32 raw value (BN, bigint or number of raw bits) as a float. */
export function fx(raw: BN | bigint | number): number {
  const b = typeof raw === "bigint" ? raw : BigInt(raw.toString());
  const int = b >> 32n;
  const frac = b - (int << 32n);
  return Number(int) + Number(frac) / TWO32;
}

/** A float as Q32.32 raw bits, rounded to nearest. */
export function toFx(x: number): BN {
  return new BN((BigInt(Math.round(x * TWO32))).toString());
}

/** An i64/u64 (BN) as a JavaScript number (exact below 2^53). */
export function num(v: BN | number | bigint): number {
  return typeof v === "number" ? v : Number(v.toString());
}

/** An amount of native units as a decimal number of tokens. */
export function tokens(native: BN | number | bigint, decimals: number): number {
  return num(native) / 10 ** decimals;
}

/** A zero-padded UTF-8 name (a market's `name`). */
export function fixedString(bytes: number[] | Uint8Array): string {
  const b = Buffer.from(bytes);
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString("utf8");
}
