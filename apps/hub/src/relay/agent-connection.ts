import { randomUUID } from "node:crypto";
import {
  AGENT_REVOKED_ERROR_CODE,
  CloseCode,
  clampStreamWindow,
  decodeControl,
  decodeOpen,
  E2E_FEATURE,
  encodeControl,
  encodeReset,
  escapeUnprintable,
  FrameType,
  type FrameTypeValue,
  forEachFrame,
  LEGACY_MAX_STREAM_WINDOW,
  negotiateVersion,
  type OpenRequest,
  PROTOCOL_VERSIONS,
  ProtocolError,
  ResetCode,
} from "@private-connect/protocol";
import type { Logger } from "pino";
import type WebSocket from "ws";
import { HUB_VERSION } from "../version.js";
import { OutgoingFrames } from "./outgoing-frames.js";
import type { RelayStream, StreamPeer } from "./relay-stream.js";
import { StreamSlots } from "./stream-slots.js";

export interface AgentIdentity {
  agentId: string;
  workspaceId: string;
  label: string;
  clientType: string;
  tokenExpiresAt: Date;
}

export interface ConnectionLimits {
  /** Open streams one agent connection may hold (both directions together). */
  maxStreams: number;
  /** Stream opens one agent may have waiting for authorization at once. */
  maxPendingOpens: number;
  helloTimeoutMs: number;
}

/** The relay's half of the contract: what a connection asks of the hub. */
export interface ConnectionHost {
  /** A client asked to open a stream; the host authorizes and routes it. */
  openStream(connection: AgentConnection, streamId: number, request: OpenRequest): void;
  onReady(connection: AgentConnection): void;
  recheckCredentials(connection: AgentConnection): Promise<void>;
  onClosed(connection: AgentConnection): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** RFC 6455: a close frame's reason fits in 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = text;
  while (Buffer.byteLength(`${cut}…`) > maxBytes) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Why this hub cannot talk to an agent whose hello offered only `agentProtocols`, naming both
 * programs' versions and which one to upgrade: the side whose newest protocol is older.
 */
export function describeVersionRefusal(agentVersion: string, agentProtocols: readonly number[]): string {
  // The agent chose this text: shown, but never able to garble a terminal or a log line.
  const agent = escapeUnprintable(agentVersion).slice(0, 64) || "(version not stated)";
  const upgrade =
    Math.max(...agentProtocols) < Math.max(...PROTOCOL_VERSIONS)
      ? `upgrade the connect agent to ${HUB_VERSION} or later`
      : `upgrade the hub (connect-hub)${agentVersion === "" ? "" : ` to ${agent} or later`}`;
  return `Hub ${HUB_VERSION} (protocol ${PROTOCOL_VERSIONS.join(", ")}) cannot talk to agent ${agent} (protocol ${agentProtocols.join(", ")}): ${upgrade}`;
}

/**
 * One agent's WebSocket at the hub: the hello/welcome exchange, then frame dispatch to the
 * streams it takes part in. Anything malformed closes this connection only, with a
 * protocol-error close code; other agents never notice.
 */
export class AgentConnection implements StreamPeer {
  private readonly slots = new StreamSlots(2);
  private readonly pendingOpens = new Set<number>();
  private isReady = false;
  private isClosed = false;
  /** Revoked: closing, and nothing it still sends (an OPEN racing the close) is acted on. */
  private isRevoked = false;
  private helloTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly outgoing: OutgoingFrames;
  /** The most credit this agent accepts as a sender: what its hello said, else protocol 1's limit. */
  maxStreamWindow = LEGACY_MAX_STREAM_WINDOW;
  /** Agents from before growing windows state no limit, and reject DATA flags. */
  understandsDataFlags = false;
  /** The agent process's id from its hello (see HelloMessage.instance); undefined for older agents. */
  instance: string | undefined;
  isAlive = true;

  constructor(
    readonly ws: WebSocket,
    readonly identity: AgentIdentity,
    readonly ip: string,
    private readonly host: ConnectionHost,
    private readonly limits: ConnectionLimits,
    readonly log: Logger,
    /** Unique per connection: its epoch in the cluster's record of where the agent is. */
    readonly connectionId: string = randomUUID(),
  ) {
    this.outgoing = new OutgoingFrames(ws);
    this.helloTimer = setTimeout(() => this.fail("no hello within the handshake timeout"), limits.helloTimeoutMs);
    ws.on("message", (data, isBinary) => {
      this.isAlive = true;
      if (!isBinary || !Buffer.isBuffer(data)) {
        this.fail("text message on the relay");
        return;
      }
      this.receiveMessage(data);
    });
    ws.on("pong", () => {
      this.isAlive = true;
    });
    ws.on("close", () => this.onClose());
    ws.on("error", (error) => this.log.warn({ err: error.message }, "relay socket error"));
  }

  get label(): string {
    return this.identity.label;
  }

  get streamCount(): number {
    return this.slots.size;
  }

  /** Queued to leave with the rest of this event-loop turn's frames (see OutgoingFrames). */
  sendFrame(frame: Buffer): void {
    if (this.isClosed) return;
    this.outgoing.send(frame);
  }

  sendReset(streamId: number, code: number, reason: string): void {
    this.pendingOpens.delete(streamId);
    this.sendFrame(encodeReset(streamId, code, reason));
  }

  detachStream(streamId: number): void {
    this.slots.detach(streamId);
  }

  /** Called by the hub once a stream this agent asked for is authorized (or refused). */
  settleOpen(streamId: number): boolean {
    return this.pendingOpens.delete(streamId) && !this.isClosed;
  }

  attach(streamId: number, stream: RelayStream, side: "client" | "server"): void {
    this.slots.attach(streamId, stream, side);
  }

  /** A fresh hub-side (even) stream id on this connection. */
  allocateStreamId(): number {
    return this.slots.allocate();
  }

  hasCapacity(): boolean {
    return this.streamCount < this.limits.maxStreams;
  }

  /** Re-checks the credential at `expiresAt` (timers cap at ~24 days, so long waits hop). */
  scheduleExpiry(expiresAt: Date): void {
    clearTimeout(this.expiryTimer);
    if (this.isClosed) return;
    const delay = Math.max(0, Math.min(expiresAt.getTime() - Date.now(), MAX_TIMER_MS));
    this.expiryTimer = setTimeout(() => void this.host.recheckCredentials(this), delay);
    this.expiryTimer.unref();
  }

  /** The token expired while connected: say so, then close with the code agents do not retry. */
  closeExpired(message: string): void {
    this.sendFrame(encodeControl({ type: "error", code: "token_expired", message }));
    this.close(CloseCode.TOKEN_EXPIRED, "agent token expired");
  }

  /**
   * An owner revoked this agent: say why (the agent prints it and stops retrying), reset its
   * streams at both ends with REVOKED so the far side learns why too, then close with the code
   * agents never reconnect after.
   */
  closeRevoked(message: string): void {
    if (this.isClosed || this.isRevoked) return;
    this.isRevoked = true;
    this.sendFrame(encodeControl({ type: "error", code: AGENT_REVOKED_ERROR_CODE, message }));
    this.slots.resetAll(ResetCode.REVOKED, (side) =>
      side === "client" ? "The reaching agent was revoked" : "The exposing agent was revoked",
    );
    this.pendingOpens.clear();
    this.close(CloseCode.AGENT_REVOKED, truncateUtf8(message, MAX_CLOSE_REASON_BYTES));
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.outgoing.flush();
    this.ws.close(code, reason);
  }

  private receiveMessage(message: Buffer): void {
    if (this.isRevoked) return;
    try {
      forEachFrame(message, (type, streamId, payload, offset) => this.receiveFrame(type, streamId, payload, message, offset));
    } catch (error) {
      if (error instanceof ProtocolError) this.fail(error.message);
      else {
        this.log.error({ err: error instanceof Error ? error.message : String(error) }, "relay frame handling failed");
        this.close(CloseCode.PROTOCOL_ERROR, "internal error");
      }
    }
  }

  private receiveFrame(type: FrameTypeValue, streamId: number, payload: Buffer, message: Buffer, offset: number): void {
    if (type === FrameType.CONTROL) {
      this.receiveControl(payload);
      return;
    }
    if (!this.isReady) throw new ProtocolError("stream frame before hello");
    if (type === FrameType.OPEN) {
      this.receiveOpen(streamId, payload);
      return;
    }
    const slot = this.slots.get(streamId);
    if (!slot) {
      // Early frames of a stream still being authorized belong to it; anything else is a
      // harmless race with a reset we already sent.
      return;
    }
    if (!slot.stream.receive(slot.side, type, payload.length, message, offset)) {
      slot.stream.reset(ResetCode.FLOW_CONTROL, "Stream closed: the peer sent more than its flow-control window");
    }
  }

  private receiveOpen(streamId: number, payload: Buffer): void {
    if (streamId % 2 === 0) throw new ProtocolError("agents open odd stream ids");
    if (this.slots.has(streamId) || this.pendingOpens.has(streamId)) throw new ProtocolError("stream id reused");
    const request = decodeOpen(payload);
    if (!this.hasCapacity()) {
      this.sendReset(streamId, ResetCode.LIMIT_EXCEEDED, `Too many open streams on this agent (limit ${this.limits.maxStreams})`);
      return;
    }
    if (this.pendingOpens.size >= this.limits.maxPendingOpens) {
      this.sendReset(
        streamId,
        ResetCode.LIMIT_EXCEEDED,
        `Too many streams waiting to open (limit ${this.limits.maxPendingOpens})`,
      );
      return;
    }
    this.pendingOpens.add(streamId);
    this.host.openStream(this, streamId, request);
  }

  private receiveControl(payload: Buffer): void {
    const control = decodeControl(payload);
    if (control.type !== "hello") {
      // Agents only ever send hello; errors they report are logged, nothing else is accepted.
      if (control.type === "error") this.log.info({ code: control.code }, "agent reported an error");
      else throw new ProtocolError(`unexpected ${control.type} from an agent`);
      return;
    }
    if (this.isReady) throw new ProtocolError("second hello");
    clearTimeout(this.helloTimer);
    const version = negotiateVersion(control.versions, PROTOCOL_VERSIONS);
    if (version === undefined) {
      const message = describeVersionRefusal(control.agentVersion, control.versions);
      // The operator sees the same sentence the agent's owner does: both name both versions.
      this.log.warn({ hubVersion: HUB_VERSION, agentVersion: control.agentVersion, agentProtocols: control.versions }, message);
      this.sendFrame(encodeControl({ type: "error", code: "unsupported_version", message }));
      this.close(CloseCode.UNSUPPORTED_VERSION, "unsupported protocol version");
      return;
    }
    this.isReady = true;
    this.maxStreamWindow = clampStreamWindow(control.maxStreamWindow);
    this.understandsDataFlags = control.maxStreamWindow !== undefined;
    this.instance = control.instance;
    this.sendFrame(
      encodeControl({
        type: "welcome",
        version,
        agentId: this.identity.agentId,
        workspaceId: this.identity.workspaceId,
        label: this.identity.label,
        tokenExpiresAt: this.identity.tokenExpiresAt.toISOString(),
        hubVersion: HUB_VERSION,
        features: [E2E_FEATURE],
      }),
    );
    this.host.onReady(this);
  }

  private fail(reason: string): void {
    this.log.warn({ reason }, "closing agent connection: protocol error");
    this.sendFrame(encodeControl({ type: "error", code: "protocol_error", message: reason.slice(0, 1000) }));
    this.close(CloseCode.PROTOCOL_ERROR, "protocol error");
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.outgoing.close();
    clearTimeout(this.helloTimer);
    clearTimeout(this.expiryTimer);
    this.slots.resetAll(
      ResetCode.PEER_GONE,
      (side) => (side === "client" ? "The reaching agent disconnected" : "The exposing agent disconnected"),
      this,
    );
    this.pendingOpens.clear();
    this.host.onClosed(this);
  }
}
