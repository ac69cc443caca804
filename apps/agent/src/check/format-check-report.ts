import type { CheckReport } from "./check-service.js";

function formatMs(ms: number | null): string {
  return ms === null ? "-" : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** The lines `connect check` prints: a verdict, then one label and value per line. */
export function formatCheckReport(report: CheckReport): string[] {
  const name = report.from === undefined ? report.service : `${report.service} (from ${report.from})`;
  const rows: [string, string][] = [
    ["opened", report.openMs === null ? "not opened" : `in ${formatMs(report.openMs)} through the hub`],
    ["protocol", `${report.protocol}${report.isProtocolGuessed ? " (guessed; set it with --protocol)" : ""}`],
    ["answer", report.probeMs === null ? report.summary : `${report.summary} (in ${formatMs(report.probeMs)})`],
    ...Object.entries(report.details).map(([key, value]): [string, string] => [key, String(value)]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `${name}: ${report.isHealthy ? "healthy" : "NOT healthy"}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
  ];
  if (report.problem !== undefined) lines.push(`  problem: ${report.problem}`);
  return lines;
}
