// `connect-hub start --workers N`: one primary process and N hub workers on one port. Each worker
// is a hub of the cluster in its own right (its own HUB_ID, heartbeat and peer listener); the
// primary only holds what must be one per data directory (the lock, the generated secrets),
// hands connections to the workers round robin, and keeps the workers running.
import cluster, { type Worker } from "node:cluster";
import { availableParallelism, hostname } from "node:os";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { lockDataDir } from "../admin/data-dir-lock.js";
import type { HubEnv } from "../config/env.js";
import { loadClusterSecret, loadFrontEndSecret, loadSecrets } from "../config/secrets.js";
import { type WorkerChannel, WorkerMetricsGatherer } from "./worker-metrics.js";

/** A refusal or start failure of --workers, reported as the message alone (no stack). */
export class WorkersError extends Error {}

/** A bound on typos (`--workers 1000`), far above any machine's useful count. */
export const MAX_WORKERS = 128;

/**
 * Set by the primary for each worker: which one it is. Internal, like node:cluster's own
 * NODE_UNIQUE_ID, so it is not part of the validated hub environment a user configures.
 */
const WORKER_INDEX_VARIABLE = "PC_HUB_WORKER_INDEX";

/** What a worker tells the primary over the cluster IPC channel once its hub is listening. */
const LISTENING_MESSAGE = "pc-hub-worker-listening";

/** A worker that dies sooner than this after its start counts as dying at once: restarts back off. */
const QUICK_DEATH_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How long a stopping primary waits for its workers' graceful drain before killing them. */
const STOP_TIMEOUT_MS = 30_000;

/** `--workers N|auto` as a count of hub processes; `auto` is one per core (`cores`). */
export function parseWorkerCount(value: string | undefined, cores: number = availableParallelism()): number {
  if (value === undefined) return 1;
  if (value === "auto") return Math.max(1, Math.min(cores, MAX_WORKERS));
  const count = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new WorkersError(
      `Invalid --workers "${value}": use a number of hub processes from 1 to ${MAX_WORKERS}, or auto (one per core, ${cores} here)`,
    );
  }
  return count;
}

/**
 * Several workers are several hubs: they need what several hubs need. Refuses with what to do
 * when the environment cannot carry them. (HUB_PEER_URL stays allowed: a worker listens for the
 * other hubs on its host, on a port of its own, so workers may join hubs on other machines.)
 */
export function checkWorkersEnvironment(env: Pick<HubEnv, "REDIS_URL" | "DATABASE_URL">): void {
  if (!env.REDIS_URL)
    throw new WorkersError("--workers needs REDIS_URL: the workers share state through Redis, see docs/cluster.md");
  if (!env.DATABASE_URL) throw new WorkersError("--workers needs DATABASE_URL: the embedded PGlite database serves one process");
}

/**
 * The workers' HUB_IDs are `<base>-w<i>`: HUB_ID, else `<hostname>-<port>` like a single hub's.
 * On port 0 (any free port, not known before a worker listens) the primary's pid stands in for
 * the port, so two such primaries on one machine do not share names.
 */
export function workerHubIdBase(hubId: string | undefined, port: number, host: string = hostname()): string {
  if (hubId) return hubId.slice(0, 64 - `-w${MAX_WORKERS}`.length);
  const name = host.replace(/[^A-Za-z0-9_.-]/g, "-");
  const suffix = port === 0 ? `pid${process.pid}` : String(port);
  return `${name.slice(0, 64 - `-${suffix}-w${MAX_WORKERS}`.length)}-${suffix}`;
}

/**
 * How long to wait before starting a dead worker again: at once after a worker that ran a while
 * (a crash of an otherwise healthy hub), doubling from 1 s up to 30 s while it keeps dying at once
 * (a database or Redis it cannot reach, a bad certificate), so a broken worker does not spin.
 */
export function nextRestartDelay(livedMs: number, previousDelayMs: number): number {
  if (livedMs >= QUICK_DEATH_MS) return 0;
  return Math.min(Math.max(previousDelayMs * 2, FIRST_RESTART_DELAY_MS), MAX_RESTART_DELAY_MS);
}

/** This process's worker index when the primary forked it, else undefined (a primary or a lone hub). */
export function readWorkerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env[WORKER_INDEX_VARIABLE]);
  if (!Number.isInteger(index) || index < 0) throw new Error(`${WORKER_INDEX_VARIABLE} is missing in a hub worker`);
  return index;
}

/** Tells the primary this worker's hub is listening (its "hub listening" waits for every worker). */
export function announceWorkerListening(url: string): void {
  process.send?.({ kind: LISTENING_MESSAGE, url });
}

/**
 * A worker's IPC channel that drops what it cannot deliver: a worker may die between a scrape's
 * question and its answer, and an undelivered send without a callback would be an "error" event
 * on the worker, which nothing here listens for.
 */
function sendingTo(worker: Worker): WorkerChannel {
  return {
    send(message) {
      if (worker.isConnected()) worker.send(message as object, () => {});
    },
  };
}

function isListeningMessage(message: unknown): message is { kind: string; url: string } {
  const candidate = message as { kind?: unknown; url?: unknown } | null;
  return candidate?.kind === LISTENING_MESSAGE && typeof candidate.url === "string";
}

export interface WorkersOptions {
  env: HubEnv;
  log: Logger;
  port: number;
  host: string;
  dataDir: string;
  workers: number;
}

export interface RunningWorkers {
  url: string;
  /** Forwards SIGTERM to every worker for its graceful drain; resolves once all have exited. */
  close(): Promise<void>;
}

interface WorkerSlot {
  index: number;
  hubId: string;
  worker?: Worker;
  /** The live worker's IPC channel, for /metrics (worker-metrics.ts). */
  channel?: WorkerChannel;
  startedAt: number;
  restartDelayMs: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * The primary: takes the data-dir lock, loads (or creates) the secrets once, forks the workers
 * with them, and resolves once every worker is listening. A worker that exits before that fails
 * the start (like a single hub that cannot start); one that dies later is restarted.
 */
export async function startWorkers(options: WorkersOptions): Promise<RunningWorkers> {
  const { env, log } = options;
  checkWorkersEnvironment(env);
  const dataDir = resolve(options.dataDir);
  const lock = await lockDataDir(dataDir);
  let sharedEnv: Record<string, string>;
  try {
    // Loaded here, not by each worker: N workers generating secrets.json at once would race, and
    // every hub of a cluster must hold the same ones anyway.
    const secrets = await loadSecrets(env, dataDir);
    sharedEnv = {
      JWT_SECRET: secrets.jwtSecret,
      ENCRYPTION_KEY: secrets.encryptionKey.toString("hex"),
      FRONT_END_SECRET: await loadFrontEndSecret(env, dataDir),
      CLUSTER_SECRET: await loadClusterSecret(env, dataDir),
    };
  } catch (error) {
    await lock.release();
    throw error;
  }

  // Round robin in the primary spreads connections evenly, where leaving the shared socket to the
  // kernel favours a few workers. Node's default outside Windows already: set so nothing else decides.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const base = workerHubIdBase(env.HUB_ID, options.port);
  const slots: WorkerSlot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    hubId: `${base}-w${index}`,
    startedAt: 0,
    restartDelayMs: 0,
  }));
  let stopping = false;
  let started = false;
  let url: string | undefined;
  const listening = new Set<number>();
  // /metrics on the shared port: whichever worker is scraped asks here for every worker's figures.
  const metrics = new WorkerMetricsGatherer(() =>
    slots.map((slot) => ({ hubId: slot.hubId, channel: listening.has(slot.index) ? slot.channel : undefined })),
  );
  let settleStart: (error?: Error) => void = () => {};
  const startSettled = new Promise<void>((resolveStart, rejectStart) => {
    settleStart = (error) => (error ? rejectStart(error) : resolveStart());
  });

  const fork = (slot: WorkerSlot) => {
    slot.startedAt = Date.now();
    const worker = cluster.fork({ ...sharedEnv, HUB_ID: slot.hubId, [WORKER_INDEX_VARIABLE]: String(slot.index) });
    slot.worker = worker;
    const channel = sendingTo(worker);
    slot.channel = channel;
    worker.on("message", (message: unknown) => {
      if (metrics.handleMessage({ hubId: slot.hubId, channel }, message)) return;
      if (!isListeningMessage(message)) return;
      url ??= message.url;
      listening.add(slot.index);
      if (started) log.info({ worker: slot.index, hubId: slot.hubId }, "hub worker restarted");
      else if (listening.size === slots.length) settleStart();
    });
    worker.on("exit", (code, signal) => {
      slot.worker = undefined;
      slot.channel = undefined;
      listening.delete(slot.index);
      metrics.handleExit(slot.hubId);
      if (stopping) return;
      if (!started) {
        settleStart(
          new WorkersError(
            `Hub worker ${slot.index} exited (${signal ?? `code ${code}`}) before it was listening: its error is above`,
          ),
        );
        return;
      }
      const livedMs = Date.now() - slot.startedAt;
      slot.restartDelayMs = nextRestartDelay(livedMs, slot.restartDelayMs);
      log.warn(
        { worker: slot.index, hubId: slot.hubId, code, signal, livedMs, restartInMs: slot.restartDelayMs },
        "hub worker exited: restarting it",
      );
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!stopping) fork(slot);
      }, slot.restartDelayMs);
    });
  };

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping = true;
      metrics.close();
      const exits = slots.map((slot) => {
        clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        if (!worker) return Promise.resolve();
        const exited = new Promise<void>((done) => worker.once("exit", () => done()));
        worker.process.kill("SIGTERM");
        const kill = setTimeout(() => {
          log.warn(
            { worker: slot.index, hubId: slot.hubId, timeoutMs: STOP_TIMEOUT_MS },
            "hub worker did not stop in time: killing it",
          );
          worker.process.kill("SIGKILL");
        }, STOP_TIMEOUT_MS);
        return exited.finally(() => clearTimeout(kill));
      });
      await Promise.all(exits);
      await lock.release();
    })();
    return closing;
  };

  for (const slot of slots) fork(slot);
  try {
    await startSettled;
  } catch (error) {
    await close();
    throw error;
  }
  started = true;
  if (url === undefined) throw new Error("unreachable: every worker listening without a url");
  log.info({ url, database: "postgres", dataDir, workers: slots.map((slot) => slot.hubId) }, "hub listening");
  return { url, close };
}
