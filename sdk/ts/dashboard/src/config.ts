// Where the dashboard reads the chain: `/config.json` when served by `keel dashboard` (which
// proxies `/rpc` to the cluster), overridden by query parameters for static hosting:
// `?rpc=<url>&oracle=<market>:<account>&monitor=<url>`.

export interface Config {
  /** JSON-RPC URL (absolute). */
  rpc: string;
  /** Oracle account by market, for markets that accept any PriceUpdateV2 of their feed. */
  oracles: Record<string, string>;
  /** The model monitor's JSON endpoint (optional). */
  monitor?: string;
  /** Seconds between automatic refreshes (0: manual). */
  refreshSecs: number;
}

export async function loadConfig(): Promise<Config> {
  let file: Partial<Config> = {};
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    if (r.ok) file = await r.json();
  } catch {
    // Static hosting without a config file: query parameters or defaults.
  }
  const q = new URLSearchParams(location.search);
  const oracles: Record<string, string> = { ...(file.oracles ?? {}) };
  for (const o of q.getAll("oracle")) {
    const [m, a] = o.split(":");
    if (m && a) oracles[m] = a;
  }
  const rpc = q.get("rpc") ?? file.rpc ?? "http://127.0.0.1:8899";
  return {
    rpc: new URL(rpc, location.href).href,
    oracles,
    monitor: q.get("monitor") ?? file.monitor,
    refreshSecs: Number(q.get("refresh") ?? file.refreshSecs ?? 10),
  };
}
