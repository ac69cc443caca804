// The relay core (hub RelayServer + agent TunnelClient) over real WebSockets and real TCP
// on loopback, with an in-memory authority instead of the database: stream semantics,
// flow control and hostile peers, independent of the control plane.
import { createHash, randomBytes } from "node:crypto";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import { TunnelClient } from "@private-connect/agent";
import { OpenRefusal, type RelayAuthority, type RelayOptions, type RelayServer, renderPrometheus } from "@private-connect/hub";
import {
  CloseCode,
  DataFlag,
  decodeOpenOk,
  decodeReset,
  decodeWindow,
  encodeFrame,
  encodeOpen,
  encodeReset,
  encodeSenderBlocked,
  encodeWindow,
  FrameType,
  INITIAL_STREAM_WINDOW,
  LEGACY_MAX_STREAM_WINDOW,
  MAX_FRAME_PAYLOAD,
  MAX_STREAM_WINDOW,
  ResetCode,
} from "@private-connect/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { listenOnLoopback, openRawRelayClient, type RawRelayClient, startInProcessRelay } from "../support/in-process-relay.ts";

interface FakeAgent {
  agentId: string;
  workspaceId: string;
  label: string;
}

const agents: Record<string, FakeAgent> = {
  "token-server": { agentId: "a-server", workspaceId: "ws-acme", label: "server" },
  "token-laptop": { agentId: "a-laptop", workspaceId: "ws-acme", label: "laptop" },
  "token-outsider": { agentId: "a-outsider", workspaceId: "ws-other", label: "outsider" },
  "token-expiring": { agentId: "a-expiring", workspaceId: "ws-acme", label: "expiring" },
  "token-rotated": { agentId: "a-rotated", workspaceId: "ws-acme", label: "rotated" },
  "token-moved": { agentId: "a-moved", workspaceId: "ws-acme", label: "moved" },
};
/** Tokens that expire shortly after connecting; "rotated" gets a later expiry on re-check. */
const shortLived = new Set(["a-expiring", "a-rotated"]);
let markRotatedRecheck = () => {};
const rotatedRecheck = new Promise<void>((resolve) => {
  markRotatedRecheck = resolve;
});
/** workspace -> service name -> exposing agent */
const services: Record<string, Record<string, string>> = {
  "ws-acme": { echo: "a-server", sha: "a-server", sink: "a-server", slow: "a-server" },
};
let authorizeDelayMs = 0;

const authority: RelayAuthority = {
  async authenticateAgent(bearer) {
    const agent = agents[bearer];
    if (!agent) throw new OpenRefusal(ResetCode.SERVICE_NOT_FOUND, "Invalid credentials");
    const lifetime = shortLived.has(agent.agentId) ? 300 : 86_400_000;
    return { ...agent, clientType: "cli", tokenExpiresAt: new Date(Date.now() + lifetime) };
  },
  async onAgentConnected(agent) {
    if (agent.agentId !== "a-moved") return [];
    return [{ type: "notice", level: "warning", code: "ip_changed", message: "This agent's token was used from 127.0.0.2" }];
  },
  async readTokenExpiry(agent) {
    if (agent.agentId === "a-rotated") {
      markRotatedRecheck();
      return new Date(Date.now() + 86_400_000);
    }
    return agent.tokenExpiresAt;
  },
  async authorizeOpen(agent, request) {
    if (authorizeDelayMs) await new Promise((r) => setTimeout(r, authorizeDelayMs));
    const owner = services[agent.workspaceId]?.[request.service];
    if (!owner) throw new OpenRefusal(ResetCode.SERVICE_NOT_FOUND, "Service not found");
    return { agentId: owner, serviceName: request.service, workspaceId: "ws-1" };
  },
};

const closers: (() => Promise<void> | void)[] = [];
function onCleanup(fn: () => Promise<void> | void) {
  closers.push(fn);
}

const listen = listenOnLoopback;

let hubUrl = "";
let relay: RelayServer;
let targets: Record<string, number> = {};

/** A relay behind its own HTTP server on a free port, with this file's authority. */
function startRelay(options: RelayOptions = {}) {
  return startInProcessRelay(authority, options);
}

beforeAll(async () => {
  const shared = await startRelay();
  relay = shared.relay;
  hubUrl = shared.url;
  onCleanupAll.push(() => shared.stop());

  const echo = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  const sha = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    const hash = createHash("sha256");
    s.on("data", (d) => hash.update(d));
    s.on("end", () => s.end(hash.digest("hex")));
  });
  // Accepts and never reads: the slow-reader case.
  const sinkSockets: Socket[] = [];
  const sink = createServer((s) => {
    s.on("error", () => {});
    s.pause();
    sinkSockets.push(s);
  });
  targets = { echo: await listen(echo), sha: await listen(sha), sink: await listen(sink) };
  onCleanupAll.push(() => {
    for (const s of sinkSockets) s.destroy();
    for (const server of [echo, sha, sink]) server.close();
  });
});
const onCleanupAll: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const fn of onCleanupAll.reverse()) await fn();
});
afterEach(async () => {
  authorizeDelayMs = 0;
  for (const fn of closers.splice(0).reverse()) await fn();
});

async function startTunnel(token: string, url = hubUrl): Promise<TunnelClient> {
  const tunnel = new TunnelClient({
    hubUrl: url,
    token,
    resolveTarget: (name) => (targets[name] ? { host: "127.0.0.1", port: targets[name] } : undefined),
  });
  tunnel.start();
  await tunnel.waitConnected(5_000);
  onCleanup(() => tunnel.close());
  return tunnel;
}

/** A local port whose connections are relayed to `service`, like `connect reach`. */
async function reach(tunnel: TunnelClient, service: string): Promise<number> {
  const accepted = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    accepted.add(socket);
    socket.on("close", () => accepted.delete(socket));
    tunnel.openStream(socket, { service });
  });
  const port = await listen(server);
  onCleanup(
    () =>
      new Promise<void>((r) => {
        // A stalled stream's socket is paused and would keep server.close() waiting.
        for (const socket of accepted) socket.destroy();
        server.close(() => r());
      }),
  );
  return port;
}

function exchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ port, host: "127.0.0.1", allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on("data", (d) => chunks.push(d));
    socket.on("end", () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.on("error", reject);
    // Written before the connection is even established: the early-data path.
    socket.end(payload);
  });
}

function waitClosed(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("socket still open")), timeoutMs);
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? "error");
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve("closed");
    });
  });
}

describe("relay core", () => {
  it("relays a payload and its half-close end to end, with bytes sent before the far side connected", async () => {
    await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    authorizeDelayMs = 150; // the client's bytes wait at the hub while it authorizes
    const port = await reach(laptop, "sha");
    const payload = randomBytes(INITIAL_STREAM_WINDOW - 1000);
    const reply = await exchange(port, payload);
    expect(reply.toString()).toBe(createHash("sha256").update(payload).digest("hex"));
  });

  it("carries 20 concurrent streams of 1 MiB each, every byte intact", async () => {
    await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    const port = await reach(laptop, "sha");
    const payloads = Array.from({ length: 20 }, () => randomBytes(1024 * 1024));
    const replies = await Promise.all(payloads.map((p) => exchange(port, p)));
    replies.forEach((reply, i) => {
      expect(reply.toString()).toBe(
        createHash("sha256")
          .update(payloads[i] as Buffer)
          .digest("hex"),
      );
    });
  });

  it("returns every echoed byte when the client half-closes first, even while the echo waits for credit", async () => {
    await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    const port = await reach(laptop, "echo");
    // Larger than one window: the echo server has ended its side before the last of its
    // reply has been granted credit, which must not cut the reply short.
    const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(200_000 + i * 2_000));
    const replies = await Promise.all(payloads.map((p) => exchange(port, p)));
    replies.forEach((reply, i) => {
      expect(reply.length).toBe(payloads[i]?.length);
      expect(reply.equals(payloads[i] as Buffer)).toBe(true);
    });
  });

  it("delivers a long echo to a client that half-closed and reads slowly", async () => {
    await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    const port = await reach(laptop, "echo");
    const payload = randomBytes(24 * 1024 * 1024);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = connectTcp({ port, host: "127.0.0.1", allowHalfOpen: true });
      const chunks: Buffer[] = [];
      socket.pause();
      // Reading late keeps the echo's tail waiting for credit at the exposing agent when
      // the echo server has already closed its side.
      setTimeout(() => socket.resume(), 300);
      socket.on("data", (d) => chunks.push(d));
      socket.on("end", () => {
        socket.end();
        resolve(Buffer.concat(chunks));
      });
      socket.on("error", reject);
      socket.end(payload);
    });
    expect(reply.length).toBe(payload.length);
    expect(reply.equals(payload)).toBe(true);
  });

  it("refuses another workspace exactly as it refuses a name that exists nowhere", async () => {
    await startTunnel("token-server");
    const outsider = await startTunnel("token-outsider");
    const port = await reach(outsider, "echo");
    const socket = connectTcp({ port, host: "127.0.0.1" });
    socket.write("hello?");
    expect(await waitClosed(socket, 3_000)).toMatch(/ECONNRESET|closed/);
    expect(relay.snapshot().streamsOpen).toBe(0);
  });

  it("bounds what a writer can push into a reader that never reads, while another stream keeps flowing", async () => {
    await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    const sinkPort = await reach(laptop, "sink");
    const echoPort = await reach(laptop, "echo");
    const writer = connectTcp({ port: sinkPort, host: "127.0.0.1" });
    writer.on("error", () => {});
    onCleanup(() => void writer.destroy());
    const chunk = Buffer.alloc(64 * 1024, 1);
    let accepted = 0;
    // Write until the socket pushes back and stays pushed back for 300 ms.
    for (let i = 0; i < 4096; i++) {
      if (writer.write(chunk)) {
        accepted += chunk.length;
        continue;
      }
      accepted += chunk.length;
      const drained = await Promise.race([
        new Promise<boolean>((r) => writer.once("drain", () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
      ]);
      if (!drained) break;
    }
    // The stream's window (it grows only while the sink's kernel buffers still take bytes) plus
    // loopback kernel buffers: far below the 256 MiB the writer would have pushed without
    // backpressure.
    expect(accepted).toBeLessThan(48 * 1024 * 1024);
    const echoed = await exchange(echoPort, Buffer.from("still alive"));
    expect(echoed.toString()).toBe("still alive");
  });

  it("resets open streams when the exposing agent goes away, and refuses new ones promptly", async () => {
    const server = await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    const port = await reach(laptop, "echo");
    const socket = connectTcp({ port, host: "127.0.0.1" });
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write("ping");
    });
    const closed = waitClosed(socket, 3_000);
    await server.close();
    expect(await closed).toMatch(/ECONNRESET|closed/);
    const again = connectTcp({ port, host: "127.0.0.1" });
    again.write("anyone?");
    expect(await waitClosed(again, 3_000)).toMatch(/ECONNRESET|closed/);
  });
});

describe("operations", () => {
  it("counts opens, refusals by reason and auth failures for /metrics", async () => {
    const own = await startRelay();
    onCleanup(() => own.stop());
    await startTunnel("token-server", own.url);
    const outsider = await startTunnel("token-outsider", own.url);
    const port = await reach(outsider, "echo");
    const socket = connectTcp({ port, host: "127.0.0.1" });
    socket.write("x");
    await waitClosed(socket, 3_000);
    const refused = new WebSocket(`${own.url.replace("http", "ws")}/relay`, { headers: { authorization: "Bearer wrong" } });
    await new Promise((resolve) => refused.on("unexpected-response", resolve));
    await expect.poll(() => own.relay.metrics.opensRefused.get("service_not_found")).toBe(1);
    const text = renderPrometheus(own.relay.snapshot());
    expect(text).toContain("pc_agents_online 2");
    expect(text).toContain('pc_stream_opens_refused_total{reason="service_not_found"} 1');
    expect(text).toContain("pc_auth_failures_total 1");
    expect(text).toMatch(/# TYPE pc_bytes_relayed_total counter/);
  });

  it("refuses relay connections beyond the per-address limit", async () => {
    const own = await startRelay({ maxConnectionsPerIp: 2 });
    onCleanup(() => own.stop());
    await startTunnel("token-server", own.url);
    await startTunnel("token-laptop", own.url);
    const third = new WebSocket(`${own.url.replace("http", "ws")}/relay`, {
      headers: { authorization: "Bearer token-outsider" },
    });
    const status = await new Promise<number>((resolve) =>
      third.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(429);
  });

  it("lets an open stream finish when the hub shuts down gracefully, and refuses new ones", async () => {
    const own = await startRelay({ drainTimeoutMs: 10_000 });
    await startTunnel("token-server", own.url);
    const laptop = await startTunnel("token-laptop", own.url);
    const port = await reach(laptop, "sha");
    const socket = connectTcp({ port, host: "127.0.0.1", allowHalfOpen: true });
    const reply: Buffer[] = [];
    socket.on("data", (d) => reply.push(d));
    const ended = new Promise<void>((resolve) => socket.on("end", () => resolve()));
    const first = randomBytes(100_000);
    socket.write(first);
    await expect.poll(() => own.relay.snapshot().streamsOpen).toBe(1);
    expect(own.relay.isAccepting).toBe(true);
    const stopped = own.stop();
    // From the first moment of the shutdown the hub says it is not accepting (readyz uses this).
    expect(own.relay.isAccepting).toBe(false);
    // The stream is still open: finish it after shutdown began.
    const second = randomBytes(100_000);
    socket.end(second);
    await ended;
    socket.end();
    await stopped;
    expect(Buffer.concat(reply).toString()).toBe(createHash("sha256").update(first).update(second).digest("hex"));
  });
});

describe("per-agent limits", () => {
  /** Opens a stream through `port` and resolves with what happened to it. */
  function openAndWatch(port: number): { socket: Socket; outcome: Promise<"closed" | "open"> } {
    const socket = connectTcp({ port, host: "127.0.0.1", allowHalfOpen: true });
    socket.on("error", () => {});
    const outcome = new Promise<"closed" | "open">((resolve) => {
      socket.on("close", () => resolve("closed"));
      setTimeout(() => resolve("open"), 1_500);
    });
    return { socket, outcome };
  }

  it("resets only the stream beyond an agent's stream limit, with LIMIT_EXCEEDED", async () => {
    const own = await startRelay({ limits: { maxStreams: 3 } });
    onCleanup(() => own.stop());
    await startTunnel("token-server", own.url);
    const laptop = await startTunnel("token-laptop", own.url);
    const port = await reach(laptop, "echo");
    const held = [0, 1, 2].map(() => openAndWatch(port));
    await expect.poll(() => own.relay.snapshot().streamsOpen).toBe(3);
    const beyond = openAndWatch(port);
    expect(await beyond.outcome).toBe("closed");
    // The three within the limit still carry bytes.
    for (const { socket } of held) {
      const echoed = new Promise<string>((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString())));
      socket.write("within");
      expect(await echoed).toBe("within");
      socket.destroy();
    }
  });

  it("resets opens beyond the pending-authorization limit, and serves the rest", async () => {
    const own = await startRelay({ limits: { maxPendingOpens: 2 } });
    onCleanup(() => own.stop());
    await startTunnel("token-server", own.url);
    const laptop = await startTunnel("token-laptop", own.url);
    const port = await reach(laptop, "sha");
    authorizeDelayMs = 800;
    const attempts = [0, 1, 2, 3].map(() =>
      exchange(port, Buffer.from("pending")).then(
        (reply) => reply.toString(),
        () => "reset",
      ),
    );
    const results = await Promise.all(attempts);
    const served = results.filter((reply) => reply === createHash("sha256").update("pending").digest("hex"));
    expect(served.length).toBe(2);
    expect(results.length - served.length).toBe(2);
  });
});

describe("notices", () => {
  it("passes the control plane's notices (an IP change) to the agent", async () => {
    const notice = new Promise<{ code: string; message: string }>((resolve) => {
      const tunnel = new TunnelClient({ hubUrl, token: "token-moved", resolveTarget: () => undefined, onNotice: resolve });
      tunnel.start();
      onCleanup(() => tunnel.close());
    });
    expect(await notice).toMatchObject({ code: "ip_changed", message: expect.stringContaining("127.0.0.2") });
  });
});

describe("token expiry while connected", () => {
  it("disconnects an agent whose token expires, with the reason, and it stops retrying", async () => {
    const fatal = new Promise<Error>((resolve) => {
      const tunnel = new TunnelClient({ hubUrl, token: "token-expiring", resolveTarget: () => undefined, onFatal: resolve });
      tunnel.start();
      onCleanup(() => tunnel.close());
    });
    expect((await fatal).message).toMatch(/token expired/i);
  });

  it("keeps the connection of an agent whose token was rotated before expiry", async () => {
    const tunnel = await startTunnel("token-rotated");
    await rotatedRecheck;
    // The relay asked at expiry and learned of the later one: the connection carries on.
    await new Promise((resolve) => setImmediate(resolve));
    expect(tunnel.state).toBe("connected");
    const port = await reach(tunnel, "echo");
    await startTunnel("token-server");
    expect((await exchange(port, Buffer.from("still here"))).toString()).toBe("still here");
  });
});

/** A raw relay client that speaks only what the test tells it to, closed after the test. */
async function rawClient(token: string, options: { maxStreamWindow?: number } = {}): Promise<RawRelayClient> {
  const client = await openRawRelayClient(hubUrl, token, options);
  onCleanup(() => client.ws.terminate());
  return client;
}

describe("growing windows", () => {
  /** Opens `streamId` to `service`; resolves with the window limit the hub's OPEN_OK gives. */
  async function openStream(client: RawRelayClient, streamId: number, service: string): Promise<number | undefined> {
    client.ws.send(encodeOpen(streamId, { service }));
    const openOk = () => client.frames.find((f) => f.type === FrameType.OPEN_OK && f.streamId === streamId);
    await expect.poll(openOk, { timeout: 3_000 }).toBeTruthy();
    return decodeOpenOk(openOk()?.payload ?? Buffer.alloc(0)).maxWindow;
  }

  const windowsGranted = (client: RawRelayClient, streamId: number) =>
    client.frames
      .filter((f) => f.type === FrameType.WINDOW && f.streamId === streamId)
      .reduce((sum, f) => sum + decodeWindow(f.payload), 0);

  it("doubles a stream's window when its sender is blocked and the reader keeps up", async () => {
    await startTunnel("token-server");
    const sender = await rawClient("token-laptop", { maxStreamWindow: MAX_STREAM_WINDOW });
    expect(await openStream(sender, 1, "sha")).toBe(MAX_STREAM_WINDOW);

    // One whole window, then wait until the exposing agent has handed all of it to its target.
    const chunk = Buffer.alloc(MAX_FRAME_PAYLOAD, 7);
    for (let sent = 0; sent < INITIAL_STREAM_WINDOW; sent += chunk.length) sender.ws.send(encodeFrame(FrameType.DATA, 1, chunk));
    await expect.poll(() => windowsGranted(sender, 1), { timeout: 3_000 }).toBe(INITIAL_STREAM_WINDOW);

    sender.ws.send(encodeSenderBlocked(1));
    await expect.poll(() => windowsGranted(sender, 1), { timeout: 3_000 }).toBe(2 * INITIAL_STREAM_WINDOW);
    // The hub's books follow: the grown window may be used in full without a flow-control reset.
    for (let sent = 0; sent < 2 * INITIAL_STREAM_WINDOW; sent += chunk.length)
      sender.ws.send(encodeFrame(FrameType.DATA, 1, chunk));
    await expect.poll(() => windowsGranted(sender, 1), { timeout: 3_000 }).toBe(4 * INITIAL_STREAM_WINDOW);
    expect(sender.frames.some((f) => f.type === FrameType.RST)).toBe(false);
  });

  it("keeps a stream's window at its initial size while another stream shares the agent's connection", async () => {
    await startTunnel("token-server");
    const sender = await rawClient("token-laptop", { maxStreamWindow: MAX_STREAM_WINDOW });
    await openStream(sender, 1, "sha");
    const chunk = Buffer.alloc(MAX_FRAME_PAYLOAD, 9);
    let sent = 0;
    /** Credit the sender holds now: the initial window plus grants, minus what it sent. */
    const credit = () => INITIAL_STREAM_WINDOW + windowsGranted(sender, 1) - sent;
    /** Spends all credit, then waits until the sha agent has returned `expected` of it. */
    const spendAll = async (expected: number) => {
      const bytes = credit();
      for (let n = 0; n < bytes; n += chunk.length) sender.ws.send(encodeFrame(FrameType.DATA, 1, chunk));
      sent += bytes;
      await expect.poll(credit, { timeout: 3_000 }).toBe(expected);
    };
    // Alone on the exposing agent's connection: 256 KiB doubles up to 4 MiB.
    for (let window = INITIAL_STREAM_WINDOW; window < 4 * 1024 * 1024; window *= 2) {
      await spendAll(window);
      sender.ws.send(encodeSenderBlocked(1));
      await expect.poll(credit, { timeout: 3_000 }).toBe(2 * window);
    }
    // A second stream on the same agent: the first one's window shrinks back, by withholding.
    sender.ws.send(encodeOpen(3, { service: "echo" }));
    await expect
      .poll(() => sender.frames.find((f) => f.type === FrameType.OPEN_OK && f.streamId === 3), { timeout: 3_000 })
      .toBeTruthy();
    await spendAll(INITIAL_STREAM_WINDOW);
    sender.ws.send(encodeSenderBlocked(1));
    await new Promise((r) => setTimeout(r, 200));
    expect(credit()).toBe(INITIAL_STREAM_WINDOW);
    // The other stream gone, the first may grow again.
    sender.ws.send(encodeReset(3, ResetCode.CANCELLED, "done"));
    await new Promise((r) => setTimeout(r, 200));
    sender.ws.send(encodeSenderBlocked(1));
    await expect.poll(credit, { timeout: 3_000 }).toBe(2 * INITIAL_STREAM_WINDOW);
    expect(sender.frames.some((f) => f.type === FrameType.RST && f.streamId === 1)).toBe(false);
  });

  it("gives an agent from before growing windows no more than the old limit, and never a DATA flag", async () => {
    await startTunnel("token-server");
    const legacy = await rawClient("token-laptop");
    expect(await openStream(legacy, 1, "echo")).toBe(LEGACY_MAX_STREAM_WINDOW);
    // The echo comes back until our window runs out: the exposing agent is then blocked and
    // says so, which the hub must not pass on to this agent.
    const chunk = Buffer.alloc(MAX_FRAME_PAYLOAD, 3);
    for (let sent = 0; sent < INITIAL_STREAM_WINDOW; sent += chunk.length) legacy.ws.send(encodeFrame(FrameType.DATA, 1, chunk));
    const echoed = () =>
      legacy.frames.filter((f) => f.type === FrameType.DATA && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
    await expect.poll(echoed, { timeout: 3_000 }).toBe(INITIAL_STREAM_WINDOW);
    await expect.poll(() => windowsGranted(legacy, 1), { timeout: 3_000 }).toBeGreaterThanOrEqual(MAX_FRAME_PAYLOAD);
    legacy.ws.send(encodeFrame(FrameType.DATA, 1, chunk));
    await new Promise((r) => setTimeout(r, 200));
    legacy.ws.send(encodeWindow(1, MAX_FRAME_PAYLOAD));
    await expect.poll(echoed, { timeout: 3_000 }).toBe(INITIAL_STREAM_WINDOW + MAX_FRAME_PAYLOAD);
    const data = legacy.frames.filter((f) => f.type === FrameType.DATA);
    expect(data.every((f) => f.flags === 0 && f.payload.length > 0)).toBe(true);
  });

  it("closes the connection of a receiver that grants more than the window both agents accept", async () => {
    await startTunnel("token-server");
    const legacy = await rawClient("token-laptop");
    await openStream(legacy, 1, "echo");
    // The exposing agent would accept 16 MiB, this one stated nothing: 4 MiB is the stream's limit.
    legacy.ws.send(encodeWindow(1, LEGACY_MAX_STREAM_WINDOW));
    expect(await legacy.closed).toBe(CloseCode.PROTOCOL_ERROR);
  });
});

describe("hostile peers", () => {
  it("refuses an upgrade without a valid token", async () => {
    const ws = new WebSocket(`${hubUrl.replace("http", "ws")}/relay`, { headers: { authorization: "Bearer nope" } });
    const status = await new Promise<number>((resolve) =>
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });

  it.each([
    ["garbage bytes", Buffer.from([0xff, 0xff, 0xff])],
    ["an unknown frame type", Buffer.from([0x7e, 0, 0, 0, 0, 1, 0, 0, 0, 0])],
    ["an unknown flag", Buffer.from([FrameType.DATA, 0x02, 0, 0, 0, 1, 0, 0, 0, 0])],
    ["a DATA flag on a FIN", Buffer.from([FrameType.FIN, DataFlag.SENDER_BLOCKED, 0, 0, 0, 1, 0, 0, 0, 0])],
    ["an oversized length", Buffer.from([FrameType.DATA, 0, 0, 0, 0, 1, 0, 2, 0, 0])],
    ["an OPEN on an even stream id", encodeOpen(2, { service: "echo" })],
  ])("closes only the connection that sent %s", async (_name, message) => {
    await startTunnel("token-server");
    const laptop = await startTunnel("token-laptop");
    const port = await reach(laptop, "echo");
    const attacker = await rawClient("token-outsider");
    attacker.ws.send(message);
    expect(await attacker.closed).toBe(CloseCode.PROTOCOL_ERROR);
    expect((await exchange(port, Buffer.from("unaffected"))).toString()).toBe("unaffected");
  });

  it("resets a stream whose sender ignores flow control", async () => {
    await startTunnel("token-server");
    const attacker = await rawClient("token-laptop");
    attacker.ws.send(encodeOpen(1, { service: "sink" }));
    const chunk = Buffer.alloc(60 * 1024);
    // 12 x 60 KiB = 720 KiB against a 256 KiB window the sink will never extend.
    for (let i = 0; i < 12; i++) attacker.ws.send(encodeFrame(FrameType.DATA, 1, chunk));
    await expect.poll(() => attacker.frames.find((f) => f.type === FrameType.RST), { timeout: 3_000 }).toBeTruthy();
    const reset = attacker.frames.find((f) => f.type === FrameType.RST);
    expect(decodeReset(reset?.payload ?? Buffer.alloc(2)).code).toBe(ResetCode.FLOW_CONTROL);
  });
});
