import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import {
  ClusterSecretMismatch,
  type ClusterSecrets,
  createHubRegistry,
  type HubRecord,
  type HubRegistry,
} from "./hub-registry.js";
import type { ClusterRedis } from "./redis-client.js";
import { captureLogs, createTestRedis, deleteKeysWithPrefix, type TestRedis } from "./test-redis.js";

const log = createLogger("silent");
// Short enough that no test waits real seconds; the defaults are 1 s / 3 s / 60 s.
const FAST = { heartbeatMs: 40, ttlMs: 150, secretsTtlMs: 1_000 };

const secrets: ClusterSecrets = {
  jwtSecret: "j".repeat(40),
  encryptionKey: new Uint8Array(32).fill(7),
  clusterSecret: "c".repeat(40),
};

let testRedis: TestRedis | undefined;
const registries: HubRegistry[] = [];

afterEach(async () => {
  await Promise.all(registries.splice(0).map((registry) => registry.stop()));
  await testRedis?.cleanup();
  testRedis = undefined;
});

function hub(hubId: string): HubRecord {
  return { hubId, peerUrl: `ws://127.0.0.1:${hubId.length + 4000}`, startedAt: Date.now(), pid: process.pid };
}

function registryOf(redis: ClusterRedis, hubId: string, withSecrets = secrets, logger = log): HubRegistry {
  const registry = createHubRegistry(redis, hub(hubId), withSecrets, logger, FAST);
  registries.push(registry);
  return registry;
}

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

describe("hub registry", () => {
  it("lets every hub see the others' records, in one cluster", async () => {
    testRedis = createTestRedis();
    const a = registryOf(await testRedis.connect(), "hub-a");
    const b = registryOf(await testRedis.connect(), "hub-b");
    await a.start();
    await b.start();

    expect(await a.lookup("hub-b")).toEqual(b.self);
    expect(await b.lookup("hub-a")).toEqual(a.self);
    expect(await a.lookup("hub-nope")).toBeUndefined();
    const ids = (await b.liveHubs()).map((record) => record.hubId).sort();
    expect(ids).toEqual(["hub-a", "hub-b"]);
  });

  it("keeps a hub alive past its TTL while it refreshes, and drops it at once when it stops", async () => {
    testRedis = createTestRedis();
    const a = registryOf(await testRedis.connect(), "hub-a");
    const b = registryOf(await testRedis.connect(), "hub-b");
    await a.start();
    await b.start();
    await new Promise((resolve) => setTimeout(resolve, FAST.ttlMs * 2));
    expect(await b.lookup("hub-a")).toBeDefined();

    await a.stop();
    expect(await b.lookup("hub-a")).toBeUndefined();
    expect((await b.liveHubs()).map((record) => record.hubId)).toEqual(["hub-b"]);
  });

  it("forgets a hub that dies without a word (SIGKILL) within its TTL", async () => {
    testRedis = createTestRedis();
    const doomedRedis = await testRedis.connect();
    const a = registryOf(doomedRedis, "hub-a");
    const b = registryOf(await testRedis.connect(), "hub-b");
    await a.start();
    await b.start();

    // The process is gone: no more refreshes, no delete.
    doomedRedis.command.disconnect();
    const gone = await eventually(async () => (await b.lookup("hub-a")) === undefined, FAST.ttlMs + 1_000);
    expect(gone).toBeLessThanOrEqual(FAST.ttlMs + 100);
    expect((await b.liveHubs()).map((record) => record.hubId)).toEqual(["hub-b"]);
    // Stopping a hub whose Redis is gone still succeeds: the record expires by itself.
    await expect(a.stop()).resolves.toBeUndefined();
  });

  it.each([
    ["JWT_SECRET", { ...secrets, jwtSecret: "x".repeat(40) }],
    ["ENCRYPTION_KEY", { ...secrets, encryptionKey: new Uint8Array(32).fill(8) }],
    ["CLUSTER_SECRET", { ...secrets, clusterSecret: "y".repeat(40) }],
  ] as const)("refuses to start a hub whose %s differs from the running cluster's", async (variable, differing) => {
    testRedis = createTestRedis();
    await registryOf(await testRedis.connect(), "hub-a").start();
    await registryOf(await testRedis.connect(), "hub-b").start();
    const c = registryOf(await testRedis.connect(), "hub-c", differing);

    const refused = c.start();
    await expect(refused).rejects.toBeInstanceOf(ClusterSecretMismatch);
    await expect(refused).rejects.toThrow(
      new RegExp(
        `^${variable} differs from the one the running hubs of this cluster use \\(hub ids: hub-(a, hub-b|b, hub-a)\\): give every hub the same ${variable}$`,
      ),
    );
    expect(await c.lookup("hub-c")).toBeUndefined();
  });

  it("never stores a secret itself, only its fingerprints", async () => {
    testRedis = createTestRedis();
    const redis = await testRedis.connect();
    await registryOf(redis, "hub-a").start();
    const stored = JSON.stringify(await redis.command.hgetall(redis.key("cluster", "secrets")));
    expect(stored).not.toContain(secrets.jwtSecret);
    expect(stored).not.toContain(secrets.clusterSecret);
    expect(stored).not.toContain(Buffer.from(secrets.encryptionKey).toString("hex"));
    expect(stored).toMatch(/[0-9a-f]{64}/);
  });

  it("lets a whole cluster restart with new secrets once no hub of it is running", async () => {
    testRedis = createTestRedis();
    const a = registryOf(await testRedis.connect(), "hub-a");
    await a.start();
    await a.stop();
    const renewed = registryOf(await testRedis.connect(), "hub-b", { ...secrets, jwtSecret: "z".repeat(40) });
    await expect(renewed.start()).resolves.toBeUndefined();
    // And the cluster now holds the new fingerprints.
    await expect(registryOf(await testRedis.connect(), "hub-c").start()).rejects.toThrow(/^JWT_SECRET differs/);
  });

  it("re-creates its heartbeat and the fingerprints after Redis lost everything (a restart)", async () => {
    testRedis = createTestRedis();
    const redis = await testRedis.connect();
    const a = registryOf(redis, "hub-a");
    await a.start();

    await deleteKeysWithPrefix(testRedis.prefix);
    expect(await a.lookup("hub-a")).toBeUndefined();
    await eventually(async () => (await a.lookup("hub-a")) !== undefined, FAST.heartbeatMs * 10);
    expect(await redis.command.hlen(redis.key("cluster", "secrets"))).toBe(3);
    await expect(
      registryOf(await testRedis.connect(), "hub-b", { ...secrets, clusterSecret: "w".repeat(40) }).start(),
    ).rejects.toThrow(/^CLUSTER_SECRET differs/);
  });

  it("says so when two running hubs share one HUB_ID", async () => {
    testRedis = createTestRedis();
    const logs = captureLogs();
    const first = createHubRegistry(await testRedis.connect(), hub("hub-a"), secrets, logs.log, FAST);
    registries.push(first);
    await first.start();
    const second = createHubRegistry(await testRedis.connect(), { ...hub("hub-a"), pid: process.pid + 1 }, secrets, log, FAST);
    registries.push(second);
    await second.start();
    await eventually(async () => logs.count("another hub process uses this HUB_ID", 50) > 0, FAST.heartbeatMs * 10);
  });
});
