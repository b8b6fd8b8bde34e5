// How the dashboard prints numbers: native amounts exactly (BigInt, no float rounding) in
// quote units, Q32.32 values as percentages.

/** `native` (a decimal integer string) in units with `decimals`, grouped: "-1,234.500000". */
export function fmtNative(native: string | bigint, decimals: number): string {
  let v = BigInt(native);
  const neg = v < 0n;
  if (neg) v = -v;
  const scale = 10n ** BigInt(decimals);
  const int = (v / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = decimals > 0 ? "." + (v % scale).toString().padStart(decimals, "0") : "";
  return (neg ? "-" : "") + int + frac;
}

/** Q32.32 raw bits as a float. */
export function q32(raw: string | bigint): number {
  const b = BigInt(raw);
  const int = b >> 32n;
  return Number(int) + Number(b - (int << 32n)) / 4294967296;
}

/** A Q32.32 fraction as a percentage with two decimals: "63.25%". */
export function fmtPct(raw: string | bigint): string {
  return (q32(raw) * 100).toFixed(2) + "%";
}

/** A unix time as an ISO string without milliseconds. */
export function fmtTime(ts: number | string): string {
  const n = Number(ts);
  if (!n) return "—";
  return new Date(n * 1000).toISOString().replace(".000Z", "Z");
}

/** A base58 key shortened for tables: "AbCd…WxYz". */
export function short(key: string): string {
  return key.length > 10 ? `${key.slice(0, 4)}…${key.slice(-4)}` : key;
}
