import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  CloseCode,
  decodeOpen,
  decodeOpenOk,
  decodeReset,
  decodeWindow,
  encodeFrame,
  encodeOpen,
  encodePeerOpen,
  encodeReset,
  encodeWindow,
  FRAME_HEADER_BYTES,
  FrameType,
  INITIAL_STREAM_WINDOW,
  MAX_FRAME_PAYLOAD,
  MAX_STREAM_WINDOW,
  type PeerOpenRequest,
  ResetCode,
} from "@private-connect/protocol";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { RelayStream, type StreamPeer } from "../relay/relay-stream.js";
import { signPeerRequest } from "./peer-auth.js";
import type { PeerConnection, PeerHost } from "./peer-connection.js";
import { createPeerAcceptor, type PeerAcceptor } from "./peer-listener.js";
import { createPeerPool, type PeerPool, PeerUnreachable } from "./peer-pool.js";

const log = pino({ level: "silent" });
const clusterSecret = randomBytes(32).toString("hex");
const MiB = 1024 * 1024;

interface SeenFrame {
  type: number;
  streamId: number;
  payload: Buffer;
}

/**
 * One agent's end of a relayed stream, in process: records what its hub sends it (with the stream
 * id in the header, to prove the rewriting), returns credit for every byte it receives, and sends
 * bytes within the credit it was granted, as a well-behaved agent does.
 */
class FakeAgentEnd implements StreamPeer {
  readonly maxStreamWindow = MAX_STREAM_WINDOW;
  readonly understandsDataFlags = true;
  readonly frames: SeenFrame[] = [];
  stream: RelayStream | undefined;
  /** Off: a reader that stopped reading, which grants no more credit. */
  isGranting = true;
  private credit = INITIAL_STREAM_WINDOW;
  private outgoing: { data: Buffer; offset: number; fin: boolean } | undefined;
  private ungranted = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly label: string,
    readonly id: number,
    readonly side: "client" | "server",
  ) {}

  sendFrame(frame: Buffer): void {
    const payload = Buffer.from(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + frame.readUInt32BE(6)));
    const seen = { type: frame[0] ?? 0, streamId: frame.readUInt32BE(2), payload };
    this.frames.push(seen);
    if (seen.type === FrameType.DATA && payload.length > 0 && this.isGranting) this.returnCredit(payload.length);
    if (seen.type === FrameType.WINDOW) {
      this.credit += decodeWindow(payload);
      this.pump();
    }
    for (const wake of [...this.waiters]) wake();
  }

  sendReset(streamId: number, code: number, reason: string): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.frames.push({ type: FrameType.RST, streamId, payload });
    for (const wake of [...this.waiters]) wake();
  }

  detachStream(): void {}

  /** A frame from this agent into its hub's RelayStream. */
  inject(type: number, payload?: Buffer): void {
    if (!this.stream) throw new Error("not attached");
    const isAccepted = this.stream.receive(
      this.side,
      type,
      payload?.length ?? 0,
      encodeFrame(type as never, this.id, payload),
      0,
    );
    if (!isAccepted) throw new Error(`${this.label}: the relay refused a frame`);
  }

  /** Sends `data` as DATA frames within the granted credit, then FIN if asked. */
  sendBytes(data: Buffer, fin = false): void {
    this.outgoing = { data, offset: 0, fin };
    this.pump();
  }

  data(): Buffer {
    return Buffer.concat(this.frames.filter((frame) => frame.type === FrameType.DATA).map((frame) => frame.payload));
  }

  has(type: number): boolean {
    return this.frames.some((frame) => frame.type === type);
  }

  reset(): { code: number; reason: string } | undefined {
    const frame = this.frames.find((seen) => seen.type === FrameType.RST);
    return frame ? decodeReset(frame.payload) : undefined;
  }

  /** Resolves once `condition` holds, re-checked on every frame this end receives. */
  until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        if (!condition()) return;
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  private pump(): void {
    const outgoing = this.outgoing;
    if (!outgoing) return;
    while (outgoing.offset < outgoing.data.length && this.credit > 0) {
      const size = Math.min(MAX_FRAME_PAYLOAD, this.credit, outgoing.data.length - outgoing.offset);
      this.credit -= size;
      const chunk = outgoing.data.subarray(outgoing.offset, outgoing.offset + size);
      outgoing.offset += size;
      this.inject(FrameType.DATA, chunk);
    }
    if (outgoing.offset === outgoing.data.length) {
      this.outgoing = undefined;
      if (outgoing.fin) this.inject(FrameType.FIN);
    }
  }

  /** Credit goes back once per turn, not from inside the relay's own call. */
  private returnCredit(bytes: number): void {
    if (this.ungranted === 0) {
      setImmediate(() => {
        const increment = this.ungranted;
        this.ungranted = 0;
        if (this.stream?.isOpen) this.inject(FrameType.WINDOW, encodeWindow(this.id, increment).subarray(FRAME_HEADER_BYTES));
      });
    }
    this.ungranted += bytes;
  }
}

/** Hub B: serves opens from hub A to its (fake) exposing agent, the way the relay will. */
class ServingHub implements PeerHost {
  readonly opened: { streamId: number; request: PeerOpenRequest; agent: FakeAgentEnd; stream: RelayStream }[] = [];
  onOpen: ((agent: FakeAgentEnd) => void) | undefined;

  openFromPeer(connection: PeerConnection, streamId: number, request: PeerOpenRequest): void {
    const stream = new RelayStream({ peer: connection, id: streamId }, request.service, () => {});
    connection.attach(streamId, stream, "client");
    const agent = new FakeAgentEnd("exposing agent", 2, "server");
    agent.stream = stream;
    stream.openOn({ peer: agent, id: agent.id }, (windowLimit) =>
      encodeOpen(agent.id, { service: request.service, maxWindow: windowLimit }),
    );
    this.opened.push({ streamId, request, agent, stream });
    this.onOpen?.(agent);
  }
}

/** Hub A dials only; a peer opening a stream toward it is a protocol error the connection catches first. */
const dialingHost: PeerHost = {
  openFromPeer() {
    throw new Error("the dialing hub is never asked to serve an open");
  },
};

function resetPayload(code: number, reason: string): Buffer {
  return encodeReset(1, code, reason).subarray(FRAME_HEADER_BYTES);
}

const request = (agentId: string): PeerOpenRequest => ({
  agentId,
  service: "db",
  workspaceId: "ws-1",
  maxWindow: MAX_STREAM_WINDOW,
  client: { kind: "agent", agentId: "agent-reaching", label: "laptop" },
});

let server: Server;
let acceptor: PeerAcceptor;
let hubB: ServingHub;
let pool: PeerPool;
let peerUrl: string;
const extraPools: PeerPool[] = [];

beforeEach(async () => {
  hubB = new ServingHub();
  acceptor = createPeerAcceptor({ selfHubId: "hub-b", clusterSecret, host: hubB, log });
  server = createServer((_req, res) => res.end());
  server.on("upgrade", (req, socket, head) => acceptor.handleUpgrade(req, socket, head));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  peerUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pool = createPeerPool({ selfHubId: "hub-a", clusterSecret, connectionsPerPeer: 2, host: dialingHost, log });
});

afterEach(async () => {
  pool.closeAll();
  for (const extra of extraPools.splice(0)) extra.closeAll();
  acceptor.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A stream from a reaching agent on hub A to the exposing agent on hub B, opened the way the relay does. */
async function openAcross(options: { earlyData?: Buffer } = {}) {
  const connection = await pool.connectionTo({ hubId: "hub-b", peerUrl });
  const client = new FakeAgentEnd("reaching agent", 1, "client");
  const stream = new RelayStream({ peer: client, id: client.id }, "db", () => {});
  client.stream = stream;
  if (options.earlyData) client.sendBytes(options.earlyData);
  const opened = new Promise<FakeAgentEnd>((resolve) => {
    hubB.onOpen = resolve;
  });
  const id = connection.allocateStreamId();
  connection.attach(id, stream, "server");
  stream.openOn({ peer: connection, id }, (windowLimit) =>
    encodePeerOpen(id, { ...request("agent-exposing"), maxWindow: windowLimit }),
  );
  const agent = await opened;
  return { connection, client, agent, stream, id };
}

describe("a stream across two hubs over a peer connection", () => {
  it("carries early data, OPEN_OK, 1 MB each way with credit flowing back, and FIN, with ids rewritten", async () => {
    const early = randomBytes(1000);
    const { connection, client, agent, id } = await openAcross({ earlyData: early });
    expect(id % 2).toBe(1);
    const served = hubB.opened[0];
    expect(served?.streamId).toBe(id);
    expect(served?.request).toMatchObject({ agentId: "agent-exposing", service: "db", workspaceId: "ws-1" });

    // Hub B's OPEN to its agent names the service; the early bytes follow it.
    await agent.until(() => agent.data().length === early.length);
    const open = agent.frames[0];
    expect(open?.type).toBe(FrameType.OPEN);
    expect(decodeOpen(open?.payload ?? Buffer.alloc(0)).service).toBe("db");
    expect(agent.data().equals(early)).toBe(true);

    agent.inject(FrameType.OPEN_OK);
    await client.until(() => client.has(FrameType.OPEN_OK));
    const openOk = client.frames.find((frame) => frame.type === FrameType.OPEN_OK);
    expect(decodeOpenOk(openOk?.payload ?? Buffer.alloc(0)).maxWindow).toBe(MAX_STREAM_WINDOW);

    // Four initial windows each way: only the WINDOWs crossing back let the rest through.
    const upload = randomBytes(MiB);
    const download = randomBytes(MiB);
    client.sendBytes(upload, true);
    agent.sendBytes(download, true);
    await agent.until(() => agent.has(FrameType.FIN));
    await client.until(() => client.has(FrameType.FIN));
    expect(agent.data().equals(Buffer.concat([early, upload]))).toBe(true);
    expect(client.data().equals(download)).toBe(true);
    expect(client.frames.some((frame) => frame.type === FrameType.WINDOW)).toBe(true);
    expect(agent.frames.some((frame) => frame.type === FrameType.WINDOW)).toBe(true);

    // Every frame reached each end under its own stream id, whatever id crossed between hubs.
    expect(new Set(client.frames.map((frame) => frame.streamId))).toEqual(new Set([client.id]));
    expect(new Set(agent.frames.map((frame) => frame.streamId))).toEqual(new Set([agent.id]));
    // Both FINs: the stream is over on both hubs.
    await vi.waitFor(() => expect(connection.streamCount).toBe(0));
    const accepted = [...acceptor.connections][0];
    await vi.waitFor(() => expect(accepted?.streamCount).toBe(0));
  });

  it("carries a reset from the exposing side to the reaching agent, and one the other way", async () => {
    const first = await openAcross();
    first.agent.inject(FrameType.RST, resetPayload(ResetCode.CONNECT_FAILED, "connection refused by 127.0.0.1:5432"));
    await first.client.until(() => first.client.reset() !== undefined);
    expect(first.client.reset()).toEqual({ code: ResetCode.CONNECT_FAILED, reason: "connection refused by 127.0.0.1:5432" });
    expect(first.stream.isOpen).toBe(false);

    const second = await openAcross();
    second.client.inject(FrameType.RST, resetPayload(ResetCode.CANCELLED, "user quit"));
    await second.agent.until(() => second.agent.reset() !== undefined);
    expect(second.agent.reset()).toEqual({ code: ResetCode.CANCELLED, reason: "user quit" });
    expect(second.id).not.toBe(first.id);
  });

  it("resets the streams on both hubs with PEER_GONE when the peer connection goes", async () => {
    const { client, agent } = await openAcross();
    acceptor.close();
    await client.until(() => client.reset() !== undefined);
    expect(client.reset()).toEqual({ code: ResetCode.PEER_GONE, reason: "The hub hub-b holding the other end went away" });
    await agent.until(() => agent.reset() !== undefined);
    expect(agent.reset()).toEqual({ code: ResetCode.PEER_GONE, reason: "The hub hub-a holding the other end went away" });
  });

  it("resets a stream whose peer sends past its window with FLOW_CONTROL, keeping the connection", async () => {
    const { connection, client, id } = await openAcross();
    client.isGranting = false;
    const accepted = [...acceptor.connections][0];
    if (!accepted) throw new Error("no accepted connection");
    // A hub that ignores the books: five full frames against a 256 KiB window.
    for (let i = 0; i < 5; i++) accepted.sendFrame(encodeFrame(FrameType.DATA, id, Buffer.alloc(MAX_FRAME_PAYLOAD)));
    await client.until(() => client.reset() !== undefined);
    expect(client.reset()?.code).toBe(ResetCode.FLOW_CONTROL);
    expect(connection.isOpen).toBe(true);
  });

  it("ends only the stream whose credit exceeds its limit, not the connection", async () => {
    const { connection, client, id } = await openAcross();
    const other = await openAcross();
    const accepted = [...acceptor.connections][0];
    if (!accepted) throw new Error("no accepted connection");
    accepted.sendFrame(encodeWindow(id, 2 ** 31));
    await client.until(() => client.reset() !== undefined);
    expect(client.reset()?.code).toBe(ResetCode.FLOW_CONTROL);
    expect(connection.isOpen).toBe(true);
    const bytes = randomBytes(1000);
    other.agent.sendBytes(bytes, true);
    await other.client.until(() => other.client.has(FrameType.FIN));
    expect(other.client.data().equals(bytes)).toBe(true);
  });

  it("closes only the connection that sent something malformed, or an OPEN toward the dialing hub", async () => {
    const { client } = await openAcross();
    const accepted = [...acceptor.connections][0];
    if (!accepted) throw new Error("no accepted connection");
    const closed = once(accepted.ws, "close");
    accepted.sendFrame(encodePeerOpen(2, request("x")));
    const [code] = await closed;
    expect(code).toBe(CloseCode.PROTOCOL_ERROR);
    await client.until(() => client.reset() !== undefined);
    expect(client.reset()?.code).toBe(ResetCode.PEER_GONE);
    // The pool drops it and dials afresh.
    const next = await pool.connectionTo({ hubId: "hub-b", peerUrl });
    expect(next.isOpen).toBe(true);
  });
  it("lets open streams finish when the serving hub goes away, and routes no new one there", async () => {
    const { connection, client, agent } = await openAcross();
    acceptor.goAway("hub restarting");
    await vi.waitFor(() => expect(connection.hasCapacity()).toBe(false));
    const bytes = randomBytes(300 * 1024);
    agent.sendBytes(bytes, true);
    await client.until(() => client.has(FrameType.FIN));
    expect(client.data().equals(bytes)).toBe(true);
    await expect(pool.connectionTo({ hubId: "hub-b", peerUrl })).rejects.toThrow(/503: This hub is shutting down/);
  });
});

describe("the peer pool", () => {
  it("shares one dial between concurrent callers, then dials up to connectionsPerPeer and spreads streams", async () => {
    const [a, b] = await Promise.all([
      pool.connectionTo({ hubId: "hub-b", peerUrl }),
      pool.connectionTo({ hubId: "hub-b", peerUrl }),
    ]);
    expect(a).toBe(b);
    expect(acceptor.connections.size).toBe(1);
    const busy = new RelayStream({ peer: new FakeAgentEnd("reaching agent", 1, "client"), id: 1 }, "db", () => {});
    a.attach(a.allocateStreamId(), busy, "server");
    // Returns the open connection at once and dials the second in the background.
    expect(await pool.connectionTo({ hubId: "hub-b", peerUrl })).toBe(a);
    await vi.waitFor(() => expect(acceptor.connections.size).toBe(2));
    const second = await pool.connectionTo({ hubId: "hub-b", peerUrl });
    expect(second).not.toBe(a);
    expect(second.streamCount).toBe(0);
    // Never more than two.
    await pool.connectionTo({ hubId: "hub-b", peerUrl });
    expect(acceptor.connections.size).toBe(2);
  });

  it("fails fast with PeerUnreachable naming the hub when nothing listens", async () => {
    const closedServer = createServer();
    closedServer.listen(0, "127.0.0.1");
    await once(closedServer, "listening");
    const port = (closedServer.address() as AddressInfo).port;
    await new Promise((resolve) => closedServer.close(resolve));
    const startedAt = Date.now();
    const failure = pool.connectionTo({ hubId: "hub-c", peerUrl: `ws://127.0.0.1:${port}` });
    await expect(failure).rejects.toBeInstanceOf(PeerUnreachable);
    await expect(failure).rejects.toThrow(`The hub hub-c at ws://127.0.0.1:${port} cannot be reached: connection refused`);
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });

  it("gives up after the connect timeout on a hub that never answers", async () => {
    const silent = createServer();
    // Takes the upgrade and says nothing.
    const held: Duplex[] = [];
    silent.on("upgrade", (_req, socket: Duplex) => held.push(socket));
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const slowPool = createPeerPool({
      selfHubId: "hub-a",
      clusterSecret,
      connectionsPerPeer: 1,
      host: dialingHost,
      log,
      connectTimeoutMs: 200,
    });
    extraPools.push(slowPool);
    const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    await expect(slowPool.connectionTo({ hubId: "hub-b", peerUrl: url })).rejects.toThrow(/cannot be reached/);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
});

describe("a peer that stops answering", () => {
  it("is terminated after two missed heartbeats, and its streams are reset", async () => {
    // A hub whose process hangs: the connection is up, but pings go unanswered.
    const hung = createServer();
    const wss = new WebSocketServer({ noServer: true, autoPong: false });
    hung.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, () => {}));
    hung.listen(0, "127.0.0.1");
    await once(hung, "listening");
    const quickPool = createPeerPool({
      selfHubId: "hub-a",
      clusterSecret,
      connectionsPerPeer: 1,
      host: dialingHost,
      log,
      heartbeatMs: 50,
    });
    extraPools.push(quickPool);
    const connection = await quickPool.connectionTo({
      hubId: "hub-h",
      peerUrl: `ws://127.0.0.1:${(hung.address() as AddressInfo).port}`,
    });
    const client = new FakeAgentEnd("reaching agent", 1, "client");
    const stream = new RelayStream({ peer: client, id: client.id }, "db", () => {});
    client.stream = stream;
    const id = connection.allocateStreamId();
    connection.attach(id, stream, "server");
    stream.openOn({ peer: connection, id }, (windowLimit) =>
      encodePeerOpen(id, { ...request("agent-exposing"), maxWindow: windowLimit }),
    );
    const startedAt = Date.now();
    await client.until(() => client.reset() !== undefined);
    expect(client.reset()).toEqual({ code: ResetCode.PEER_GONE, reason: "The hub hub-h holding the other end went away" });
    expect(connection.isOpen).toBe(false);
    // Two missed pings, at most three intervals.
    expect(Date.now() - startedAt).toBeLessThan(1000);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await new Promise((resolve) => hung.close(resolve));
  });
});

describe("peer authentication over a real socket", () => {
  it("refuses a hub with another CLUSTER_SECRET, saying so on the dialing side", async () => {
    const stranger = createPeerPool({
      selfHubId: "hub-x",
      clusterSecret: "f".repeat(64),
      connectionsPerPeer: 1,
      host: dialingHost,
      log,
    });
    extraPools.push(stranger);
    const failure = stranger.connectionTo({ hubId: "hub-b", peerUrl });
    await expect(failure).rejects.toThrow(/refused the peer connection with 401: .*CLUSTER_SECRET/);
    expect(acceptor.connections.size).toBe(0);
  });

  it("refuses a dial meant for another hub id (a stale registry record)", async () => {
    await expect(pool.connectionTo({ hubId: "hub-c", peerUrl })).rejects.toThrow(/401: This is hub hub-b, not hub-c/);
  });

  it("refuses no credentials and a replayed header", async () => {
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${peerUrl}/cluster`, { headers });
        ws.on("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on("open", () => {
          resolve(101);
          ws.close();
        });
        ws.on("error", reject);
      });
    expect(await status({})).toBe(401);
    const header = signPeerRequest({ fromHubId: "hub-a", toHubId: "hub-b", clusterSecret, now: Date.now() });
    expect(await status({ authorization: header })).toBe(101);
    expect(await status({ authorization: header })).toBe(401);
  });

  it("refuses a plain connection when mutual TLS is required", async () => {
    const tlsOnly = createPeerAcceptor({ selfHubId: "hub-b", clusterSecret, host: hubB, log, tls: { required: true } });
    server.removeAllListeners("upgrade");
    server.on("upgrade", (req, socket, head) => tlsOnly.handleUpgrade(req, socket, head));
    await expect(pool.connectionTo({ hubId: "hub-b", peerUrl })).rejects.toThrow(/403: .*HUB_PEER_TLS_CA/);
    tlsOnly.close();
  });
});
