import { randomBytes } from "node:crypto";

// Digits and capitals without 0/O and 1/I, which people misread when copying from a terminal.
// 32 symbols: a random byte's low 5 bits pick one without bias.
const USER_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const USER_CODE_LENGTH = 8;

/** `pcd_` + 256 random bits as hex: the polling machine's secret, never shown to a person. */
export const DEVICE_CODE_PATTERN = /^pcd_[0-9a-f]{64}$/;

export function generateDeviceCode(): string {
  return `pcd_${randomBytes(32).toString("hex")}`;
}

/** Eight characters (40 bits) shown as XXXX-XXXX: typed by a person into the approval page. */
export function generateUserCode(): string {
  let code = "";
  for (const byte of randomBytes(USER_CODE_LENGTH)) code += USER_CODE_ALPHABET.charAt(byte & 31);
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * The canonical form a user code is hashed in: upper case, without the dash or spaces people
 * add or leave out. Undefined when it cannot be a user code at all.
 */
export function normalizeUserCode(raw: string): string | undefined {
  const compact = raw.replace(/[\s-]+/g, "").toUpperCase();
  if (compact.length !== USER_CODE_LENGTH) return undefined;
  for (const char of compact) if (!USER_CODE_ALPHABET.includes(char)) return undefined;
  return compact;
}
