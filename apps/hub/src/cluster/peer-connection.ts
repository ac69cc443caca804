import {
  CloseCode,
  decodeControl,
  decodePeerOpen,
  encodeControl,
  encodeReset,
  FrameType,
  type FrameTypeValue,
  forEachFrame,
  MAX_STREAM_WINDOW,
  type PeerOpenRequest,
  ProtocolError,
  ResetCode,
} from "@private-connect/protocol";
import type { Logger } from "pino";
import type WebSocket from "ws";
import { OutgoingFrames } from "../relay/outgoing-frames.js";
import type { RelayStream, StreamPeer } from "../relay/relay-stream.js";
import { StreamSlots } from "../relay/stream-slots.js";

/** What a peer connection asks of its hub. */
export interface PeerHost {
  /**
   * Another hub opened stream `streamId` toward an agent held here, already authorized there.
   * Called on accepted connections only. The host attaches a RelayStream to the connection
   * (or resets the stream) before returning: frames for an unattached id are dropped.
   */
  openFromPeer(connection: PeerConnection, streamId: number, request: PeerOpenRequest): void;
}

export interface PeerConnectionOptions {
  /** The hub at the other end, as its authentication (or our dial) established it. */
  remoteHubId: string;
  /** The dialing hub opens streams; the accepting hub only serves them. */
  role: "dialer" | "acceptor";
  host: PeerHost;
  log: Logger;
  /** Ping interval; two unanswered pings in a row terminate the connection. */
  heartbeatMs?: number;
  /** Streams one peer connection carries at once; the pool dials another connection past it. */
  maxStreams?: number;
  onClosed?: (connection: PeerConnection) => void;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_MAX_STREAMS = 32_768;
/**
 * One multiplexed relay connection between two hubs of a cluster, in the relay's own frame format.
 * It only delivers frames: each stream's credit books are kept by the RelayStream on either hub,
 * and frames are forwarded as views of the message they arrived in, with the stream id rewritten
 * in place, as for agents. The dialing hub opens (odd) streams; on the accepting hub an OPEN
 * carries a PeerOpenRequest that the dialing hub already authorized. Anything malformed closes
 * this connection only; its streams are reset with PEER_GONE on this hub.
 */
export class PeerConnection implements StreamPeer {
  readonly label: string;
  readonly remoteHubId: string;
  /** Hubs of one build accept the largest window any stream may have; each stream's agreed limit is in its OPEN. */
  readonly maxStreamWindow = MAX_STREAM_WINDOW;
  readonly understandsDataFlags = true;
  readonly isHub = true;
  readonly role: "dialer" | "acceptor";
  private readonly slots = new StreamSlots(1);
  private readonly outgoing: OutgoingFrames;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxStreams: number;
  private missedPongs = 0;
  private isClosed = false;
  /** The far hub said it is going away: its open streams may finish, no new one goes there. */
  private isDraining = false;

  constructor(
    readonly ws: WebSocket,
    private readonly options: PeerConnectionOptions,
  ) {
    this.remoteHubId = options.remoteHubId;
    this.role = options.role;
    this.label = `hub ${options.remoteHubId}`;
    this.maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.outgoing = new OutgoingFrames(ws);
    ws.on("message", (data, isBinary) => {
      this.missedPongs = 0;
      if (!isBinary || !Buffer.isBuffer(data)) {
        this.fail("text message on a peer connection");
        return;
      }
      this.receiveMessage(data);
    });
    ws.on("pong", () => {
      this.missedPongs = 0;
    });
    ws.on("close", () => this.teardown());
    ws.on("error", (error) => this.options.log.warn({ err: error.message, peerHub: this.remoteHubId }, "peer socket error"));
    this.heartbeat = setInterval(() => this.checkHeartbeat(), options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get streamCount(): number {
    return this.slots.size;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Whether a new stream may go over this connection now. */
  hasCapacity(): boolean {
    return !this.isClosed && !this.isDraining && this.slots.size < this.maxStreams;
  }

  /** A fresh (odd) stream id. Only the dialing hub opens streams on a connection. */
  allocateStreamId(): number {
    if (this.role !== "dialer") throw new Error("only the dialing hub opens streams on a peer connection");
    return this.slots.allocate();
  }

  attach(streamId: number, stream: RelayStream, side: "client" | "server"): void {
    this.slots.attach(streamId, stream, side);
  }

  detachStream(streamId: number): void {
    this.slots.detach(streamId);
  }

  sendFrame(frame: Buffer): void {
    this.outgoing.send(frame);
  }

  sendReset(streamId: number, code: number, reason: string): void {
    this.outgoing.send(encodeReset(streamId, code, reason));
  }

  /**
   * This hub is stopping: the far hub sends no new stream here, open ones may finish. The
   * connection itself is closed later (close), when the drain is over.
   */
  goAway(reason: string): void {
    if (this.isClosed) return;
    this.isDraining = true;
    this.outgoing.send(encodeControl({ type: "goaway", reason: reason.slice(0, 256) }));
  }

  /**
   * Closes the connection. Its streams are reset on this hub now, not when the close handshake
   * ends (a dead peer never answers it); the far hub resets its own on the close.
   */
  close(code: number = CloseCode.NORMAL, reason = ""): void {
    if (this.isClosed) return;
    this.outgoing.flush();
    this.ws.close(code, reason);
    this.teardown();
  }

  private checkHeartbeat(): void {
    if (this.missedPongs >= 2) {
      this.options.log.warn({ peerHub: this.remoteHubId }, "peer hub stopped answering heartbeats");
      this.ws.terminate();
      this.teardown();
      return;
    }
    this.missedPongs++;
    this.ws.ping();
  }

  private receiveMessage(message: Buffer): void {
    if (this.isClosed) return;
    try {
      forEachFrame(message, (type, streamId, payload, offset) => this.receiveFrame(type, streamId, payload, message, offset));
    } catch (error) {
      if (error instanceof ProtocolError) this.fail(error.message);
      else {
        this.options.log.error(
          { err: error instanceof Error ? error.message : String(error), peerHub: this.remoteHubId },
          "peer frame handling failed",
        );
        this.close(CloseCode.PROTOCOL_ERROR, "internal error");
      }
    }
  }

  private receiveFrame(type: FrameTypeValue, streamId: number, payload: Buffer, message: Buffer, offset: number): void {
    if (type === FrameType.CONTROL) {
      this.receiveControl(payload);
      return;
    }
    if (type === FrameType.OPEN) {
      this.receiveOpen(streamId, payload);
      return;
    }
    const slot = this.slots.get(streamId);
    // Frames of a stream we already reset or closed: a harmless race with our RST.
    if (!slot) return;
    let isWithinWindow: boolean;
    try {
      isWithinWindow = slot.stream.receive(slot.side, type, payload.length, message, offset);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // Credit beyond the stream's limit: the two hubs' books for this one stream disagree. The
      // peer is authenticated, so this is a bug, not an attack: it ends that stream, not all of them.
      slot.stream.reset(ResetCode.FLOW_CONTROL, `Stream closed: ${error.message}`);
      return;
    }
    if (!isWithinWindow) {
      slot.stream.reset(ResetCode.FLOW_CONTROL, "Stream closed: the peer sent more than its flow-control window");
    }
  }

  private receiveOpen(streamId: number, payload: Buffer): void {
    if (this.role !== "acceptor") throw new ProtocolError("the accepting hub never opens streams");
    if (streamId % 2 === 0) throw new ProtocolError("peer streams have odd ids");
    if (this.slots.has(streamId)) throw new ProtocolError("stream id reused");
    const request = decodePeerOpen(payload);
    if (!this.hasCapacity()) {
      this.sendReset(streamId, ResetCode.LIMIT_EXCEEDED, `Too many open streams between hubs (limit ${this.maxStreams})`);
      return;
    }
    this.options.host.openFromPeer(this, streamId, request);
  }

  private receiveControl(payload: Buffer): void {
    const control = decodeControl(payload);
    if (control.type === "goaway") {
      this.isDraining = true;
      this.options.log.info({ peerHub: this.remoteHubId, reason: control.reason }, "peer hub is going away");
    } else if (control.type === "error") {
      this.options.log.warn(
        { peerHub: this.remoteHubId, code: control.code, message: control.message },
        "peer hub reported an error",
      );
    } else {
      throw new ProtocolError(`unexpected ${control.type} on a peer connection`);
    }
  }

  private fail(reason: string): void {
    this.options.log.warn({ reason, peerHub: this.remoteHubId }, "closing peer connection: protocol error");
    this.outgoing.send(encodeControl({ type: "error", code: "protocol_error", message: reason.slice(0, 1000) }));
    this.close(CloseCode.PROTOCOL_ERROR, "protocol error");
  }

  private teardown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.outgoing.close();
    clearInterval(this.heartbeat);
    const reason = `The hub ${this.remoteHubId} holding the other end went away`;
    this.slots.resetAll(ResetCode.PEER_GONE, () => reason, this);
    this.options.onClosed?.(this);
  }
}
