import { claimKeyFingerprint, listLegacySecretHashes, rekeySecretHash } from "@private-connect/db";
import type { ApiDeps } from "../../deps.js";
import { describeKeyFingerprint, keyLegacyHash, requireSecretHashKey, SECRET_HASH_KEY_PURPOSE } from "./keyed-hash.js";

export type RekeyResult = { isKeyMismatch: false; rekeyed: number } | { isKeyMismatch: true; rekeyed: 0 };

const REKEY_BATCH = 500;
/** Bounds the loop: a database with more old rows than this finishes on the next start. */
const REKEY_MAX_BATCHES = 200;

/**
 * Run by the hub at start. Records which key this database's codes and slugs are keyed with (the
 * first hub to start decides), and rewrites share codes and link slugs stored before keyed hashes
 * (SHA-256 of the code) as HMAC(key, that SHA-256): the keyed form of the same code, so old codes
 * and links keep working and no plaintext is ever involved. A hub with another key rewrites
 * nothing (that would break every old code for the right key) and reports the mismatch.
 */
export async function rekeyLegacyHashes(deps: ApiDeps): Promise<RekeyResult> {
  const key = requireSecretHashKey(deps);
  const fingerprint = describeKeyFingerprint(key);
  const onRecord = await claimKeyFingerprint(deps.db.prisma, SECRET_HASH_KEY_PURPOSE, fingerprint);
  if (onRecord !== fingerprint) return { isKeyMismatch: true, rekeyed: 0 };
  let rekeyed = 0;
  for (let batch = 0; batch < REKEY_MAX_BATCHES; batch += 1) {
    const legacy = await listLegacySecretHashes(deps.db.prisma, REKEY_BATCH);
    if (legacy.length === 0) break;
    let changed = 0;
    for (const row of legacy) {
      // False when another hub rewrote the row in the meantime: nothing left to do for it.
      if (await rekeySecretHash(deps.db.prisma, row, keyLegacyHash(key, row.legacyHash))) changed += 1;
    }
    rekeyed += changed;
    if (changed === 0) break;
  }
  return { isKeyMismatch: false, rekeyed };
}
