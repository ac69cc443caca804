// /metrics behind `connect-hub start --workers N`: the workers share one port, so a scrape lands
// on any one of them, yet it must show every worker. The worker that got the scrape asks the
// primary; the primary asks every live worker for its snapshot over the cluster IPC channel,
// waits at most WORKER_ANSWER_TIMEOUT_MS, and hands the list back; the asking worker renders it.
//
//   asking worker --scrape{id}--> primary --snapshot-request{id'}--> every worker (asker too)
//   asking worker <--gathered{id}-- primary <--snapshot{id', snapshot}-- each worker
import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  type HubMetrics,
  type HubMetricsSnapshot,
  type MetricsSnapshot,
  renderHubsPrometheus,
  renderPrometheus,
  toHubMetricsSnapshot,
  type WorkersReport,
} from "../relay/relay-metrics.js";
import { PendingReplies } from "./pending-replies.js";

/** How long the primary waits for each worker: a scraper's own timeout is often a few seconds. */
export const WORKER_ANSWER_TIMEOUT_MS = 1_000;
/** How long a worker waits for the primary's list: its wait for the workers, plus room for IPC. */
export const PRIMARY_ANSWER_TIMEOUT_MS = 3_000;

const SCRAPE = "pc-hub-metrics-scrape";
const SNAPSHOT_REQUEST = "pc-hub-metrics-snapshot-request";
const SNAPSHOT = "pc-hub-metrics-snapshot";
const GATHERED = "pc-hub-metrics-gathered";

// The IPC peers are this program's own processes, but a message is still checked before use: a
// malformed one is ignored (the scrape reports that worker missing), never rendered or thrown.
const count = z.number().nonnegative();
const snapshotSchema = z.object({
  agentsOnline: count,
  connections: count,
  streamsOpen: count,
  bytesRelayed: count,
  streamOpens: count,
  authFailures: count,
  connectionsRefused: count,
  opensRefused: z.record(z.string(), count),
}) satisfies z.ZodType<HubMetricsSnapshot>;
const scrapeSchema = z.object({ kind: z.literal(SCRAPE), id: z.string() });
const snapshotRequestSchema = z.object({ kind: z.literal(SNAPSHOT_REQUEST), id: z.number() });
const snapshotAnswerSchema = z.object({ kind: z.literal(SNAPSHOT), id: z.number(), snapshot: snapshotSchema });
const gatheredSchema = z.object({
  kind: z.literal(GATHERED),
  id: z.string(),
  hubs: z.array(z.object({ hubId: z.string(), snapshot: snapshotSchema })),
  workers: z.object({ answered: count, missing: z.array(z.string()) }),
});

/** What the primary hands the asking worker: every answer, and who is missing. */
export interface GatheredMetrics {
  hubs: HubMetrics[];
  workers: WorkersReport;
}

// ---------------------------------------------------------------------------------------------
// The primary's side.

/** The primary's end of one worker's IPC channel. `send` never throws: a dead channel drops it. */
export interface WorkerChannel {
  send(message: unknown): void;
}

/** A worker slot as the primary sees it, in the order of the exposition. */
export interface MetricsWorkerSlot {
  hubId: string;
  /** Set while the worker's hub is listening and can answer; unset while it starts or restarts. */
  channel: WorkerChannel | undefined;
}

/**
 * Gathers every worker's snapshot for a scrape. The primary feeds it its workers' messages and
 * exits; one pending entry per asked worker, each settled by its answer, its worker's exit or the
 * timeout, whichever comes first, so no scrape outlives WORKER_ANSWER_TIMEOUT_MS here.
 */
export class WorkerMetricsGatherer {
  private readonly pending = new PendingReplies<HubMetricsSnapshot>();
  private nextId = 1;

  constructor(
    private readonly listSlots: () => readonly MetricsWorkerSlot[],
    private readonly timeoutMs = WORKER_ANSWER_TIMEOUT_MS,
  ) {}

  /** A message from the worker `from` (the slot's hub, not what the message claims); true if it was ours. */
  handleMessage(from: { hubId: string; channel: WorkerChannel }, message: unknown): boolean {
    const answer = snapshotAnswerSchema.safeParse(message);
    if (answer.success) {
      this.pending.reply(answer.data.id, answer.data.snapshot, from.hubId);
      return true;
    }
    const scrape = scrapeSchema.safeParse(message);
    if (!scrape.success) return false;
    void this.gather(from).then((gathered) => from.channel.send({ kind: GATHERED, id: scrape.data.id, ...gathered }));
    return true;
  }

  /** A worker exited: what it was asked is missing now, not at the timeout. */
  handleExit(hubId: string): void {
    this.pending.failFrom(hubId, new Error(`worker ${hubId} exited`));
  }

  /** Settles every scrape in progress with what it has (the primary is stopping). */
  close(): void {
    this.pending.failAll(new Error("the primary is stopping"));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Every slot's snapshot. The asker is asked even if the primary has not yet heard it is
   * listening (it is serving a request, so it is): otherwise its first scrape would leave it out.
   */
  async gather(asker: { hubId: string; channel: WorkerChannel }): Promise<GatheredMetrics> {
    const slots = this.listSlots();
    const answers = await Promise.all(
      slots.map((slot) => {
        const channel = slot.hubId === asker.hubId ? asker.channel : slot.channel;
        return channel ? this.ask(slot.hubId, channel) : Promise.resolve(undefined);
      }),
    );
    const hubs: HubMetrics[] = [];
    const missing: string[] = [];
    slots.forEach((slot, index) => {
      const snapshot = answers[index];
      if (snapshot) hubs.push({ hubId: slot.hubId, snapshot });
      else missing.push(slot.hubId);
    });
    return { hubs, workers: { answered: hubs.length, missing } };
  }

  /** One worker's snapshot, or undefined when it does not answer in time or exits first. */
  private ask(hubId: string, channel: WorkerChannel): Promise<HubMetricsSnapshot | undefined> {
    const id = this.nextId++;
    const answer = this.pending
      .wait(id, this.timeoutMs, () => new Error(`worker ${hubId} did not answer`), hubId)
      .catch(() => undefined);
    channel.send({ kind: SNAPSHOT_REQUEST, id });
    return answer;
  }
}

// ---------------------------------------------------------------------------------------------
// A worker's side.

/** A worker's end of its IPC channel to the primary (process, in a real worker). */
export interface PrimaryChannel {
  /** Calls back with an error when the message could not be sent (the primary is gone). */
  send(message: unknown, callback: (error: Error | null) => void): void;
  /** Listens for the primary's messages and for the channel closing; returns the unsubscribe. */
  subscribe(onMessage: (message: unknown) => void, onDisconnect: () => void): () => void;
}

/** This process's channel to its primary: process.send and its "message" and "disconnect" events. */
export function processChannel(): PrimaryChannel {
  return {
    send(message, callback) {
      if (!process.send || !process.connected) {
        callback(new Error("no IPC channel to the primary"));
        return;
      }
      process.send(message as object, undefined, undefined, callback);
    },
    subscribe(onMessage, onDisconnect) {
      process.on("message", onMessage);
      process.on("disconnect", onDisconnect);
      return () => {
        process.off("message", onMessage);
        process.off("disconnect", onDisconnect);
      };
    },
  };
}

/** A scrape a worker could not gather: the handler answers 500 with it. */
export class MetricsUnavailable extends Error {
  override name = "MetricsUnavailable";
}

export interface HubMetricsExposition {
  /** The text of one /metrics answer. */
  render(): Promise<string>;
  /** Stops answering the primary and fails scrapes in progress. */
  close(): void;
}

export interface WorkerMetricsOptions {
  snapshot(): MetricsSnapshot;
  channel?: PrimaryChannel;
  timeoutMs?: number;
}

/**
 * A worker's /metrics: answers the primary's snapshot requests with its own figures, and renders
 * a scrape from every worker's, as the primary gathered them (under the HUB_IDs it gave them). One subscription for the worker's
 * life; scrapes wait in a map by id, each settled by its answer, the timeout or a disconnect.
 */
export function serveWorkerMetrics(options: WorkerMetricsOptions): HubMetricsExposition {
  const channel = options.channel ?? processChannel();
  const timeoutMs = options.timeoutMs ?? PRIMARY_ANSWER_TIMEOUT_MS;
  const scrapes = new PendingReplies<GatheredMetrics>();
  const failAll = (message: string) => scrapes.failAll(new MetricsUnavailable(message));
  const unsubscribe = channel.subscribe(
    (message) => {
      const request = snapshotRequestSchema.safeParse(message);
      if (request.success) {
        const snapshot = toHubMetricsSnapshot(options.snapshot());
        // Nothing to do when the primary is gone: its scrape is gone with it.
        channel.send({ kind: SNAPSHOT, id: request.data.id, snapshot }, () => {});
        return;
      }
      const gathered = gatheredSchema.safeParse(message);
      if (gathered.success) scrapes.reply(gathered.data.id, gathered.data);
    },
    () => failAll("The hub's primary process is gone: this worker cannot gather the other workers' metrics"),
  );

  return {
    async render() {
      const id = randomUUID();
      const answer = scrapes.wait(
        id,
        timeoutMs,
        () => new MetricsUnavailable(`The hub's primary did not gather the workers' metrics within ${timeoutMs} ms`),
      );
      channel.send({ kind: SCRAPE, id }, (error) => {
        if (error)
          scrapes.fail(id, new MetricsUnavailable(`Could not ask the hub's primary for the workers' metrics: ${error.message}`));
      });
      const gathered = await answer;
      return renderHubsPrometheus(gathered.hubs, gathered.workers);
    },
    close() {
      unsubscribe();
      failAll("The hub is stopping");
    },
  };
}

/**
 * The hub's /metrics: in a --workers worker every worker's samples (through the primary), else
 * this hub's own, labelled with `hubId` when it is one of a cluster.
 */
export function createHubMetricsExposition(options: {
  hubId: string | undefined;
  isWorker: boolean;
  snapshot(): MetricsSnapshot;
}): HubMetricsExposition {
  const { hubId, snapshot } = options;
  // A worker always has a hubId (--workers requires REDIS_URL); without one there is no cluster to gather.
  if (options.isWorker && hubId !== undefined) return serveWorkerMetrics({ snapshot });
  return { render: async () => renderPrometheus(snapshot(), hubId), close: () => {} };
}
