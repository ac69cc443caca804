import { ConnectError } from "../errors.js";
import { MAX_CHECK_TIMEOUT_MS } from "./check-service.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

/** Reads --timeout ("10s", "500ms", "1m") into milliseconds, within what a check allows. */
export function parseCheckTimeout(text: string): number {
  const match = /^\s*(\d{1,6})\s*(ms|s|m)\s*$/i.exec(text);
  const ms = match ? Number(match[1]) * (UNIT_MS[(match[2] ?? "s").toLowerCase()] ?? 1_000) : Number.NaN;
  if (!(ms >= 100 && ms <= MAX_CHECK_TIMEOUT_MS)) {
    throw new ConnectError(
      "INVALID_INPUT",
      `--timeout takes a duration from 100ms to ${MAX_CHECK_TIMEOUT_MS / 1000}s, like 10s or 500ms, not "${text}"`,
    );
  }
  return ms;
}
