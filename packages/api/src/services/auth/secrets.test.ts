import { describe, expect, it } from "vitest";
import { API_KEY_PATTERN, generateAgentToken, generateApiKey } from "./secrets.js";

describe("generateApiKey", () => {
  it("draws pc_ plus 32 characters over the whole [A-Za-z0-9] alphabet", () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey());
    for (const key of keys) expect(key).toMatch(API_KEY_PATTERN);
    expect(new Set(keys).size).toBe(keys.length);

    const counts = new Map<string, number>();
    for (const key of keys) for (const char of key.slice(3)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 64,000 draws over 62 symbols: about 1032 each. A modulo bias would put the first 8
    // symbols near 1290; allow generous noise (about 6 standard deviations) but not that.
    for (const [char, count] of counts) {
      expect(count, char).toBeGreaterThan(840);
      expect(count, char).toBeLessThan(1230);
    }
  });
});

describe("generateAgentToken", () => {
  it("is 256 bits of lowercase hex", () => {
    const token = generateAgentToken();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(generateAgentToken()).not.toBe(token);
  });
});
