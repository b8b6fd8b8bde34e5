// Shared by the tests: the fixtures exported from the bank, and the normalisation that puts
// Anchor's decoded values in the fixtures' JSON conventions (64-bit integers as decimal strings,
// narrower ones as numbers, keys in base58).

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import BN from "bn.js";
import { AccountMeta, PublicKey } from "@solana/web3.js";

export const ROOT = path.resolve(__dirname, "../..");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export function loadFixtures(): Json {
  const p = path.join(ROOT, "test/fixtures/bank.json");
  return JSON.parse(fs.readFileSync(p, "utf8"));
}

export const b64 = (s: string): Buffer => Buffer.from(s, "base64");
export const pk = (s: string): PublicKey => new PublicKey(s);

/** A decoded value in the fixtures' conventions. */
export function norm(v: Json): Json {
  if (BN.isBN(v)) return v.toString();
  if (v instanceof PublicKey) return v.toBase58();
  if (Buffer.isBuffer(v)) return [...v];
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") {
    const o: Json = {};
    for (const k of Object.keys(v)) o[k] = norm(v[k]);
    return o;
  }
  return v;
}

/** `snake_case` → the `camelCase` Anchor's client uses. */
export const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Compares `actual` (normalised, camelCase keys) with `expected` (Rust's, snake_case keys) leaf
 * by leaf, naming the first field that differs; returns how many leaves were compared.
 */
export function compareFields(actual: Json, expected: Json, where: string): number {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: expected an array`);
    assert.equal(actual.length, expected.length, `${where}: length`);
    return expected.reduce((n: number, e: Json, i: number) => n + compareFields(actual[i], e, `${where}[${i}]`), 0);
  }
  if (expected && typeof expected === "object") {
    assert.ok(actual && typeof actual === "object", `${where}: expected an object`);
    const keys = Object.keys(expected);
    assert.deepEqual(Object.keys(actual).sort(), keys.map(camel).sort(), `${where}: fields`);
    return keys.reduce((n, k) => n + compareFields(actual[camel(k)], expected[k], `${where}.${k}`), 0);
  }
  assert.strictEqual(actual, expected, where);
  return 1;
}

export function metas(v: Json): AccountMeta[] {
  return v.map((m: Json) => ({ pubkey: pk(m.pubkey), isSigner: m.isSigner, isWritable: m.isWritable }));
}

export function metasJson(m: AccountMeta[]): Json {
  return m.map((x) => ({ pubkey: x.pubkey.toBase58(), isSigner: x.isSigner, isWritable: x.isWritable }));
}
