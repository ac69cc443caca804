import { ConnectError } from "../errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };
const MAX_WAIT_MS = 10 * 60_000;

/**
 * Reads --timeout (`60s`, `2m`, `500ms`) into milliseconds. A unit is required, as for the
 * other durations connect takes: "60" could mean seconds or minutes.
 */
export function parseWaitTimeout(text: string): number {
  const match = /^\s*(\d{1,7})\s*(ms|s|m)\s*$/i.exec(text);
  const ms = match ? Number(match[1]) * (UNIT_MS[(match[2] ?? "s").toLowerCase()] ?? 1_000) : 0;
  if (!match || ms <= 0 || ms > MAX_WAIT_MS) {
    throw new ConnectError("INVALID_INPUT", `--timeout takes a wait like 60s, 2m or 500ms (at most 10m), not "${text}"`);
  }
  return ms;
}
