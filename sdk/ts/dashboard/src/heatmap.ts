// The scenario grid of one account: P&L over a price move × vol shock grid, computed with the
// WebAssembly engine on the account's bytes (oracle prices × (1 + move), vols × shock), against
// the account's margin headroom (equity − MM, equity − IM).

import { PublicKey } from "@solana/web3.js";
import type { Engine, EngineReport, Snapshot } from "../../src";

/** Price moves (fractions) and vol multipliers of the grid. */
export const MOVES = [-0.3, -0.2, -0.1, -0.05, 0, 0.05, 0.1, 0.2, 0.3];
export const VOL_SHOCKS = [0.5, 0.75, 1, 1.5, 2];

export interface Cell {
  move: number;
  vol: number;
  /** Equity (at the oracle) in this scenario minus equity now, native units (decimal string). */
  pnl?: string;
  report?: EngineReport;
  error?: string;
}

export interface Grid {
  base: EngineReport;
  cells: Cell[][]; // [vol][move]
  /** Losses beyond these breach maintenance / initial margin (as they stand now). */
  mmHeadroom: bigint;
  imHeadroom: bigint;
}

export function computeGrid(engine: Engine, snap: Snapshot, account: PublicKey, base: EngineReport): Grid {
  const cells = VOL_SHOCKS.map((vol) =>
    MOVES.map((move) => {
      const r = engine.margin(snap.frame(account, 1 + move, vol));
      if ("error" in r) return { move, vol, error: r.error };
      return { move, vol, report: r, pnl: (BigInt(r.equity_mm) - BigInt(base.equity_mm)).toString() };
    }),
  );
  return {
    base,
    cells,
    mmHeadroom: BigInt(base.health_mm),
    imHeadroom: BigInt(base.equity_im) - BigInt(base.im),
  };
}

/** A finer P&L curve over price moves at one vol shock, for the chart with the MM/IM lines. */
export function pnlCurve(
  engine: Engine,
  snap: Snapshot,
  account: PublicKey,
  base: EngineReport,
  vol = 1,
): { moves: number[]; pnl: (number | null)[] } {
  const moves: number[] = [];
  const pnl: (number | null)[] = [];
  for (let m = -0.4; m <= 0.4001; m += 0.025) {
    const r = engine.margin(snap.frame(account, 1 + m, vol));
    moves.push(Math.round(m * 1000) / 10);
    pnl.push("error" in r ? null : Number(BigInt(r.equity_mm) - BigInt(base.equity_mm)));
  }
  return { moves, pnl };
}
