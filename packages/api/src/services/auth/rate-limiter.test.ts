import { describe, expect, it } from "vitest";
import { createRateLimiter } from "./rate-limiter.js";

const rule = { limit: 3, windowMs: 60_000 };

describe("createRateLimiter", () => {
  it("allows the limit within a sliding window, then says when the oldest attempt frees a slot", async () => {
    const limiter = createRateLimiter();
    expect(await limiter.take([{ key: "a", rule }], 1_000)).toEqual({ isAllowed: true });
    expect(await limiter.take([{ key: "a", rule }], 2_000)).toEqual({ isAllowed: true });
    expect(await limiter.take([{ key: "a", rule }], 3_000)).toEqual({ isAllowed: true });
    expect(await limiter.take([{ key: "a", rule }], 4_000)).toEqual({
      isAllowed: false,
      retryAfterMs: 57_000,
      limitedKeys: ["a"],
    });
    // The first attempt leaves the window at 61 s: one slot, not three.
    expect(await limiter.take([{ key: "a", rule }], 61_001)).toEqual({ isAllowed: true });
    expect((await limiter.take([{ key: "a", rule }], 61_002)).isAllowed).toBe(false);
  });

  it("counts nothing for any key when one of them is over its limit", async () => {
    const limiter = createRateLimiter();
    for (let i = 0; i < 3; i += 1) await limiter.take([{ key: "address", rule }], 0);
    const decision = await limiter.take(
      [
        { key: "address", rule },
        { key: "ip", rule },
      ],
      10,
    );
    expect(decision).toMatchObject({ isAllowed: false, limitedKeys: ["address"] });
    // The refused request did not use up the IP's budget.
    for (let i = 0; i < 3; i += 1) expect((await limiter.take([{ key: "ip", rule }], 20)).isAllowed).toBe(true);
    expect((await limiter.take([{ key: "ip", rule }], 20)).isAllowed).toBe(false);
  });

  it("keeps at most maxKeys keys, forgetting the least recently used", async () => {
    const limiter = createRateLimiter({ maxKeys: 2 });
    for (let i = 0; i < 3; i += 1) await limiter.take([{ key: "old", rule }], 0);
    expect((await limiter.take([{ key: "old", rule }], 1)).isAllowed).toBe(false);
    await limiter.take([{ key: "b", rule }], 2);
    await limiter.take([{ key: "c", rule }], 3);
    // "old" was evicted, so it starts over: bounded memory can only make the limiter lenient.
    expect((await limiter.take([{ key: "old", rule }], 4)).isAllowed).toBe(true);
  });
});
