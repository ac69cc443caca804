import { formatHostPort } from "../cli/format.js";
import { formatTable } from "../cli/format-table.js";

export interface DevServiceResult {
  service: string;
  from?: string;
  host: string;
  port: number;
  env?: string;
  isReady: boolean;
  /** Bound by connect dev (so --stop stops it); false for a reach the user made before. */
  isMadeByDev: boolean;
  /** The last check: what answered, or what did not and what to do next. */
  check: { protocol: string; summary: string; openMs: number | null; probeMs: number | null; problem?: string };
}

/** The one table connect dev prints: where each service is and whether it answered. */
export function formatDevTable(results: readonly DevServiceResult[]): string {
  return formatTable(
    ["Service", "Local address", "Variable", "State"],
    results.map((result) => [
      result.from === undefined ? result.service : `${result.service} (from ${result.from})`,
      formatHostPort(result.host, result.port),
      result.env ?? "-",
      describeState(result),
    ]),
  );
}

function describeState(result: DevServiceResult): string {
  const made = result.isMadeByDev ? "" : ", your own reach";
  if (!result.isReady) return `not answering (${result.check.protocol}${made})`;
  const { openMs, probeMs } = result.check;
  const ms = openMs === null || probeMs === null ? "" : `, ${Math.round(openMs + probeMs)} ms`;
  return `ready (${result.check.protocol}${ms}${made})`;
}
