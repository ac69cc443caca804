import { generateReadableCode, normalizeReadableCode } from "../auth/readable-codes.js";
import { hashSecretWithKey } from "./keyed-hash.js";

// Four groups of four symbols from a 32-letter alphabet: 80 random bits, typed as
// K7QX-9MZP-R2TW-4HNC. Lists show the first group, which leaves 60 bits that neither a list nor a
// database copy tells (and the stored hash is keyed, so a copy cannot test guesses anyway).
// Guessing online is bounded by the per-IP join limit, and a code only works until it expires or
// is revoked.
export const SHARE_CODE_GROUPS = 4;
export const SHARE_CODE_SYMBOLS = SHARE_CODE_GROUPS * 4;
export const SHARE_CODE_HINT_SYMBOLS = 4;
/** Codes issued before keyed hashes had three groups; they keep working until they expire. */
const LEGACY_SHARE_CODE_SYMBOLS = 12;

export function generateShareCode(): string {
  return generateReadableCode(SHARE_CODE_GROUPS);
}

/** The keyed hash the code is stored as, or undefined for text that cannot be a share code. */
export function hashShareCode(key: Uint8Array, raw: string): string | undefined {
  const canonical = normalizeReadableCode(raw, SHARE_CODE_SYMBOLS) ?? normalizeReadableCode(raw, LEGACY_SHARE_CODE_SYMBOLS);
  return canonical === undefined ? undefined : hashSecretWithKey(key, canonical);
}

/** What lists show of a code: its first group. */
export function getShareCodeHint(code: string): string {
  return code.slice(0, SHARE_CODE_HINT_SYMBOLS);
}
