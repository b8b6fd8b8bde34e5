// Keel's events, decoded from transaction logs as keel-client's `events` decodes them.
//
// On-chain, Anchor's `emit!` writes `Program data: <base64(discriminator ‖ borsh)>`. The program
// registered natively in a local bank writes the same through the log syscall, which reads
// `Program log: Program data: <base64>`; both forms decode here. (Anchor's own `EventParser`
// needs the `invoke` lines around them and reads only the first form.)

import type { IdlEvents } from "@anchor-lang/core";
import type { Keel } from "./idl/keel";
import { coder } from "./program";

export type KeelEvents = IdlEvents<Keel>;
export type EventName = keyof KeelEvents;
export type MarginReport = KeelEvents["marginReport"];
export type MarketRiskReport = MarginReport["markets"][number];
export type PositionRiskReport = MarginReport["positions"][number];
export type Liquidated = KeelEvents["liquidated"];
export type Bankrupt = KeelEvents["bankrupt"];

/** A decoded event. */
export interface KeelEvent<N extends EventName = EventName> {
  name: N;
  data: KeelEvents[N];
}

/** The base64 payload of every `Program data:` line in `logs`, in order. */
export function dataLines(logs: readonly string[]): string[] {
  const out: string[] = [];
  for (let line of logs) {
    if (line.startsWith("Program log: ")) line = line.slice("Program log: ".length);
    if (line.startsWith("Program data: ")) out.push(line.slice("Program data: ".length).trim());
  }
  return out;
}

/** Every Keel event in `logs`, in order (data lines of other programs are skipped). */
export function decodeEvents(logs: readonly string[]): KeelEvent[] {
  const out: KeelEvent[] = [];
  for (const b64 of dataLines(logs)) {
    const e = coder.events.decode(b64);
    if (e) out.push(e as KeelEvent);
  }
  return out;
}

/** Every event called `name` in `logs`, in order. */
export function eventsOf<N extends EventName>(logs: readonly string[], name: N): KeelEvents[N][] {
  return decodeEvents(logs)
    .filter((e) => e.name === name)
    .map((e) => e.data as KeelEvents[N]);
}

/** The `MarginReport` events of a (simulated) `margin_report` transaction. */
export function marginReports(logs: readonly string[]): MarginReport[] {
  return eventsOf(logs, "marginReport");
}
