import { createHash } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../logger.js";

/**
 * The one user-facing sentence for "this needed Redis and Redis is away". The API's rate limiter
 * throws it too (packages/api must not import the hub), so the hub and the API say the same thing.
 */
export { REDIS_UNAVAILABLE_MESSAGE } from "@private-connect/api";

import { REDIS_UNAVAILABLE_MESSAGE } from "@private-connect/api";

/** A command could not run because Redis is unreachable; the connection keeps retrying meanwhile. */
/** The hub cannot start: REDIS_URL did not answer within the connect timeout. */
export class RedisNotReachableAtStart extends Error {}

export class RedisUnavailable extends Error {
  constructor(cause?: unknown) {
    super(REDIS_UNAVAILABLE_MESSAGE, { cause });
    this.name = "RedisUnavailable";
  }
}

export interface ClusterRedis {
  readonly prefix: string;
  /** prefix + parts.join(":") */
  key(...parts: string[]): string;
  /** Commands; fails fast while disconnected (no offline queue). Prefer `run`. */
  readonly command: Redis;
  /** Pub/sub only; resubscribes by itself after a reconnect. */
  readonly subscriber: Redis;
  isReady(): boolean;
  /** Runs a command, turning connection failures into RedisUnavailable. Redis's own errors pass through. */
  run<T>(operation: (redis: Redis) => Promise<T>): Promise<T>;
  /** Called once each time Redis is back after having been lost (both connections ready again). */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface ConnectClusterRedisOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** How long the first connection may take before the hub refuses to start. */
  connectTimeoutMs?: number;
  /** A command without an answer after this long fails (as RedisUnavailable). */
  commandTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
/** Reconnect backoff: 50 ms doubling, capped at 1 s, forever; recovery after an outage is quick. */
const MAX_RECONNECT_DELAY_MS = 1_000;

export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS);
}

/**
 * Replies Redis gives while it cannot serve yet (loading its data after a restart, a busy
 * script, a replica without its primary): for the caller that is the same as "away".
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * A Redis error reply (wrong type, a script bug) is a programming error and must stay visible;
 * everything else ioredis rejects with (closed stream, no offline queue, timeout, retries
 * exhausted) means the connection is away.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof RedisUnavailable) return true;
  if (error.name === "ReplyError") return TRANSIENT_REPLY.test(error.message);
  return true;
}

/** The URL without its password, for messages and logs. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "REDIS_URL";
  }
}

/**
 * Two connections to the cluster's Redis: one for commands, one for pub/sub (a subscribed
 * connection cannot run other commands). Commands fail fast while Redis is away so an open that
 * needs Redis answers at once instead of hanging; both connections reconnect forever in the
 * background. Resolves once both are ready, or throws saying REDIS_URL cannot be reached: a hub
 * configured for a cluster must not start half-configured.
 */
export async function connectClusterRedis(options: ConnectClusterRedisOptions): Promise<ClusterRedis> {
  const { url, prefix, log } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const common: RedisOptions = {
    lazyConnect: true,
    retryStrategy: reconnectDelay,
    connectTimeout: Math.min(connectTimeoutMs, 2_000),
  };
  const command = new Redis(url, {
    ...common,
    connectionName: "connect-hub",
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  });
  const subscriber = new Redis(url, {
    ...common,
    connectionName: "connect-hub-pubsub",
    autoResubscribe: true,
    // A subscribe issued during an outage waits for the connection rather than failing: a
    // subscription is meant to hold for the hub's whole life.
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
  });

  const lastError: { message?: string } = {};
  let lost = false;
  let closed = false;
  // Failed attempts before the first connection are the start's business (it throws), not an outage.
  let starting = true;
  const reconnectListeners = new Set<() => void>();
  const isReady = () => command.status === "ready" && subscriber.status === "ready";

  const onError = (error: Error) => {
    lastError.message = error.message;
  };
  const onDown = () => {
    if (closed || lost || starting) return;
    lost = true;
    log.warn(
      { redis: describeRedisUrl(url), reason: lastError.message },
      "Redis is unreachable: opens that need it fail until it is back; established streams keep flowing",
    );
  };
  const onReady = () => {
    if (!lost || !isReady()) return;
    lost = false;
    log.info({ redis: describeRedisUrl(url) }, "Redis is reachable again");
    for (const listener of [...reconnectListeners]) {
      try {
        listener();
      } catch (error) {
        log.error({ err: error }, "a Redis reconnect listener failed");
      }
    }
  };
  for (const connection of [command, subscriber]) {
    connection.on("error", onError);
    connection.on("close", onDown);
    connection.on("ready", onReady);
  }

  const cluster: ClusterRedis = {
    prefix,
    key: (...parts) => prefix + parts.join(":"),
    command,
    subscriber,
    isReady,
    async run(operation) {
      try {
        return await operation(command);
      } catch (error) {
        if (isConnectionFailure(error)) throw error instanceof RedisUnavailable ? error : new RedisUnavailable(error);
        throw error;
      }
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      reconnectListeners.clear();
      await Promise.all([command, subscriber].map(quitOrDisconnect));
    },
  };

  try {
    await withTimeout(Promise.all([command, subscriber].map(waitUntilReady)), connectTimeoutMs);
    starting = false;
  } catch (error) {
    closed = true;
    command.disconnect();
    subscriber.disconnect();
    const reason = lastError.message ?? (error instanceof Error ? error.message : String(error));
    throw new RedisNotReachableAtStart(
      `REDIS_URL cannot be reached (${describeRedisUrl(url)}: ${reason}): start Redis or fix REDIS_URL, then start the hub again`,
      { cause: error },
    );
  }
  return cluster;
}

/**
 * connect() rejects at the first refused attempt; the retry strategy keeps trying, so the first
 * "ready" is what to wait for (Redis may be a moment late when everything starts together).
 */
function waitUntilReady(connection: Redis): Promise<void> {
  return new Promise((resolve) => {
    connection.once("ready", () => resolve());
    connection.connect().catch(() => {
      // Reported through the "error" listener and retried by the retry strategy.
    });
  });
}

async function quitOrDisconnect(connection: Redis): Promise<void> {
  if (connection.status === "ready") {
    try {
      await connection.quit();
      return;
    } catch {
      // Redis went away while quitting: nothing left to say goodbye to.
    }
  }
  connection.disconnect();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface LuaScript {
  /** EVALSHA, falling back to EVAL once when Redis does not know the script yet (a restart flushes them). */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/** A Lua script run by its SHA: the multi-step updates that must be atomic without a lock. */
export function defineLuaScript(source: string): LuaScript {
  const sha = createHash("sha1").update(source).digest("hex");
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
        return await redis.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}
