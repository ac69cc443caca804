import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { type AddressConnections, createAddressConnections } from "./address-connections.js";
import { createHubRegistry, type HubRegistry } from "./hub-registry.js";
import type { ClusterRedis } from "./redis-client.js";
import { captureLogs, createTestRedis, deleteKeysWithPrefix, type TestRedis } from "./test-redis.js";

const log = createLogger("silent");
const FAST_REGISTRY = { heartbeatMs: 40, ttlMs: 150, secretsTtlMs: 1_000 };
const FAST = { ttlMs: 1_000, refreshMs: 40 };
const secrets = { jwtSecret: "j".repeat(40), encryptionKey: new Uint8Array(32), clusterSecret: "c".repeat(40) };
const IP = "203.0.113.9";

let testRedis: TestRedis | undefined;
const closing: (AddressConnections | HubRegistry)[] = [];

afterEach(async () => {
  for (const item of closing.splice(0)) {
    if ("acquire" in item) item.close();
    else await item.stop();
  }
  await testRedis?.cleanup();
  testRedis = undefined;
});

/** A hub as far as address counting goes: its heartbeat (its counts count only while alive) and its counter. */
async function startHub(hubId: string, logger = log) {
  if (!testRedis) throw new Error("no test Redis");
  const redis: ClusterRedis = await testRedis.connect();
  const registry = createHubRegistry(
    redis,
    { hubId, peerUrl: "ws://127.0.0.1:1", startedAt: Date.now(), pid: process.pid },
    secrets,
    log,
    FAST_REGISTRY,
  );
  await registry.start();
  const addresses = createAddressConnections(redis, hubId, logger, FAST);
  closing.push(addresses, registry);
  return { redis, registry, addresses };
}

async function acquireTimes(addresses: AddressConnections, times: number, limit: number): Promise<boolean[]> {
  const answers: boolean[] = [];
  for (let i = 0; i < times; i += 1) answers.push(await addresses.acquire(IP, limit));
  return answers;
}

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("connections per address across hubs", () => {
  it("holds one limit over all hubs together", async () => {
    testRedis = createTestRedis();
    const a = await startHub("hub-a");
    const b = await startHub("hub-b");

    expect(await acquireTimes(a.addresses, 2, 3)).toEqual([true, true]);
    expect(await acquireTimes(b.addresses, 2, 3)).toEqual([true, false]);
    expect(await a.addresses.acquire(IP, 3)).toBe(false);
    // Another address has its own budget.
    expect(await b.addresses.acquire("203.0.113.10", 3)).toBe(true);

    a.addresses.release(IP);
    await eventually(() => b.addresses.acquire(IP, 3), 1_000);
    expect(await a.addresses.acquire(IP, 3)).toBe(false);
  });

  it("holds under concurrent acquires from both hubs", async () => {
    testRedis = createTestRedis();
    const a = await startHub("hub-a");
    const b = await startHub("hub-b");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? a : b).addresses.acquire(IP, 5)),
    );
    expect(answers.filter(Boolean)).toHaveLength(5);
  });

  it("stops counting a dead hub's connections once its heartbeat is gone", async () => {
    testRedis = createTestRedis();
    const a = await startHub("hub-a");
    const b = await startHub("hub-b");
    expect(await acquireTimes(a.addresses, 3, 3)).toEqual([true, true, true]);
    expect(await b.addresses.acquire(IP, 3)).toBe(false);

    // SIGKILL: hub A neither releases nor refreshes; its heartbeat expires.
    a.addresses.close();
    a.redis.command.disconnect();
    await eventually(async () => (await b.registry.lookup("hub-a")) === undefined, FAST_REGISTRY.ttlMs + 1_000);
    expect(await acquireTimes(b.addresses, 4, 3)).toEqual([true, true, true, false]);
  });

  it("rewrites its counts after Redis lost them, so the limit holds again", async () => {
    testRedis = createTestRedis();
    const a = await startHub("hub-a");
    const b = await startHub("hub-b");
    expect(await acquireTimes(a.addresses, 2, 3)).toEqual([true, true]);

    await deleteKeysWithPrefix(testRedis.prefix);
    // Heartbeat and counts come back with the next refreshes.
    await eventually(async () => {
      const counts = await b.redis.command.hgetall(b.redis.key("conn", IP));
      return (await b.registry.lookup("hub-a")) !== undefined && counts["hub-a"]?.startsWith("2:") === true;
    }, 1_000);
    expect(await acquireTimes(b.addresses, 2, 3)).toEqual([true, false]);
  });

  it("enforces the limit on this hub alone while Redis is away, saying so once, and never throws on release", async () => {
    testRedis = createTestRedis();
    const logs = captureLogs();
    const a = await startHub("hub-a", logs.log);
    a.redis.command.disconnect();

    expect(await acquireTimes(a.addresses, 4, 3)).toEqual([true, true, true, false]);
    expect(logs.count("each hub enforces the limit on its own", 40)).toBe(1);
    expect(() => a.addresses.release(IP)).not.toThrow();
    expect(() => a.addresses.release("198.51.100.1")).not.toThrow();
    expect(await a.addresses.acquire(IP, 3)).toBe(true);
    // Let the failed background writes settle: none may surface as an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, FAST.refreshMs * 2));
  });
});
