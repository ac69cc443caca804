// Several real hubs on one PostgreSQL database and one Redis, as docs/cluster.md describes: each
// cluster gets its own Redis key prefix (`pc-test-<random>:`), its own secrets, and hubs named
// hub-1..hub-N. Teardown stops the hubs and deletes every key under the prefix. Also here: a
// throwaway redis-server for outage tests (never the run's shared Redis), and small readers of a
// hub's /readyz, /metrics and live updates, and of where Redis says an agent is.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { findHaproxy } from "./haproxy.ts";
import { createTestDatabase, NO_POSTGRES_WARNING } from "./harness.ts";
import { findFreePort, LOOPBACK, waitFor } from "./net.ts";
import type { TestDatabase } from "./postgres.ts";
import {
  type Agent,
  expectSuccess,
  type Hub,
  parseJsonOutput,
  type StartAgentOptions,
  startAgent,
  startHub,
} from "./processes.ts";
import {
  canPingRedis,
  DEFAULT_TEST_REDIS_URL,
  NO_REDIS_VARIABLE,
  REDIS_URL_VARIABLE,
  type RedisServer,
  startRedisServer as startThrowawayRedisServer,
} from "./redis-server.ts";

/** The run's Redis (the global setup's pick, tests/support/redis-server.ts); each cluster has a prefix there. */
export const DEFAULT_REDIS_URL = process.env[REDIS_URL_VARIABLE] || DEFAULT_TEST_REDIS_URL;
/** What a hub says when Redis is away (REDIS_UNAVAILABLE_MESSAGE in the hub). */
export const REDIS_UNAVAILABLE_TEXT = "The hub cannot reach Redis right now";

export interface ClusterHub extends Hub {
  hubId: string;
  /** The environment it was started with, to start it (or a twin) again. */
  env: Record<string, string>;
}

export interface ClusterSecrets {
  jwtSecret: string;
  encryptionKey: string;
  clusterSecret: string;
}

export interface AgentLocationRecord {
  hub: string;
  epoch: string;
  ip?: string;
  at?: string;
}

export interface Cluster {
  prefix: string;
  redisUrl: string;
  databaseUrl: string;
  secrets: ClusterSecrets;
  /** Every hub started in this cluster, in order (killed ones stay listed). */
  hubs: ClusterHub[];
  hub(hubId: string): ClusterHub;
  /** A command client on the cluster's Redis, for assertions; fails fast when Redis is down. */
  redis: Redis;
  /** Starts one more hub in the cluster (hubId defaults to the next hub-N). */
  addHub(options?: {
    hubId?: string;
    env?: Record<string, string | undefined>;
    extraArgs?: string[];
    readyTimeoutMs?: number;
  }): Promise<ClusterHub>;
  /** SIGKILL: the hub gets no chance to clean up (its Redis records expire on their own). */
  killHub(hub: ClusterHub): Promise<void>;
  /** Where Redis says the agent is connected now, or undefined. */
  locationOf(agentId: string): Promise<AgentLocationRecord | undefined>;
  /** Waits (bounded) until Redis places the agent on one of `hubIds` (any hub when omitted). */
  waitForLocation(agentId: string, options?: { hubIds?: string[]; timeoutMs?: number }): Promise<AgentLocationRecord>;
  /** Stops the hubs, deletes the prefix's keys, closes the Redis client and drops its database. */
  close(): Promise<void>;
}

export interface StartClusterOptions {
  hubs: number;
  /** A PostgreSQL database all hubs share; default: a fresh test database (null when none). */
  databaseUrl?: string;
  redisUrl?: string;
  redisPrefix?: string;
  /** Extra environment for every hub (HEARTBEAT_SECONDS, TRUST_PROXY...). */
  env?: Record<string, string | undefined>;
}

const clusters = new Set<Cluster>();

/** A key prefix no other test uses: `pc-test-<random>:`. */
export function randomRedisPrefix(): string {
  return `pc-test-${randomBytes(6).toString("hex")}:`;
}

function createRedisClient(url: string): Redis {
  const client = new Redis(url, {
    // An assertion should fail at once when Redis is down, not queue behind a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
  client.on("error", () => {});
  return client;
}

async function connectRedis(url: string): Promise<Redis> {
  const client = createRedisClient(url);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`no Redis answers at ${url} (${String(error)}): the cluster tests need one`);
  }
  return client;
}

/** True when a Redis answers PING at the URL within 2 s (false at once when the global setup found none). */
export async function isRedisUp(url = DEFAULT_REDIS_URL): Promise<boolean> {
  if (url === DEFAULT_REDIS_URL && process.env[NO_REDIS_VARIABLE]) return false;
  return canPingRedis(url);
}

function scanPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
}

/** Every key under `prefix` (SCAN, bounded). */
export async function listKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await redis.scan(cursor, "MATCH", scanPattern(prefix), "COUNT", 1000);
    found.push(...keys);
    cursor = next;
    if (cursor === "0") return found;
  }
  throw new Error(`listKeys: ${prefix}* still scanning after 10000 rounds`);
}

/** Why cluster tests cannot run, for their loud skip: no haproxy, no Redis, or both; undefined when both are here. */
export async function missingForCluster(options: { haproxy?: boolean } = {}): Promise<string | undefined> {
  const missing: string[] = [];
  if (options.haproxy && !findHaproxy()) missing.push("haproxy is not installed (.ci/run installs it)");
  if (!(await isRedisUp())) missing.push(process.env[NO_REDIS_VARIABLE] ?? `no Redis answers at ${DEFAULT_REDIS_URL}`);
  return missing.length > 0 ? missing.join("; ") : undefined;
}

/** Deletes every key under `prefix` (SCAN + UNLINK); returns how many went. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  const keys = await listKeys(redis, prefix);
  let deleted = 0;
  for (let index = 0; index < keys.length; index += 500) deleted += await redis.unlink(...keys.slice(index, index + 500));
  return deleted;
}

function newSecrets(): ClusterSecrets {
  return {
    jwtSecret: randomBytes(32).toString("base64url"),
    encryptionKey: randomBytes(32).toString("hex"),
    clusterSecret: randomBytes(32).toString("hex"),
  };
}

/** The environment of one hub of the cluster. */
function hubEnv(
  cluster: { prefix: string; redisUrl: string; secrets: ClusterSecrets },
  hubId: string,
  extra: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    REDIS_URL: cluster.redisUrl,
    REDIS_KEY_PREFIX: cluster.prefix,
    HUB_ID: hubId,
    JWT_SECRET: cluster.secrets.jwtSecret,
    ENCRYPTION_KEY: cluster.secrets.encryptionKey,
    CLUSTER_SECRET: cluster.secrets.clusterSecret,
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * Starts `hubs` hubs sharing one database and one Redis prefix. Returns null when there is no
 * PostgreSQL (the caller skips, loudly): several hubs cannot share an embedded PGlite.
 */
export async function startCluster(options: StartClusterOptions): Promise<Cluster | null> {
  let database: TestDatabase | null = null;
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    database = await createTestDatabase();
    if (!database) {
      console.warn(`${NO_POSTGRES_WARNING}: SKIPPING the cluster tests, which need PostgreSQL`);
      return null;
    }
    databaseUrl = database.url;
  }
  const redisUrl = options.redisUrl ?? DEFAULT_REDIS_URL;
  const prefix = options.redisPrefix ?? randomRedisPrefix();
  const redis = await connectRedis(redisUrl).catch(async (error: unknown) => {
    await database?.drop().catch(() => {});
    throw error;
  });
  const secrets = newSecrets();
  const hubs: ClusterHub[] = [];
  const sharedEnv = options.env ?? {};

  const addHub: Cluster["addHub"] = async (hubOptions = {}) => {
    const hubId = hubOptions.hubId ?? `hub-${hubs.length + 1}`;
    const env = hubEnv({ prefix, redisUrl, secrets }, hubId, { ...sharedEnv, ...hubOptions.env });
    const hub = await startHub({ databaseUrl, env, extraArgs: hubOptions.extraArgs, readyTimeoutMs: hubOptions.readyTimeoutMs });
    const clusterHub: ClusterHub = Object.assign(hub, { hubId, env });
    hubs.push(clusterHub);
    return clusterHub;
  };

  const cluster: Cluster = {
    prefix,
    redisUrl,
    databaseUrl,
    secrets,
    hubs,
    redis,
    hub(hubId) {
      const found = hubs.find((hub) => hub.hubId === hubId);
      if (!found) throw new Error(`no hub ${hubId} in this cluster (hubs: ${hubs.map((hub) => hub.hubId).join(", ")})`);
      return found;
    },
    addHub,
    killHub: (hub) => hub.kill(),
    async locationOf(agentId) {
      const record = await redis.hgetall(`${prefix}agent:${agentId}`);
      if (!record.hub || !record.epoch) return undefined;
      return { hub: record.hub, epoch: record.epoch, ip: record.ip, at: record.at };
    },
    async waitForLocation(agentId, waitOptions = {}) {
      const wanted = waitOptions.hubIds;
      return waitFor(
        async () => {
          const location = await cluster.locationOf(agentId);
          return location && (!wanted || wanted.includes(location.hub)) ? location : undefined;
        },
        {
          timeoutMs: waitOptions.timeoutMs ?? 10_000,
          intervalMs: 100,
          what: `Redis to place agent ${agentId} on ${wanted ? wanted.join(" or ") : "a hub"}`,
        },
      );
    },
    async close() {
      clusters.delete(cluster);
      // Hubs first: a live hub would write its heartbeat again after the keys went.
      await Promise.all(hubs.map((hub) => hub.stop().catch(() => {})));
      try {
        if (redis.status !== "ready") await redis.connect().catch(() => {});
        await deleteKeys(redis, prefix);
      } catch (error) {
        console.warn(`could not delete the cluster's Redis keys under ${prefix}: ${String(error)}`);
      } finally {
        redis.disconnect();
      }
      await database?.drop().catch((error: unknown) => console.warn(`could not drop ${database?.name}: ${String(error)}`));
    },
  };
  clusters.add(cluster);

  try {
    // The first hub migrates the database; the others start together once it has.
    await addHub();
    const rest = Array.from({ length: options.hubs - 1 }, (_, index) => `hub-${index + 2}`);
    await Promise.all(rest.map((hubId) => addHub({ hubId })));
    // Started in parallel, pushed in finishing order: keep hub-1..hub-N in order.
    hubs.sort((a, b) => Number(a.hubId.replace(/\D/g, "")) - Number(b.hubId.replace(/\D/g, "")));
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** Closes every cluster and throwaway Redis still open (for a test file's afterAll). */
export async function closeClusters(): Promise<void> {
  await Promise.all([...clusters].map((cluster) => cluster.close()));
  await Promise.all([...redisServers].map((server) => server.close()));
}

/**
 * How each cluster e2e file starts: null after a loud skip when haproxy (if asked for), Redis or
 * PostgreSQL is missing, else the started cluster.
 */
export async function startClusterOrSkip(
  what: string,
  { haproxy, ...options }: StartClusterOptions & { haproxy?: boolean },
): Promise<Cluster | null> {
  const missing = await missingForCluster({ haproxy });
  if (missing) {
    console.warn(`WARNING: ${missing}: SKIPPING the ${what}`);
    return null;
  }
  return startCluster(options);
}

/** The cluster, or a skip: without Redis or PostgreSQL there is no cluster to test. */
export function requireCluster(cluster: Cluster | null, ctx: { skip: () => void }): Cluster {
  if (!cluster) {
    ctx.skip();
    throw new Error("unreachable");
  }
  return cluster;
}

export interface WebService {
  server: Server;
  /** `127.0.0.1:<port>`, what `expose` takes. */
  address: string;
  /** Cuts open connections (streaming responses never end on their own) and closes the server. */
  close(): Promise<void>;
}

/** An HTTP service on loopback on a port chosen at run time, for an agent to expose. */
export async function startWebService(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<WebService> {
  const server = createServer(handler);
  server.listen(0, LOOPBACK);
  await once(server, "listening");
  return {
    server,
    address: `${LOOPBACK}:${(server.address() as AddressInfo).port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Agents.

export interface ClusterAgent extends Agent {
  agentId: string;
}

/** The agent's id, from identity.json in its config directory. */
export function agentIdOf(agent: Agent): string {
  const identity = JSON.parse(readFileSync(join(agent.configDir, "identity.json"), "utf8")) as { agentId?: unknown };
  if (typeof identity.agentId !== "string") throw new Error(`no agentId in ${agent.configDir}/identity.json`);
  return identity.agentId;
}

/** The agent's token, from identity.json (to start a second process as the same agent). */
export function agentTokenOf(agent: Agent): string {
  const identity = JSON.parse(readFileSync(join(agent.configDir, "identity.json"), "utf8")) as { token?: unknown };
  if (typeof identity.token !== "string") throw new Error(`no token in ${agent.configDir}/identity.json`);
  return identity.token;
}

/** `connect reach SERVICE --port <free> --json ...extra`; returns the local port. */
export async function reachPort(agent: Agent, service: string, extra: string[] = []): Promise<number> {
  const port = await findFreePort();
  const reached = parseJsonOutput<{ port: number }>(
    expectSuccess(await agent.run(["reach", service, "--port", String(port), "--json", ...extra])),
  );
  if (reached.port !== port) throw new Error(`reach ${service} listened on ${reached.port}, not the ${port} asked for`);
  return port;
}

/** The agent's log (agent.log in its config directory), or "" before it has one. */
export function agentLog(agent: Agent): string {
  try {
    return readFileSync(join(agent.configDir, "agent.log"), "utf8");
  } catch {
    return "";
  }
}

/**
 * `connect up --detach` against `via`: one hub's own URL (the agent sits on that hub) or the
 * load balancer's (HAProxy picks). Resolves once connected, with the agent's id.
 */
export async function startClusterAgent(via: { url: string }, options: Omit<StartAgentOptions, "hub">): Promise<ClusterAgent> {
  const agent = await startAgent({ ...options, hub: via });
  return Object.assign(agent, { agentId: agentIdOf(agent) });
}

// ---------------------------------------------------------------------------------------------
// A hub's health and metrics endpoints (loopback: no METRICS_TOKEN needed).

export interface ReadyAnswer {
  status: number;
  body: string;
}

export async function readyz(hub: { url: string }, timeoutMs = 5_000): Promise<ReadyAnswer> {
  const response = await fetch(`${hub.url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}

export async function metricsText(hub: { url: string }, timeoutMs = 5_000): Promise<string> {
  const response = await fetch(`${hub.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${hub.url}/metrics answered ${response.status}: ${text}`);
  return text;
}

/**
 * The value of the first sample of `name` in Prometheus text whose label set contains every one
 * of `labels` (such as `reason="unavailable"`); undefined when there is none.
 */
export function metricValue(text: string, name: string, labels: string[] = []): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelSet = match[2] ?? "";
    if (labels.every((label) => labelSet.includes(label))) return Number(match[3]);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// A throwaway redis-server (tests/support/redis-server.ts) that closeClusters() also stops.

const redisServers = new Set<RedisServer>();

/** `redis-server --port <free> --save "" --appendonly no` on loopback, or null if not installed. */
export async function startRedisServer(): Promise<RedisServer | null> {
  const server = await startThrowawayRedisServer();
  if (!server) return null;
  redisServers.add(server);
  return {
    ...server,
    async close() {
      redisServers.delete(server);
      await server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Live updates (what the dashboard reads): a hub's workspace events over SSE.

export interface EventStream {
  /** Every event's data so far, parsed (tRPC sends JSON), in order. */
  readonly events: unknown[];
  close(): void;
}

/** Opens GET /trpc/events.workspace on the hub with this bearer credential; resolves once it answers 200. */
export function openWorkspaceEvents(hub: { url: string }, bearer: string, timeoutMs = 10_000): Promise<EventStream> {
  const url = new URL("/trpc/events.workspace", hub.url);
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    const req = httpRequest(url, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${bearer}` },
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.once("response", (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${url} answered ${res.statusCode}`));
        return;
      }
      let buffer = "";
      res.setEncoding("utf8").on("data", (chunk: string) => {
        buffer += chunk;
        for (let boundary = buffer.indexOf("\n\n"); boundary !== -1; boundary = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const data = block
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice("data:".length).trimStart())
            .join("\n");
          if (data === "") continue;
          try {
            events.push(JSON.parse(data));
          } catch {
            events.push(data);
          }
        }
      });
      res.on("error", () => {});
      resolve({ events, close: () => req.destroy() });
    });
    req.end();
  });
}
