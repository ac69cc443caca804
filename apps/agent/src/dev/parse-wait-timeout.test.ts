import { describe, expect, it } from "vitest";
import { parseWaitTimeout } from "./parse-wait-timeout.js";

describe("parseWaitTimeout", () => {
  it("reads milliseconds, seconds and minutes", () => {
    expect(parseWaitTimeout("60s")).toBe(60_000);
    expect(parseWaitTimeout("2m")).toBe(120_000);
    expect(parseWaitTimeout(" 500ms ")).toBe(500);
  });

  it("refuses bare numbers, zero and waits over ten minutes", () => {
    for (const text of ["60", "0s", "11m", "1h", "-5s", "soon"]) {
      expect(() => parseWaitTimeout(text), text).toThrow(/--timeout takes a wait like 60s/);
    }
  });
});
