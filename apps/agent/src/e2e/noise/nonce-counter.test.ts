import { describe, expect, it } from "vitest";
import { aesGcm, chaChaPoly, NONCE_LENGTH } from "./cipher-functions.js";
import { NonceCounter } from "./nonce-counter.js";

const MAX = 2n ** 64n - 1n;

function nonceHex(counter: NonceCounter, cipher: typeof aesGcm): string {
  const nonce = Buffer.alloc(NONCE_LENGTH, 0xaa);
  nonce.fill(0, 0, 4);
  counter.writeNonce(cipher, nonce);
  return nonce.toString("hex");
}

describe("NonceCounter", () => {
  it("starts at zero and counts one per advance", () => {
    const counter = new NonceCounter();
    expect(counter.value).toBe(0n);
    counter.advance();
    counter.advance();
    expect(counter.value).toBe(2n);
  });

  it("carries exactly from the low into the high 32 bits, and past 2^53", () => {
    const atCarry = new NonceCounter(2n ** 32n - 1n);
    atCarry.advance();
    expect(atCarry.value).toBe(2n ** 32n);
    const pastDoublePrecision = new NonceCounter(2n ** 53n);
    pastDoublePrecision.advance();
    expect(pastDoublePrecision.value).toBe(2n ** 53n + 1n);
  });

  it("is exhausted at 2^64-1, the value the spec reserves, and cannot pass it", () => {
    const counter = new NonceCounter(MAX - 1n);
    expect(counter.isExhausted).toBe(false);
    counter.advance();
    expect(counter.value).toBe(MAX);
    expect(counter.isExhausted).toBe(true);
    expect(() => counter.advance()).toThrow(RangeError);
    expect(() => new NonceCounter(MAX + 1n)).toThrow(RangeError);
  });

  it("writes 4 zero bytes then the counter little-endian for ChaChaPoly and big-endian for AESGCM", () => {
    const counter = new NonceCounter(0x0102_0304_0506_0708n);
    expect(nonceHex(counter, chaChaPoly)).toBe("000000000807060504030201");
    expect(nonceHex(counter, aesGcm)).toBe("000000000102030405060708");
  });
});
