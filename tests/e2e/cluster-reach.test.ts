// Three hubs on one PostgreSQL and one Redis: an agent on one hub reaches a service exposed by an
// agent on another, with every byte checked, through a share between two workspaces on two
// other hubs, and through a public link served by a hub the service's agent is not on. Early
// data, half-close and flow control cross hubs like they cross one hub (a reader on hub 2 that
// stops reading bounds hub 1's memory). Presence and live updates span the hubs, /metrics says
// which hub it is, and `--workers 2` serves a reach.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Cluster,
  type ClusterAgent,
  closeClusters,
  metricsText,
  metricValue,
  openWorkspaceEvents,
  reachPort,
  requireCluster,
  startClusterAgent,
  startClusterOrSkip,
  startWebService,
  type WebService,
} from "../support/cluster.ts";
import {
  connectTcp,
  LOOPBACK,
  readAll,
  roundTrip,
  sha256Hex,
  startDelayedEchoServer,
  startEchoServer,
  startGreetThenListenServer,
  startReplyAfterFinServer,
  startSha256Server,
  startSinkServer,
  type TestServer,
  waitFor,
} from "../support/net.ts";
import { createWorkspace, expectSuccess, parseJsonOutput, residentBytes } from "../support/processes.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** What the pushing service offers a reader that never reads. */
const FIREHOSE_BYTES = 200 * MiB;
/** How much a hub's resident memory may grow while a stalled reader holds a stream. */
const HUB_RSS_BOUND = 64 * MiB;
/** The most the pushing service may get accepted: windows of two hubs and two agents, plus kernel buffers. */
const STALLED_WRITER_BOUND = 64 * MiB;
const GREETING = Buffer.from("220 hello from a service on hub 1\r\n");

let cluster: Cluster | null = null;
let acmeKey: string;
let contractorKey: string;
/** acme's exposing agent, on hub-1. */
let server: ClusterAgent;
/** acme's reaching agent, on hub-2. */
let laptop: ClusterAgent;
/** contractor's agent, on hub-3: reaches acme's service through a share. */
let partner: ClusterAgent;
const services: Record<string, TestServer> = {};
let greet: Awaited<ReturnType<typeof startGreetThenListenServer>>;
let web: WebService | undefined;
let firehose: Firehose;

/**
 * A TCP service that pushes up to `total` bytes (a random 1 MiB block, repeated) as fast as each
 * connection takes them, and remembers, per connection, how much it wrote and whether it stalled.
 */
interface Firehose {
  server: net.Server;
  address: string;
  /** The latest connection's state. */
  latest(): { written: number; stalled: boolean; hash: () => string; end: () => void } | undefined;
  close(): Promise<void>;
}

async function startFirehose(total: number): Promise<Firehose> {
  const block = randomBytes(MiB);
  let latest: ReturnType<Firehose["latest"]>;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const hash = createHash("sha256");
    let isEnded = false;
    let stallTimer: NodeJS.Timeout | undefined;
    const state = {
      written: 0,
      stalled: false,
      hash: () => hash.copy().digest("hex"),
      end: () => {
        isEnded = true;
        clearTimeout(stallTimer);
        socket.end();
      },
    };
    latest = state;
    const push = () => {
      while (!isEnded && state.written < total) {
        const chunk = block.subarray(0, Math.min(64 * KiB, total - state.written));
        state.written += chunk.length;
        hash.update(chunk);
        if (!socket.write(chunk)) {
          // Not drained within 2 s: the far side is holding back, as it should.
          stallTimer = setTimeout(() => {
            state.stalled = true;
          }, 2_000);
          socket.once("drain", () => {
            clearTimeout(stallTimer);
            state.stalled = false;
            push();
          });
          return;
        }
      }
    };
    push();
  });
  server.listen(0, LOOPBACK);
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    address: `${LOOPBACK}:${port}`,
    latest: () => latest,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The linked web service: a greeting per path, and an upload answered with its length and hash. */
function handleWeb(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://service.local");
  if (url.pathname === "/upload") {
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on("end", () => res.end(JSON.stringify({ length, sha256: hash.digest("hex") })));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`served ${url.pathname}\n`);
}

beforeAll(async () => {
  cluster = await startClusterOrSkip("cross-hub reach tests", { hubs: 3 });
  if (!cluster) return;
  const [hub1, hub2, hub3] = cluster.hubs;
  if (!hub1 || !hub2 || !hub3) throw new Error("expected three hubs");
  ({ apiKey: acmeKey } = await createWorkspace(hub1, "acme", "ops@acme.test"));
  ({ apiKey: contractorKey } = await createWorkspace(hub1, "contractor", "dev@contractor.test"));
  [server, laptop, partner] = await Promise.all([
    startClusterAgent(hub1, { apiKey: acmeKey, label: "server" }),
    startClusterAgent(hub2, { apiKey: acmeKey, label: "laptop" }),
    startClusterAgent(hub3, { apiKey: contractorKey, label: "partner" }),
  ]);
  services.echo = await startEchoServer();
  services.sha = await startSha256Server();
  services.replyAfterFin = await startReplyAfterFinServer();
  services.delayed = await startDelayedEchoServer(750);
  services.sink = await startSinkServer();
  greet = await startGreetThenListenServer(GREETING);
  firehose = await startFirehose(FIREHOSE_BYTES);
  web = await startWebService(handleWeb);
  const exposures: [string, string][] = [
    ["echo", services.echo.address],
    ["sha", services.sha.address],
    ["reply-after-fin", services.replyAfterFin.address],
    ["delayed", services.delayed.address],
    ["sink", services.sink.address],
    ["greet", greet.address],
    ["firehose", firehose.address],
    ["web", web.address],
  ];
  for (const [name, address] of exposures) expectSuccess(await server.run(["expose", address, "--name", name]));
}, 180_000);

afterAll(async () => {
  await web?.close();
  await firehose?.close();
  await closeClusters();
});

describe("reach across hubs", () => {
  it("places each agent on the hub it dialled, and every hub's presence sees all of them", async (ctx) => {
    const c = requireCluster(cluster, ctx);
    expect((await c.locationOf(server.agentId))?.hub).toBe("hub-1");
    expect((await c.locationOf(laptop.agentId))?.hub).toBe("hub-2");
    expect((await c.locationOf(partner.agentId))?.hub).toBe("hub-3");
    // Asked on hub-2, the workspace's listing shows the agent that sits on hub-1 as online.
    const listed = parseJsonOutput<{ agentId: string; online: boolean }[]>(
      expectSuccess(await laptop.run(["agents", "list", "--json"])),
    );
    expect(listed.find((agent) => agent.agentId === server.agentId)?.online).toBe(true);
    expect(listed.find((agent) => agent.agentId === laptop.agentId)?.online).toBe(true);
  });

  it("streams live updates from every hub: a subscriber on hub 3 hears an agent of hub 1 come, expose and go", async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const hub1 = c.hub("hub-1");
    const hub3 = c.hub("hub-3");
    // What the dashboard's live status reads: the workspace's events over SSE, here with the API key.
    const stream = await openWorkspaceEvents(hub3, acmeKey);
    const eventOf = (type: string, name: string) =>
      waitFor(
        () =>
          (stream.events as { type?: string; label?: string; name?: string; agentId?: string }[]).find(
            (event) => event.type === type && (event.label === name || event.name === name),
          ),
        { timeoutMs: 10_000, what: `a ${type} event for ${name} on hub-3` },
      );
    try {
      await waitFor(() => (stream.events as { type?: string }[]).some((event) => event.type === "subscribed"), {
        what: "the subscription to start",
      });
      const newcomer = await startClusterAgent(hub1, { apiKey: acmeKey, label: "newcomer" });
      expect(await eventOf("agent.online", "newcomer")).toMatchObject({ agentId: newcomer.agentId });
      expectSuccess(await newcomer.run(["expose", (services.echo as TestServer).address, "--name", "newcomer-echo"]));
      expect(await eventOf("service.exposed", "newcomer-echo")).toMatchObject({ agentId: newcomer.agentId });
      await newcomer.down();
      expect(await eventOf("agent.offline", "newcomer")).toMatchObject({ agentId: newcomer.agentId });
    } finally {
      stream.close();
    }
  });

  it("has each hub's /metrics say which hub it is and count only its own agents", async (ctx) => {
    const c = requireCluster(cluster, ctx);
    for (const hub of c.hubs) {
      const text = await metricsText(hub);
      expect(text, `${hub.hubId}'s /metrics`).toMatch(new RegExp(`\\bhub(_id)?="${hub.hubId}"`));
      expect(metricValue(text, "pc_agents_online"), `${hub.hubId}'s pc_agents_online`).toBe(1);
    }
  });

  it("shows a service's live traffic the same on every hub's dashboard, counted by the hub holding its agent", async (ctx) => {
    const c = requireCluster(cluster, ctx);
    expectSuccess(await server.run(["expose", (services.echo as TestServer).address, "--name", "counted-echo"]));
    const port = await reachPort(laptop, "counted-echo");
    const socket = await connectTcp(port, LOOPBACK, 10_000);
    try {
      let echoed = 0;
      socket.on("data", (chunk: Buffer) => {
        echoed += chunk.length;
      });
      socket.write(randomBytes(1_000));
      await waitFor(() => echoed === 1_000, { what: "the 1,000 bytes echoed across hubs" });
      // What the dashboard's services page reads, asked of each hub in turn: hub-1 holds the
      // exposing agent, hub-2 the reaching one, hub-3 neither. The stream is end to end, so the
      // hub counts ciphertext: the 2,000 bytes plus a 16-byte tag per record (the echo may come
      // back in more than one), and every hub must show the very same count.
      let firstCount: number | undefined;
      for (const hub of c.hubs) {
        const response = await fetch(new URL("/trpc/services.traffic", hub.url), {
          headers: { authorization: `Bearer ${acmeKey}` },
        });
        expect(response.status, `${hub.hubId}'s services.traffic`).toBe(200);
        const body = (await response.json()) as {
          result: { data: { name: string; openConnections: number; bytesRelayed: number; connections: unknown[] }[] };
        };
        const counted = body.result.data.find((service) => service.name === "counted-echo");
        const bytes = firstCount ?? counted?.bytesRelayed ?? 0;
        firstCount = bytes;
        expect(bytes, "bytes relayed: 2,000 and the records' tags").toBeGreaterThanOrEqual(2_000 + 2 * 16);
        expect(bytes % 16, "bytes relayed: 2,000 and whole 16-byte tags").toBe(2_000 % 16);
        expect(bytes).toBeLessThanOrEqual(2_000 + 16 * 16);
        expect(counted, `counted-echo's traffic as ${hub.hubId} shows it`).toEqual({
          name: "counted-echo",
          openConnections: 1,
          bytesRelayed: bytes,
          connections: [{ via: "agent", agentLabel: "laptop", shareName: null, bytes, isEndToEnd: true }],
        });
      }
    } finally {
      socket.destroy();
    }
  });

  it("carries 50 concurrent streams from hub 2 to a service on hub 1, every byte checked both ways", async (ctx) => {
    requireCluster(cluster, ctx);
    const port = await reachPort(laptop, "echo");
    const echo = services.echo as TestServer;
    const before = echo.connections;
    const payloads = Array.from({ length: 50 }, () => randomBytes(256 * KiB));
    const started = Date.now();
    const replies = await Promise.all(payloads.map((payload) => roundTrip(port, payload, 50_000)));
    const mismatches = replies
      .map((reply, index) => ({
        index,
        length: reply.length,
        isEqual: sha256Hex(reply) === sha256Hex(payloads[index] as Buffer),
      }))
      .filter((result) => !result.isEqual);
    console.info(`cross-hub: 50 x 256 KiB echoed in ${Date.now() - started} ms`);
    expect(mismatches).toEqual([]);
    // Fifty streams reached the service, not one reused connection.
    expect(echo.connections - before).toBe(50);
    // And a far larger one.
    const big = randomBytes(8 * MiB);
    const bigReply = await roundTrip(port, big, 30_000);
    expect(bigReply.length).toBe(big.length);
    expect(sha256Hex(bigReply)).toBe(sha256Hex(big));
  });

  it("delivers bytes a client sends before the far side has accepted (early data) across hubs", async (ctx) => {
    requireCluster(cluster, ctx);
    const port = await reachPort(laptop, "delayed");
    const payload = randomBytes(128 * KiB);
    const socket = net.connect({ host: LOOPBACK, port });
    socket.on("error", () => {});
    // Written and half-closed before our own 'connect' event; the service reads nothing for 750 ms.
    const reply = readAll(socket, { timeoutMs: 20_000 });
    socket.end(payload);
    expect(sha256Hex(await reply)).toBe(sha256Hex(payload));
  });

  it("carries half-close across hubs in both directions", async (ctx) => {
    requireCluster(cluster, ctx);
    // The client ends its write side and still reads the whole reply, sent only after its FIN.
    const afterFin = await reachPort(laptop, "reply-after-fin");
    const payload = randomBytes(2 * MiB);
    const reply = await roundTrip(afterFin, payload, 30_000);
    expect(reply.length).toBe(payload.length);
    expect(sha256Hex(reply)).toBe(sha256Hex(payload));

    // The service ends its side first; the client still sends, and the service gets it all.
    const greetPort = await reachPort(laptop, "greet");
    const socket = net.connect({ host: LOOPBACK, port: greetPort, allowHalfOpen: true });
    socket.on("error", () => {});
    try {
      expect(await readAll(socket, { timeoutMs: 15_000 })).toEqual(GREETING);
      const late = randomBytes(256 * KiB);
      socket.end(late);
      const received = await Promise.race([
        greet.received,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the service never got the client's FIN")), 15_000)),
      ]);
      expect(sha256Hex(received)).toBe(sha256Hex(late));
    } finally {
      socket.destroy();
    }
  });

  it("bounds hub 1's memory while a reader on hub 2 stops reading a service that pushes 200 MB", {
    timeout: 120_000,
  }, async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const [hub1, hub2] = c.hubs;
    if (!hub1?.process.pid || !hub2?.process.pid) throw new Error("hubs without pids");
    const port = await reachPort(laptop, "firehose");
    const baseline = { hub1: (await residentBytes(hub1.process.pid)) ?? 0, hub2: (await residentBytes(hub2.process.pid)) ?? 0 };
    const peak = { ...baseline };
    const sampler = setInterval(() => {
      void residentBytes(hub1.process.pid as number).then((rss) => {
        peak.hub1 = Math.max(peak.hub1, rss ?? 0);
      });
      void residentBytes(hub2.process.pid as number).then((rss) => {
        peak.hub2 = Math.max(peak.hub2, rss ?? 0);
      });
    }, 100);
    const reader = await connectTcp(port);
    reader.on("error", () => {});
    reader.pause();
    try {
      // The service stalls once every window on the way is full: a few MiB, never 200.
      const state = await waitFor(
        () => {
          const latest = firehose.latest();
          return latest && (latest.stalled || latest.written >= FIREHOSE_BYTES) ? latest : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: "the pushing service to stall or finish" },
      );
      // A few more samples with the stream held.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const written = state.written;
      console.info(
        `slow reader across hubs: service wrote ${(written / MiB).toFixed(1)} MiB before stalling; RSS growth hub-1 ` +
          `${((peak.hub1 - baseline.hub1) / MiB).toFixed(1)} MiB, hub-2 ${((peak.hub2 - baseline.hub2) / MiB).toFixed(1)} MiB`,
      );
      expect(state.stalled, `the service wrote all ${written} bytes: nothing held it back`).toBe(true);
      expect(written).toBeLessThan(STALLED_WRITER_BOUND);
      expect(peak.hub1 - baseline.hub1).toBeLessThan(HUB_RSS_BOUND);
      expect(peak.hub2 - baseline.hub2).toBeLessThan(HUB_RSS_BOUND);

      // Nothing was dropped to stay within the bound: once the reader reads, every byte arrives.
      state.end();
      const received = readAll(reader, { timeoutMs: 60_000, maxBytes: FIREHOSE_BYTES + MiB });
      reader.resume();
      const body = await received;
      expect(body.length).toBe(state.written);
      expect(sha256Hex(body)).toBe(state.hash());
    } finally {
      clearInterval(sampler);
      reader.destroy();
    }
  });
});

describe("the other direction of flow control", () => {
  it("bounds what a client on hub 2 can make the hubs buffer while the service on hub 1 stops reading", {
    timeout: 120_000,
  }, async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const [hub1, hub2] = c.hubs;
    if (!hub1?.process.pid || !hub2?.process.pid) throw new Error("hubs without pids");
    const port = await reachPort(laptop, "sink");
    const baseline = { hub1: (await residentBytes(hub1.process.pid)) ?? 0, hub2: (await residentBytes(hub2.process.pid)) ?? 0 };
    const writer = await connectTcp(port);
    writer.on("error", () => {});
    const chunk = randomBytes(64 * KiB);
    let accepted = 0;
    let stalled = false;
    const deadline = Date.now() + 60_000;
    // Bounded in bytes and time; stops when a write is not drained within 2 s.
    while (accepted < FIREHOSE_BYTES && Date.now() < deadline) {
      accepted += chunk.length;
      if (!writer.write(chunk)) {
        const drained = await Promise.race([
          once(writer, "drain").then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000)),
        ]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    const growth = {
      hub1: ((await residentBytes(hub1.process.pid)) ?? 0) - baseline.hub1,
      hub2: ((await residentBytes(hub2.process.pid)) ?? 0) - baseline.hub2,
    };
    console.info(
      `stalled service across hubs: client got ${(accepted / MiB).toFixed(1)} MiB accepted; RSS growth hub-1 ` +
        `${(growth.hub1 / MiB).toFixed(1)} MiB, hub-2 ${(growth.hub2 / MiB).toFixed(1)} MiB`,
    );
    try {
      expect(stalled, `writes never stalled: ${accepted} bytes accepted`).toBe(true);
      expect(accepted).toBeLessThan(STALLED_WRITER_BOUND);
      expect(growth.hub1).toBeLessThan(HUB_RSS_BOUND);
      expect(growth.hub2).toBeLessThan(HUB_RSS_BOUND);
      // Nothing was dropped to stay within the bound: once the service reads, every byte arrives.
      const [sinkSocket] = [...(services.sink as TestServer).sockets];
      if (!sinkSocket) throw new Error("the service never got the connection");
      let delivered = 0;
      sinkSocket.on("data", (data: Buffer) => {
        delivered += data.length;
      });
      const ended = once(sinkSocket, "end");
      sinkSocket.resume();
      writer.end();
      await Promise.race([
        ended,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`the service got ${delivered} of ${accepted} bytes`)), 30_000),
        ),
      ]);
      expect(delivered).toBe(accepted);
    } finally {
      writer.destroy();
    }
  });
});

describe("a share across hubs", () => {
  it("lets contractor's agent on hub 3 reach acme's service on hub 1 through a share, and nothing before joining", async (ctx) => {
    requireCluster(cluster, ctx);
    const before = await partner.run(["reach", "sha", "--from", "acme"]);
    expect(before.code).not.toBe(0);
    const share = parseJsonOutput<{ code: string }>(
      expectSuccess(await server.run(["share", "--name", "cross-hub", "--expires", "1h", "--services", "sha", "--json"])),
    );
    expectSuccess(await partner.run(["join", share.code]));
    const port = await reachPort(partner, "sha", ["--from", "acme"]);
    const payloads = Array.from({ length: 5 }, () => randomBytes(MiB));
    const replies = await Promise.all(payloads.map((payload) => roundTrip(port, payload, 30_000)));
    expect(replies.map((reply) => reply.toString())).toEqual(payloads.map((payload) => sha256Hex(payload)));
  });
});

describe("a public link across hubs", () => {
  it("is served by hub 3 for a service whose agent is on hub 1, bodies intact", async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const hub3 = c.hub("hub-3");
    const created = parseJsonOutput<{ url: string }>(
      expectSuccess(await server.run(["link", "web", "--expires", "1h", "--json"])),
    );
    const slug = /\/l\/([a-z2-7]{26})\/$/.exec(created.url)?.[1];
    if (!slug) throw new Error(`unexpected link URL ${created.url}`);
    const base = `${hub3.url}/l/${slug}`;
    const page = await fetch(`${base}/hello`, { signal: AbortSignal.timeout(15_000) });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("served /hello\n");
    const body = randomBytes(16 * MiB);
    const uploaded = await fetch(`${base}/upload`, { method: "POST", body, signal: AbortSignal.timeout(60_000) });
    expect(uploaded.status).toBe(200);
    expect(await uploaded.json()).toEqual({ length: body.length, sha256: sha256Hex(body) });
  });
});

describe("connect-hub start --workers 2", () => {
  // Helper "workers" builds `connect-hub start --workers N`: N hub workers on one port, each a
  // hub of the cluster (HUB_ID <base>-w<i>). An agent on one worker reaching an agent on the
  // other is a cross-hub reach behind one port.
  it("serves a reach between two agents that landed on different workers", { timeout: 120_000 }, async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const workers = await c.addHub({ hubId: "wk", extraArgs: ["--workers", "2"] });
    const exposer = await startClusterAgent(workers, { apiKey: acmeKey, label: "wk-server" });
    const exposerHub = (await c.waitForLocation(exposer.agentId)).hub;
    expect(exposerHub).toMatch(/^wk-w\d+$/);
    expectSuccess(await exposer.run(["expose", (services.sha as TestServer).address, "--name", "wk-sha"]));
    // Round robin hands connections out in turn; a few agents are enough to have one on the other worker.
    let reacher: ClusterAgent | undefined;
    for (let attempt = 1; attempt <= 4 && !reacher; attempt++) {
      const candidate = await startClusterAgent(workers, { apiKey: acmeKey, label: `wk-laptop-${attempt}` });
      const hub = (await c.waitForLocation(candidate.agentId)).hub;
      expect(hub).toMatch(/^wk-w\d+$/);
      if (hub !== exposerHub) reacher = candidate;
      // Each `connect up` opens a fixed number of connections; one more shifts whose turn the next relay connection is.
      else await connectTcp(workers.port).then((socket) => socket.destroy());
    }
    if (!reacher) throw new Error(`four agents in a row landed on ${exposerHub}: the workers do not share connections`);
    const port = await reachPort(reacher, "wk-sha");
    const payload = randomBytes(4 * MiB);
    expect((await roundTrip(port, payload, 30_000)).toString()).toBe(sha256Hex(payload));
  });
});
