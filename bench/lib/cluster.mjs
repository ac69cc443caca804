// The cluster shapes of issue 17: hubs that share one Redis and one PostgreSQL database.
//  1. crossHub: one stream whose reaching agent is on hub A and exposing agent on hub B, against
//     the same stream through one hub (a second reaching agent on hub B), in the same cluster, with
//     the throughput and round-trip workloads of the single-hub contenders.
//  2. aggregate: 8 agent pairs, all 8 streams at once, through `connect-hub start --workers 2`
//     against `--workers 1` (the same primary + worker shape, the same Redis + PostgreSQL setup).
// Every run gets its own Redis key prefix (deleted after) and its own database (dropped after).
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { builds, probe, stopTree } from "./contenders.mjs";
import { cpuSeconds, processTree, snapshotCpu, systemBusySeconds } from "./proc.mjs";
import { MB } from "./stats.mjs";
import { log, makeTempDir, run, sleep, spawnService } from "./tools.mjs";
import { rtt, throughput } from "./workloads.mjs";

/** Agent pairs of the aggregate shape (the figure). */
export const AGGREGATE_PAIRS = 8;

function cleanEnv() {
  const env = { ...process.env };
  delete env.CONNECT_HOME;
  delete env.NODE_OPTIONS;
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  return env;
}

async function adminQuery(adminUrl, sql) {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

function scanPattern(prefix) {
  return `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
}

/**
 * One Redis key prefix and one PostgreSQL database for a run, and the secrets every hub of the
 * cluster shares. cleanup() deletes the prefix's keys and drops the database.
 */
async function startBackend({ clusterRedisUrl: redisUrl, clusterPostgresUrl: adminUrl, clusterProfileDir }) {
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`the cluster shapes need Redis at ${redisUrl} (${error.message}): start one or set BENCH_REDIS_URL`);
  }
  const name = `pc_bench_${randomBytes(5).toString("hex")}`;
  try {
    await adminQuery(adminUrl, `create database ${name}`);
  } catch (error) {
    redis.disconnect();
    throw new Error(`the cluster shapes need PostgreSQL at ${adminUrl} (${error.message}): start one or set BENCH_POSTGRES_URL`);
  }
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${name}`;
  const prefix = `pc-bench-${randomBytes(6).toString("hex")}:`;
  return {
    redisUrl,
    profileDir: clusterProfileDir,
    prefix,
    databaseUrl: databaseUrl.toString(),
    secrets: {
      JWT_SECRET: randomBytes(32).toString("base64url"),
      ENCRYPTION_KEY: randomBytes(32).toString("hex"),
      CLUSTER_SECRET: randomBytes(32).toString("hex"),
    },
    /** Which hub Redis says the agent is connected to (undefined when none). */
    async hubOf(agentId) {
      return (await redis.hget(`${prefix}agent:${agentId}`, "hub")) ?? undefined;
    },
    async cleanup() {
      let deleted = 0;
      try {
        let cursor = "0";
        for (let round = 0; round < 1_000; round += 1) {
          const [next, keys] = await redis.scan(cursor, "MATCH", scanPattern(prefix), "COUNT", 1000);
          if (keys.length > 0) deleted += await redis.unlink(...keys);
          cursor = next;
          if (cursor === "0") break;
        }
      } catch (error) {
        log(`cluster: could not delete the Redis keys under ${prefix}: ${error.message}`);
      }
      redis.disconnect();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`).catch((error) =>
        log(`cluster: could not drop database ${name}: ${error.message}`),
      );
      return deleted;
    },
  };
}

/** `connect-hub start` in the cluster (with `--workers N` when given); resolves once listening. */
async function startClusterHub(backend, { hubId, workers }) {
  const { hubBin } = builds();
  const dir = await makeTempDir("pcc-");
  const dataDir = join(dir, "data");
  const env = {
    ...cleanEnv(),
    LOG_LEVEL: "info",
    REDIS_URL: backend.redisUrl,
    REDIS_KEY_PREFIX: backend.prefix,
    HUB_ID: hubId,
    DATABASE_URL: backend.databaseUrl,
    ...backend.secrets,
  };
  const args = ["start", "--port", "0", "--host", "127.0.0.1", "--data", dataDir];
  if (workers) args.push("--workers", String(workers));
  // BENCH_CLUSTER_PROFILE_DIR: V8 CPU profiles of every hub process, in <dir>/<HUB_ID>/ (written
  // when the hub exits; Node 20 refuses --cpu-prof in NODE_OPTIONS, so it is a node flag here).
  const profileDir = backend.profileDir;
  const nodeFlags = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, hubId)}`] : [];
  const service = spawnService(process.execPath, [...nodeFlags, hubBin, ...args], { env });
  const stop = async () => {
    await service.stop(20_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const line = await service.waitForLine((l) => l.includes('"hub listening"'), 90_000);
    const { url, workers: workerIds } = JSON.parse(line);
    return { url, pid: service.pid, hubIds: workerIds ?? [hubId], env, dataDir, stop, tail: service.tail };
  } catch (error) {
    await stop();
    throw new Error(`connect-hub ${args.join(" ")} did not start: ${error.message}`);
  }
}

async function createWorkspace(hub, name) {
  const { hubBin } = builds();
  const created = await run(
    process.execPath,
    [hubBin, "workspace", "create", name, "--owner", `${name}@bench.test`, "--json", "--data", hub.dataDir],
    { env: hub.env, timeoutMs: 90_000 },
  );
  return JSON.parse(created.stdout.trim().split("\n").pop()).apiKey;
}

/** Agents started with `connect up --detach`, each in a config directory of its own. */
function agentGroup() {
  const { agentBin } = builds();
  const env = cleanEnv();
  const agents = [];
  const cli = (args, timeoutMs = 60_000) => run(process.execPath, [agentBin, ...args], { env, timeoutMs });
  return {
    agents,
    async up({ hubUrl, apiKey, label }) {
      const config = await makeTempDir("pca-");
      const agent = { label, config, pid: undefined, agentId: undefined };
      agents.push(agent);
      await cli(["up", "--hub", hubUrl, "--api-key", apiKey, "--label", label, "--config", config, "--detach"], 90_000);
      agent.pid = Number((await readFile(join(config, "agent.pid"), "utf8")).trim());
      agent.agentId = JSON.parse(await readFile(join(config, "identity.json"), "utf8")).agentId;
      return agent;
    },
    async expose(agent, name, port) {
      await cli(["expose", `127.0.0.1:${port}`, "--name", name, "--config", agent.config]);
    },
    async reach(agent, name) {
      const reached = await cli(["reach", name, "--json", "--config", agent.config]);
      return JSON.parse(reached.stdout).port;
    },
    async stopAll() {
      await inBatches(agents, 4, async (agent) => {
        await cli(["down", "--config", agent.config], 20_000).catch(() => {});
        if (agent.pid) await stopTree(agent.pid, 5_000);
        await rm(agent.config, { recursive: true, force: true });
      });
    },
  };
}

/** Runs `work` over `items`, at most `width` at a time (agent CLIs each start a Node process). */
async function inBatches(items, width, work) {
  const results = [];
  for (let index = 0; index < items.length; index += width)
    results.push(...(await Promise.all(items.slice(index, index + width).map(work))));
  return results;
}

/** Stops agents, then hubs, then deletes the run's Redis keys and database, whatever failed. */
async function teardown({ group, hubs, backend }) {
  await group?.stopAll().catch((error) => log(`cluster: stopping agents: ${error.message}`));
  for (const hub of hubs) await hub.stop().catch((error) => log(`cluster: stopping a hub: ${error.message}`));
  if (backend) await backend.cleanup();
}

/** Shape 1: the same stream through one hub and across two, in one cluster. */
export async function crossHub(ctx) {
  const { client } = ctx;
  const backend = await startBackend(ctx.options);
  const hubs = [];
  const group = agentGroup();
  try {
    log("cluster: starting hub A, then hub B (the first migrates the database)");
    const hubA = await startClusterHub(backend, { hubId: "bench-hub-a" });
    hubs.push(hubA);
    const hubB = await startClusterHub(backend, { hubId: "bench-hub-b" });
    hubs.push(hubB);
    const apiKey = await createWorkspace(hubA, "bench");
    const expose = await group.up({ hubUrl: hubB.url, apiKey, label: "expose" });
    const reachCross = await group.up({ hubUrl: hubA.url, apiKey, label: "reach-a" });
    const reachLocal = await group.up({ hubUrl: hubB.url, apiKey, label: "reach-b" });
    await group.expose(expose, "bench", ctx.server.port);
    const crossPort = await group.reach(reachCross, "bench");
    const localPort = await group.reach(reachLocal, "bench");
    await probe(client, crossPort);
    await probe(client, localPort);
    const placed = {
      expose: await backend.hubOf(expose.agentId),
      reachCross: await backend.hubOf(reachCross.agentId),
      reachLocal: await backend.hubOf(reachLocal.agentId),
    };
    if (placed.expose !== "bench-hub-b" || placed.reachCross !== "bench-hub-a" || placed.reachLocal !== "bench-hub-b")
      throw new Error(`the agents are not on the hubs the shape needs: Redis places them ${JSON.stringify(placed)}`);
    const single = {
      entryPort: localPort,
      roles: { reach: [reachLocal.pid], hub: [hubB.pid], expose: [expose.pid] },
    };
    const cross = {
      entryPort: crossPort,
      roles: { reach: [reachCross.pid], hubA: [hubA.pid], hubB: [hubB.pid], expose: [expose.pid] },
    };
    const result = { placed, single: {}, cross: {} };
    log("cluster: throughput through one hub (reach and expose on hub B)");
    result.single.throughput = await throughput({ ...ctx, instance: single });
    log("cluster: throughput across two hubs (reach on hub A, expose on hub B)");
    result.cross.throughput = await throughput({ ...ctx, instance: cross });
    log("cluster: round trip through one hub");
    result.single.rtt = await rtt({ ...ctx, instance: single });
    log("cluster: round trip across two hubs");
    result.cross.rtt = await rtt({ ...ctx, instance: cross });
    return result;
  } finally {
    await teardown({ group, hubs, backend });
  }
}

/** CPU seconds so far: the hub's process tree (primary and each worker), agents, load generators. */
function cpuReading(hubPid, agentPids, loadPids) {
  const hubPids = processTree(hubPid);
  return {
    at: performance.now(),
    machineBusy: systemBusySeconds(),
    hubProcesses: Object.fromEntries(hubPids.map((pid) => [pid, cpuSeconds(pid)])),
    agents: snapshotCpu({ agents: agentPids }).agents,
    load: snapshotCpu({ load: loadPids }).load,
  };
}

function cpuUsed(before, after) {
  const seconds = (after.at - before.at) / 1000;
  const hubProcesses = Object.fromEntries(
    Object.keys(after.hubProcesses).map((pid) => [pid, after.hubProcesses[pid] - (before.hubProcesses[pid] ?? 0)]),
  );
  const hub = Object.values(hubProcesses).reduce((a, b) => a + b, 0);
  return {
    seconds,
    hubCpuSeconds: hub,
    hubProcessCpuSeconds: Object.values(hubProcesses),
    agentsCpuSeconds: after.agents - before.agents,
    loadCpuSeconds: after.load - before.load,
    machineBusySeconds: after.machineBusy - before.machineBusy,
  };
}

/** One hub process (`--workers N`) carrying AGGREGATE_PAIRS agent pairs, all streams at once. */
async function aggregateRun(ctx, workers) {
  const { client, options } = ctx;
  const backend = await startBackend(ctx.options);
  const hubs = [];
  const group = agentGroup();
  try {
    log(`cluster: connect-hub start --workers ${workers}, ${AGGREGATE_PAIRS} exposing and ${AGGREGATE_PAIRS} reaching agents`);
    const hub = await startClusterHub(backend, { hubId: `bench-w${workers}`, workers });
    hubs.push(hub);
    const apiKey = await createWorkspace(hub, "bench");
    const indexes = Array.from({ length: AGGREGATE_PAIRS }, (_, i) => i);
    const exposing = await inBatches(indexes, 4, (i) => group.up({ hubUrl: hub.url, apiKey, label: `expose-${i}` }));
    const reaching = await inBatches(indexes, 4, (i) => group.up({ hubUrl: hub.url, apiKey, label: `reach-${i}` }));
    await inBatches(indexes, 4, (i) => group.expose(exposing[i], `bench-${i}`, ctx.server.port));
    const ports = await inBatches(indexes, 4, (i) => group.reach(reaching[i], `bench-${i}`));
    for (const port of ports) await probe(client, port);
    // node:cluster deals connections round robin, so a pair may sit on one worker or on two.
    const where = await Promise.all(
      indexes.map(async (i) => [await backend.hubOf(exposing[i].agentId), await backend.hubOf(reaching[i].agentId)]),
    );
    const agentsPerHub = {};
    for (const pair of where) for (const id of pair) agentsPerHub[id ?? "none"] = (agentsPerHub[id ?? "none"] ?? 0) + 1;
    const pairsOnOneHub = where.filter(([a, b]) => a && a === b).length;
    const agentPids = group.agents.map((agent) => agent.pid);
    const loadPids = [ctx.client.pid, ctx.server.pid];
    const result = { workers, hubIds: hub.hubIds, agentsPerHub, pairsOnOneHub, pairs: AGGREGATE_PAIRS };
    for (const direction of ["upload", "download"]) {
      await client.call("bulk", { ports, direction, durationMs: options.warmupMs });
      const runs = [];
      const before = cpuReading(hub.pid, agentPids, loadPids);
      for (let rep = 0; rep < options.throughputReps; rep += 1) {
        const measured = await client.call("bulk", { ports, direction, durationMs: options.throughputMs });
        runs.push({
          mbps: measured.bytes / MB / measured.seconds,
          perStreamMbps: measured.streams.map((s) => s.bytes / MB / s.seconds),
        });
        await sleep(150);
      }
      const cpu = cpuUsed(before, cpuReading(hub.pid, agentPids, loadPids));
      const rates = runs.map((r) => r.mbps);
      const perStream = runs.flatMap((r) => r.perStreamMbps);
      // Streams come back in the order of `ports`, which is the order of the pairs.
      const meanOf = (keep) => {
        const picked = runs.flatMap((r) => r.perStreamMbps.filter((_, i) => keep(where[i])));
        return picked.length > 0 ? picked.reduce((a, b) => a + b, 0) / picked.length : undefined;
      };
      result[direction] = {
        mbps: rates.reduce((a, b) => a + b, 0) / rates.length,
        minMbps: Math.min(...rates),
        maxMbps: Math.max(...rates),
        streamMinMbps: Math.min(...perStream),
        streamMaxMbps: Math.max(...perStream),
        /** Mean per-stream rate of the pairs whose two agents share a worker, and of the others. */
        oneHubStreamMbps: meanOf(([a, b]) => a && a === b),
        crossingStreamMbps: meanOf(([a, b]) => !(a && a === b)),
        runs,
        cpu,
        /** Share of all cores used by processes outside this shape (other work on the machine). */
        foreignCpuShare: Math.max(
          0,
          (cpu.machineBusySeconds - cpu.hubCpuSeconds - cpu.agentsCpuSeconds - cpu.loadCpuSeconds) / (cpu.seconds * ctx.cores),
        ),
      };
      log(
        `  workers ${workers} ${direction}: ${rates.map((r) => r.toFixed(1)).join(", ")} MB/s over ${AGGREGATE_PAIRS} streams; hub ${(cpu.hubCpuSeconds / cpu.seconds).toFixed(2)} cores, agents ${(cpu.agentsCpuSeconds / cpu.seconds).toFixed(2)}, load ${(cpu.loadCpuSeconds / cpu.seconds).toFixed(2)}, other processes ${(result[direction].foreignCpuShare * 100).toFixed(0)}% of the machine`,
      );
    }
    return result;
  } finally {
    await teardown({ group, hubs, backend });
  }
}

/** Shape 2: `--workers 1` then `--workers 2`, each with fresh hub, agents, keys and database. */
export async function aggregate(ctx, { outOfTime }) {
  const result = {};
  for (const workers of [1, 2]) {
    if (outOfTime()) {
      result[`workers${workers}`] = { error: "skipped: time budget used up" };
      continue;
    }
    try {
      result[`workers${workers}`] = await aggregateRun(ctx, workers);
    } catch (error) {
      result[`workers${workers}`] = { error: error.message };
      log(`cluster: --workers ${workers} failed: ${error.message.split("\n").slice(0, 3).join(" | ")}`);
      await ctx.client.call("closeIdle").catch(() => {});
    }
    await sleep(500);
  }
  return result;
}
