// The page's sections, rendered from the loaded state. Every amount cell carries its exact
// native value (`data-native`) beside the text; the browser test compares both with keel-client.

import { clear, h, numCell, table } from "./dom";
import { fmtNative, fmtPct, fmtTime, q32, short } from "./format";
import type { AccountRow, State } from "./state";
import type { EngineReport } from "../../src";
import { fixedString } from "../../src/fx";

const KIND = ["call", "put", "future"];

let names: string[] = [];

/** Sets the scenario descriptions (the engine's, as `keel margin` prints them). */
export function setScenarioNames(n: string[]): void {
  names = n;
}

/** The engine's scenario number as the CLI names it (`keel margin`). */
export function scenarioName(s: number): string {
  return names[s] ?? `#${s}`;
}

export function seriesLabel(st: State, key: string): string {
  const s = st.series.get(key);
  if (!s) return short(key);
  const m = st.marketNames.get(s.market.toBase58()) ?? short(s.market.toBase58());
  const strike = s.kind === 2 ? "" : ` ${fmtNative(s.strikeNative.toString(), st.decimals)}`;
  return `${m} ${KIND[s.kind] ?? "?"}${strike} ${fmtTime(s.expiryTs.toString()).slice(0, 10)}`;
}

function kv(label: string, text: string, native: string | undefined, field: string): HTMLElement {
  return h("div", { class: "kv" }, h("span", {}, label), h("strong", { "data-native": native, "data-field": field }, text));
}

export function renderExchange(el: Element, st: State): void {
  const e = st.exchange;
  const m = (v: { toString(): string }) => fmtNative(v.toString(), st.decimals);
  const held = BigInt(st.vaultNative);
  const owed = BigInt(st.liabilitiesNative);
  const ok = held === owed;
  clear(
    el,
    h("h2", {}, "Exchange"),
    h(
      "div",
      { class: "grid-kv" },
      kv("Vault", m(st.vaultNative), st.vaultNative, "vault"),
      kv("Σ collateral", m(e.totalCollateralNative), e.totalCollateralNative.toString(), "total_collateral_native"),
      kv("Insurance fund", m(e.insuranceFundNative), e.insuranceFundNative.toString(), "insurance_fund_native"),
      kv("Fees", m(e.feesNative), e.feesNative.toString(), "fees_native"),
      kv("Settlement pools", m(e.settlementPoolsNative), e.settlementPoolsNative.toString(), "settlement_pools_native"),
      kv("Pending socialised loss", m(e.socialLossPendingNative), e.socialLossPendingNative.toString(), "social_loss_pending_native"),
      kv("Socialised (ever)", m(e.socialisedLossNative), e.socialisedLossNative.toString(), "socialised_loss_native"),
      kv("Insurance paid (ever)", m(e.insurancePaidNative), e.insurancePaidNative.toString(), "insurance_paid_native"),
      kv("Liquidations", e.liquidationCount.toString(), e.liquidationCount.toString(), "liquidation_count"),
      kv("Margin accounts", String(st.accounts.length), String(st.accounts.length), "accounts"),
    ),
    h(
      "p",
      { class: ok ? "ok" : "bad", "data-field": "conservation", "data-ok": String(ok), role: "status" },
      ok
        ? `Conservation holds: vault ${m(st.vaultNative)} = Σ collateral + insurance + fees + settlement pools − pending socialised loss.`
        : `Conservation VIOLATED: vault ${m(st.vaultNative)} ≠ books ${m(st.liabilitiesNative)} (difference ${fmtNative((held - owed).toString(), st.decimals)}).`,
    ),
  );
}

export function renderMarkets(el: Element, st: State): void {
  const rows = st.markets.map((mk) =>
    h(
      "tr",
      { "data-market": mk.key },
      h("th", { scope: "row", title: mk.key }, mk.name),
      mk.price !== undefined
        ? numCell(fmtNative(mk.price, st.decimals), mk.price, "price")
        : h("td", { class: "bad", "data-field": "price" }, mk.oracleError ?? "—"),
      mk.conf !== undefined ? numCell(fmtNative(mk.conf, st.decimals), mk.conf, "conf") : h("td", {}, "—"),
      h("td", { "data-field": "publish_time" }, mk.publishTime ? `${st.now - mk.publishTime} s ago` : "—"),
      numCell(fmtNative(mk.stablePrice, st.decimals), mk.stablePrice, "stable_price"),
      numCell(fmtPct(mk.markVol), mk.markVol, "mark_vol"),
      numCell(mk.impliedVol === "0" ? "none" : fmtPct(mk.impliedVol), mk.impliedVol, "implied_vol"),
      numCell(fmtPct(mk.marginVol), mk.marginVol, "margin_vol"),
      h("td", { "data-field": "vol_age" }, `${st.now - mk.volTs} s`),
      h("td", { class: "num" }, mk.nObs),
      h("td", { class: "num" }, String(mk.seriesCount)),
    ),
  );
  clear(
    el,
    h("h2", {}, "Markets"),
    table(
      "Oracle and stable price per contract; vol in force (marks), implied-vol feed, margin vol (after anti-procyclicality)",
      ["Market", "Oracle price", "± conf", "Published", "Stable price", "Vol in force", "Implied vol", "Margin vol", "Vol state age", "Observations", "Series"],
      rows,
      { "data-testid": "markets" },
    ),
  );
}

/** The market with the largest maintenance-margin loss, and its scenario's description. */
export function worstScenario(st: State, r: EngineReport): { market: string; scenario: string } | null {
  let best: { name: string; loss: bigint; s: number } | null = null;
  for (const m of r.markets) {
    const loss = BigInt(m.worst_mm);
    if (!best || loss > best.loss) best = { name: st.marketNames.get(m.market) ?? short(m.market), loss, s: m.worst_mm_interval };
  }
  return best ? { market: best.name, scenario: scenarioName(best.s) } : null;
}

export function renderAccounts(el: Element, st: State, selected: string | null, onSelect: (key: string) => void): void {
  const rows = st.accounts.map((a: AccountRow, i) => {
    const r = a.report;
    const m = (v: string) => fmtNative(v, st.decimals);
    const tr = h(
      "tr",
      {
        "data-account": a.key,
        tabindex: 0,
        class: [r?.liquidatable ? "liquidatable" : "", a.key === selected ? "selected" : ""].join(" ").trim(),
        "aria-selected": String(a.key === selected),
        title: "Enter: show this account",
      },
      h("td", { class: "num" }, String(i + 1)),
      h("th", { scope: "row", title: a.key }, short(a.key)),
      h("td", { title: a.owner }, `${short(a.owner)} #${a.accountId}`),
      ...(r
        ? [
            numCell(m(r.equity_mm), r.equity_mm, "equity_mm"),
            numCell(m(r.im), r.im, "im"),
            numCell(m(r.mm), r.mm, "mm"),
            numCell(m(r.health_mm), r.health_mm, "health_mm"),
            numCell(m(r.health_im), r.health_im, "health_im"),
            ((w) => h("td", { "data-field": "worst", "data-scenario": w?.scenario }, w ? `${w.market} ${w.scenario}` : "—"))(worstScenario(st, r)),
            h("td", { "data-field": "liquidatable" }, r.liquidatable ? "LIQUIDATABLE" : "ok"),
          ]
        : [h("td", { colspan: 7, class: "bad" }, a.error ?? "")]),
    );
    tr.addEventListener("click", () => onSelect(a.key));
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        onSelect(a.key);
      }
    });
    return tr;
  });
  clear(
    el,
    h("h2", {}, "Accounts by health"),
    table(
      "Closest to maintenance margin first (health = equity − MM); Enter or click opens an account",
      ["#", "Account", "Owner", "Equity", "IM", "MM", "Health (MM)", "Headroom (IM)", "Worst scenario", "State"],
      rows,
      { "data-testid": "accounts" },
    ),
  );
}

export function renderEvents(el: Element, st: State): void {
  const shown = st.events.filter((e) => ["liquidated", "bankrupt", "socialLossCharged", "insuranceFunded"].includes(e.name));
  const m = (v: unknown) => fmtNative(String(v), st.decimals);
  const rows = shown.slice(0, 50).map((e) => {
    const d = e.data as Record<string, { toString(): string }>;
    let who = "";
    let what = "";
    switch (e.name) {
      case "liquidated":
        who = `${short(d.liquidatee.toString())} by ${short(d.liquidator.toString())}`;
        what = `fraction ${(q32(d.fractionQ32.toString()) * 100).toFixed(2)}%, value ${m(d.valueNative)}, bonus ${m(d.bonusNative)} (insurance ${m(d.insuranceShareNative)})${d.healthyAfter.toString() === "true" ? ", healthy after" : ""}`;
        break;
      case "bankrupt":
        who = short(d.account.toString());
        what = `shortfall ${m(d.shortfallNative)}: insurance paid ${m(d.insurancePaidNative)}, socialised ${m(d.socialisedNative)}`;
        break;
      case "socialLossCharged":
        who = short(d.account.toString());
        what = `charged ${m(d.amountNative)}, pending ${m(d.pendingNative)}`;
        break;
      case "insuranceFunded":
        who = short(d.funder.toString());
        what = `funded ${m(d.amountNative)}`;
        break;
    }
    const fund = d.insuranceFundNative !== undefined ? m(d.insuranceFundNative) : "";
    return h(
      "tr",
      { "data-event": e.name },
      h("td", {}, e.time ? fmtTime(e.time) : `slot ${e.slot}`),
      h("th", { scope: "row" }, e.name),
      h("td", {}, who),
      h("td", {}, what),
      h("td", { class: "num" }, fund),
      h("td", {}, h("a", { href: `#tx-${e.signature}`, title: e.signature }, short(e.signature))),
    );
  });
  clear(
    el,
    h("h2", {}, "Liquidations and bankruptcies"),
    rows.length
      ? table("Newest first, from the program's events", ["When", "Event", "Account", "What", "Insurance fund after", "Transaction"], rows, { "data-testid": "events" })
      : h("p", { "data-testid": "events-empty" }, "No liquidation, bankruptcy or insurance event in the recent transactions."),
  );
}

export function marketLabel(st: State, key: string): string {
  return st.marketNames.get(key) ?? short(key);
}

export { fixedString };
