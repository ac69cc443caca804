import {
  type CipherChaCha20Poly1305,
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  type KeyObject,
} from "node:crypto";
import { AEAD_TAG_LENGTH } from "./limits.js";

/** The AEAD ciphers Noise names, as node:crypto provides them. */
export type CipherName = "ChaChaPoly" | "AESGCM";

export type AeadEncryptor = CipherGCM | CipherChaCha20Poly1305;
export type AeadDecryptor = DecipherGCM | DecipherChaCha20Poly1305;

export interface CipherFunction {
  readonly name: CipherName;
  /**
   * Writes the 96-bit nonce for counter value (high * 2^32 + low) into a 12-byte buffer: four
   * zero bytes, then the 64-bit counter in the byte order this cipher's Noise definition uses.
   */
  writeNonce(nonce: Buffer, high: number, low: number): void;
  createEncryptor(key: KeyObject, nonce: Buffer): AeadEncryptor;
  createDecryptor(key: KeyObject, nonce: Buffer): AeadDecryptor;
}

export const NONCE_LENGTH = 12;

/** ChaCha20-Poly1305 (RFC 8439); Noise encodes the counter little-endian. */
export const chaChaPoly: CipherFunction = {
  name: "ChaChaPoly",
  writeNonce(nonce, high, low) {
    nonce.writeUInt32LE(low, 4);
    nonce.writeUInt32LE(high, 8);
  },
  createEncryptor: (key, nonce) => createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH }),
  createDecryptor: (key, nonce) => createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH }),
};

/** AES-256-GCM; Noise encodes the counter big-endian. */
export const aesGcm: CipherFunction = {
  name: "AESGCM",
  writeNonce(nonce, high, low) {
    nonce.writeUInt32BE(high, 4);
    nonce.writeUInt32BE(low, 8);
  },
  createEncryptor: (key, nonce) => createCipheriv("aes-256-gcm", key, nonce, { authTagLength: AEAD_TAG_LENGTH }),
  createDecryptor: (key, nonce) => createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: AEAD_TAG_LENGTH }),
};

export const CIPHER_FUNCTIONS: Readonly<Record<CipherName, CipherFunction>> = {
  ChaChaPoly: chaChaPoly,
  AESGCM: aesGcm,
};
