import { encodeE2ePublicKey } from "@private-connect/protocol";
import { describe, expect, it } from "vitest";
import { fingerprintPublicKey, formatSafetyNumberRows, safetyNumber } from "./safety-number.js";

const LAPTOP = {
  agentId: "00000000-0000-4000-8000-00000000000a",
  publicKey: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
};
const SERVER = {
  agentId: "00000000-0000-4000-8000-00000000000b",
  publicKey: Buffer.from(Array.from({ length: 32 }, (_, i) => i + 32)),
};
const OTHER_KEY = Buffer.alloc(32, 0xee);

describe("safetyNumber", () => {
  it("is 60 digits in 12 groups of 5", () => {
    expect(safetyNumber(LAPTOP, SERVER)).toMatch(/^\d{5}( \d{5}){11}$/);
  });

  it("is the same whichever agent computes it", () => {
    expect(safetyNumber(SERVER, LAPTOP)).toBe(safetyNumber(LAPTOP, SERVER));
  });

  it("matches the vector computed once (by a separate implementation), so the algorithm cannot drift", () => {
    // Comparing numbers across versions of the agent only works while this holds.
    expect(safetyNumber(LAPTOP, SERVER)).toBe("18082 11483 20853 73679 91602 40585 95493 28915 63568 33786 90408 12991");
  });

  it("puts the side with the smaller agent id first: its half does not move when the other key changes", () => {
    const number = safetyNumber(LAPTOP, SERVER);
    const withOtherServerKey = safetyNumber(LAPTOP, { ...SERVER, publicKey: OTHER_KEY });
    expect(withOtherServerKey.slice(0, 35)).toBe(number.slice(0, 35));
    expect(withOtherServerKey.slice(36)).not.toBe(number.slice(36));
  });

  it("changes when either agent's key changes", () => {
    const number = safetyNumber(LAPTOP, SERVER);
    expect(safetyNumber({ ...LAPTOP, publicKey: OTHER_KEY }, SERVER)).not.toBe(number);
    expect(safetyNumber(LAPTOP, { ...SERVER, publicKey: OTHER_KEY })).not.toBe(number);
  });

  it("changes when the two agents' ids swap keys", () => {
    const swapped = safetyNumber(
      { agentId: LAPTOP.agentId, publicKey: SERVER.publicKey },
      { agentId: SERVER.agentId, publicKey: LAPTOP.publicKey },
    );
    expect(swapped).not.toBe(safetyNumber(LAPTOP, SERVER));
  });

  it("changes when an id changes under the same key", () => {
    expect(safetyNumber({ ...LAPTOP, agentId: "00000000-0000-4000-8000-0000000000aa" }, SERVER)).not.toBe(
      safetyNumber(LAPTOP, SERVER),
    );
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => safetyNumber({ ...LAPTOP, publicKey: Buffer.alloc(31) }, SERVER)).toThrow(/32-byte public key, not 31/);
  });
});

describe("formatSafetyNumberRows", () => {
  it("splits the number into three rows of four groups", () => {
    expect(formatSafetyNumberRows(safetyNumber(LAPTOP, SERVER))).toEqual([
      "18082 11483 20853 73679",
      "91602 40585 95493 28915",
      "63568 33786 90408 12991",
    ]);
  });
});

describe("fingerprintPublicKey", () => {
  it("is 16 hex digits, different for different keys", () => {
    const laptop = fingerprintPublicKey(encodeE2ePublicKey(LAPTOP.publicKey));
    expect(laptop).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintPublicKey(encodeE2ePublicKey(SERVER.publicKey))).not.toBe(laptop);
  });
});
