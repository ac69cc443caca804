import type { CipherFunction } from "./cipher-functions.js";
import { CipherState } from "./cipher-state.js";
import { type HashFunction, hash, hkdf } from "./hash-functions.js";
import { CIPHER_KEY_LENGTH } from "./limits.js";

const EMPTY = Buffer.alloc(0);

/** A Noise SymmetricState (ck, h and a CipherState), spec section 5.2; no psk support. */
export class SymmetricState {
  readonly #cipher: CipherFunction;
  readonly #hash: HashFunction;
  #chainingKey: Buffer;
  #handshakeHash: Buffer;
  #cipherState: CipherState;

  constructor(protocolName: string, cipher: CipherFunction, hashFunction: HashFunction) {
    this.#cipher = cipher;
    this.#hash = hashFunction;
    const name = Buffer.from(protocolName, "utf8");
    // A name no longer than HASHLEN is used as is, zero-padded; a longer one is hashed.
    this.#handshakeHash =
      name.length <= hashFunction.hashLength
        ? Buffer.concat([name, Buffer.alloc(hashFunction.hashLength - name.length)])
        : hash(hashFunction, name);
    this.#chainingKey = Buffer.from(this.#handshakeHash);
    this.#cipherState = new CipherState(cipher);
  }

  hasKey(): boolean {
    return this.#cipherState.hasKey();
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = hkdf(this.#hash, this.#chainingKey, inputKeyMaterial, 2);
    this.#replaceChainingKey(definite(chainingKey));
    // With a 64-byte hash the cipher key is the first 32 bytes of the output.
    this.#cipherState = new CipherState(this.#cipher, definite(tempKey).subarray(0, CIPHER_KEY_LENGTH));
    definite(tempKey).fill(0);
  }

  mixHash(data: Uint8Array): void {
    this.#handshakeHash = hash(this.#hash, this.#handshakeHash, data);
  }

  get handshakeHash(): Buffer {
    return Buffer.from(this.#handshakeHash);
  }

  encryptAndHash(plaintext: Uint8Array): Buffer {
    const ciphertext = this.#cipherState.encryptWithAd(this.#handshakeHash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Buffer {
    const plaintext = this.#cipherState.decryptWithAd(this.#handshakeHash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The two transport CipherStates: the first for initiator-to-responder, the second for the other way. */
  split(): [CipherState, CipherState] {
    const [first, second] = hkdf(this.#hash, this.#chainingKey, EMPTY, 2);
    const states: [CipherState, CipherState] = [
      new CipherState(this.#cipher, definite(first).subarray(0, CIPHER_KEY_LENGTH)),
      new CipherState(this.#cipher, definite(second).subarray(0, CIPHER_KEY_LENGTH)),
    ];
    definite(first).fill(0);
    definite(second).fill(0);
    this.#replaceChainingKey(Buffer.alloc(this.#hash.hashLength));
    return states;
  }

  #replaceChainingKey(next: Buffer): void {
    this.#chainingKey.fill(0);
    this.#chainingKey = next;
  }
}

function definite(value: Buffer | undefined): Buffer {
  if (value === undefined) throw new Error("HKDF returned fewer outputs than asked for.");
  return value;
}
