// The Keel program as Anchor's TypeScript client sees it: the IDL (generated from the program,
// `cargo run -p keel-tests --bin keel-idl`), its type, the coder and a `Program`.

import { BorshCoder, Program, convertIdlToCamelCase } from "@anchor-lang/core";
import type { Idl, Provider } from "@anchor-lang/core";
import { Connection, PublicKey } from "@solana/web3.js";
import rawIdl from "./idl/keel.json";
import type { Keel } from "./idl/keel";

export type { Keel };

/** The IDL as committed (`idl/keel.json`, snake_case as Anchor writes it). */
export const IDL = rawIdl as unknown as Keel;

/** The program's address. */
export const PROGRAM_ID = new PublicKey(rawIdl.address);

/** The IDL with the names Anchor's client uses at run time (camelCase), as `Program` holds it. */
export const camelIdl: Idl = convertIdlToCamelCase(rawIdl as unknown as Idl);

/** Anchor's coder for Keel's accounts, instructions, events and types (camelCase names). */
export const coder = new BorshCoder(camelIdl);

/** A read-only provider: enough for fetching accounts and simulating. */
export function readOnlyProvider(connection: Connection): Provider {
  return { connection } as Provider;
}

/** Anchor's `Program` for Keel over `provider` (or a read-only one over a connection). */
export function keelProgram(provider: Provider | Connection): Program<Keel> {
  const p = provider instanceof Connection ? readOnlyProvider(provider) : provider;
  return new Program<Keel>(IDL, p);
}
