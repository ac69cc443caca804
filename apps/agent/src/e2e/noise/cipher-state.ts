import { createSecretKey, type KeyObject } from "node:crypto";
import { type CipherFunction, NONCE_LENGTH } from "./cipher-functions.js";
import { AEAD_TAG_LENGTH, CIPHER_KEY_LENGTH, MAX_NOISE_MESSAGE_LENGTH, MAX_TRANSPORT_PLAINTEXT_LENGTH } from "./limits.js";
import { NoiseError } from "./noise-error.js";
import { NonceCounter } from "./nonce-counter.js";

const EMPTY = Buffer.alloc(0);
// Rekey encrypts 32 zero bytes under the reserved nonce 2^64-1: all 64 counter bits set, which
// is the same 12 bytes in either byte order.
const REKEY_NONCE = Buffer.from("00000000ffffffffffffffff", "hex");
const REKEY_PLAINTEXT = Buffer.alloc(CIPHER_KEY_LENGTH);

export interface SealedRecord {
  ciphertext: Buffer;
  /** The ciphertext of a seal's continuation, when it had one: it follows `ciphertext` on the wire. */
  continuedCiphertext?: Buffer;
  tag: Buffer;
}

/**
 * A Noise CipherState (k, n). The nonce is private and only advances inside a successful seal or
 * open, so no two messages are ever encrypted under the same (k, n), and no API sets n. A new
 * key means a new CipherState (Noise's InitializeKey), which starts at n = 0.
 *
 * Without a key (early in a handshake) encryption and decryption pass bytes through unchanged,
 * as the spec says.
 */
export class CipherState {
  readonly #cipher: CipherFunction;
  #key: KeyObject | undefined;
  readonly #counter = new NonceCounter();
  // One nonce buffer per state, rewritten for each message: createCipheriv copies it.
  readonly #nonce = Buffer.alloc(NONCE_LENGTH);

  constructor(cipher: CipherFunction, key?: Uint8Array) {
    this.#cipher = cipher;
    if (key !== undefined) {
      if (key.length !== CIPHER_KEY_LENGTH) {
        throw new NoiseError("INVALID_KEY", `A Noise cipher key is ${CIPHER_KEY_LENGTH} bytes, not ${key.length}.`);
      }
      this.#key = createSecretKey(Buffer.from(key));
    }
  }

  get cipherName(): string {
    return this.#cipher.name;
  }

  hasKey(): boolean {
    return this.#key !== undefined;
  }

  /** The next nonce this state will use (read only). */
  get nonce(): bigint {
    return this.#counter.value;
  }

  /** Spec-shaped EncryptWithAd: ciphertext || tag in one buffer (or the plaintext, without a key). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    const key = this.#key;
    if (key === undefined) return Buffer.from(plaintext);
    const { ciphertext, tag } = this.#encrypt(key, ad, plaintext);
    return Buffer.concat([ciphertext, tag]);
  }

  /** Spec-shaped DecryptWithAd on ciphertext || tag. */
  decryptWithAd(ad: Uint8Array, message: Uint8Array): Buffer {
    const key = this.#key;
    if (key === undefined) return Buffer.from(message);
    if (message.length < AEAD_TAG_LENGTH) {
      throw new NoiseError("MALFORMED_MESSAGE", `An encrypted Noise message is at least ${AEAD_TAG_LENGTH} bytes.`);
    }
    const bytes = toBuffer(message);
    return this.#decrypt(key, ad, bytes.subarray(0, -AEAD_TAG_LENGTH), bytes.subarray(-AEAD_TAG_LENGTH));
  }

  /**
   * Transport encryption with empty associated data, returning the ciphertext and the tag as
   * buffers the caller writes back to back, so they are never joined into another. The message's
   * plaintext is `plaintext` followed by `continuation` when one is given: two views (for instance
   * the end of one socket read and the start of the next) sealed as one message without first
   * being copied together.
   */
  seal(plaintext: Uint8Array, continuation?: Uint8Array): SealedRecord {
    return this.#encrypt(this.#requireKey(), EMPTY, plaintext, continuation);
  }

  /** Transport decryption of a record given as two views (for instance into a received frame). */
  open(ciphertext: Uint8Array, tag: Uint8Array): Buffer {
    if (tag.length !== AEAD_TAG_LENGTH) {
      throw new NoiseError("MALFORMED_MESSAGE", `A Noise record's tag is ${AEAD_TAG_LENGTH} bytes, not ${tag.length}.`);
    }
    return this.#decrypt(this.#requireKey(), EMPTY, toBuffer(ciphertext), toBuffer(tag));
  }

  /** open() on a whole record (ciphertext || tag), splitting it by views, not copies. */
  openRecord(record: Uint8Array): Buffer {
    if (record.length < AEAD_TAG_LENGTH) {
      throw new NoiseError("MALFORMED_MESSAGE", `A Noise record is at least ${AEAD_TAG_LENGTH} bytes.`);
    }
    const bytes = toBuffer(record);
    return this.open(bytes.subarray(0, -AEAD_TAG_LENGTH), bytes.subarray(-AEAD_TAG_LENGTH));
  }

  /**
   * Noise Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). The
   * nonce carries on; both sides must rekey at the same message.
   */
  rekey(): void {
    const key = this.#requireKey();
    const encryptor = this.#cipher.createEncryptor(key, REKEY_NONCE);
    const next = Buffer.concat([encryptor.update(REKEY_PLAINTEXT), encryptor.final()]);
    this.#key = createSecretKey(next.subarray(0, CIPHER_KEY_LENGTH));
    next.fill(0);
  }

  #requireKey(): KeyObject {
    if (this.#key === undefined) throw new NoiseError("WRONG_STATE", "This Noise cipher state has no key yet.");
    return this.#key;
  }

  #encrypt(key: KeyObject, ad: Uint8Array, plaintext: Uint8Array, continuation?: Uint8Array): SealedRecord {
    const length = plaintext.length + (continuation?.length ?? 0);
    if (length > MAX_TRANSPORT_PLAINTEXT_LENGTH) {
      throw new NoiseError(
        "MESSAGE_TOO_LARGE",
        `A Noise message carries at most ${MAX_TRANSPORT_PLAINTEXT_LENGTH} bytes of plaintext, not ${length}.`,
      );
    }
    if (this.#counter.isExhausted) {
      throw new NoiseError("NONCE_EXHAUSTED", "This Noise key has used all its nonces: start a new session.");
    }
    this.#counter.writeNonce(this.#cipher, this.#nonce);
    const encryptor = this.#cipher.createEncryptor(key, this.#nonce);
    if (ad.length > 0) encryptor.setAAD(ad, { plaintextLength: length });
    // Both AEADs are stream ciphers underneath: update() returns as many bytes as it was given,
    // so the two outputs laid end to end are the ciphertext of the joined plaintext.
    const ciphertext = encryptor.update(plaintext);
    const continuedCiphertext = continuation === undefined ? undefined : encryptor.update(continuation);
    encryptor.final();
    const tag = encryptor.getAuthTag();
    this.#counter.advance();
    return continuedCiphertext === undefined ? { ciphertext, tag } : { ciphertext, continuedCiphertext, tag };
  }

  #decrypt(key: KeyObject, ad: Uint8Array, ciphertext: Buffer, tag: Buffer): Buffer {
    if (ciphertext.length + AEAD_TAG_LENGTH > MAX_NOISE_MESSAGE_LENGTH) {
      throw new NoiseError(
        "MESSAGE_TOO_LARGE",
        `A Noise message is at most ${MAX_NOISE_MESSAGE_LENGTH} bytes, not ${ciphertext.length + AEAD_TAG_LENGTH}.`,
      );
    }
    if (this.#counter.isExhausted) {
      throw new NoiseError("NONCE_EXHAUSTED", "This Noise key has used all its nonces: start a new session.");
    }
    this.#counter.writeNonce(this.#cipher, this.#nonce);
    const decryptor = this.#cipher.createDecryptor(key, this.#nonce);
    decryptor.setAuthTag(tag);
    if (ad.length > 0) decryptor.setAAD(ad, { plaintextLength: ciphertext.length });
    const plaintext = decryptor.update(ciphertext);
    try {
      decryptor.final();
    } catch (error) {
      // Nothing of an unauthenticated message leaves this function.
      plaintext.fill(0);
      throw new NoiseError("DECRYPTION_FAILED", "A Noise message failed authentication.", { cause: error });
    }
    this.#counter.advance();
    return plaintext;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
