import { afterEach, describe, expect, it, vi } from "vitest";
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

describe("tuneGarbageCollectorForRelaying", () => {
  const MB = 1000 * 1000;

  async function loadWithFakeV8(heap: { used_heap_size: number; external_memory: number }) {
    vi.resetModules();
    const flags: string[] = [];
    vi.doMock("node:v8", () => ({
      getHeapStatistics: () => heap,
      setFlagsFromString: (flag: string) => flags.push(flag),
    }));
    const module = await import("./relay-process.js");
    return { flags, tune: module.tuneGarbageCollectorForRelaying };
  }

  afterEach(() => {
    vi.doUnmock("node:v8");
    vi.useRealTimers();
  });

  it("gives an agent the room at once, and sets the flag only once for repeated calls", async () => {
    const { flags, tune } = await loadWithFakeV8({ used_heap_size: 16 * MiB, external_memory: 4 * MiB });
    tune();
    tune();
    expect(flags).toEqual(["--heap-growing-percent=400"]);
  });

  it("keeps the room for a hub only while it relays 32 MB/s or more", async () => {
    vi.useFakeTimers();
    // A hub on the embedded database: 40 MiB of heap, 250 MiB of external memory.
    const { flags, tune } = await loadWithFakeV8({ used_heap_size: 40 * MiB, external_memory: 250 * MiB });
    let relayed = 0;
    tune({ bytesRelayed: () => relayed });
    expect(flags.at(-1)).toBe("--heap-growing-percent=45");

    relayed += 40 * MB;
    vi.advanceTimersByTime(1000);
    expect(flags.at(-1)).toBe("--heap-growing-percent=160");

    relayed += 10 * MB;
    vi.advanceTimersByTime(1000);
    expect(flags.at(-1)).toBe("--heap-growing-percent=45");
    expect(flags).toHaveLength(3);
  });
});
