import type { CipherFunction } from "./cipher-functions.js";

const UINT32_MAX = 0xffff_ffff;
const TWO_TO_32 = 2 ** 32;

/**
 * The 64-bit Noise nonce n, held as two uint32 halves: exact all the way to 2^64-1 (a plain
 * number stops being exact at 2^53) without the cost of bigint arithmetic on every record.
 * n = 2^64-1 is reserved by the spec (rekey uses it), so the counter is exhausted there.
 */
export class NonceCounter {
  #high: number;
  #low: number;

  /** Starts at 0. The start value exists so a test can check the limit; CipherState never passes one. */
  constructor(start = 0n) {
    if (start < 0n || start > 0xffff_ffff_ffff_ffffn) throw new RangeError("A Noise nonce is a 64-bit unsigned integer.");
    this.#high = Number(start >> 32n);
    this.#low = Number(start & 0xffff_ffffn);
  }

  get value(): bigint {
    return (BigInt(this.#high) << 32n) | BigInt(this.#low);
  }

  /** True at n = 2^64-1: no further message may be encrypted or decrypted with this key. */
  get isExhausted(): boolean {
    return this.#high === UINT32_MAX && this.#low === UINT32_MAX;
  }

  writeNonce(cipher: CipherFunction, nonce: Buffer): void {
    cipher.writeNonce(nonce, this.#high, this.#low);
  }

  /** Called only after a message was sealed or opened successfully. */
  advance(): void {
    if (this.isExhausted) throw new RangeError("The Noise nonce cannot advance past 2^64-1.");
    this.#low += 1;
    if (this.#low === TWO_TO_32) {
      this.#low = 0;
      this.#high += 1;
    }
  }
}
