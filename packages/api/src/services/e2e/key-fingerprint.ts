import { createHash } from "node:crypto";
import { decodeE2ePublicKey } from "@private-connect/protocol";

/**
 * What the audit log records of an end-to-end key: the first 16 hex digits of SHA-256 of its raw
 * 32 bytes. Keys are public, but a fingerprint keeps events small and is what people compare when
 * they read two events side by side. Only called with keys the input schemas already checked.
 */
export function fingerprintE2eKey(publicKey: string): string {
  const raw = decodeE2ePublicKey(publicKey);
  if (raw === undefined) throw new TypeError("fingerprintE2eKey: not an end-to-end public key");
  return createHash("sha256").update(raw).digest("hex").slice(0, 16);
}
