// A man in the middle between agents and the real hub, for the end-to-end encryption tests: an
// HTTP + WebSocket proxy on loopback that forwards everything, and on command does what a
// compromised hub could: read every relayed byte, lie in services.resolve, strip the end-to-end
// handshake, alter a DATA frame, and replay a recorded stream to the exposing agent. It speaks
// the relay's wire format through @private-connect/protocol's codec, as the hub does.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type net from "node:net";
import type { Duplex } from "node:stream";
import { answerStreamHandshake, generateKeyPair, type RawKeyPair, type RecordOpener } from "@private-connect/agent/e2e";
import {
  decodeControl,
  decodeOpen,
  E2E_FEATURE,
  encodeControl,
  encodeE2ePublicKey,
  encodeFrame,
  encodeOpen,
  encodeOpenOk,
  FRAME_HEADER_BYTES,
  FrameType,
  type FrameTypeValue,
  forEachFrame,
  INITIAL_STREAM_WINDOW,
  MAX_WS_MESSAGE_BYTES,
} from "@private-connect/protocol";
import WebSocket, { WebSocketServer } from "ws";
import { LOOPBACK } from "./net.ts";

/** "toHub": what an agent sent; "fromHub": what the hub sent it. */
export type Direction = "toHub" | "fromHub";

export interface RecordedFrame {
  /** The relay connection, numbered from 1 in the order agents connected through the proxy. */
  connection: number;
  /** The agent's label, as the hub's welcome named it (empty before the welcome). */
  label: string;
  direction: Direction;
  type: FrameTypeValue;
  streamId: number;
  flags: number;
  payload: Buffer;
}

/** What services.resolve returned, as far as these tests rewrite it. */
export interface ResolvedService {
  agent: { id: string; label: string; workspaceId: string };
  e2e: { policy: string; publicKey: string | null };
  [field: string]: unknown;
}

export interface ReplayedStream {
  streamId: number;
  /** Frames the exposing agent sent back for the injected stream (kept from the hub). */
  replies: RecordedFrame[];
  /** Resolves with the exposing agent's RST or FIN for the stream, or null after `timeoutMs`. */
  settled: Promise<RecordedFrame | null>;
}

export interface HostileHub {
  /** http://127.0.0.1:PORT: the --hub the agents are given. */
  url: string;
  port: number;
  /** Starts (or stops) keeping every binary WebSocket message and its frames. */
  setRecording(isRecording: boolean): void;
  /** Every binary WebSocket message payload recorded so far in that direction (both when omitted), concatenated. */
  recordedBytes(direction?: Direction): Buffer;
  /** Every frame recorded so far, in order. */
  recordedFrames(): RecordedFrame[];
  /** Rewrites the data of every services.resolve answer from now on; undefined: pass them unchanged. */
  rewriteResolve(rewrite: ((data: ResolvedService) => ResolvedService) | undefined): void;
  /** services.resolve answers carry `publicKey` as the exposing agent's key from now on. */
  swapResolvedKey(publicKey: string): void;
  /** How many services.resolve answers the proxy rewrote. */
  readonly rewrittenResolves: number;
  /** From now on: the e2e feature is cut from welcomes and the handshake from every OPEN. */
  stripEndToEnd(isStripping: boolean): void;
  /**
   * The full man in the middle: from now on every end-to-end OPEN an agent sends is answered by
   * the proxy itself, with a handshake of `impostor`'s key (the one swapResolvedKey hands out),
   * instead of reaching the hub; whatever the agent then sends on that stream is decrypted into
   * stolenPlaintext(). Agents that accept the answer have given a compromised hub their bytes.
   */
  impersonateExposers(impostor: RawKeyPair): void;
  /** Every plaintext the proxy decrypted while impersonating, concatenated. */
  stolenPlaintext(): Buffer;
  /** OPENs the proxy answered itself while impersonating. */
  readonly impersonatedOpens: number;
  /** Flips one byte of the next non-empty DATA payload `label`'s agent sends; resolves with that frame. */
  flipNextDataByte(label: string): Promise<RecordedFrame>;
  /**
   * Sends the recorded OPEN, DATA and FIN frames the hub sent `label`'s agent for `streamId` to
   * that agent again, as a new stream on its current connection; its answers never reach the hub.
   */
  replayStream(label: string, streamId: number, timeoutMs?: number): ReplayedStream;
  /** Cuts every relay connection, as a network drop would: the agents reconnect through the proxy. */
  dropConnections(): void;
  close(): Promise<void>;
}

/** A fresh X25519 key pair for the proxy to impersonate agents with, and its public half as text. */
export function makeImpostorKeyPair(): { pair: RawKeyPair; publicKey: string } {
  const pair = generateKeyPair();
  return { pair, publicKey: encodeE2ePublicKey(pair.publicKey) };
}

/** A fresh X25519 public key in the hub's text form (pcpk_...), whose private half nobody keeps. */
export function makeImpostorKey(): string {
  const { publicKey } = generateKeyPairSync("x25519");
  const { x } = publicKey.export({ format: "jwk" });
  if (typeof x !== "string") throw new Error("x25519 key without an x coordinate");
  return encodeE2ePublicKey(Buffer.from(x, "base64url"));
}

interface Link {
  id: number;
  label: string;
  /** Who the hub's welcome said the agent is. */
  agentId: string;
  workspaceId: string;
  /** Streams the proxy answered itself, and how to open what the agent sends on them. */
  impersonated: Map<number, RecordOpener>;
  agent: WebSocket;
  hub: WebSocket;
  /** Stream ids the proxy injected toward the agent, and who waits for their answers. */
  injected: Map<number, { replies: RecordedFrame[]; onSettled(frame: RecordedFrame): void }>;
}

const RESOLVE_PATH = "/trpc/services.resolve";
/** Hub-opened streams are even; injected ones count down from the top so they never meet the hub's. */
const FIRST_INJECTED_STREAM_ID = 0x7fff_fff0;

export async function startHostileHub(hubUrl: string): Promise<HostileHub> {
  const hub = new URL(hubUrl);
  const links = new Set<Link>();
  let linkCount = 0;
  let isRecording = false;
  const recorded: { direction: Direction; bytes: Buffer }[] = [];
  const frames: RecordedFrame[] = [];
  let resolveRewrite: ((data: ResolvedService) => ResolvedService) | undefined;
  let rewrittenResolves = 0;
  let isStripping = false;
  let pendingFlip: { label: string; resolve(frame: RecordedFrame): void } | undefined;
  let nextInjectedId = FIRST_INJECTED_STREAM_ID;
  let impostor: RawKeyPair | undefined;
  let impersonatedOpens = 0;
  const stolen: Buffer[] = [];
  /** The workspace of each agent a services.resolve named: what a forged handshake must bind. */
  const resolvedWorkspaces = new Map<string, string>();

  /** Answers an agent's end-to-end OPEN as if the proxy were the exposing agent; false if it cannot. */
  function impersonate(link: Link, streamId: number, payload: Buffer, key: RawKeyPair): boolean {
    const request = decodeOpen(payload);
    const exposerId = request.e2e?.to;
    if (request.e2e === undefined || exposerId === undefined) return false;
    const exposerWorkspace = resolvedWorkspaces.get(exposerId) ?? link.workspaceId;
    let answered: ReturnType<typeof answerStreamHandshake>;
    try {
      answered = answerStreamHandshake({
        local: key,
        firstMessage: Buffer.from(request.e2e.handshake, "base64url"),
        parties: {
          reacher: { agentId: link.agentId, workspaceId: link.workspaceId },
          exposer: { agentId: exposerId, workspaceId: exposerWorkspace },
          service: request.service,
        },
      });
    } catch {
      return false;
    }
    impersonatedOpens += 1;
    link.impersonated.set(streamId, answered.ciphers.receive);
    link.agent.send(encodeOpenOk(streamId, INITIAL_STREAM_WINDOW, answered.answer), { binary: true });
    return true;
  }

  /** Rewrites one frame as the current attack says; returns the frame to forward, or null to drop it. */
  function transformFrame(link: Link, direction: Direction, frame: RecordedFrame, raw: Buffer): Buffer | null {
    const { type, streamId, payload } = frame;
    if (direction === "toHub" && link.impersonated.has(streamId)) {
      if (type === FrameType.DATA && payload.length > 0) {
        try {
          stolen.push(link.impersonated.get(streamId)?.open(Buffer.from(payload)) ?? Buffer.alloc(0));
        } catch {
          // Not a record the forged handshake's keys open: nothing stolen.
        }
      }
      if (type === FrameType.RST) link.impersonated.delete(streamId);
      return null;
    }
    if (
      direction === "toHub" &&
      type === FrameType.OPEN &&
      impostor !== undefined &&
      impersonate(link, streamId, payload, impostor)
    ) {
      return null;
    }
    if (direction === "toHub" && link.injected.has(streamId)) {
      const waiter = link.injected.get(streamId);
      waiter?.replies.push(frame);
      if (type === FrameType.RST || type === FrameType.FIN) waiter?.onSettled(frame);
      return null;
    }
    if (type === FrameType.CONTROL && direction === "fromHub") {
      const message = decodeControl(payload);
      if (message.type !== "welcome") return raw;
      link.label = message.label;
      link.agentId = message.agentId;
      link.workspaceId = message.workspaceId;
      if (!isStripping) return raw;
      return encodeControl({ ...message, features: (message.features ?? []).filter((f) => f !== E2E_FEATURE) });
    }
    if (type === FrameType.OPEN && isStripping) {
      const { e2e: _stripped, ...request } = decodeOpen(payload);
      return encodeOpen(streamId, request);
    }
    if (type === FrameType.DATA && direction === "toHub" && payload.length > 0 && pendingFlip?.label === link.label) {
      const altered = Buffer.from(raw);
      const middle = FRAME_HEADER_BYTES + Math.floor(payload.length / 2);
      altered[middle] = (altered[middle] as number) ^ 0x01;
      pendingFlip.resolve(frame);
      pendingFlip = undefined;
      return altered;
    }
    return raw;
  }

  /** One WebSocket message from one side: recorded, taken apart, attacked, put back together. */
  function relayMessage(link: Link, direction: Direction, message: Buffer): void {
    const target = direction === "toHub" ? link.hub : link.agent;
    if (isRecording) recorded.push({ direction, bytes: Buffer.from(message) });
    const out: Buffer[] = [];
    let isChanged = false;
    try {
      forEachFrame(message, (type, streamId, payload, offset, flags) => {
        const frame: RecordedFrame = { connection: link.id, label: link.label, direction, type, streamId, flags, payload };
        const raw = message.subarray(offset, offset + FRAME_HEADER_BYTES + payload.length);
        const forwarded = transformFrame(link, direction, frame, raw);
        if (isRecording) frames.push({ ...frame, payload: Buffer.from(payload) });
        if (forwarded !== raw) isChanged = true;
        if (forwarded !== null) out.push(forwarded);
      });
    } catch {
      // Not ours to judge: the real peer sees the malformed message and closes.
      out.length = 0;
      out.push(message);
      isChanged = false;
    }
    if (target.readyState !== WebSocket.OPEN) return;
    if (!isChanged) target.send(message, { binary: true });
    else if (out.length > 0) target.send(Buffer.concat(out), { binary: true });
  }

  function replayStream(label: string, streamId: number, timeoutMs = 15_000): ReplayedStream {
    const link = [...links].reverse().find((l) => l.label === label);
    if (link === undefined) throw new Error(`no relay connection of ${label} through the proxy`);
    const sources = frames.filter(
      (f) =>
        f.label === label &&
        f.direction === "fromHub" &&
        f.streamId === streamId &&
        (f.type === FrameType.OPEN || f.type === FrameType.DATA || f.type === FrameType.FIN),
    );
    if (!sources.some((f) => f.type === FrameType.OPEN)) throw new Error(`no recorded OPEN of stream ${streamId} to ${label}`);
    const newId = nextInjectedId;
    nextInjectedId -= 2;
    const replies: RecordedFrame[] = [];
    let settle: (frame: RecordedFrame | null) => void = () => {};
    const settled = new Promise<RecordedFrame | null>((resolve) => {
      settle = resolve;
    });
    const timer = setTimeout(() => settle(null), timeoutMs);
    link.injected.set(newId, {
      replies,
      onSettled: (frame) => {
        clearTimeout(timer);
        settle(frame);
      },
    });
    for (const source of sources) {
      const frame = encodeFrame(source.type, newId, source.payload);
      frame[1] = source.flags;
      link.agent.send(frame, { binary: true });
    }
    return { streamId: newId, replies, settled };
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES, perMessageDeflate: false });

  /** An agent's relay upgrade: dial the hub with the same credentials, and join the two when it accepts. */
  function proxyUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "user-agent"]) {
      const value = request.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const upstream = new WebSocket(`ws://${hub.host}${request.url ?? "/relay"}`, {
      headers,
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE_BYTES,
    });
    const early: Buffer[] = [];
    let link: Link | undefined;
    upstream.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) return;
      if (link === undefined) early.push(data);
      else relayMessage(link, "fromHub", data);
    });
    upstream.on("error", () => socket.destroy());
    // The hub refused the upgrade (a bad token, say): the agent must see the same answer.
    upstream.on("unexpected-response", (_req, response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.on("end", () => {
        const body = Buffer.concat(chunks);
        socket.end(
          `HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\nContent-Type: ${response.headers["content-type"] ?? "text/plain"}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString("utf8")}`,
        );
      });
    });
    upstream.on("open", () => {
      wss.handleUpgrade(request, socket, head, (agent) => {
        linkCount += 1;
        const joined: Link = {
          id: linkCount,
          label: "",
          agentId: "",
          workspaceId: "",
          impersonated: new Map(),
          agent,
          hub: upstream,
          injected: new Map(),
        };
        link = joined;
        links.add(joined);
        agent.on("message", (data: Buffer, isBinary) => {
          if (isBinary) relayMessage(joined, "toHub", data);
        });
        const closeBoth = (code: number, reason: Buffer) => {
          links.delete(joined);
          for (const ws of [agent, upstream]) {
            if (ws.readyState === WebSocket.OPEN) {
              if (code >= 1000 && code !== 1005 && code !== 1006) ws.close(code, reason);
              else ws.terminate();
            }
          }
        };
        agent.on("close", closeBoth);
        upstream.on("close", closeBoth);
        agent.on("error", () => agent.terminate());
        for (const message of early.splice(0)) relayMessage(joined, "fromHub", message);
      });
    });
  }

  /** Plain HTTP (tRPC, REST): passed through, except services.resolve answers while a rewrite is set. */
  function proxyRequest(request: http.IncomingMessage, response: http.ServerResponse): void {
    const isResolve = (request.url ?? "").startsWith(RESOLVE_PATH);
    const headers = { ...request.headers, host: hub.host };
    // Answers stay uncompressed, so a resolve answer can be read and rewritten.
    delete headers["accept-encoding"];
    const upstream = http.request(
      { host: hub.hostname, port: hub.port, method: request.method, path: request.url, headers },
      (answer) => {
        const rewrite = resolveRewrite;
        if (!isResolve || rewrite === undefined || answer.statusCode !== 200) {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { result: { data: ResolvedService } };
          resolvedWorkspaces.set(body.result.data.agent.id, body.result.data.agent.workspaceId);
          body.result.data = rewrite(body.result.data);
          rewrittenResolves += 1;
          const text = Buffer.from(JSON.stringify(body), "utf8");
          const { "content-length": _length, "transfer-encoding": _encoding, ...kept } = answer.headers;
          response.writeHead(200, { ...kept, "content-length": text.length });
          response.end(text);
        });
      },
    );
    upstream.on("error", () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  }

  const server = http.createServer(proxyRequest);
  server.on("upgrade", proxyUpgrade);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    setRecording(value) {
      isRecording = value;
    },
    recordedBytes: (direction) =>
      Buffer.concat(recorded.filter((r) => direction === undefined || r.direction === direction).map((r) => r.bytes)),
    recordedFrames: () => [...frames],
    rewriteResolve(rewrite) {
      resolveRewrite = rewrite;
    },
    swapResolvedKey(publicKey) {
      resolveRewrite = (data) => ({ ...data, e2e: { ...data.e2e, publicKey } });
    },
    get rewrittenResolves() {
      return rewrittenResolves;
    },
    stripEndToEnd(value) {
      isStripping = value;
    },
    impersonateExposers(key) {
      impostor = key;
    },
    stolenPlaintext: () => Buffer.concat(stolen),
    get impersonatedOpens() {
      return impersonatedOpens;
    },
    flipNextDataByte: (label) =>
      new Promise<RecordedFrame>((resolve) => {
        pendingFlip = { label, resolve };
      }),
    replayStream,
    dropConnections() {
      for (const link of [...links]) {
        link.agent.terminate();
        link.hub.terminate();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) {
          link.agent.terminate();
          link.hub.terminate();
        }
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
