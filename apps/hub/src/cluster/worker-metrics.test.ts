// The /metrics gathering of --workers between a primary (WorkerMetricsGatherer) and its workers
// (serveWorkerMetrics), over in-memory channels that behave like the cluster IPC channel: every
// message is delivered later (a microtask), as a copy (JSON, like Node's IPC serialization), and
// a dead process neither receives nor answers. Timers are fake: the timeouts are driven, not waited.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type MetricsSnapshot, RelayMetrics } from "../relay/relay-metrics.js";
import {
  createHubMetricsExposition,
  type HubMetricsExposition,
  MetricsUnavailable,
  PRIMARY_ANSWER_TIMEOUT_MS,
  type PrimaryChannel,
  serveWorkerMetrics,
  WORKER_ANSWER_TIMEOUT_MS,
  type WorkerChannel,
  WorkerMetricsGatherer,
} from "./worker-metrics.js";

const copy = (message: unknown): unknown => JSON.parse(JSON.stringify(message));

function snapshotWith(agentsOnline: number): MetricsSnapshot {
  return { agentsOnline, connections: agentsOnline, streamsOpen: 0, bytesRelayed: 0, metrics: new RelayMetrics() };
}

interface FakeWorker {
  hubId: string;
  /** Alive: receives and answers. */
  isAlive: boolean;
  /** The primary has heard its "listening". */
  isListening: boolean;
  /** Receives the primary's questions but never answers them (a stuck worker). */
  isStuck: boolean;
  agentsOnline: number;
  exposition: HubMetricsExposition;
  subscriptions(): number;
  /** The process dies: its channel closes, and the primary sees its exit. */
  kill(): void;
}

interface FakeCluster {
  gatherer: WorkerMetricsGatherer;
  workers: FakeWorker[];
  /** Whether the primary takes messages from the workers at all (false: it is gone or hung). */
  isPrimaryAnswering: boolean;
  close(): void;
}

function startFakeCluster(hubIds: string[]): FakeCluster {
  const channels = new Map<string, WorkerChannel>();
  const cluster: FakeCluster = {
    gatherer: new WorkerMetricsGatherer(() =>
      cluster.workers.map((worker) => ({
        hubId: worker.hubId,
        channel: worker.isAlive && worker.isListening ? channels.get(worker.hubId) : undefined,
      })),
    ),
    workers: [],
    isPrimaryAnswering: true,
    close: () => {
      for (const worker of cluster.workers) worker.exposition.close();
      cluster.gatherer.close();
    },
  };
  for (const hubId of hubIds) {
    const listeners = new Set<{ onMessage: (message: unknown) => void; onDisconnect: () => void }>();
    const toWorker: WorkerChannel = {
      send(message) {
        if (!worker.isAlive) return;
        queueMicrotask(() => {
          if (!worker.isAlive || worker.isStuck) return;
          for (const listener of listeners) listener.onMessage(copy(message));
        });
      },
    };
    channels.set(hubId, toWorker);
    const toPrimary: PrimaryChannel = {
      send(message, callback) {
        queueMicrotask(() => {
          if (!worker.isAlive) return callback(new Error("channel closed"));
          callback(null);
          if (cluster.isPrimaryAnswering) cluster.gatherer.handleMessage({ hubId, channel: toWorker }, copy(message));
        });
      },
      subscribe(onMessage, onDisconnect) {
        const listener = { onMessage, onDisconnect };
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const worker: FakeWorker = {
      hubId,
      isAlive: true,
      isListening: true,
      isStuck: false,
      agentsOnline: cluster.workers.length + 1,
      exposition: serveWorkerMetrics({ snapshot: () => snapshotWith(worker.agentsOnline), channel: toPrimary }),
      subscriptions: () => listeners.size,
      kill() {
        worker.isAlive = false;
        for (const listener of [...listeners]) listener.onDisconnect();
        cluster.gatherer.handleExit(hubId);
      },
    };
    cluster.workers.push(worker);
  }
  return cluster;
}

/** A promise's outcome so far, without waiting for it: for "settled already, no timer needed". */
function track<T>(promise: Promise<T>): { readonly state: "pending" | "resolved" | "rejected"; promise: Promise<T> } {
  const tracked = { state: "pending" as "pending" | "resolved" | "rejected", promise };
  promise.then(
    () => {
      tracked.state = "resolved";
    },
    () => {
      tracked.state = "rejected";
    },
  );
  return tracked;
}

/** Lets every queued message be delivered and answered, without moving the clock. */
async function deliverMessages(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

let cluster: FakeCluster | undefined;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});
afterEach(() => {
  cluster?.close();
  cluster = undefined;
  vi.useRealTimers();
});

describe("/metrics behind --workers", () => {
  it("answers a scrape on any worker with every worker's samples, each under its own hub label", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1", "box-w2"]);
    for (const worker of cluster.workers) {
      const text = await worker.exposition.render();
      expect(text.match(/^# HELP pc_agents_online /gm)).toHaveLength(1);
      expect(text).toContain(
        'pc_agents_online{hub="box-w0"} 1\npc_agents_online{hub="box-w1"} 2\npc_agents_online{hub="box-w2"} 3\n',
      );
      expect(text).toContain('pc_hub_workers{state="answered"} 3\npc_hub_workers{state="missing"} 0\n');
    }
    expect(cluster.gatherer.pendingCount).toBe(0);
  });

  it("keeps concurrent scrapes apart by id, and leaves no listener or pending answer behind", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1"]);
    const [w0, w1] = cluster.workers as [FakeWorker, FakeWorker];
    const first = w0.exposition.render();
    w1.agentsOnline = 9;
    const scrapes = await Promise.all([first, w1.exposition.render(), w0.exposition.render(), w1.exposition.render()]);
    for (const text of scrapes) {
      expect(text).toContain('pc_hub_info{hub="box-w0"} 1\npc_hub_info{hub="box-w1"} 1\n');
      expect(text).toContain('pc_agents_online{hub="box-w1"} 9\n');
    }
    expect(cluster.gatherer.pendingCount).toBe(0);
    // One subscription per worker for its life, however many scrapes it served.
    expect(cluster.workers.map((worker) => worker.subscriptions())).toEqual([1, 1]);
    w0.exposition.close();
    expect(w0.subscriptions()).toBe(0);
  });

  it("leaves out a worker that does not answer within the wait, and says so", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1"]);
    const [w0, w1] = cluster.workers as [FakeWorker, FakeWorker];
    w1.isStuck = true;
    const scrape = track(w0.exposition.render());
    await vi.advanceTimersByTimeAsync(WORKER_ANSWER_TIMEOUT_MS - 1);
    expect(scrape.state).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    const text = await scrape.promise;
    expect(text).toContain('pc_hub_workers{state="answered"} 1\npc_hub_workers{state="missing"} 1\n');
    expect(text).toContain('pc_agents_online{hub="box-w0"} 1\n');
    expect(text).not.toContain('{hub="box-w1"');
    expect(text).toContain("# hub worker box-w1 did not answer in time");
    expect(cluster.gatherer.pendingCount).toBe(0);
  });

  it("does not wait for a worker that dies mid-scrape: it is missing as soon as it exits", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1"]);
    const [w0, w1] = cluster.workers as [FakeWorker, FakeWorker];
    w1.isStuck = true;
    const scrape = track(w0.exposition.render());
    await deliverMessages();
    expect(cluster.gatherer.pendingCount).toBe(1);
    w1.kill();
    await deliverMessages();
    expect(scrape.state).toBe("resolved");
    expect(await scrape.promise).toContain('pc_hub_workers{state="missing"} 1\n');
    expect(cluster.gatherer.pendingCount).toBe(0);
  });

  it("counts a worker that is starting again as missing without asking it", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1"]);
    const [w0, w1] = cluster.workers as [FakeWorker, FakeWorker];
    w1.isListening = false;
    const scrape = track(w0.exposition.render());
    await deliverMessages();
    expect(scrape.state).toBe("resolved");
    expect(await scrape.promise).toContain('pc_hub_workers{state="answered"} 1\npc_hub_workers{state="missing"} 1\n');
  });

  it("includes the asking worker before the primary has heard it is listening", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1"]);
    const [, w1] = cluster.workers as [FakeWorker, FakeWorker];
    w1.isListening = false;
    const text = await w1.exposition.render();
    expect(text).toContain('pc_hub_info{hub="box-w0"} 1\npc_hub_info{hub="box-w1"} 1\n');
  });

  it("ignores a malformed answer: that worker is missing, the scrape still answers", async () => {
    cluster = startFakeCluster(["box-w0", "box-w1"]);
    const [w0] = cluster.workers as [FakeWorker, FakeWorker];
    // Not ours (the primary passes it on to its other handlers): a listening message, say.
    expect(cluster.gatherer.handleMessage({ hubId: "box-w1", channel: { send: () => {} } }, { kind: "something-else" })).toBe(
      false,
    );
    // w1 answers with garbage to the scrape's question: intercept its answer on the way.
    const handle = cluster.gatherer.handleMessage.bind(cluster.gatherer);
    vi.spyOn(cluster.gatherer, "handleMessage").mockImplementation((from, message) =>
      handle(from, from.hubId === "box-w1" ? { ...(message as object), snapshot: { agentsOnline: -1 } } : message),
    );
    const scrape = track(w0.exposition.render());
    await vi.advanceTimersByTimeAsync(WORKER_ANSWER_TIMEOUT_MS);
    const text = await scrape.promise;
    expect(text).toContain('pc_hub_workers{state="missing"} 1\n');
    expect(text).not.toContain('{hub="box-w1"');
  });
});

describe("a worker whose primary does not gather", () => {
  it("fails the scrape, saying so, when the primary never answers", async () => {
    cluster = startFakeCluster(["box-w0"]);
    cluster.isPrimaryAnswering = false;
    const [w0] = cluster.workers as [FakeWorker];
    const scrape = w0.exposition.render();
    const outcome = expect(scrape).rejects.toThrow(
      `The hub's primary did not gather the workers' metrics within ${PRIMARY_ANSWER_TIMEOUT_MS} ms`,
    );
    await vi.advanceTimersByTimeAsync(PRIMARY_ANSWER_TIMEOUT_MS);
    await outcome;
  });

  it("fails scrapes at once when the channel to the primary closes", async () => {
    cluster = startFakeCluster(["box-w0"]);
    cluster.isPrimaryAnswering = false;
    const [w0] = cluster.workers as [FakeWorker];
    const scrape = track(w0.exposition.render());
    await deliverMessages();
    w0.kill();
    await deliverMessages();
    expect(scrape.state).toBe("rejected");
    await expect(scrape.promise).rejects.toBeInstanceOf(MetricsUnavailable);
    // A scrape after that cannot even be sent.
    await expect(w0.exposition.render()).rejects.toThrow("Could not ask the hub's primary for the workers' metrics");
  });
});

describe("createHubMetricsExposition", () => {
  it("renders this hub alone outside --workers: no hub label without a cluster, its own with one", async () => {
    const alone = createHubMetricsExposition({ hubId: undefined, isWorker: false, snapshot: () => snapshotWith(4) });
    expect(await alone.render()).toContain("pc_agents_online 4\n");
    const clustered = createHubMetricsExposition({ hubId: "hub-a", isWorker: false, snapshot: () => snapshotWith(4) });
    const text = await clustered.render();
    expect(text).toContain('pc_agents_online{hub="hub-a"} 4\n');
    expect(text).not.toContain("pc_hub_workers");
  });
});
