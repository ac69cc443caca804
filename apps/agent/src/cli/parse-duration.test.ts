import { describe, expect, it } from "vitest";
import { parseDuration } from "./parse-duration.js";

describe("parseDuration", () => {
  it.each([
    ["90m", 5_400],
    ["12h", 43_200],
    ["7d", 604_800],
    ["2w", 1_209_600],
    [" 30D ", 2_592_000],
  ])("reads %s as %i seconds", (text, seconds) => {
    expect(parseDuration(text, "--expires")).toBe(seconds);
  });

  it.each(["", "30", "0d", "-1d", "7 days", "1y", "1.5d", "9999999d"])(
    "refuses %j with the flag's name and an example",
    (text) => {
      expect(() => parseDuration(text, "--expires")).toThrow(/--expires takes a duration like 90m, 12h, 7d or 2w/);
    },
  );
});
