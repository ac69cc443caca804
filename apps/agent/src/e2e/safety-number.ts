import { createHash } from "node:crypto";
import { E2E_KEY_BYTES } from "@private-connect/protocol";
import { parsePublicKeyText } from "./static-key.js";

/** One side of a safety number: an agent's id and its raw static public key. */
export interface SafetyNumberParty {
  agentId: string;
  publicKey: Buffer;
}

/** Bumped only with a new algorithm: every number people compared before would change. */
const SAFETY_NUMBER_VERSION = Buffer.from([0, 0]);
/** SHA-512 invocations per side (Signal's count): slows a search for a key whose number collides. */
const HASH_ITERATIONS = 5200;
const CHUNKS_PER_SIDE = 6;
const CHUNK_BYTES = 5;
const CHUNK_MODULUS = 100_000;

/**
 * The 30 digits of one side: SHA-512 of (version || key || id), then SHA-512 of (digest || key)
 * until the hash has run HASH_ITERATIONS times in all; the first 30 bytes of the last digest,
 * as six big-endian 40-bit numbers, each mod 100000 and written as 5 digits.
 */
function digitsOf(party: SafetyNumberParty): string {
  if (party.publicKey.length !== E2E_KEY_BYTES) {
    throw new RangeError(`a safety number takes a ${E2E_KEY_BYTES}-byte public key, not ${party.publicKey.length} bytes`);
  }
  let digest = createHash("sha512")
    .update(SAFETY_NUMBER_VERSION)
    .update(party.publicKey)
    .update(Buffer.from(party.agentId, "utf8"))
    .digest();
  for (let round = 1; round < HASH_ITERATIONS; round += 1) {
    digest = createHash("sha512").update(digest).update(party.publicKey).digest();
  }
  const chunks: string[] = [];
  for (let index = 0; index < CHUNKS_PER_SIDE; index += 1) {
    const value = digest.readUIntBE(index * CHUNK_BYTES, CHUNK_BYTES) % CHUNK_MODULUS;
    chunks.push(value.toString().padStart(5, "0"));
  }
  return chunks.join(" ");
}

/**
 * The number two people read to each other to check that each agent holds the other's real key:
 * 60 digits in 12 groups of 5. It is the same whichever agent computes it (the side with the
 * smaller agent id comes first), and it changes when either key or either id does.
 */
export function safetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): string {
  // Ids are unique; the key comparison only keeps the order total for a malformed pair.
  const isAFirst = a.agentId === b.agentId ? Buffer.compare(a.publicKey, b.publicKey) <= 0 : a.agentId < b.agentId;
  const [first, second] = isAFirst ? [a, b] : [b, a];
  return `${digitsOf(first)} ${digitsOf(second)}`;
}

/** A safety number as people read it aloud: three rows of four groups. */
export function formatSafetyNumberRows(number: string): string[] {
  const groups = number.split(" ");
  const rows: string[] = [];
  for (let start = 0; start < groups.length; start += 4) rows.push(groups.slice(start, start + 4).join(" "));
  return rows;
}

/**
 * A short name for a `pcpk_` key: the first 16 hex digits of SHA-256 of its raw bytes, the same
 * fingerprint the hub's audit log records, so a key in `connect trust` reads the same there.
 * Short enough to tell keys apart at a glance; comparing safety numbers is what proves a key.
 */
export function fingerprintPublicKey(publicKeyText: string): string {
  return fingerprintKeyBytes(parsePublicKeyText(publicKeyText));
}

/** The same fingerprint, of a key's raw 32 bytes. */
export function fingerprintKeyBytes(raw: Buffer): string {
  return createHash("sha256").update(raw).digest("hex").slice(0, 16);
}
