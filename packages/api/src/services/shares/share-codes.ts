import { sha256Hex } from "@private-connect/db";
import { generateReadableCode, normalizeReadableCode } from "../auth/readable-codes.js";

// Three groups of four symbols from a 32-letter alphabet: 60 random bits, typed as K7QX-9MZP-R2TW.
// Guessing is further bounded by the per-IP join limit, and a code only ever works until it
// expires or is revoked.
const SHARE_CODE_GROUPS = 3;

export function generateShareCode(): string {
  return generateReadableCode(SHARE_CODE_GROUPS);
}

/** The SHA-256 the code is stored as, or undefined for text that cannot be a share code. */
export function hashShareCode(raw: string): string | undefined {
  const canonical = normalizeReadableCode(raw, SHARE_CODE_GROUPS * 4);
  return canonical === undefined ? undefined : sha256Hex(canonical);
}

/** What lists show of a code: its first group. */
export function getShareCodeHint(code: string): string {
  return code.slice(0, 4);
}
