// Charts (uPlot): a market's vols over time from its crank events, and an account's P&L over
// price moves with the loss levels at which it would fall to maintenance and initial margin.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { VolPoint } from "./state";

function width(el: HTMLElement): number {
  return Math.max(480, Math.min(1100, el.clientWidth || 900));
}

export function volChart(el: HTMLElement, points: VolPoint[], title: string): uPlot | null {
  el.replaceChildren();
  if (points.length === 0) {
    el.textContent = "No volatility crank in the recent transactions yet.";
    return null;
  }
  const pct = (x: number) => Math.round(x * 10000) / 100;
  const data: uPlot.AlignedData = [
    points.map((p) => p.ts),
    points.map((p) => pct(p.markVol)),
    points.map((p) => (p.impliedVol > 0 ? pct(p.impliedVol) : null)),
    points.map((p) => pct(p.marginVol)),
  ];
  return new uPlot(
    {
      title,
      width: width(el),
      height: 260,
      series: [
        {},
        { label: "Vol in force (%)", stroke: "#1565c0", width: 2 },
        { label: "Implied vol feed (%)", stroke: "#8e24aa", dash: [6, 4] },
        { label: "Margin vol (%)", stroke: "#c62828", width: 2 },
      ],
      axes: [{}, { label: "annualised vol, %" }],
    },
    data,
    el,
  );
}

export function pnlChart(
  el: HTMLElement,
  moves: number[],
  pnl: (number | null)[],
  mmHeadroom: number,
  imHeadroom: number,
  scale: number,
): uPlot {
  el.replaceChildren();
  const t = (x: number | null) => (x === null ? null : x / scale);
  const data: uPlot.AlignedData = [
    moves,
    pnl.map(t),
    moves.map(() => -mmHeadroom / scale),
    moves.map(() => -imHeadroom / scale),
  ];
  return new uPlot(
    {
      title: "P&L over a price move (vol unchanged) and the losses that reach MM and IM",
      width: width(el),
      height: 260,
      scales: { x: { time: false } },
      series: [
        { label: "price move %" },
        { label: "P&L", stroke: "#2e7d32", width: 2 },
        { label: "MM line (loss = equity − MM)", stroke: "#c62828", dash: [8, 4] },
        { label: "IM line (loss = equity − IM)", stroke: "#ef6c00", dash: [4, 4] },
      ],
      axes: [{ label: "price move, %" }, { label: "quote units" }],
    },
    data,
    el,
  );
}
