import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeE2ePublicKey, encodeE2ePublicKey } from "./e2e-key-text.js";

describe("end-to-end public key text", () => {
  it("round-trips 32 bytes", () => {
    const raw = randomBytes(32);
    const text = encodeE2ePublicKey(raw);
    expect(text).toMatch(/^pcpk_[A-Za-z0-9_-]{43}$/);
    expect(decodeE2ePublicKey(text)?.equals(raw)).toBe(true);
  });

  it("refuses every other spelling: wrong length, padding, other alphabets, stray bits in the last character", () => {
    const body = encodeE2ePublicKey(Buffer.alloc(32, 7)).slice(5);
    for (const text of [
      `pcpk_${body.slice(0, 42)}`,
      `pcpk_${body}A`,
      `pcpk_${body.slice(0, 42)}=`,
      `pcpk_${body.slice(0, 41)}+/`,
      `pcsk_${body}`,
      `PCPK_${body}`,
      ` pcpk_${body}`,
    ]) {
      expect(decodeE2ePublicKey(text), text).toBeUndefined();
    }
    const last = body.at(-1) ?? "";
    const stray = last === "A" ? "B" : "A";
    // Only some last characters are canonical; one with the low bits set decodes to the same bytes.
    const altered = `pcpk_${body.slice(0, 42)}${stray}`;
    if (Buffer.from(altered.slice(5), "base64url").toString("base64url") !== altered.slice(5)) {
      expect(decodeE2ePublicKey(altered)).toBeUndefined();
    }
  });

  it("will not encode a key of another length", () => {
    expect(() => encodeE2ePublicKey(Buffer.alloc(31))).toThrow(RangeError);
  });
});
