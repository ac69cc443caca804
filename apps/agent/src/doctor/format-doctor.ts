import { escapeUnprintable } from "@private-connect/protocol";
import type { CheckStatus, DoctorCheck } from "./check.js";

const MARKS: Record<CheckStatus, string> = { pass: "[ ok ]", warn: "[warn]", fail: "[FAIL]", skip: "[skip]" };
// Only the mark is coloured, and only on a terminal: logs and pipes get plain ASCII.
const COLOURS: Record<CheckStatus, string> = { pass: "\u001b[32m", warn: "\u001b[33m", fail: "\u001b[31m", skip: "\u001b[2m" };
const RESET = "\u001b[0m";

/**
 * One line per check, names aligned, and under each that did not pass its fix. Names, details and
 * fixes carry the hub's text (labels, messages), so they are escaped: never commands to the terminal.
 */
export function formatDoctor(checks: readonly DoctorCheck[], options: { isColour: boolean }): string[] {
  const width = Math.max(0, ...checks.map((check) => check.name.length));
  const indent = " ".repeat(MARKS.pass.length + 1 + width + 2);
  return checks.flatMap((check) => {
    const mark = options.isColour ? `${COLOURS[check.status]}${MARKS[check.status]}${RESET}` : MARKS[check.status];
    const line = `${mark} ${escapeUnprintable(check.name).padEnd(width)}  ${escapeUnprintable(check.detail)}`;
    return check.fix !== undefined && check.status !== "pass" ? [line, `${indent}fix: ${escapeUnprintable(check.fix)}`] : [line];
  });
}

/** The closing line: what the exit code says, in words. */
export function summarizeDoctor(checks: readonly DoctorCheck[]): string {
  const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length;
  const [failed, warned, skipped] = [count("fail"), count("warn"), count("skip")];
  if (failed + warned + skipped === 0) return `All ${checks.length} checks passed.`;
  const parts = [
    failed > 0 ? `${failed} failed` : "",
    warned > 0 ? `${warned} warned` : "",
    skipped > 0 ? `${skipped} not checked` : "",
  ].filter((part) => part !== "");
  return `${parts.join(", ")} of ${checks.length} checks.`;
}
