import { describe, expect, it } from "vitest";
import { describeTokenExpiry, formatRemaining } from "./token-expiry.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const expiresAt = "2030-03-31T12:00:00.000Z";
const at = (msBefore: number) => new Date(Date.parse(expiresAt) - msBefore);

describe("describeTokenExpiry", () => {
  it("stays quiet until seven days before expiry", () => {
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(30 * DAY_MS))).toBeUndefined();
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(7 * DAY_MS + 1))).toBeUndefined();
  });

  it("warns from seven days before, saying how to rotate", () => {
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(7 * DAY_MS))).toBe(
      "Agent token expires in 7 days: run connect up --rotate-token",
    );
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(3 * DAY_MS - 60_000))).toBe(
      "Agent token expires in 3 days: run connect up --rotate-token",
    );
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(DAY_MS + 1))).toBe(
      "Agent token expires in 2 days: run connect up --rotate-token",
    );
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(5 * 60 * 60 * 1000))).toBe(
      "Agent token expires in 5 hours: run connect up --rotate-token",
    );
  });

  it("points a provisioned token at a new provisioning instead of a rotation", () => {
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt, isProvisioned: true }, at(90 * 60_000))).toBe(
      "Provisioned agent token expires in 2 hours: provision a new one and run connect up --token <token>",
    );
  });

  it("says how to recover once it has expired", () => {
    expect(describeTokenExpiry({ tokenExpiresAt: expiresAt }, at(0))).toMatch(
      /^Agent token expired: .*connect up --api-key.*connect login/,
    );
  });

  it("rounds up", () => {
    expect(formatRemaining(DAY_MS)).toBe("24 hours");
    expect(formatRemaining(1)).toBe("1 minute");
    expect(formatRemaining(61 * 60_000)).toBe("2 hours");
  });

  it("asks for a new registration instead of a rotation when the maximum lifetime is reached", () => {
    const capped = { tokenExpiresAt: expiresAt, tokenMaxExpiresAt: expiresAt };
    expect(describeTokenExpiry(capped, at(3 * DAY_MS))).toBe(
      "Agent token expires in 3 days and reaches its maximum lifetime then: register this machine again with connect up --api-key <key> or connect login --hub <url>",
    );
    // Far from the cap, a rotation still helps.
    expect(describeTokenExpiry({ ...capped, tokenMaxExpiresAt: "2031-01-01T00:00:00.000Z" }, at(3 * DAY_MS))).toBe(
      "Agent token expires in 3 days: run connect up --rotate-token",
    );
  });
});
