import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from "node:net";
import { Redis } from "ioredis";
import { beforeEach } from "vitest";
import type { Logger } from "../logger.js";
import { createLogger } from "../logger.js";
import { type ClusterRedis, connectClusterRedis } from "./redis-client.js";

/**
 * For tests only: the Redis the tests share, a random key prefix per test and a cleanup that
 * deletes every key under it. The vitest global setup (tests/support/redis-server.ts) picks the
 * Redis: REDIS_TEST_URL, else 127.0.0.1:6379 (as in CI), else a throwaway redis-server, and
 * passes it on as PC_TEST_REDIS_URL. Outside that setup it is 127.0.0.1:6379.
 */
export const TEST_REDIS_URL = process.env.PC_TEST_REDIS_URL || "redis://127.0.0.1:6379";

/** Set by the global setup when it found no Redis at all: why the Redis cases skip. */
export const NO_TEST_REDIS_REASON = process.env.PC_TEST_NO_REDIS || undefined;

// Every test of a file that imports this module is a Redis case: without a Redis each of them
// skips with the reason (the global setup has printed a loud warning), instead of failing on a
// refused connection. Registered at import, so it belongs to the importing file's suite.
if (NO_TEST_REDIS_REASON) {
  const reason = NO_TEST_REDIS_REASON;
  beforeEach(({ skip }) => skip(reason));
}

export function randomTestPrefix(): string {
  return `pc-test-${randomBytes(6).toString("hex")}:`;
}

/** SCAN + UNLINK of every key under `prefix` (glob characters in it are escaped). Returns how many. */
export async function deleteKeysWithPrefix(prefix: string, url = TEST_REDIS_URL): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export interface TestRedis {
  readonly prefix: string;
  readonly url: string;
  /**
   * A new ClusterRedis on the shared prefix: call it twice for two "hubs". `through` is another
   * URL to the same Redis (a RedisOutage proxy). Closed by cleanup.
   */
  connect(log?: Logger, through?: string): Promise<ClusterRedis>;
  /** Closes every connection made by connect() and deletes the prefix's keys. */
  cleanup(): Promise<void>;
}

export function createTestRedis(prefix = randomTestPrefix(), url = TEST_REDIS_URL): TestRedis {
  const connections: ClusterRedis[] = [];
  return {
    prefix,
    url,
    async connect(log = createLogger("silent"), through = url) {
      const redis = await connectClusterRedis({ url: through, prefix, log, connectTimeoutMs: 2_000 });
      connections.push(redis);
      return redis;
    },
    async cleanup() {
      await Promise.all(connections.splice(0).map((redis) => redis.close()));
      await deleteKeysWithPrefix(prefix, url);
    },
  };
}

export interface RedisOutage {
  /** redis:// URL of the proxy; connect through it to be able to cut Redis off. */
  readonly url: string;
  /** Drops every connection and refuses new ones, as a stopped Redis does. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port, as a restarted Redis does. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of the test Redis, so a test can take "Redis" away and bring it back
 * without touching the Redis every other test uses.
 */
export async function startRedisOutageProxy(target = TEST_REDIS_URL): Promise<RedisOutage> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let port = 0;
  const server = createServer((client) => {
    const redis = connectTcp(Number(upstream.port || 6379), upstream.hostname);
    for (const socket of [client, redis]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        redis.destroy();
      });
    }
    client.pipe(redis).pipe(client);
  });
  const listen = async () => {
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen();
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: stop,
    restore: listen,
    close: stop,
  };
}

export interface CapturedLogs {
  readonly log: Logger;
  readonly lines: { level: number; msg: string; [field: string]: unknown }[];
  /** Lines at `level` (default 30, info) or above whose message contains `text`. */
  count(text: string, level?: number): number;
}

/** A debug-level logger whose JSON lines a test reads back. */
export function captureLogs(): CapturedLogs {
  const lines: CapturedLogs["lines"] = [];
  const log = createLogger("debug", { write: (line: string) => lines.push(JSON.parse(line)) });
  return {
    log,
    lines,
    count: (text, level = 30) => lines.filter((line) => line.level >= level && line.msg.includes(text)).length,
  };
}
