// Decides where the Redis cases of the test suite run, and starts a throwaway redis-server.
//
// Order: $REDIS_TEST_URL if set; else the server on 127.0.0.1:6379 if it answers PING; else a
// `redis-server --port <free> --save "" --appendonly no` started here on loopback; else null, with
// a loud warning, and the Redis cases skip saying why. PC_TEST_REDIS=throwaway|none forces one of
// the last two (to test them), as PC_TEST_POSTGRES does for PostgreSQL.
//
// The global setup hands the choice to the test processes as PC_TEST_REDIS_URL (the URL), or
// PC_TEST_NO_REDIS (why there is none); apps/hub/src/cluster/test-redis.ts and
// tests/support/cluster.ts read them.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { findFreePort, LOOPBACK } from "./net.ts";

export type RedisSource = "env" | "local" | "throwaway";

export interface RedisChoice {
  url: string;
  source: RedisSource;
  /** Stops a throwaway server; a no-op for servers this module did not start. */
  stop(): Promise<void>;
}

export const DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379";
export const NO_REDIS_WARNING = "WARNING: no Redis found: the Redis cases were SKIPPED";
/** Why a Redis case skipped, and what makes it run. */
export const NO_REDIS_REASON =
  "no Redis: set REDIS_TEST_URL, run one on 127.0.0.1:6379, or install redis-server for a throwaway one";

/** What a skipped Redis case says. */
export function noRedisReason(env: Record<string, string | undefined>): string {
  return env.PC_TEST_REDIS === "none" ? "no Redis: PC_TEST_REDIS=none" : NO_REDIS_REASON;
}

/** The environment variables the global setup sets for the test processes. */
export const REDIS_URL_VARIABLE = "PC_TEST_REDIS_URL";
export const NO_REDIS_VARIABLE = "PC_TEST_NO_REDIS";

/** Prints the no-Redis warning where nobody can miss it. */
export function warnNoRedis(reason = NO_REDIS_REASON): void {
  const width = Math.max(NO_REDIS_WARNING.length, reason.length);
  const bar = "!".repeat(width + 4);
  const line = (text: string) => `! ${text.padEnd(width)} !`;
  console.warn(`\n${bar}\n${line(NO_REDIS_WARNING)}\n${line(reason)}\n${bar}\n`);
}

/** True when a Redis answers PING at this URL within the timeout (auth and TLS as the URL says). */
export async function canPingRedis(url: string, timeoutMs = 2_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // A refused connection is the answer we are asking for, not an error worth a stack trace.
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface ChooseRedisOptions {
  /** REDIS_TEST_URL and PC_TEST_REDIS are read from here. */
  env: Record<string, string | undefined>;
  ping: (url: string) => Promise<boolean>;
  /** A throwaway server, or null when redis-server is not installed. */
  startThrowaway: () => Promise<RedisServer | null>;
  warn: (message: string) => void;
}

/** The choice itself, with its probes passed in so that each branch can be tested. */
export async function chooseRedis({ env, ping, startThrowaway, warn }: ChooseRedisOptions): Promise<RedisChoice | null> {
  const forced = env.PC_TEST_REDIS;
  if (forced && forced !== "throwaway" && forced !== "none") {
    throw new Error(`PC_TEST_REDIS=${forced} is not understood: use "throwaway" or "none", or unset it`);
  }
  const noop = async () => {};

  if (!forced) {
    const fromEnv = env.REDIS_TEST_URL;
    if (fromEnv) {
      // The caller asked for this server explicitly: failing loudly beats silently using another.
      if (!(await ping(fromEnv))) {
        throw new Error(
          `REDIS_TEST_URL is set but no Redis answers PING there (${redact(fromEnv)}): start it, or unset REDIS_TEST_URL`,
        );
      }
      return { url: fromEnv, source: "env", stop: noop };
    }
    if (await ping(DEFAULT_TEST_REDIS_URL)) return { url: DEFAULT_TEST_REDIS_URL, source: "local", stop: noop };
  }

  if (forced !== "none") {
    const throwaway = await startThrowaway().catch((error: unknown) => {
      warn(`could not start a throwaway redis-server: ${String(error)}`);
      return null;
    });
    if (throwaway) return { url: throwaway.url, source: "throwaway", stop: () => throwaway.close() };
  }
  return null;
}

/** The run's Redis as the machine offers it. */
export function acquireRedis(env: Record<string, string | undefined> = process.env): Promise<RedisChoice | null> {
  return chooseRedis({
    env,
    ping: (url) => canPingRedis(url, url === env.REDIS_TEST_URL ? 10_000 : 2_000),
    startThrowaway: startRedisServer,
    warn: (message) => console.warn(message),
  });
}

export interface SharedRedis {
  /** The first call acquires; later ones get the same choice. */
  lease(): Promise<RedisChoice | null>;
  /** Stops the server once every lease has been given back; true for that last release. */
  release(): Promise<boolean>;
}

/**
 * One Redis for several holders: each vitest project runs the global setup, all of them in the
 * main process before any test, and they must not start a throwaway server each.
 */
export function shareRedis(acquire: () => Promise<RedisChoice | null>): SharedRedis {
  let choice: Promise<RedisChoice | null> | undefined;
  let holders = 0;
  return {
    lease() {
      holders += 1;
      choice ??= acquire();
      return choice;
    },
    async release() {
      holders -= 1;
      if (holders > 0 || !choice) return false;
      const held = choice;
      choice = undefined;
      await (await held.catch(() => null))?.stop();
      return true;
    },
  };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable URL>";
  }
}

// ---------------------------------------------------------------------------------------------
// A throwaway redis-server on a free loopback port. Outage tests stop it and start it again on
// the same port.

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (its data goes: --save "" --appendonly no); the port is kept for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  logs(): string;
  close(): Promise<void>;
}

const children = new Set<ChildProcess>();

// A test run that ends without teardown (a crash, Ctrl-C) must not leave servers behind.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

export function findRedisServer(): string | null {
  for (const candidate of ["redis-server", "/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore", timeout: 5_000 });
      return candidate;
    } catch {}
  }
  return null;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Polls PING until it answers, the child exits (with its output as the reason) or time runs out. */
async function waitForPong(child: ChildProcess, url: string, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(child)) throw new Error(`redis-server exited: ${output().slice(-2000)}`);
    if (await canPingRedis(url, 500)) return;
    if (Date.now() >= deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer PING at ${url} within ${timeoutMs} ms: ${output().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts `redis-server --port <free> --save "" --appendonly no` on loopback, or null if not installed. */
export async function startRedisServer(): Promise<RedisServer | null> {
  const binary = findRedisServer();
  if (!binary) return null;
  let output = "";
  let child: ChildProcess | undefined;

  const spawnOn = async (port: number) => {
    const started = spawn(
      binary,
      ["--port", String(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = started;
    children.add(started);
    started.once("exit", () => children.delete(started));
    const append = (chunk: string) => {
      if (output.length < 256 * 1024) output += chunk;
    };
    started.stdout?.setEncoding("utf8").on("data", append);
    started.stderr?.setEncoding("utf8").on("data", append);
    await waitForPong(started, `redis://${LOOPBACK}:${port}`, () => output, 10_000);
  };

  // Another process may take the free port between findFreePort and redis-server's bind.
  let port = 0;
  for (let attempt = 1; ; attempt += 1) {
    port = await findFreePort();
    try {
      await spawnOn(port);
      break;
    } catch (error) {
      if (attempt >= 3 || !output.includes("Address already in use")) throw error;
      output = "";
    }
  }

  const stop = async () => {
    const running = child;
    if (!running || hasExited(running)) return;
    running.kill("SIGKILL");
    await waitForExit(running, 5_000);
  };
  return {
    port,
    url: `redis://${LOOPBACK}:${port}`,
    stop,
    async start() {
      if (child && !hasExited(child)) return;
      await spawnOn(port);
    },
    logs: () => output,
    close: stop,
  };
}
