import { createHash, createHmac } from "node:crypto";

/** The hash functions Noise names that this core implements. */
export type HashName = "SHA256" | "BLAKE2b";

export interface HashFunction {
  readonly name: HashName;
  /** The node:crypto algorithm name, for createHash and createHmac. */
  readonly algorithm: "sha256" | "blake2b512";
  /** HASHLEN: the digest size. */
  readonly hashLength: 32 | 64;
  /** BLOCKLEN: the block size HMAC pads its key to (node:crypto's HMAC uses the same one). */
  readonly blockLength: 64 | 128;
}

export const sha256: HashFunction = { name: "SHA256", algorithm: "sha256", hashLength: 32, blockLength: 64 };
export const blake2b: HashFunction = { name: "BLAKE2b", algorithm: "blake2b512", hashLength: 64, blockLength: 128 };

export const HASH_FUNCTIONS: Readonly<Record<HashName, HashFunction>> = { SHA256: sha256, BLAKE2b: blake2b };

export function hash(fn: HashFunction, ...parts: Uint8Array[]): Buffer {
  const h = createHash(fn.algorithm);
  for (const part of parts) h.update(part);
  return h.digest();
}

export function hmac(fn: HashFunction, key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(fn.algorithm, key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/**
 * Noise's HKDF (spec section 4.3), not RFC 5869's expand with an info string: a temporary key
 * HMAC(chainingKey, inputKeyMaterial), then outputs chained as HMAC(tempKey, previous || i).
 */
export function hkdf(fn: HashFunction, chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2 | 3): Buffer[] {
  const tempKey = hmac(fn, chainingKey, inputKeyMaterial);
  const result: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 1; i <= outputs; i += 1) {
    previous = hmac(fn, tempKey, previous, Uint8Array.of(i));
    result.push(previous);
  }
  tempKey.fill(0);
  return result;
}
