// The in-memory limiter's cases (packages/api rate-limiter.test.ts) against Redis, plus what only
// a shared store can do: two hubs spending one budget.
import { randomUUID } from "node:crypto";
import { AppError, type RateLimiter, REDIS_UNAVAILABLE_MESSAGE } from "@private-connect/api";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { type ClusterRedis, connectClusterRedis } from "./redis-client.js";
import { createSharedRateLimiter } from "./shared-rate-limiter.js";
import { TEST_REDIS_URL as REDIS_URL } from "./test-redis.js";

const rule = { limit: 3, windowMs: 60_000 };

const opened: ClusterRedis[] = [];
afterEach(async () => {
  const prefixes = new Set(opened.map((redis) => redis.prefix));
  for (const redis of opened.splice(0)) await redis.close();
  // A connection of its own: a test may have cut the limiter's.
  const cleaner = await connectClusterRedis({ url: REDIS_URL, prefix: "", log: createLogger("silent") });
  try {
    for (const prefix of prefixes) {
      const keys = await cleaner.command.keys(`${prefix}*`);
      if (keys.length > 0) await cleaner.command.del(...keys);
    }
  } finally {
    await cleaner.close();
  }
});

/** A hub's connection to a test prefix of its own (or to another hub's, to share it). */
async function connect(prefix = `pc-test-${randomUUID()}:`): Promise<ClusterRedis> {
  const redis = await connectClusterRedis({ url: REDIS_URL, prefix, log: createLogger("silent") });
  opened.push(redis);
  return redis;
}

async function openLimiter(): Promise<{ limiter: RateLimiter; redis: ClusterRedis }> {
  const redis = await connect();
  return { limiter: createSharedRateLimiter(redis), redis };
}

describe("createSharedRateLimiter", () => {
  it("allows the limit within a sliding window, then says when the oldest attempt frees a slot", async () => {
    const { limiter } = await openLimiter();
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

  it("counts nothing for any key when one of them is over its limit, and names the limited ones", async () => {
    const { limiter } = await openLimiter();
    for (let i = 0; i < 3; i += 1) await limiter.take([{ key: "address", rule }], 0);
    const decision = await limiter.take(
      [
        { key: "address", rule },
        { key: "ip", rule },
      ],
      10,
    );
    expect(decision).toEqual({ isAllowed: false, retryAfterMs: 59_990, limitedKeys: ["address"] });
    // The refused request did not use up the IP's budget.
    for (let i = 0; i < 3; i += 1) expect((await limiter.take([{ key: "ip", rule }], 20)).isAllowed).toBe(true);
    expect(await limiter.take([{ key: "ip", rule }], 20)).toEqual({
      isAllowed: false,
      retryAfterMs: 60_000,
      limitedKeys: ["ip"],
    });
    // Both over: the wait is until the later of the two frees a slot.
    expect(
      await limiter.take(
        [
          { key: "address", rule },
          { key: "ip", rule },
        ],
        30,
      ),
    ).toEqual({ isAllowed: false, retryAfterMs: 59_990, limitedKeys: ["address", "ip"] });
  });

  it("spends one budget from two hubs on one prefix", async () => {
    const first = await connect();
    const second = await connect(first.prefix);
    const hubA = createSharedRateLimiter(first);
    const hubB = createSharedRateLimiter(second);
    const shareRule = { limit: 3, windowMs: 60_000 };
    const take = (limiter: RateLimiter, nowMs: number) => limiter.take([{ key: "share-open:s1", rule: shareRule }], nowMs);
    expect((await take(hubA, 1_000)).isAllowed).toBe(true);
    expect((await take(hubB, 1_001)).isAllowed).toBe(true);
    expect((await take(hubA, 1_002)).isAllowed).toBe(true);
    expect(await take(hubB, 1_003)).toEqual({ isAllowed: false, retryAfterMs: 59_997, limitedKeys: ["share-open:s1"] });
    expect((await take(hubA, 1_004)).isAllowed).toBe(false);

    // Attempts arriving together on both hubs: exactly the limit gets through, never more.
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => take(i % 2 === 0 ? hubA : hubB, 100_000 + i)));
    expect(burst.filter((decision) => decision.isAllowed)).toHaveLength(3);
  });

  it("keeps each key one window, under a name that does not spell out the address", async () => {
    const { limiter, redis } = await openLimiter();
    await limiter.take([{ key: "sign-in-link:address:someone@example.com", rule: { limit: 5, windowMs: 900_000 } }], Date.now());
    const keys = await redis.command.keys(`${redis.prefix}*`);
    expect(keys).toHaveLength(1);
    const [key = ""] = keys;
    expect(key).not.toContain("example.com");
    const ttl = await redis.command.pttl(key);
    expect(ttl).toBeGreaterThan(899_000);
    expect(ttl).toBeLessThanOrEqual(900_000);
  });

  it("refuses with UNAVAILABLE, saying Redis cannot be reached, while Redis is away", async () => {
    const { limiter, redis } = await openLimiter();
    redis.command.disconnect();
    const failure: unknown = await limiter.take([{ key: "a", rule }], 0).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: "UNAVAILABLE", message: REDIS_UNAVAILABLE_MESSAGE });
  });
});
