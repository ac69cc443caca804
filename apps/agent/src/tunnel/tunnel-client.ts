import { randomUUID } from "node:crypto";
import { connect as connectTcp, type Socket } from "node:net";
import {
  AGENT_REVOKED_ERROR_CODE,
  AGENT_REVOKED_MESSAGE_PREFIX,
  CloseCode,
  decodeControl,
  decodeOpen,
  decodeOpenOk,
  decodeReset,
  decodeWindow,
  E2E_FEATURE,
  encodeAgentOpenOk,
  encodeControl,
  encodeOpen,
  encodeReset,
  FrameType,
  type FrameTypeValue,
  forEachFrame,
  isFatalCloseCode,
  MAX_STREAM_WINDOW,
  MAX_WS_MESSAGE_BYTES,
  type NoticeMessage,
  type OpenRequest,
  PROTOCOL_VERSIONS,
  PrioritizedFrameWriter,
  ProtocolError,
  ResetCode,
} from "@private-connect/protocol";
import WebSocket from "ws";
import { AGENT_VERSION } from "../version.js";
import { Backoff } from "./backoff.js";
import { readRelayRefusal } from "./relay-refusal.js";
import { type FrameSink, StreamBridge } from "./stream-bridge.js";
import { HandshakeRefused, type StreamCiphers } from "./stream-cipher.js";

export type TunnelState = "connecting" | "connected" | "disconnected" | "closed";

export interface WelcomeInfo {
  agentId: string;
  workspaceId: string;
  label: string;
  tokenExpiresAt: string;
  protocolVersion: number;
  /** The hub's version, from its welcome; older hubs do not send it. */
  hubVersion?: string;
  /** Whether the hub carries end-to-end handshakes (older hubs drop them). */
  relaysEndToEnd: boolean;
}

/**
 * The reaching side of an end-to-end stream: the first handshake message (it goes with the
 * OPEN), and how to finish the handshake with the exposing agent's answer (from OPEN_OK).
 * `finish` throws when the answer does not complete the handshake.
 */
export interface InitiatorHandshake {
  /** The exposing agent the handshake is for; the hub refuses it if another one serves the service now. */
  to: string;
  firstMessage: Buffer;
  finish(answer: Buffer): StreamCiphers;
}

/** How the exposing agent answers an OPEN: serve it in plaintext, end-to-end, or refuse it. */
export type OpenAdmission =
  | { kind: "plaintext" }
  | { kind: "e2e"; answer: Buffer; ciphers: StreamCiphers }
  | { kind: "refuse"; code: number; reason: string };

export interface TunnelTarget {
  host: string;
  port: number;
}

export interface TunnelOptions {
  /** http(s)://host:port of the hub; the relay lives at ws(s)://host:port/relay. */
  hubUrl: string;
  /** The agent token for the next connection; setToken() replaces it after a rotation. */
  token: string;
  /** The exposures this agent registered. The hub only names a service, never a host. */
  resolveTarget(serviceName: string): TunnelTarget | undefined;
  onStateChange?(state: TunnelState, detail?: { reason?: string }): void;
  /**
   * The hub refused us in a way retrying cannot fix (bad or expired token, agent revoked). The
   * error is a TunnelFatalError: its `code` says which, when the hub said.
   */
  onFatal?(error: TunnelFatalError): void;
  onNotice?(notice: NoticeMessage): void;
  /** Sent in the hello (and the user agent); default: this package's version. */
  agentVersion?: string;
  /** How often to ping the hub; a hub silent for two intervals is considered gone. */
  heartbeatMs?: number;
  /**
   * The hub reset a stream this agent opened: refused at open (not found, limited, database
   * unavailable...) or cut later (share revoked, exposing agent gone). The local connection is
   * already closed; this is for telling a person why.
   */
  onStreamReset?(event: { service: string; from?: string; code: number; reason: string; wasOpened: boolean }): void;
  /**
   * A stream the hub opened to a service this agent exposes could not reach its target (the
   * target refused, or its name did not resolve). The hub has been told; this is for telling the
   * person who runs this agent, who is the one able to fix it.
   */
  onTargetFailure?(event: { service: string; host: string; port: number; code: string }): void;
  /**
   * Decides, before anything is dialed, whether an OPEN for a service this agent exposes is served
   * in plaintext or end to end (answering its handshake), or refused (a policy or a pin says no).
   * Without it, plaintext OPENs are served and end-to-end ones refused.
   */
  admitOpen?(request: OpenRequest): OpenAdmission;
  /** An end-to-end stream this agent reached failed its handshake or a record: for telling a person. */
  onEndToEndFailure?(event: { service: string; from?: string; reason: string }): void;
  /**
   * A stream this agent opened got the hub's answer: OPEN_OK (no refusal) or a reset before it
   * opened. `elapsedMs` runs from sending the OPEN, so `connect check` can say how long opening
   * took through the hub; `socket` is the local connection the stream was opened for.
   */
  onStreamAnswered?(event: StreamAnswer): void;
  backoff?: Backoff;
}

/** How the hub answered one stream open; see TunnelOptions.onStreamAnswered. */
export interface StreamAnswer {
  socket: Socket;
  service: string;
  from?: string;
  elapsedMs: number;
  refusal?: { code: number; reason: string };
}

/**
 * Why the tunnel gave up for good. `code` is the hub's control error code when it sent one
 * ("agent_revoked", "token_expired"...), so callers can tell a revoked agent from an expired token.
 */
export class TunnelFatalError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "TunnelFatalError";
  }
}

/** The hub's control error code for a revoked agent, re-exported for the SDK (it is the protocol's). */
export { AGENT_REVOKED_ERROR_CODE };

export function isAgentRevokedMessage(message: string): boolean {
  return message.startsWith(AGENT_REVOKED_MESSAGE_PREFIX);
}

export function isAgentRevokedError(error: unknown): error is TunnelFatalError {
  return error instanceof TunnelFatalError && error.code === AGENT_REVOKED_ERROR_CODE;
}

interface ConnectedWaiter {
  resolve(info: WelcomeInfo): void;
  reject(error: Error): void;
}

/**
 * Where the sockets this agent dials for its exposed services read into: one buffer for all,
 * which is safe because each read is handed on (copied into the outgoing batch) before the
 * next socket's read runs, and saves an allocation per read (StreamBridge.receiveBorrowedRead).
 */
const sharedReadBuffer = Buffer.allocUnsafe(64 * 1024);

/** After another process with this agent's token took over, how long until this one tries again. */
const REPLACED_RETRY_MS = 60_000;
const REPLACED_MESSAGE =
  "Another process connected to the hub with this agent's token and replaced this one; trying again in a minute. If that was not you, rotate the token with connect up --rotate-token";

/** Once a connection has lasted this long, the next drop starts the backoff afresh. */
const STABLE_CONNECTION_MS = 10_000;

export function relayUrlFor(hubUrl: string): string {
  const url = new URL(hubUrl);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/relay`;
  url.search = "";
  return url.toString();
}

/**
 * The agent's single connection to the hub: it multiplexes every relayed TCP stream of
 * this agent (the ones it reaches and the ones it serves) over one WebSocket, and keeps
 * that connection alive, reconnecting with backoff until closed.
 */
export class TunnelClient {
  private ws: WebSocket | undefined;
  private currentState: TunnelState = "disconnected";
  /**
   * Streams this agent opened (odd ids), for saying which service a reset concerned; `sentAt`
   * (when the OPEN left) times the hub's answer for onStreamAnswered.
   */
  private readonly openedStreams = new Map<
    number,
    { service: string; from?: string; wasOpened: boolean; sentAt: number; handshake?: InitiatorHandshake | undefined }
  >();
  /** Streams the hub opened to services this agent exposes (even ids): which service each is. */
  private readonly servedServices = new Map<number, string>();
  private welcomeInfo: WelcomeInfo | undefined;
  private readonly streams = new Map<number, StreamBridge>();
  /** Bridges given DATA by the message being read; uncorked once it is done. */
  private readonly corked: StreamBridge[] = [];
  private nextStreamId = 1;
  private readonly backoff: Backoff;
  /** Sent in every hello: the same across this client's reconnects, another for any other process. */
  private readonly instance = randomUUID();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private isPeerAlive = true;
  private isClosing = false;
  private lastError: Error | undefined;
  /** The code of the hub's last control error on this connection ("token_expired"...). */
  private lastErrorCode: string | undefined;
  private fatalError: TunnelFatalError | undefined;
  private token: string;
  /** The token the current connection authenticated with. */
  private connectedToken: string | undefined;
  private waiters: ConnectedWaiter[] = [];
  /** Batches this connection's outgoing frames; replaced with each connection. */
  private writer: PrioritizedFrameWriter | undefined;
  private readonly sink: FrameSink = {
    send: (frame) => this.send(frame),
    sendData: (streamId, payload, second, third) => {
      if (this.ws?.readyState === WebSocket.OPEN) this.writer?.writeData(streamId, payload, second, third);
    },
    onEndToEndFailure: (streamId, reason) => {
      const opened = this.openedStreams.get(streamId);
      const service = opened?.service ?? this.servedServices.get(streamId) ?? "";
      this.options.onEndToEndFailure?.({
        service,
        ...(opened?.from === undefined ? {} : { from: opened.from }),
        reason: `${service === "" ? "" : `${service}: `}${reason}`,
      });
    },
  };

  constructor(private readonly options: TunnelOptions) {
    this.backoff = options.backoff ?? new Backoff();
    this.token = options.token;
  }

  /**
   * Uses `token` from the next connection on. The open connection is left alone, so a rotation
   * drops no stream; if the hub later ends it because the old token expired, the tunnel
   * reconnects with this one instead of giving up.
   */
  setToken(token: string): void {
    this.token = token;
  }

  get state(): TunnelState {
    return this.currentState;
  }

  private get agentVersion(): string {
    return this.options.agentVersion ?? AGENT_VERSION;
  }

  get welcome(): WelcomeInfo | undefined {
    return this.currentState === "connected" ? this.welcomeInfo : undefined;
  }

  /** Why the last attempt failed, for status output while disconnected. */
  get lastFailure(): string | undefined {
    return (this.fatalError ?? this.lastError)?.message;
  }

  activeStreams(): number {
    return this.streams.size;
  }

  start(): void {
    if (this.ws || this.isClosing) return;
    this.connect();
  }

  waitConnected(timeoutMs: number): Promise<WelcomeInfo> {
    if (this.currentState === "connected" && this.welcomeInfo) return Promise.resolve(this.welcomeInfo);
    if (this.fatalError) return Promise.reject(this.fatalError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const cause = this.lastError ? `: ${this.lastError.message}` : "";
        reject(new Error(`Cannot reach the hub at ${this.options.hubUrl}${cause}`));
      }, timeoutMs);
      const waiter: ConnectedWaiter = {
        resolve: (info) => {
          clearTimeout(timer);
          resolve(info);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Relays one accepted local connection to `request.service`. Bytes the client sends
   * right away travel with the OPEN (up to the initial window), so protocols whose client
   * speaks first work. Without a hub connection the socket is reset at once rather than
   * left hanging. With `handshake` the stream is end-to-end encrypted: its first message goes
   * with the OPEN, and the client's bytes wait (one read's worth) until the answer comes back.
   */
  openStream(socket: Socket, request: { service: string; from?: string }, handshake?: InitiatorHandshake): void {
    if (this.currentState !== "connected") {
      this.options.onStreamAnswered?.({
        socket,
        ...request,
        elapsedMs: 0,
        refusal: { code: ResetCode.UNAVAILABLE, reason: `This agent is not connected to the hub (${this.currentState})` },
      });
      socket.on("error", () => {});
      socket.resetAndDestroy();
      return;
    }
    const id = this.allocateStreamId();
    const open: OpenRequest =
      handshake === undefined
        ? request
        : { ...request, e2e: { to: handshake.to, handshake: handshake.firstMessage.toString("base64url") } };
    this.send(encodeOpen(id, open));
    const bridge = this.addBridge(id, socket);
    if (handshake !== undefined) bridge.awaitHandshake();
    this.openedStreams.set(id, { ...request, wasOpened: false, sentAt: performance.now(), handshake });
  }

  async close(): Promise<void> {
    this.isClosing = true;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      this.writer?.flush();
      await new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.close(CloseCode.NORMAL, "agent stopping");
        setTimeout(() => ws.terminate(), 2_000).unref();
      });
    }
    this.setState("closed");
  }

  private allocateStreamId(): number {
    const id = this.nextStreamId;
    // Agent-opened streams are odd, hub-opened ones even, so the two never collide.
    this.nextStreamId = this.nextStreamId >= 0x7fff_fffd ? 1 : this.nextStreamId + 2;
    return id;
  }

  private addBridge(id: number, socket: Socket): StreamBridge {
    const bridge = new StreamBridge(id, socket, this.sink, (closed) => {
      if (this.streams.get(closed.id) === closed) {
        this.streams.delete(closed.id);
        this.openedStreams.delete(closed.id);
        this.servedServices.delete(closed.id);
        // The one stream left has the connection to itself again.
        if (this.streams.size === 1) for (const alone of this.streams.values()) alone.setSharingConnection(false);
      }
    });
    this.streams.set(id, bridge);
    // Only the change from one stream to two (or back) changes anyone's window limit.
    if (this.streams.size === 2) for (const other of this.streams.values()) other.setSharingConnection(true);
    else if (this.streams.size > 2) bridge.setSharingConnection(true);
    return bridge;
  }

  private connect(): void {
    this.setState("connecting");
    let refusal: { status: number; message: string } | undefined;
    const token = this.token;
    this.connectedToken = token;
    const ws = new WebSocket(relayUrlFor(this.options.hubUrl), {
      headers: {
        authorization: `Bearer ${token}`,
        "user-agent": `private-connect-agent/${this.agentVersion}`,
      },
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      // Masking exists to stop a browser's script from steering bytes seen by proxies on
      // the path; this client is no browser and its payload is not script-controlled in
      // that sense, so an all-zero mask saves a copy of every byte we send.
      generateMask: (mask) => mask.fill(0),
    });
    this.ws = ws;
    // Two lanes: a ping or a query beside a bulk transfer leaves ahead of the turn's bulk data.
    const writer = new PrioritizedFrameWriter((batch, written) => {
      // The callback comes once the bytes are with the kernel: only then may the writer reuse
      // the memory. After an error the connection is gone and the writer with it.
      if (ws.readyState === WebSocket.OPEN)
        ws.send(batch, (error) => {
          if (!error) written();
        });
    });
    this.writer = writer;
    ws.binaryType = "nodebuffer";
    ws.on("unexpected-response", (request, response) => {
      void readRelayRefusal(response).then((answer) => {
        refusal = answer;
        request.destroy();
        ws.terminate();
      });
    });
    ws.on("open", () => {
      // From the first moment, not from the welcome: a link that stalls right after the
      // upgrade must be noticed and redialed too, not wait forever for a welcome.
      this.startHeartbeat();
      ws.send(
        encodeControl({
          type: "hello",
          versions: [...PROTOCOL_VERSIONS],
          agentVersion: this.agentVersion,
          maxStreamWindow: MAX_STREAM_WINDOW,
          instance: this.instance,
        }),
      );
    });
    ws.on("message", (data, isBinary) => {
      this.isPeerAlive = true;
      if (!isBinary || !Buffer.isBuffer(data)) {
        this.failProtocol(ws, "text message on the relay");
        return;
      }
      this.receiveMessage(ws, data);
    });
    ws.on("pong", () => {
      this.isPeerAlive = true;
    });
    ws.on("error", (error) => {
      this.lastError = error;
    });
    ws.on("close", (code, reason) => this.onClose(ws, code, reason.toString("utf8"), refusal));
  }

  private receiveMessage(ws: WebSocket, message: Buffer): void {
    try {
      forEachFrame(message, (type, streamId, payload, _offset, flags) => this.receiveFrame(type, streamId, payload, flags));
    } catch (error) {
      if (error instanceof ProtocolError) this.failProtocol(ws, error.message);
      else throw error;
    } finally {
      for (const bridge of this.corked) bridge.uncork();
      this.corked.length = 0;
    }
  }

  private receiveFrame(type: FrameTypeValue, streamId: number, payload: Buffer, flags: number): void {
    if (type === FrameType.CONTROL) {
      this.receiveControl(payload);
      return;
    }
    if (this.currentState !== "connected") throw new ProtocolError("stream frame before welcome");
    if (type === FrameType.OPEN) {
      this.serveOpen(streamId, decodeOpen(payload));
      return;
    }
    const bridge = this.streams.get(streamId);
    // Frames for a stream we already closed are normal races after a reset: ignore them.
    if (!bridge) return;
    switch (type) {
      case FrameType.DATA:
        if (bridge.cork()) this.corked.push(bridge);
        bridge.receiveData(payload, flags);
        break;
      case FrameType.WINDOW:
        bridge.receiveWindow(decodeWindow(payload));
        break;
      case FrameType.FIN:
        bridge.receiveFin();
        break;
      case FrameType.RST: {
        const reset = decodeReset(payload);
        const opened = this.openedStreams.get(streamId);
        if (opened !== undefined && !opened.wasOpened) this.answerOpen(streamId, opened, reset);
        bridge.receiveReset(reset);
        if (opened) this.options.onStreamReset?.({ ...opened, ...reset });
        break;
      }
      case FrameType.OPEN_OK: {
        const opened = this.openedStreams.get(streamId);
        // Only the streams this agent opened get one; any other is a stale race, like other frames.
        if (!opened) break;
        if (!opened.wasOpened) this.answerOpen(streamId, opened);
        opened.wasOpened = true;
        const { maxWindow, handshake: answer } = decodeOpenOk(payload);
        // An older hub forwards the exposing agent's empty OPEN_OK: no limit, no growth.
        bridge.setHubWindowLimit(maxWindow);
        this.finishHandshake(bridge, opened, answer);
        break;
      }
    }
  }

  private receiveControl(payload: Buffer): void {
    const message = decodeControl(payload);
    switch (message.type) {
      case "welcome":
        this.welcomeInfo = {
          agentId: message.agentId,
          workspaceId: message.workspaceId,
          label: message.label,
          tokenExpiresAt: message.tokenExpiresAt,
          protocolVersion: message.version,
          ...(message.hubVersion === undefined ? {} : { hubVersion: message.hubVersion }),
          relaysEndToEnd: message.features?.includes(E2E_FEATURE) ?? false,
        };
        this.lastError = undefined;
        this.setState("connected");
        this.stableTimer = setTimeout(() => this.backoff.reset(), STABLE_CONNECTION_MS);
        this.stableTimer.unref();
        for (const waiter of this.waiters.splice(0)) waiter.resolve(this.welcomeInfo);
        break;
      case "notice":
        this.options.onNotice?.(message);
        break;
      case "error":
        this.lastError = new Error(
          message.code === "unsupported_version" ? describeVersionRefusal(message.message, this.agentVersion) : message.message,
        );
        this.lastErrorCode = message.code;
        break;
      case "goaway":
        // The hub is restarting: come back quickly rather than after a long backoff.
        this.backoff.reset();
        break;
      case "hello":
        throw new ProtocolError("unexpected hello from the hub");
    }
  }

  /** The answer in OPEN_OK completes (or fails) the handshake of an end-to-end stream. */
  private finishHandshake(
    bridge: StreamBridge,
    opened: { service: string; from?: string; handshake?: InitiatorHandshake | undefined },
    answer: Buffer | undefined,
  ): void {
    const { handshake } = opened;
    if (handshake === undefined) {
      if (answer !== undefined) throw new ProtocolError("OPEN_OK carries a handshake answer for a plaintext stream");
      return;
    }
    opened.handshake = undefined;
    let ciphers: StreamCiphers | undefined;
    let reason = `End-to-end handshake for ${opened.service} failed: the hub passed on no answer from the exposing agent`;
    if (answer !== undefined) {
      try {
        ciphers = handshake.finish(answer);
      } catch (error) {
        reason =
          error instanceof HandshakeRefused
            ? error.message
            : `End-to-end handshake for ${opened.service} failed: the answer did not come from the holder of the exposing agent's key`;
      }
    }
    if (ciphers !== undefined) {
      // Outside the try: a failure to send the held bytes is not the peer's fault.
      bridge.startEncrypting(ciphers);
      return;
    }
    bridge.abort(reason, ResetCode.E2E_FAILED);
    this.options.onEndToEndFailure?.({
      service: opened.service,
      ...(opened.from === undefined ? {} : { from: opened.from }),
      reason,
    });
  }

  /** The hub's first answer to a stream this agent opened (called once, before its bridge goes). */
  private answerOpen(
    streamId: number,
    opened: { service: string; from?: string; sentAt: number },
    refusal?: { code: number; reason: string },
  ): void {
    const socket = this.streams.get(streamId)?.socket;
    if (this.options.onStreamAnswered === undefined || socket === undefined) return;
    this.options.onStreamAnswered({
      socket,
      service: opened.service,
      ...(opened.from === undefined ? {} : { from: opened.from }),
      elapsedMs: performance.now() - opened.sentAt,
      ...(refusal === undefined ? {} : { refusal: { code: refusal.code, reason: refusal.reason } }),
    });
  }

  /** The hub asks us to connect one stream to a service we expose. */
  private serveOpen(streamId: number, request: OpenRequest): void {
    if (streamId % 2 !== 0 || this.streams.has(streamId)) throw new ProtocolError("invalid stream id in OPEN");
    const { service } = request;
    const target = this.options.resolveTarget(service);
    if (!target) {
      this.send(encodeReset(streamId, ResetCode.SERVICE_NOT_FOUND, `Service ${service} is not exposed by this agent`));
      return;
    }
    const admission = this.admit(request);
    if (admission.kind === "refuse") {
      this.send(encodeReset(streamId, admission.code, admission.reason));
      return;
    }
    const socket = connectTcp({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      onread: {
        buffer: sharedReadBuffer,
        callback: (bytes) => {
          bridge.receiveBorrowedRead(sharedReadBuffer.subarray(0, bytes));
          // The bridge pauses the socket itself when it runs out of credit.
          return true;
        },
      },
    });
    // Registered before the bridge's own handlers, so a failed dial is reported precisely.
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (socket.connecting || !socket.remoteAddress) {
        bridge.abort(`Cannot connect to ${target.host}:${target.port}: ${error.code ?? error.message}`, ResetCode.CONNECT_FAILED);
        this.options.onTargetFailure?.({ service, host: target.host, port: target.port, code: error.code ?? error.message });
      }
    });
    const answer = admission.kind === "e2e" ? admission.answer : undefined;
    socket.once("connect", () => this.send(encodeAgentOpenOk(streamId, answer)));
    const bridge = this.addBridge(streamId, socket);
    this.servedServices.set(streamId, service);
    bridge.setHubWindowLimit(request.maxWindow);
    if (admission.kind === "e2e") bridge.startEncrypting(admission.ciphers);
  }

  private admit(request: OpenRequest): OpenAdmission {
    if (this.options.admitOpen !== undefined) return this.options.admitOpen(request);
    if (request.e2e === undefined) return { kind: "plaintext" };
    return { kind: "refuse", code: ResetCode.E2E_FAILED, reason: "This agent has no end-to-end key" };
  }

  private send(frame: Buffer): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.writer?.writeFrame(frame);
  }

  private failProtocol(ws: WebSocket, reason: string): void {
    this.lastError = new Error(`Protocol error from the hub: ${reason}`);
    ws.close(CloseCode.PROTOCOL_ERROR, "protocol error");
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.isPeerAlive = true;
    const interval = this.options.heartbeatMs ?? 15_000;
    this.heartbeatTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws) return;
      if (!this.isPeerAlive) {
        this.lastError = new Error("the hub stopped answering");
        ws.terminate();
        return;
      }
      this.isPeerAlive = false;
      ws.ping();
    }, interval);
    this.heartbeatTimer.unref();
  }

  private onClose(ws: WebSocket, code: number, reason: string, refusal: { status: number; message: string } | undefined): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.writer?.discard();
    this.writer = undefined;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.stableTimer);
    for (const bridge of this.streams.values()) bridge.receiveReset();
    this.streams.clear();
    this.openedStreams.clear();
    this.servedServices.clear();
    this.welcomeInfo = undefined;
    if (refusal) this.lastError = new Error(refusal.message);
    const errorCode = this.lastErrorCode;
    this.lastErrorCode = undefined;

    // A revocation ends the agent, not one of its tokens: a rotated token is just as dead, and
    // a hub that announced it but could not finish the close (1006) must not be redialed either.
    const isRevoked =
      code === CloseCode.AGENT_REVOKED ||
      errorCode === AGENT_REVOKED_ERROR_CODE ||
      (refusal?.status === 401 && isAgentRevokedMessage(refusal.message));
    // A refusal of a token this agent has since replaced says nothing about the new one.
    const isTokenReplaced = this.connectedToken !== undefined && this.connectedToken !== this.token;
    const isFatal =
      isRevoked ||
      (!isTokenReplaced && ((refusal && (refusal.status === 401 || refusal.status === 403)) || isFatalCloseCode(code)));
    if (this.isClosing) {
      this.setState("closed");
      return;
    }
    if (isFatal) {
      this.fatalError = new TunnelFatalError(
        refusal?.message ?? this.lastError?.message ?? (reason || `hub closed the connection (${code})`),
        isRevoked ? AGENT_REVOKED_ERROR_CODE : errorCode,
      );
      this.setState("closed", this.fatalError.message);
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.fatalError);
      this.options.onFatal?.(this.fatalError);
      return;
    }
    if (code === CloseCode.REPLACED) {
      // Another process connected with this agent's token (newest wins): a copy of this machine,
      // or a second `connect up`. Coming straight back would throw it out in turn, forever.
      this.lastError = new Error(REPLACED_MESSAGE);
      this.setState("disconnected", REPLACED_MESSAGE);
      this.reconnectTimer = setTimeout(() => this.connect(), REPLACED_RETRY_MS);
      this.reconnectTimer.unref();
      return;
    }
    this.setState("disconnected", this.lastError?.message ?? reason);
    if (isTokenReplaced) this.backoff.reset();
    this.reconnectTimer = setTimeout(() => this.connect(), this.backoff.next());
    this.reconnectTimer.unref();
  }

  private setState(state: TunnelState, reason?: string): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.options.onStateChange?.(state, reason ? { reason } : undefined);
  }
}

/**
 * The hub's refusal of our protocol versions, as the person running this agent reads it: both
 * versions named. A current hub's message already names ours; an older hub's names only its
 * protocol, so ours is added.
 */
export function describeVersionRefusal(hubMessage: string, agentVersion: string): string {
  if (hubMessage.includes(`agent ${agentVersion} `)) return hubMessage;
  return `${hubMessage} (this agent: connect ${agentVersion}, protocol ${PROTOCOL_VERSIONS.join(", ")})`;
}
