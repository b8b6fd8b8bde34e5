// The Keel risk dashboard: reads the chain over JSON-RPC through the SDK, computes every margin
// figure with the program's engine compiled to WebAssembly, refreshes on a timer or on "r".

import "@picocss/pico/css/pico.min.css";
import "./style.css";
import { Connection } from "@solana/web3.js";
import { Engine } from "../../src/engine";
import wasmUrl from "../../wasm/keel_wasm.wasm?url";
import { renderAccount } from "./account";
import { volChart } from "./charts";
import { loadConfig } from "./config";
import { clear, h } from "./dom";
import { fmtTime } from "./format";
import { renderMonitor } from "./monitor";
import { renderAccounts, renderEvents, renderExchange, renderMarkets, setScenarioNames } from "./render";
import { State, loadState } from "./state";

const $ = (id: string) => document.getElementById(id)!;

async function main() {
  const config = await loadConfig();
  const connection = new Connection(config.rpc, "confirmed");
  const engine = await Engine.load(await (await fetch(wasmUrl)).arrayBuffer());
  setScenarioNames(engine.scenarioNames());
  let state: State | null = null;
  let selected: string | null = new URLSearchParams(location.search).get("account");
  let volMarket: string | null = null;
  let busy = false;

  const select = (key: string) => {
    selected = key;
    if (state) {
      renderAccounts($("accounts"), state, selected, select);
      renderAccount($("account"), state, engine, selected);
      $("account").focus();
    }
  };

  const renderVol = () => {
    if (!state) return;
    const el = $("vol");
    if (!volMarket || !state.markets.some((m) => m.key === volMarket)) volMarket = state.markets[0]?.key ?? null;
    const picker = h("select", { id: "vol-market", "aria-label": "Market of the volatility chart" }, ...state.markets.map((m) => h("option", { value: m.key, selected: m.key === volMarket }, m.name))) as HTMLSelectElement;
    picker.addEventListener("change", () => {
      volMarket = picker.value;
      renderVol();
    });
    const chart = h("div", { class: "chart", "data-testid": "vol-chart" });
    clear(el, h("h2", {}, "Volatility over time"), h("label", { for: "vol-market" }, "Market"), picker, chart);
    const points = (volMarket && state.volHistory.get(volMarket)) || [];
    chart.dataset.points = String(points.length);
    volChart(chart, points, "Vol in force vs implied-vol feed vs margin vol (crank events)");
  };

  const refresh = async () => {
    if (busy) return;
    busy = true;
    $("status").textContent = "Loading…";
    try {
      state = await loadState(connection, engine, config.oracles);
      renderExchange($("exchange"), state);
      renderMarkets($("markets"), state);
      renderVol();
      renderAccounts($("accounts"), state, selected, select);
      renderAccount($("account"), state, engine, selected);
      renderEvents($("events"), state);
      await renderMonitor($("monitor"), config.monitor);
      $("status").textContent = `Cluster time ${fmtTime(state.now)} · ${config.rpc}`;
      // The cluster time every figure was computed at (the tests value keel-client's at it).
      document.body.dataset.now = String(state.now);
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
    } catch (e) {
      $("status").textContent = `Could not read the chain: ${(e as Error).message}`;
      document.body.dataset.error = (e as Error).message;
    } finally {
      busy = false;
    }
  };

  $("refresh").addEventListener("click", refresh);
  document.addEventListener("keydown", (e) => {
    const t = e.target as HTMLElement;
    if (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA") return;
    if (e.key === "r" && !e.ctrlKey && !e.metaKey) refresh();
  });
  await refresh();
  if (config.refreshSecs > 0) setInterval(refresh, config.refreshSecs * 1000);
}

main();
