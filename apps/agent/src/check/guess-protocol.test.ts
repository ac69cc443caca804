import { describe, expect, it } from "vitest";
import { guessProtocol } from "./guess-protocol.js";
import { parseCheckTimeout } from "./parse-check-timeout.js";

describe("guessProtocol", () => {
  it("knows the usual ports and calls anything else tcp", () => {
    expect([5432, 3306, 6379, 80, 8080, 3000, 8000, 443, 8443, 22, 15432].map(guessProtocol)).toEqual([
      "postgres",
      "mysql",
      "redis",
      "http",
      "http",
      "http",
      "http",
      "tls",
      "tls",
      "tcp",
      "tcp",
    ]);
  });
});

describe("parseCheckTimeout", () => {
  it("reads seconds, milliseconds and minutes within the bounds", () => {
    expect(parseCheckTimeout("10s")).toBe(10_000);
    expect(parseCheckTimeout("500ms")).toBe(500);
    expect(parseCheckTimeout("1m")).toBe(60_000);
  });

  it("refuses bare numbers and durations outside 100 ms to 60 s", () => {
    for (const text of ["10", "50ms", "2m", "soon"]) expect(() => parseCheckTimeout(text)).toThrow(/--timeout takes a duration/);
  });
});
