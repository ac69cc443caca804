import { ConnectError } from "../errors.js";

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3_600, d: 86_400, w: 604_800 };

/**
 * Reads a lifetime such as `90m`, `12h`, `7d` or `2w` into seconds, for --expires and --since.
 * Bare numbers are refused: "30" could mean minutes or days, and guessing wrong on an access
 * grant's lifetime is worse than asking.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^\s*(\d{1,6})\s*([mhdw])\s*$/i.exec(text);
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount <= 0) {
    throw new ConnectError(
      "INVALID_INPUT",
      `${flag} takes a duration like 90m, 12h, 7d or 2w (minutes, hours, days, weeks), not "${text}"`,
    );
  }
  return amount * (UNIT_SECONDS[(match[2] ?? "d").toLowerCase()] ?? 86_400);
}
