// One account: its figures, positions with marks and greeks, the scenario-grid heatmap with the
// MM/IM headroom, the P&L curve, and a what-if (spot move, vol shock) computed by the engine.

import { PublicKey } from "@solana/web3.js";
import type { Engine, EngineReport } from "../../src";
import { pnlChart } from "./charts";
import { clear, h, numCell, table } from "./dom";
import { fmtNative, q32, short } from "./format";
import { MOVES, VOL_SHOCKS, computeGrid, pnlCurve } from "./heatmap";
import { marketLabel, scenarioName, seriesLabel } from "./render";
import type { State } from "./state";

function summary(st: State, r: EngineReport, prefix: string): HTMLElement {
  const m = (v: string) => fmtNative(v, st.decimals);
  const row = (label: string, v: string, field: string) =>
    h("tr", {}, h("th", { scope: "row" }, label), numCell(m(v), v, `${prefix}${field}`));
  return h(
    "table",
    { class: "compact", "data-testid": `${prefix}summary` },
    h(
      "tbody",
      {},
      row("Collateral", r.collateral, "collateral"),
      row("Equity (oracle)", r.equity_mm, "equity_mm"),
      row("Equity (IM: stable price, haircuts)", r.equity_im, "equity_im"),
      row("Maintenance margin", r.mm, "mm"),
      row("Initial margin", r.im, "im"),
      row("Health (equity − MM)", r.health_mm, "health_mm"),
      row("Headroom (IM equity − IM)", r.health_im, "health_im"),
      row("Withdrawable", r.withdrawable, "withdrawable"),
      row("Liquidation level (MM, raised while vol is high)", r.liquidation_level, "liquidation_level"),
      h("tr", {}, h("th", { scope: "row" }, "State"), h("td", { "data-field": `${prefix}liquidatable` }, r.liquidatable ? "LIQUIDATABLE" : "above its liquidation level")),
    ),
  );
}

function positions(st: State, r: EngineReport): HTMLElement {
  const m = (v: string) => fmtNative(v, st.decimals);
  const rows = r.positions.map((p) =>
    h(
      "tr",
      { "data-series": p.series },
      h("th", { scope: "row", title: p.series }, seriesLabel(st, p.series)),
      numCell(p.qty_contracts, p.qty_contracts, "qty_contracts"),
      numCell(m(p.mark), p.mark, "mark"),
      numCell(m(p.mark_stable), p.mark_stable, "mark_stable"),
      numCell(m(p.value), p.value, "value"),
      numCell(q32(p.delta_q32).toFixed(4), p.delta_q32, "delta_q32"),
      numCell(q32(p.gamma_q32).toExponential(3), p.gamma_q32, "gamma_q32"),
      numCell(m(p.vega), p.vega, "vega"),
      numCell(m(p.theta), p.theta, "theta"),
    ),
  );
  return table(
    "Positions: marks per contract at the oracle and at the stable price; greeks per contract (vega per vol point, theta per day)",
    ["Series", "Contracts", "Mark", "Mark (stable)", "Value", "Delta", "Gamma", "Vega", "Theta"],
    rows,
    { "data-testid": "positions" },
  );
}

function scenarios(st: State, r: EngineReport): HTMLElement {
  const m = (v: string) => fmtNative(v, st.decimals);
  const rows = r.markets.map((mk) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, marketLabel(st, mk.market)),
      numCell(m(mk.spot), mk.spot, "spot"),
      numCell((q32(mk.sigma_q32) * 100).toFixed(2) + "%", mk.sigma_q32, "sigma_q32"),
      numCell((q32(mk.range_q32) * 100).toFixed(2) + "%", mk.range_q32, "range_q32"),
      numCell(m(mk.worst_mm), mk.worst_mm, "worst_mm"),
      h("td", {}, scenarioName(mk.worst_mm_interval)),
      numCell(m(mk.worst_im), mk.worst_im, "worst_im"),
      h("td", {}, scenarioName(mk.worst_im_interval)),
      numCell(q32(mk.net_delta_q32).toFixed(4), mk.net_delta_q32, "net_delta_q32"),
    ),
  );
  return table(
    "The engine's scenarios per market: margin vol, IM range, worst MM and IM losses",
    ["Market", "Spot", "Margin vol", "IM range", "Worst MM loss", "Scenario", "Worst IM loss", "Scenario", "Net delta"],
    rows,
    { "data-testid": "scenarios" },
  );
}

function heat(pnl: bigint, scale: bigint): string {
  // Green for gains, red for losses, intensity by the loss relative to the MM headroom.
  const x = Math.max(-1, Math.min(1, Number(pnl) / Number(scale || 1n)));
  return x >= 0 ? `rgba(46,125,50,${(0.12 + 0.5 * x).toFixed(3)})` : `rgba(198,40,40,${(0.12 + 0.6 * -x).toFixed(3)})`;
}

export function renderAccount(el: Element, st: State, engine: Engine, key: string | null): void {
  if (!key) {
    clear(el, h("h2", {}, "Account"), h("p", {}, "Select an account above (Tab to a row, Enter)."));
    return;
  }
  const row = st.accounts.find((a) => a.key === key);
  if (!row?.report) {
    clear(el, h("h2", {}, `Account ${short(key)}`), h("p", { class: "bad" }, row?.error ?? "not found"));
    return;
  }
  const r = row.report;
  const pk = new PublicKey(key);
  const grid = computeGrid(engine, st.snapshot, pk, r);
  const m = (v: string | bigint) => fmtNative(v, st.decimals);
  const headRow = h("tr", {}, h("th", { scope: "col" }, "vol × \\ move"), ...MOVES.map((x) => h("th", { scope: "col" }, `${x > 0 ? "+" : ""}${Math.round(x * 100)}%`)));
  const bodyRows = grid.cells.map((cells, i) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, `${VOL_SHOCKS[i]}×`),
      ...cells.map((c) => {
        if (c.error) return h("td", { class: "bad", title: c.error }, "error");
        const p = BigInt(c.pnl!);
        const below = -p > grid.mmHeadroom ? "below-mm" : -p > grid.imHeadroom ? "below-im" : "";
        return h(
          "td",
          {
            class: `num heat ${below}`,
            style: `background:${heat(p, grid.mmHeadroom > 0n ? grid.mmHeadroom : 1n)}`,
            "data-native": c.pnl,
            "data-move": String(c.move),
            "data-vol": String(c.vol),
            tabindex: 0,
            title: `move ${Math.round(c.move * 100)}%, vol ×${c.vol}: P&L ${m(p)}; equity ${m(c.report!.equity_mm)}, MM ${m(c.report!.mm)}, IM ${m(c.report!.im)}`,
          },
          m(p),
        );
      }),
    ),
  );
  const heatTable = h(
    "table",
    { class: "heatmap", "data-testid": "heatmap" },
    h("caption", {}, `P&L by price move × vol shock (engine on this account's bytes). Outlined red: the loss exceeds equity − MM (${m(grid.mmHeadroom)}), the account would be liquidatable; outlined amber: it exceeds IM headroom (${m(grid.imHeadroom)}).`),
    h("thead", {}, headRow),
    h("tbody", {}, ...bodyRows),
  );
  const chartEl = h("div", { class: "chart", "data-testid": "pnl-chart" });
  const whatIf = h("section", { "aria-labelledby": "whatif-h", class: "whatif" });
  clear(
    el,
    h("h2", {}, `Account ${short(key)}`, h("small", {}, ` owner ${short(row.owner)} #${row.accountId}`)),
    h("div", { class: "two" }, summary(st, r, ""), scenarios(st, r)),
    positions(st, r),
    heatTable,
    chartEl,
    whatIf,
  );
  const curve = pnlCurve(engine, st.snapshot, pk, r);
  pnlChart(chartEl, curve.moves, curve.pnl, Number(grid.mmHeadroom), Number(grid.imHeadroom), 10 ** st.decimals);
  renderWhatIf(whatIf, st, engine, pk, r);
}

function renderWhatIf(el: HTMLElement, st: State, engine: Engine, pk: PublicKey, base: EngineReport): void {
  const spot = h("input", { type: "number", id: "whatif-spot", min: -90, max: 500, step: 1, value: 0, "aria-describedby": "whatif-help" }) as HTMLInputElement;
  const vol = h("input", { type: "number", id: "whatif-vol", min: 0.1, max: 10, step: 0.05, value: 1, "aria-describedby": "whatif-help" }) as HTMLInputElement;
  const out = h("div", { "aria-live": "polite", "data-testid": "whatif-out" });
  const run = () => {
    const s = 1 + Number(spot.value) / 100;
    const v = Number(vol.value);
    // Which inputs the figures shown are for (the tests wait for them).
    out.dataset.inputs = `${spot.value}:${vol.value}`;
    const r = engine.margin(st.snapshot.frame(pk, s, v));
    if ("error" in r) {
      clear(out, h("p", { class: "bad" }, r.error));
      return;
    }
    const m = (x: string) => fmtNative(x, st.decimals);
    const d = (a: string, b: string) => {
      const x = BigInt(a) - BigInt(b);
      return `${x >= 0n ? "+" : ""}${m(x.toString())}`;
    };
    const row = (label: string, k: "equity_mm" | "equity_im" | "mm" | "im" | "health_mm" | "health_im") =>
      h("tr", {}, h("th", { scope: "row" }, label), numCell(m(r[k]), r[k], `whatif_${k}`), h("td", { class: "num" }, d(r[k], base[k])));
    clear(
      out,
      table("What-if, computed by the engine", ["", "What-if", "Change"], [
        row("Equity", "equity_mm"),
        row("Equity (IM)", "equity_im"),
        row("MM", "mm"),
        row("IM", "im"),
        row("Health (MM)", "health_mm"),
        row("Headroom (IM)", "health_im"),
      ], { "data-testid": "whatif" }),
      h("p", { "data-field": "whatif_liquidatable" }, r.liquidatable ? "The account would be LIQUIDATABLE." : "The account would stay above its liquidation level."),
    );
  };
  const form = h(
    "form",
    {},
    h("label", { for: "whatif-spot" }, "Spot move (%)"),
    spot,
    h("label", { for: "whatif-vol" }, "Vol shock (×)"),
    vol,
    h("button", { type: "submit" }, "Compute"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  clear(
    el,
    h("h3", { id: "whatif-h" }, "What-if"),
    h("p", { id: "whatif-help" }, "Moves every oracle price and scales every vol in force, then recomputes margin with the program's engine (WebAssembly)."),
    form,
    out,
  );
  run();
}
