// Program errors a person can act on: name, message and what to do — the table keel-client
// and the CLI print (Keel's errors from the IDL; the hints generated from keel-client into
// `idl/hints.json` by `cargo run -p keel-tests --bin keel-idl`), plus Anchor's framework errors.

import { LangErrorCode, LangErrorMessage } from "@anchor-lang/core";
import rawIdl from "./idl/keel.json";
import hints from "./idl/hints.json";

/** A decoded program error. */
export interface Described {
  code: number;
  source: "Keel" | "Anchor";
  name: string;
  message: string;
  hint?: string;
}

const KEEL: Map<number, { name: string; msg: string }> = new Map(
  (rawIdl.errors ?? []).map((e: { code: number; name: string; msg?: string }) => [e.code, { name: e.name, msg: e.msg ?? "" }]),
);
const HINTS: Record<string, string> = hints;
const ANCHOR_NAMES: Map<number, string> = new Map(
  Object.entries(LangErrorCode).map(([name, code]) => [code as number, name]),
);

/** Names and explains `code`, if it is a Keel or Anchor error. */
export function describeError(code: number): Described | null {
  const k = KEEL.get(code);
  if (k) return { code, source: "Keel", name: k.name, message: k.msg, hint: HINTS[k.name] };
  const a = ANCHOR_NAMES.get(code);
  if (a) return { code, source: "Anchor", name: a, message: LangErrorMessage.get(code) ?? "" };
  return null;
}

/** The code of a named Keel error. */
export function errorCode(name: string): number {
  for (const [code, e] of KEEL) if (e.name === name) return code;
  throw new Error(`no Keel error ${name}`);
}

/**
 * The custom program error in a failed transaction: from its logs (`custom program error:
 * 0x…`, Anchor's `Error Number: …`) or an error object carrying them (`SendTransactionError`,
 * a simulation result's `err`).
 */
export function programErrorCode(errOrLogs: unknown): number | null {
  const logs: string[] = Array.isArray(errOrLogs)
    ? (errOrLogs as string[])
    : ((errOrLogs as { logs?: string[]; transactionLogs?: string[] })?.logs ??
      (errOrLogs as { transactionLogs?: string[] })?.transactionLogs ??
      []);
  const text = [...logs, String((errOrLogs as Error)?.message ?? "")].join("\n");
  const anchor = /Error Number: (\d+)/.exec(text);
  if (anchor) return Number(anchor[1]);
  const custom = /custom program error: 0x([0-9a-fA-F]+)/.exec(text);
  if (custom) return parseInt(custom[1], 16);
  const ix = (errOrLogs as { InstructionError?: [number, { Custom?: number }] })?.InstructionError;
  if (ix && typeof ix[1] === "object" && ix[1].Custom !== undefined) return ix[1].Custom;
  return null;
}

/** `describeError(programErrorCode(err))`, printed as the CLI prints it. */
export function explain(errOrLogs: unknown): string | null {
  const code = programErrorCode(errOrLogs);
  const d = code === null ? null : describeError(code);
  if (!d) return null;
  return `${d.source} error ${d.name} (${d.code}): ${d.message}` + (d.hint ? `\n  what to do: ${d.hint}` : "");
}
