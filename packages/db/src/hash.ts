import { createHash } from "node:crypto";

/** SHA-256 of a UTF-8 string as 64 lowercase hex characters: how every secret is stored. */
export function sha256Hex(input: string): string {
  return createHash("sha256").update(input, "utf8").digest("hex");
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}
