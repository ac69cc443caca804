import { describe, expect, it } from "vitest";
import { growingPercentFor, quietGrowingPercentFor, RELAY_HEAP_HEADROOM_BYTES } from "./relay-process.js";

const MiB = 1024 * 1024;

describe("growingPercentFor", () => {
  it("gives a small heap (an agent's) the whole headroom, capped at 6x the heap", () => {
    expect(growingPercentFor(16 * MiB)).toBe(400);
    expect(growingPercentFor(32 * MiB)).toBe(200);
    expect(growingPercentFor(8 * MiB)).toBe(500);
    expect(growingPercentFor(0)).toBe(500);
  });

  it("gives a large heap a small factor, never below 10%", () => {
    expect(growingPercentFor(640 * MiB)).toBe(10);
    expect(growingPercentFor(4096 * MiB)).toBe(10);
  });

  it("leaves at least the headroom wherever the cap does not bind", () => {
    for (const live of [13, 20, 43, 100, 300, 640].map((m) => m * MiB)) {
      expect((live * growingPercentFor(live)) / 100).toBeGreaterThanOrEqual(RELAY_HEAP_HEADROOM_BYTES);
    }
  });
});

describe("quietGrowingPercentFor", () => {
  it("caps the growth of heap and external memory together for a hub on the embedded database", () => {
    // ~40 MB of heap and ~250 MB of database memory: 128 MiB over 290 MiB is 45%.
    expect(quietGrowingPercentFor(40 * MiB, 250 * MiB)).toBe(45);
  });

  it("is the bulk percentage when external memory is small (an agent)", () => {
    expect(quietGrowingPercentFor(16 * MiB, 4 * MiB)).toBe(growingPercentFor(16 * MiB));
  });

  it("never goes below 10%", () => {
    expect(quietGrowingPercentFor(100 * MiB, 4000 * MiB)).toBe(10);
  });
});
