// Small, locale-stable formatting for tables: the server and the browser render the same text,
// so hydration never disagrees (times are shown in UTC, relative ones against a passed-in now).

const UNITS: [number, string][] = [
  [365 * 86_400_000, "year"],
  [86_400_000, "day"],
  [3_600_000, "hour"],
  [60_000, "minute"],
  [1_000, "second"],
];

/** "3 minutes ago", "in 29 days", "just now". */
export function formatRelative(iso: string, now: number): string {
  const delta = new Date(iso).getTime() - now;
  const size = Math.abs(delta);
  if (size < 5_000) return "just now";
  for (const [unitMs, unit] of UNITS) {
    // A hair under a unit reads as that unit: a day-long share a minute old "expires in 1 day".
    if (size >= unitMs * 0.99) {
      // Rounded, not floored: a 7-day expiry a minute old still reads "in 7 days".
      const count = Math.max(1, Math.round(size / unitMs));
      const text = `${count} ${unit}${count === 1 ? "" : "s"}`;
      return delta < 0 ? `${text} ago` : `in ${text}`;
    }
  }
  return "just now";
}

/** "2030-01-31 14:05 UTC" */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Within this of expiry, `connect up` and `connect status` warn; so does the dashboard. */
export const TOKEN_WARNING_MS = 7 * 86_400_000;

export type TokenState = "ok" | "expiring" | "expired";

export function describeTokenState(tokenExpiresAt: string, now: number): TokenState {
  const left = new Date(tokenExpiresAt).getTime() - now;
  if (left <= 0) return "expired";
  if (left <= TOKEN_WARNING_MS) return "expiring";
  return "ok";
}

/** Expiry choices offered by the share and link forms, as the CLI spells them. */
export const EXPIRY_CHOICES = [
  { label: "1 hour", seconds: 3_600 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
  { label: "90 days", seconds: 90 * 86_400 },
] as const;

/**
 * An address as the dashboard shows it: `192.168.x.x`, or the first two groups of an IPv6 one
 * (the API masks agents' addresses itself; the audit log keeps whole ones for `connect audit`).
 * Already masked text passes through.
 */
export function maskAddress(ip: string | null): string {
  if (ip === null || ip === "") return "—";
  const plain = ip.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  const v4 = /^(\d{1,3})\.(\d{1,3})\.[\dx]{1,3}\.[\dx]{1,3}$/.exec(plain);
  if (v4 !== null) return `${v4[1]}.${v4[2]}.x.x`;
  if (plain.includes(":")) {
    const groups = (plain.split("::")[0] ?? "").split(":").filter((group) => group !== "");
    return `${groups[0] ?? "0"}:${groups[1] ?? "0"}:x:x:x:x:x:x`;
  }
  return "x";
}
