// `connect-hub start --workers 2` with real processes: one primary, two hub workers on one port
// sharing PostgreSQL and Redis (their own key prefix). Agents land on both workers, a reach from
// one worker's agent to the other's service carries every byte, a killed worker comes back, and
// signals to the primary end every worker; /metrics on the shared port shows every worker,
// whichever one is scraped. Without REDIS_URL or DATABASE_URL it refuses.
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentIdOf,
  DEFAULT_REDIS_URL,
  deleteKeys,
  isRedisUp,
  metricsText,
  metricValue,
  randomRedisPrefix,
} from "../support/cluster.ts";
import { createTestDatabase, NO_POSTGRES_WARNING, postgresServer } from "../support/harness.ts";
import { connectTcp, roundTrip, sha256Hex, startSha256Server, type TestServer, waitFor } from "../support/net.ts";
import type { TestDatabase } from "../support/postgres.ts";
import {
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  isAlive,
  makeTempDir,
  parseJsonOutput,
  runHubCli,
  type StartHubOptions,
  startAgent,
  startHub,
  waitForExit,
} from "../support/processes.ts";

const KiB = 1024;
const pgTarget = postgresServer();
if (!pgTarget) console.warn(`${NO_POSTGRES_WARNING}: SKIPPING the --workers tests, which need PostgreSQL`);

// ---------------------------------------------------------------------------------------------
// The --workers hub through processes.startHub, which returns at the first "hub listening" line
// (a worker's, or the primary's: the url is the same); the primary's own line, the one no worker
// wrote, names the workers.

interface LogLine {
  msg?: string;
  url?: string;
  worker?: number;
  workers?: string[];
  hubId?: string;
}

function logLines(hub: Hub): LogLine[] {
  return hub
    .logs()
    .split("\n")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

interface WorkersHub extends Hub {
  /** The workers' HUB_IDs, as the primary's "hub listening" line names them. */
  hubIds: string[];
  /** Live worker processes by index (from each child's PC_HUB_WORKER_INDEX). */
  workerPids(): Map<number, number>;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function workerIndexOf(pid: number): number | undefined {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .find((variable) => variable.startsWith("PC_HUB_WORKER_INDEX="));
    return entry === undefined ? undefined : Number(entry.split("=")[1]);
  } catch {
    return undefined;
  }
}

async function startWorkersHub(workers: number, options: StartHubOptions): Promise<WorkersHub> {
  const hub = await startHub({ ...options, extraArgs: ["--workers", String(workers)] });
  const primary = await waitFor(
    () => logLines(hub).find((line) => line.msg === "hub listening" && line.worker === undefined && line.workers),
    { timeoutMs: 30_000, what: `"hub listening" from the --workers ${workers} primary` },
  );
  const pid = hub.process.pid as number;
  return Object.assign(hub, {
    hubIds: primary.workers as string[],
    workerPids() {
      const byIndex = new Map<number, number>();
      for (const childPid of childPids(pid)) {
        const index = workerIndexOf(childPid);
        if (index !== undefined) byIndex.set(index, childPid);
      }
      return byIndex;
    },
  });
}

/** The hub labels of a scrape's pc_hub_info samples, in order. */
function hubInfoLabels(text: string): string[] {
  return [...text.matchAll(/^pc_hub_info\{hub="([^"]*)"\} 1$/gm)].map((match) => match[1] ?? "");
}

/** Every metric family named by a `# HELP` line, repeats included. */
function helpNames(text: string): string[] {
  return [...text.matchAll(/^# HELP (\S+) /gm)].map((match) => match[1] ?? "");
}

/** `connect-hub start ARGS` that must refuse: the refusal startHub reports (exit code and output). */
async function refusedStart(args: string[], env: Record<string, string | undefined>, databaseUrl?: string) {
  const dataDir = join(await makeTempDir("workers-refused"), "data");
  const refusal = await startHub({ dataDir, env, databaseUrl, extraArgs: args, readyTimeoutMs: 30_000 }).then(
    (hub) => {
      throw new Error(`connect-hub start ${args.join(" ")} started (${hub.url}) where it should refuse`);
    },
    (error: unknown) => String(error),
  );
  return { refusal, dataDir };
}

describe("connect-hub start --workers refusals", () => {
  it("refuses without REDIS_URL, saying the workers share state through Redis", async () => {
    const { refusal, dataDir } = await refusedStart(["--workers", "2"], {}, "postgresql://127.0.0.1:5432/unused");
    expect(refusal).toContain("exited (1) before it was listening");
    expect(refusal).toContain("Error: --workers needs REDIS_URL: the workers share state through Redis, see docs/cluster.md");
    // Refused before it took anything: no lock left behind in the data directory.
    expect(existsSync(join(dataDir, "hub.pid"))).toBe(false);
  });

  it("refuses without DATABASE_URL, saying PGlite serves one process", async () => {
    const { refusal } = await refusedStart(["--workers", "2"], { REDIS_URL: DEFAULT_REDIS_URL });
    expect(refusal).toContain("exited (1) before it was listening");
    expect(refusal).toContain("Error: --workers needs DATABASE_URL: the embedded PGlite database serves one process");
  });

  it("refuses a worker count it cannot run, saying what it takes", async () => {
    const { refusal } = await refusedStart(["--workers", "many"], { REDIS_URL: DEFAULT_REDIS_URL });
    expect(refusal).toContain("exited (1) before it was listening");
    expect(refusal).toContain('Error: Invalid --workers "many": use a number of hub processes from 1 to');
  });
});

const isRedisAvailable = await isRedisUp();
if (!isRedisAvailable)
  console.warn(`hub-workers: no Redis at ${DEFAULT_REDIS_URL}, so --workers (which needs it) is not tested here`);

describe.skipIf(!pgTarget || !isRedisAvailable)("connect-hub start --workers 2", () => {
  const prefix = randomRedisPrefix();
  const hubIdBase = `wk-${randomBytes(3).toString("hex")}`;
  let database: TestDatabase;
  let redis: Redis;
  let hub: WorkersHub;
  let apiKey: string;
  let sha: TestServer;
  /** One agent per worker, by the worker's HUB_ID. */
  const agentOn = new Map<string, Agent>();
  let reachPort: number;

  const hubOf = async (agent: Agent) => (await redis.hget(`${prefix}agent:${agentIdOf(agent)}`, "hub")) ?? undefined;

  beforeAll(async () => {
    database = (await createTestDatabase()) as TestDatabase;
    redis = new Redis(DEFAULT_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    redis.on("error", () => {});
    await redis.connect();
    hub = await startWorkersHub(2, {
      databaseUrl: database.url,
      env: { REDIS_URL: DEFAULT_REDIS_URL, REDIS_KEY_PREFIX: prefix, HUB_ID: hubIdBase },
    });
    ({ apiKey } = await createWorkspace(hub, "workers", "ops@workers.test"));
    sha = await startSha256Server();
  });

  afterAll(async () => {
    await Promise.all([...agentOn.values()].map((agent) => agent.down().catch(() => {})));
    await hub?.stop();
    if (redis) {
      await deleteKeys(redis, prefix).catch((error: unknown) => console.warn(`could not delete ${prefix}*: ${String(error)}`));
      redis.disconnect();
    }
    await database?.drop();
  });

  it("runs two workers, each a hub of the cluster with its own HUB_ID and heartbeat", async () => {
    expect(hub.hubIds).toEqual([`${hubIdBase}-w0`, `${hubIdBase}-w1`]);
    expect([...hub.workerPids().keys()].sort()).toEqual([0, 1]);
    const records = await Promise.all(hub.hubIds.map((hubId) => redis.get(`${prefix}hub:${hubId}`)));
    const peerUrls = records.map((record) => (record ? (JSON.parse(record) as { peerUrl?: string }).peerUrl : undefined));
    // Every worker is reachable by the others on a port of its own: the shared main port (and a
    // port the workers shared) would hand a peer's dial to whichever worker is next.
    expect(peerUrls.every((url) => typeof url === "string")).toBe(true);
    expect(new Set(peerUrls).size).toBe(2);
    for (const url of peerUrls) expect(new URL(url as string).port).not.toBe(String(hub.port));
    // One "hub listening" for the whole, from the primary, once both workers were listening.
    const listening = logLines(hub).filter((line) => line.msg === "hub listening" && line.worker === undefined);
    expect(listening).toHaveLength(1);
  });

  it("spreads agents over both workers, and a reach across workers carries every byte", async () => {
    // The shared port hands each connection to the next worker in turn; an agent's earlier HTTP
    // calls move the turn too, so start agents until each worker holds one (bounded).
    for (let i = 0; i < 8 && agentOn.size < 2; i++) {
      const agent = await startAgent({ hub, apiKey, label: `agent-${i}` });
      const hubId = await waitFor(() => hubOf(agent), { timeoutMs: 10_000, what: `Redis to place agent-${i}` });
      if (!agentOn.has(hubId)) {
        agentOn.set(hubId, agent);
        continue;
      }
      await agent.down();
      // An agent's start makes the same number of connections each time: when that number is
      // even, every agent would land on one worker. A bare connection moves the turn by one.
      (await connectTcp(hub.port)).destroy();
    }
    expect([...agentOn.keys()].sort()).toEqual(hub.hubIds);
    const exposer = agentOn.get(`${hubIdBase}-w0`) as Agent;
    const reacher = agentOn.get(`${hubIdBase}-w1`) as Agent;

    expectSuccess(await exposer.run(["expose", sha.address, "--name", "sha"]));
    reachPort = parseJsonOutput<{ port: number }>(expectSuccess(await reacher.run(["reach", "sha", "--json"]))).port;
    const payloads = Array.from({ length: 8 }, () => randomBytes(randomInt(64 * KiB, 512 * KiB)));
    const replies = await Promise.all(payloads.map((payload) => roundTrip(reachPort, payload, 30_000)));
    expect(replies.map((reply) => reply.toString("utf8"))).toEqual(payloads.map((payload) => sha256Hex(payload)));
  });

  it("answers /metrics on the shared port with every worker's series, whichever worker is scraped", async () => {
    // A stream held open across the workers (the sha server answers only at FIN): it shows in pc_streams_open.
    const held = await connectTcp(reachPort);
    held.on("error", () => {});
    try {
      held.write(randomBytes(KiB));
      await waitFor(() => sha.sockets.size > 0, { timeoutMs: 10_000, what: "the held stream to reach the service" });
      // Three scrapes at once take three connections, which the primary hands to the workers in
      // turn: both workers answer some, and every answer must hold both workers' series.
      const texts: string[] = [];
      for (let round = 0; round < 3; round++) texts.push(...(await Promise.all([1, 2, 3].map(() => metricsText(hub)))));
      for (const text of texts) {
        expect(hubInfoLabels(text)).toEqual(hub.hubIds);
        const names = helpNames(text);
        expect(names).toEqual([...new Set(names)]);
        expect(names).toEqual(expect.arrayContaining(["pc_hub_info", "pc_agents_online", "pc_streams_open", "pc_hub_workers"]));
        for (const hubId of hub.hubIds) {
          expect(metricValue(text, "pc_agents_online", [`hub="${hubId}"`]), `${hubId} in\n${text}`).toBeGreaterThanOrEqual(1);
        }
        expect(metricValue(text, "pc_hub_workers", ['state="answered"'])).toBe(2);
        expect(metricValue(text, "pc_hub_workers", ['state="missing"'])).toBe(0);
        const streamsOpen = hub.hubIds.map((hubId) => metricValue(text, "pc_streams_open", [`hub="${hubId}"`]) ?? 0);
        expect(streamsOpen.reduce((sum, open) => sum + open, 0)).toBeGreaterThanOrEqual(1);
      }
    } finally {
      held.destroy();
    }
  });

  it("answers operator commands through worker 0, with the agents of both workers online", async () => {
    // The primary holds the data directory; worker 0 serves its admin socket.
    const listed = parseJsonOutput<{ agents: { label: string; online: boolean }[] }>(
      expectSuccess(await runHubCli(hub, ["agent", "list", "--workspace", "workers", "--json"])),
    );
    const labels = [...agentOn.values()].map((agent) => agent.label).sort();
    expect(
      listed.agents
        .filter((agent) => agent.online)
        .map((agent) => agent.label)
        .sort(),
    ).toEqual(labels);
  });

  it("restarts a worker that dies, and the reach works again without a command", async () => {
    const before = hub.workerPids().get(1);
    expect(before).toBeDefined();
    process.kill(before as number, "SIGKILL");
    const after = await waitFor(
      () => {
        const pid = hub.workerPids().get(1);
        return pid !== undefined && pid !== before ? pid : undefined;
      },
      { timeoutMs: 20_000, what: "the primary to start worker 1 again" },
    );
    expect(isAlive(after)).toBe(true);
    // While worker 1 starts again a scrape still answers (no wait on the dead one), with worker 0's
    // series and the count of workers it holds. A connection the primary handed the dying worker
    // may fail: that scrape is retried, bounded.
    const during = await waitFor(() => metricsText(hub, 5_000), { timeoutMs: 15_000, what: "a scrape during the restart" });
    expect(hubInfoLabels(during)).toContain(`${hubIdBase}-w0`);
    const answered = metricValue(during, "pc_hub_workers", ['state="answered"']);
    expect((answered ?? 0) + (metricValue(during, "pc_hub_workers", ['state="missing"']) ?? 0)).toBe(2);
    expect(hubInfoLabels(during)).toHaveLength(answered ?? -1);
    await waitFor(() => logLines(hub).some((line) => line.msg === "hub worker restarted" && line.hubId === `${hubIdBase}-w1`), {
      timeoutMs: 30_000,
      what: 'the primary\'s "hub worker restarted"',
    });
    const back = await metricsText(hub);
    expect(hubInfoLabels(back)).toEqual(hub.hubIds);
    expect(metricValue(back, "pc_hub_workers", ['state="missing"'])).toBe(0);
    // The reacher was on the dead worker: it reconnects (to either worker) and its port carries again.
    const payload = randomBytes(128 * KiB);
    const reply = await waitFor(() => roundTrip(reachPort, payload, 5_000).then((r) => r.toString("utf8")), {
      timeoutMs: 45_000,
      intervalMs: 500,
      what: "the reach port to carry bytes again after the worker's restart",
    });
    expect(reply).toBe(sha256Hex(payload));
  });

  it("stops every worker on SIGTERM to the primary, and exits 0", async () => {
    const workers = [...hub.workerPids().values()];
    expect(workers).toHaveLength(2);
    hub.process.kill("SIGTERM");
    expect(await waitForExit(hub.process, 40_000)).toBe(true);
    expect(hub.process.exitCode).toBe(0);
    expect(workers.filter((pid) => isAlive(pid))).toEqual([]);
    expect(existsSync(join(hub.dataDir, "hub.pid"))).toBe(false);
    // Their presence goes with them (deleted at stop, else expired within the 3 s TTL).
    await waitFor(async () => (await redis.exists(...hub.hubIds.map((id) => `${prefix}hub:${id}`))) === 0, {
      timeoutMs: 5_000,
      what: "the workers' heartbeats to leave Redis",
    });
  });

  it("leaves no worker behind when the primary is killed", async () => {
    const second = await startWorkersHub(2, {
      databaseUrl: database.url,
      env: { REDIS_URL: DEFAULT_REDIS_URL, REDIS_KEY_PREFIX: prefix, HUB_ID: `${hubIdBase}-b` },
    });
    const workers = [...second.workerPids().values()];
    expect(workers).toHaveLength(2);
    await second.kill();
    await waitFor(() => workers.every((pid) => !isAlive(pid)), {
      timeoutMs: 10_000,
      what: "the workers of a SIGKILLed primary to exit",
    });
  });
});
