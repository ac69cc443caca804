import { randomBytes } from "node:crypto";

// Digits and capitals without 0/O and 1/I, which people misread when copying from a terminal.
// 32 symbols: a random byte's low 5 bits pick one without bias, and each symbol carries 5 bits.
const READABLE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/** `groups` groups of four symbols joined by dashes: 20 random bits per group. */
export function generateReadableCode(groups: number): string {
  const symbols = [...randomBytes(groups * 4)].map((byte) => READABLE_ALPHABET.charAt(byte & 31)).join("");
  return symbols.match(/.{4}/g)?.join("-") ?? symbols;
}

/**
 * The canonical form a code is hashed in: upper case, without the dashes or spaces people add or
 * leave out. Undefined when it cannot be such a code at all (wrong length or symbol).
 */
export function normalizeReadableCode(raw: string, length: number): string | undefined {
  const compact = raw.replace(/[\s-]+/g, "").toUpperCase();
  if (compact.length !== length) return undefined;
  for (const char of compact) if (!READABLE_ALPHABET.includes(char)) return undefined;
  return compact;
}
