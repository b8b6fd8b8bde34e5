// Live model monitoring, from the monitor's JSON endpoint (the keeper's `/monitor.json`): per
// market, exceedances of the margin over the last 250 horizons, the Kupiec p-value and the
// Basel traffic-light zone, with an alert when a zone is yellow or red.

import { clear, h, table } from "./dom";

export interface MonitorMarket {
  market: string;
  name: string;
  horizons: number;
  exceedances: number;
  expected: number;
  kupiec_p: number | null;
  zone: "green" | "yellow" | "red" | "insufficient";
  last_rate?: number;
}

export async function renderMonitor(el: Element, url: string | undefined): Promise<void> {
  if (!url) {
    clear(el, h("h2", {}, "Model monitoring"), h("p", {}, "No monitor configured (`keel dashboard --monitor <url>`, or `?monitor=<url>`)."));
    return;
  }
  let data: { markets: MonitorMarket[] };
  try {
    const r = await fetch(url, { cache: "no-store" });
    data = await r.json();
  } catch (e) {
    clear(el, h("h2", {}, "Model monitoring"), h("p", { class: "bad" }, `Monitor unreachable: ${(e as Error).message}`));
    return;
  }
  const alerts = data.markets.filter((m) => m.zone === "yellow" || m.zone === "red");
  const rows = data.markets.map((m) =>
    h(
      "tr",
      { "data-market": m.market, "data-zone": m.zone },
      h("th", { scope: "row" }, m.name),
      h("td", { class: "num" }, String(m.horizons)),
      h("td", { class: "num", "data-field": "exceedances" }, String(m.exceedances)),
      h("td", { class: "num" }, m.expected.toFixed(2)),
      h("td", { class: "num", "data-field": "kupiec_p" }, m.kupiec_p === null ? "—" : m.kupiec_p.toFixed(4)),
      h("td", { class: `zone ${m.zone}`, "data-field": "zone" }, m.zone),
    ),
  );
  clear(
    el,
    h("h2", {}, "Model monitoring"),
    alerts.length
      ? h("p", { class: "bad", role: "alert", "data-testid": "monitor-alert" }, `Margin model alert: ${alerts.map((a) => `${a.name} ${a.zone}`).join(", ")}`)
      : null,
    table("Margin exceedances of the reference book over the last 250 horizons", ["Market", "Horizons", "Exceedances", "Expected", "Kupiec p", "Basel zone"], rows, { "data-testid": "monitor" }),
  );
}
