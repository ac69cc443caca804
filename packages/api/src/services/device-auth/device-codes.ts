import { randomBytes } from "node:crypto";
import { generateReadableCode, normalizeReadableCode } from "../auth/readable-codes.js";

const USER_CODE_GROUPS = 2;

/** `pcd_` + 256 random bits as hex: the polling machine's secret, never shown to a person. */
export const DEVICE_CODE_PATTERN = /^pcd_[0-9a-f]{64}$/;

export function generateDeviceCode(): string {
  return `pcd_${randomBytes(32).toString("hex")}`;
}

/** Eight characters (40 bits) shown as XXXX-XXXX: typed by a person into the approval page. */
export function generateUserCode(): string {
  return generateReadableCode(USER_CODE_GROUPS);
}

/** The canonical (hashed) form of a user code, or undefined when it cannot be one. */
export function normalizeUserCode(raw: string): string | undefined {
  return normalizeReadableCode(raw, USER_CODE_GROUPS * 4);
}
