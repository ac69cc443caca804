import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { connectClusterRedis, REDIS_UNAVAILABLE_MESSAGE, RedisUnavailable, reconnectDelay } from "./redis-client.js";
import { captureLogs, createTestRedis, type RedisOutage, startRedisOutageProxy, type TestRedis } from "./test-redis.js";

let testRedis: TestRedis | undefined;
let outage: RedisOutage | undefined;

afterEach(async () => {
  await outage?.close();
  outage = undefined;
  await testRedis?.cleanup();
  testRedis = undefined;
});

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` every 10 ms until it holds; bounded in time. */
async function eventually(check: () => boolean | Promise<boolean>, withinMs = 3_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("connectClusterRedis", () => {
  it("prefixes keys and runs commands on the shared Redis", async () => {
    testRedis = createTestRedis();
    const redis = await testRedis.connect();
    expect(redis.isReady()).toBe(true);
    expect(redis.key("agent", "a1")).toBe(`${testRedis.prefix}agent:a1`);
    await redis.run((command) => command.set(redis.key("probe"), "1"));
    expect(await redis.run((command) => command.get(redis.key("probe")))).toBe("1");
  });

  it("refuses to start when REDIS_URL cannot be reached, naming it without its password", async () => {
    const port = await closedPort();
    const started = Date.now();
    const attempt = connectClusterRedis({
      url: `redis://:hunter2@127.0.0.1:${port}`,
      prefix: "pc-test-unreachable:",
      log: createLogger("silent"),
      connectTimeoutMs: 300,
    });
    await expect(attempt).rejects.toThrow(
      /REDIS_URL cannot be reached \(redis:\/\/:\*\*\*@127\.0\.0\.1:\d+.*ECONNREFUSED.*start Redis or fix REDIS_URL/,
    );
    await expect(attempt).rejects.not.toThrow(/hunter2/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("waits for a Redis that comes up a moment after the hub", async () => {
    testRedis = createTestRedis();
    outage = await startRedisOutageProxy();
    await outage.cut();
    const connecting = testRedis.connect(createLogger("silent"), outage.url);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await outage.restore();
    const redis = await connecting;
    expect(redis.isReady()).toBe(true);
  });

  it("fails commands fast with RedisUnavailable during an outage, logs it once, and recovers by itself", async () => {
    testRedis = createTestRedis();
    outage = await startRedisOutageProxy();
    const logs = captureLogs();
    const redis = await testRedis.connect(logs.log, outage.url);
    let reconnects = 0;
    redis.onReconnect(() => {
      reconnects += 1;
    });

    await outage.cut();
    await eventually(() => !redis.isReady());
    const started = Date.now();
    const failed = redis.run((command) => command.get(redis.key("probe")));
    await expect(failed).rejects.toBeInstanceOf(RedisUnavailable);
    await expect(failed).rejects.toThrow(REDIS_UNAVAILABLE_MESSAGE);
    expect(Date.now() - started).toBeLessThan(200);
    // Several reconnect attempts fail meanwhile; the outage is one warning, not one per retry.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(logs.count("Redis is unreachable", 40)).toBe(1);

    await outage.restore();
    await eventually(() => redis.isReady());
    expect(reconnects).toBe(1);
    expect(logs.count("Redis is reachable again")).toBe(1);
    await redis.run((command) => command.set(redis.key("probe"), "back"));
    expect(await redis.run((command) => command.get(redis.key("probe")))).toBe("back");
  });

  it("keeps its subscriptions across an outage", async () => {
    testRedis = createTestRedis();
    outage = await startRedisOutageProxy();
    const listener = await testRedis.connect(createLogger("silent"), outage.url);
    const publisher = await testRedis.connect();
    const channel = listener.key("bus");
    const received: string[] = [];
    listener.subscriber.on("message", (_channel: string, message: string) => received.push(message));
    await listener.subscriber.subscribe(channel);

    await outage.cut();
    await eventually(() => !listener.isReady());
    await outage.restore();
    await eventually(() => listener.isReady());
    // Resubscribing follows "ready"; publish until the message arrives, bounded.
    await eventually(async () => {
      await publisher.run((command) => command.publish(channel, "after the outage"));
      return received.includes("after the outage");
    });
  });

  it("lets Redis's own error replies through: they are bugs, not outages", async () => {
    testRedis = createTestRedis();
    const redis = await testRedis.connect();
    await redis.run((command) => command.hset(redis.key("hash"), "field", "1"));
    const wrongType = redis.run((command) => command.incr(redis.key("hash")));
    await expect(wrongType).rejects.toThrow(/WRONGTYPE/);
    await expect(wrongType).rejects.not.toBeInstanceOf(RedisUnavailable);
  });

  it("reconnects with a backoff capped at one second", () => {
    expect(reconnectDelay(1)).toBeLessThan(200);
    expect(reconnectDelay(1_000)).toBe(1_000);
  });
});
