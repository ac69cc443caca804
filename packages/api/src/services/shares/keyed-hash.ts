import { createHmac, hkdfSync } from "node:crypto";
import { readKeyFingerprint, sha256Hex } from "@private-connect/db";
import type { ApiDeps } from "../../deps.js";
import { AppError } from "../../errors.js";

// Share codes and link slugs are stored as HMAC-SHA-256(k, SHA-256(canonical text)), where k is
// derived from the hub's ENCRYPTION_KEY (HKDF-SHA-256, info SECRET_HASH_KEY_INFO) so this use
// never shares a key with another one; the database never holds either, so a database copy gives
// nothing to test guesses against. The inner SHA-256 is what rows held before keyed hashes, so
// the hub can rewrite those rows without ever seeing a code (migration 20261203010000_keyed_share_codes).

/** Under which name the database records which key its codes and slugs are keyed with. */
export const SECRET_HASH_KEY_PURPOSE = "share-codes-and-link-slugs";

export const SECRET_HASH_KEY_MISMATCH =
  "This hub's ENCRYPTION_KEY is not the key this database's share codes and links were made with, so none of them can be checked here: the hub's operator must start it with the original ENCRYPTION_KEY (or the data directory's original secrets.json)";

export function requireSecretHashKey(deps: ApiDeps): Uint8Array {
  const key = deps.config.secretHashKey;
  if (key === undefined || key.length === 0) {
    throw new AppError(
      "INTERNAL",
      "This process has no ENCRYPTION_KEY to check share codes and links with: run it as the hub (connect-hub start), which loads it",
    );
  }
  return key;
}

export const SECRET_HASH_KEY_INFO = "private-connect share codes and link slugs v1";

/** The HMAC key for codes and slugs, from ENCRYPTION_KEY. */
export function deriveSecretHashKey(encryptionKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", encryptionKey, new Uint8Array(0), SECRET_HASH_KEY_INFO, 32));
}

/** The keyed form of a value stored before keyed hashes (a SHA-256 hex digest). */
export function keyLegacyHash(key: Uint8Array, legacySha256Hex: string): string {
  return createHmac("sha256", deriveSecretHashKey(key)).update(legacySha256Hex, "utf8").digest("hex");
}

/** How a code or slug, in canonical form, is stored and looked up. */
export function hashSecretWithKey(key: Uint8Array, canonical: string): string {
  return keyLegacyHash(key, sha256Hex(canonical));
}

/** Names the key without revealing it: an HMAC of a fixed label. */
export function describeKeyFingerprint(key: Uint8Array): string {
  return createHmac("sha256", deriveSecretHashKey(key))
    .update("private-connect secret hash key fingerprint v1", "utf8")
    .digest("hex");
}

/**
 * For a code or slug that matched nothing: throws when this hub's key is not the one on record,
 * since then no code could ever match here and "not valid" would send people after the wrong
 * problem. Only misses pay for the look-up.
 */
export async function assertKeyOnRecord(deps: ApiDeps, key: Uint8Array): Promise<void> {
  const onRecord = await readKeyFingerprint(deps.db.prisma, SECRET_HASH_KEY_PURPOSE);
  if (onRecord !== null && onRecord !== describeKeyFingerprint(key)) {
    throw new AppError("UNAVAILABLE", SECRET_HASH_KEY_MISMATCH);
  }
}
