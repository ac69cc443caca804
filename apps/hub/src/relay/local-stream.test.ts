import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, request } from "node:http";
import { type AddressInfo, connect } from "node:net";
import {
  decodeOpen,
  decodeReset,
  decodeWindow,
  encodeFrame,
  encodeOpen,
  encodeWindow,
  FRAME_HEADER_BYTES,
  FrameType,
  INITIAL_STREAM_WINDOW,
  LEGACY_MAX_STREAM_WINDOW,
  MAX_FRAME_PAYLOAD,
  ResetCode,
} from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { LocalStream, LocalStreamReset } from "./local-stream.js";
import { RelayStream, type StreamPeer } from "./relay-stream.js";

const KiB = 1024;
const AGENT_STREAM_ID = 2;

interface ReceivedFrame {
  type: number;
  payload: Buffer;
}

/** The exposing agent's end of the relay stream: records what the hub sends it, and can answer. */
class FakeAgent implements StreamPeer {
  readonly label = "fake agent";
  readonly maxStreamWindow = LEGACY_MAX_STREAM_WINDOW;
  readonly understandsDataFlags = false;
  readonly frames: ReceivedFrame[] = [];
  onFrame: ((frame: ReceivedFrame) => void) | undefined;
  stream!: RelayStream;

  sendFrame(frame: Buffer): void {
    const length = frame.readUInt32BE(6);
    // Copied: the hub may reuse the buffer it forwarded.
    const received = {
      type: frame[0] ?? 0,
      payload: Buffer.from(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length)),
    };
    this.frames.push(received);
    this.onFrame?.(received);
  }

  sendReset(_streamId: number, code: number, reason: string): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.frames.push({ type: FrameType.RST, payload });
  }

  detachStream(): void {}

  /** Sends a frame to the hub as the agent would; false when the relay refused it (flow control). */
  send(type: number, payload?: Buffer): boolean {
    const frame = encodeFrame(type as never, AGENT_STREAM_ID, payload);
    return this.stream.receive("server", type, payload?.length ?? 0, frame, 0);
  }

  bytesOf(type: number): number {
    return this.frames.filter((frame) => frame.type === type).reduce((sum, frame) => sum + frame.payload.length, 0);
  }

  data(): Buffer {
    return Buffer.concat(this.frames.filter((frame) => frame.type === FrameType.DATA).map((frame) => frame.payload));
  }

  windowGranted(): number {
    return this.frames
      .filter((frame) => frame.type === FrameType.WINDOW)
      .reduce((sum, frame) => sum + decodeWindow(frame.payload), 0);
  }
}

const streams: LocalStream[] = [];

/** A LocalStream wired to a fake agent through a real RelayStream, as RelayServer.openLocalStream does. */
function openPair(): {
  local: LocalStream;
  agent: FakeAgent;
  relay: RelayStream;
  open: ReceivedFrame | undefined;
  isClosed: () => boolean;
} {
  const local = new LocalStream("test link");
  streams.push(local);
  const agent = new FakeAgent();
  let isClosed = false;
  const relay = new RelayStream({ peer: local, id: local.id }, "svc", () => {
    isClosed = true;
  });
  agent.stream = relay;
  local.attach(relay);
  relay.openOn({ peer: agent, id: AGENT_STREAM_ID }, (maxWindow) => encodeOpen(AGENT_STREAM_ID, { service: "svc", maxWindow }));
  // The OPEN is checked once below; the other tests look at what follows it.
  const [open] = agent.frames.splice(0);
  return { local, agent, relay, open, isClosed: () => isClosed };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  for (const stream of streams.splice(0)) stream.destroy();
});

describe("LocalStream opening", () => {
  it("opens the agent's end with the service and the smaller of both ends' window limits", () => {
    const { open } = openPair();
    expect(open?.type).toBe(FrameType.OPEN);
    expect(decodeOpen(open?.payload ?? Buffer.alloc(0))).toEqual({ service: "svc", maxWindow: LEGACY_MAX_STREAM_WINDOW });
  });
});

describe("LocalStream writing (hub -> agent)", () => {
  it("sends no more than the agent's credit, and holds the writer until WINDOW arrives", async () => {
    const { local, agent } = openPair();
    const body = randomBytes(1024 * KiB);
    let isWritten = false;
    local.write(body, () => {
      isWritten = true;
    });
    await tick();
    expect(agent.bytesOf(FrameType.DATA)).toBe(INITIAL_STREAM_WINDOW);
    expect(isWritten).toBe(false);
    expect(Math.max(...agent.frames.map((frame) => frame.payload.length))).toBeLessThanOrEqual(MAX_FRAME_PAYLOAD);

    // Credit comes back in pieces; each piece lets exactly that much more through.
    agent.send(FrameType.WINDOW, encodeWindow(0, 100 * KiB).subarray(FRAME_HEADER_BYTES));
    await tick();
    expect(agent.bytesOf(FrameType.DATA)).toBe(INITIAL_STREAM_WINDOW + 100 * KiB);
    expect(isWritten).toBe(false);
    for (let round = 0; round < 10 && !isWritten; round++) {
      agent.send(FrameType.WINDOW, encodeWindow(0, INITIAL_STREAM_WINDOW).subarray(FRAME_HEADER_BYTES));
      await tick();
    }
    expect(isWritten).toBe(true);
    expect(agent.data().equals(body)).toBe(true);
  });

  it("signals backpressure to a piping source instead of buffering it", async () => {
    const { local, agent } = openPair();
    let accepted = 0;
    const chunk = randomBytes(64 * KiB);
    // Keep writing while write() says yes, as pipe() does.
    while (local.write(chunk)) {
      accepted += chunk.length;
      if (accepted > 64 * 1024 * KiB) break;
    }
    await tick();
    // One window sent, plus at most the Writable's high-water mark waiting: not the 64 MiB offered.
    expect(agent.bytesOf(FrameType.DATA)).toBe(INITIAL_STREAM_WINDOW);
    expect(accepted).toBeLessThan(INITIAL_STREAM_WINDOW + 2 * local.writableHighWaterMark + chunk.length);
    expect(local.writableLength).toBeLessThanOrEqual(accepted + chunk.length);
  });

  it("carries end() as FIN, and closes the relay stream once both directions finished", async () => {
    const { local, agent, isClosed } = openPair();
    local.end(Buffer.from("request"));
    await once(local, "finish");
    expect(agent.frames.map((frame) => frame.type)).toEqual([FrameType.DATA, FrameType.FIN]);
    expect(isClosed()).toBe(false);
    const chunks: Buffer[] = [];
    local.on("data", (chunk: Buffer) => chunks.push(chunk));
    agent.send(FrameType.DATA, Buffer.from("response"));
    agent.send(FrameType.FIN);
    await once(local, "end");
    expect(Buffer.concat(chunks).toString()).toBe("response");
    expect(isClosed()).toBe(true);
  });
});

describe("LocalStream reading (agent -> hub)", () => {
  it("grants credit only as the consumer reads, so a stalled reader stalls the agent", async () => {
    const { local, agent } = openPair();
    local.pause();
    const payload = randomBytes(MAX_FRAME_PAYLOAD);
    for (let sent = 0; sent < INITIAL_STREAM_WINDOW; sent += payload.length) {
      expect(agent.send(FrameType.DATA, payload)).toBe(true);
    }
    await tick();
    // Nobody reads: at most the Readable's own buffer was credited back, not the window.
    expect(agent.windowGranted()).toBeLessThanOrEqual(local.readableHighWaterMark);
    expect(local.queuedBytes + local.readableLength).toBe(INITIAL_STREAM_WINDOW);
    // The agent has no credit left beyond what was granted: one byte more breaks flow control.
    const credit = agent.windowGranted();
    if (credit > 0) expect(agent.send(FrameType.DATA, Buffer.alloc(credit))).toBe(true);
    expect(agent.send(FrameType.DATA, Buffer.alloc(1))).toBe(false);

    // Reading releases credit for what was read.
    let read = 0;
    local.on("data", (chunk: Buffer) => {
      read += chunk.length;
    });
    local.resume();
    await tick();
    await tick();
    expect(read).toBe(INITIAL_STREAM_WINDOW + credit);
    expect(agent.windowGranted()).toBeGreaterThanOrEqual(read - INITIAL_STREAM_WINDOW / 4);
    expect(agent.windowGranted()).toBeLessThanOrEqual(read);
  });

  it("streams far more than a window in order while holding at most a window", async () => {
    const { local, agent } = openPair();
    const total = 8 * 1024 * KiB;
    const source = randomBytes(total);
    let sent = 0;
    let credit = INITIAL_STREAM_WINDOW;
    let peakQueued = 0;
    // The agent sends whenever it has credit, as StreamBridge does.
    const pump = () => {
      while (sent < total && credit > 0) {
        const size = Math.min(MAX_FRAME_PAYLOAD, credit, total - sent);
        expect(agent.send(FrameType.DATA, source.subarray(sent, sent + size))).toBe(true);
        sent += size;
        credit -= size;
        peakQueued = Math.max(peakQueued, local.queuedBytes);
      }
      if (sent === total) agent.send(FrameType.FIN);
    };
    agent.onFrame = (frame) => {
      if (frame.type !== FrameType.WINDOW) return;
      credit += decodeWindow(frame.payload);
      setImmediate(pump);
    };
    const chunks: Buffer[] = [];
    // A slow consumer: one chunk per turn.
    local.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      local.pause();
      setImmediate(() => local.resume());
    });
    pump();
    await once(local, "end");
    expect(Buffer.concat(chunks).equals(source)).toBe(true);
    expect(peakQueued).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
  });
});

describe("LocalStream resets", () => {
  it("turns the agent's RST into an error carrying its code and reason", async () => {
    const { local, agent, isClosed } = openPair();
    const payload = Buffer.alloc(2 + 14);
    payload.writeUInt16BE(ResetCode.CONNECT_FAILED, 0);
    payload.write("ECONNREFUSED!!", 2);
    agent.send(FrameType.RST, payload);
    const [error] = (await once(local, "error")) as [LocalStreamReset];
    expect(error).toBeInstanceOf(LocalStreamReset);
    expect(error.code).toBe(ResetCode.CONNECT_FAILED);
    expect(error.message).toBe("ECONNREFUSED!!");
    expect(isClosed()).toBe(true);
    // The agent's own RST is not echoed back to it.
    expect(agent.frames.filter((frame) => frame.type === FrameType.RST)).toEqual([]);
  });

  it("abort() resets the agent's end with the given code (a revocation), and errors the Duplex", async () => {
    const { local, agent, isClosed } = openPair();
    local.on("error", () => {});
    local.abort(ResetCode.REVOKED, "The link was revoked");
    await tick();
    const resets = agent.frames.filter((frame) => frame.type === FrameType.RST).map((frame) => decodeReset(frame.payload));
    expect(resets).toEqual([{ code: ResetCode.REVOKED, reason: "The link was revoked" }]);
    expect(isClosed()).toBe(true);
    expect(local.destroyed).toBe(true);
  });

  it("destroy() before both directions ended cancels the agent's end; a relay reset destroys the Duplex", async () => {
    const first = openPair();
    first.local.destroy();
    await tick();
    expect(first.agent.frames.map((frame) => frame.type)).toEqual([FrameType.RST]);
    expect(decodeReset(first.agent.frames[0]?.payload ?? Buffer.alloc(2)).code).toBe(ResetCode.CANCELLED);
    expect(first.isClosed()).toBe(true);

    const second = openPair();
    const failed = once(second.local, "error");
    second.relay.reset(ResetCode.PEER_GONE, "The exposing agent disconnected");
    const [error] = (await failed) as [LocalStreamReset];
    expect(error.code).toBe(ResetCode.PEER_GONE);
    // Exactly one RST reached the agent (the relay's), none echoed by the LocalStream.
    expect(second.agent.frames.filter((frame) => frame.type === FrameType.RST)).toHaveLength(1);
  });

  it("fails a write that waits for credit when the stream is reset", async () => {
    const { local, agent } = openPair();
    local.on("error", () => {});
    const written = new Promise<Error | null | undefined>((resolve) =>
      local.write(randomBytes(INITIAL_STREAM_WINDOW + 1), resolve),
    );
    await tick();
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(ResetCode.PEER_GONE, 0);
    agent.send(FrameType.RST, payload);
    expect(await written).toBeInstanceOf(Error);
  });
});

describe("LocalStream as an HTTP connection", () => {
  let closeServer: (() => void) | undefined;
  afterEach(() => closeServer?.());

  it("carries an http.request through a relay stream to a real HTTP server and back", async () => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        res.setHeader("set-cookie", ["a=1", "b=2"]);
        res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).length}`);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    closeServer = () => server.close();
    const { port } = server.address() as AddressInfo;

    // The "agent" dials the server and bridges frames to the TCP socket, obeying credit.
    const { local, agent } = openPair();
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    let credit = INITIAL_STREAM_WINDOW;
    const backlog: Buffer[] = [];
    const flush = () => {
      while (backlog.length > 0 && credit > 0) {
        const head = backlog[0] as Buffer;
        const size = Math.min(head.length, credit, MAX_FRAME_PAYLOAD);
        agent.send(FrameType.DATA, head.subarray(0, size));
        credit -= size;
        if (size === head.length) backlog.shift();
        else backlog[0] = head.subarray(size);
      }
    };
    socket.on("data", (chunk: Buffer) => {
      backlog.push(chunk);
      flush();
    });
    socket.on("end", () => agent.send(FrameType.FIN));
    agent.onFrame = (frame) => {
      if (frame.type === FrameType.DATA) {
        socket.write(frame.payload);
        agent.send(FrameType.WINDOW, encodeWindow(0, frame.payload.length).subarray(FRAME_HEADER_BYTES));
      } else if (frame.type === FrameType.WINDOW) {
        credit += decodeWindow(frame.payload);
        flush();
      } else if (frame.type === FrameType.FIN) socket.end();
    };

    const body = randomBytes(600 * KiB);
    const req = request({ method: "POST", path: "/upload?x=1", headers: ["host", "svc"], createConnection: () => local });
    req.end(body);
    const [res] = (await once(req, "response")) as [import("node:http").IncomingMessage];
    const text = await new Promise<string>((resolve) => {
      let out = "";
      res.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
      });
      res.on("end", () => resolve(out));
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(text).toBe(`POST /upload?x=1 ${body.length}`);
    socket.destroy();
  });
});
