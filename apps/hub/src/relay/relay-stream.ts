import {
  decodeAgentOpenOk,
  decodeOpenOk,
  decodeReset,
  decodeWindow,
  encodeOpenOk,
  FRAME_HEADER_BYTES,
  FrameType,
  INITIAL_STREAM_WINDOW,
  ProtocolError,
  rewriteStreamId,
  SendCredit,
} from "@private-connect/protocol";

/** What a relay stream needs from a connection: a way to send raw frames, and its stream table. */
export interface StreamPeer {
  readonly label: string;
  /** The most credit this end accepts as a sender (what its agent said in hello). */
  readonly maxStreamWindow: number;
  /** Whether this end understands DATA flags (agents that stated a window limit do). */
  readonly understandsDataFlags: boolean;
  /** True for another hub of the cluster (a peer connection): its OPEN_OK carries a window limit. */
  readonly isHub?: boolean;
  sendFrame(frame: Buffer): void;
  sendReset(streamId: number, code: number, reason: string): void;
  detachStream(streamId: number): void;
}

export interface StreamEnd {
  peer: StreamPeer;
  id: number;
}

/**
 * One relayed stream: the reaching agent's end ("client") and, once authorized, the
 * exposing agent's end ("server"). The hub forwards frames between the ends by rewriting
 * the stream id in place: payload bytes are never copied, decoded or logged. It does keep
 * the credit books of both directions, so no agent can make the hub buffer more than the
 * other side granted.
 */
export class RelayStream {
  server: StreamEnd | undefined;
  /**
   * The credit books of both directions. Until the server end is known, the client's own limit
   * bounds them; then the smaller of both ends' limits, which is also what the receivers are
   * told they may grow the window to (in OPEN and OPEN_OK).
   */
  private readonly clientToServer: SendCredit;
  private readonly serverToClient: SendCredit;
  private windowLimit: number;
  /** Frames the client sent while we were still authorizing (early data, FIN, WINDOW). */
  private early: { message: Buffer; offset: number; length: number }[] = [];
  private hasClientFin = false;
  private hasServerFin = false;
  private isClosed = false;
  bytesFromClient = 0;
  bytesFromServer = 0;
  /** Set for a stream that crosses workspaces through a share: its revocation or expiry ends it. */
  share: { id: string; expiresAt: Date } | undefined;
  /** The reaching agent, when an agent (not a public link) opened the stream, on whichever hub. */
  clientAgentId: string | undefined;
  /** The exposing agent, once routed to one connected to this hub (not for a stream sent on to a peer hub). */
  servingAgentId: string | undefined;
  /** Whether the reaching agent's OPEN carried an end-to-end handshake. */
  carriesHandshake = false;
  /**
   * Whether the exposing agent answered that handshake: the DATA is then records only the two
   * agents can read. Shown in the dashboard; the relay treats both kinds alike.
   */
  isEndToEnd = false;

  /** The most credit the client end accepts: its connection's, or what a peer hub's OPEN said for it. */
  private readonly clientMaxWindow: number;

  constructor(
    readonly client: StreamEnd,
    readonly service: string,
    private readonly onClosed: (stream: RelayStream) => void,
    clientMaxWindow?: number,
  ) {
    this.clientMaxWindow = Math.min(clientMaxWindow ?? client.peer.maxStreamWindow, client.peer.maxStreamWindow);
    this.windowLimit = this.clientMaxWindow;
    this.clientToServer = new SendCredit(INITIAL_STREAM_WINDOW, this.windowLimit);
    this.serverToClient = new SendCredit(INITIAL_STREAM_WINDOW, this.windowLimit);
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /**
   * Routed: send the OPEN `buildOpen` makes to the serving end, then replay what the client sent.
   * The OPEN tells the serving end (an exposing agent, or the peer hub that holds it) how far it
   * may grow the window of the client's uploads: `windowLimit`, the smaller of both ends' limits.
   */
  openOn(server: StreamEnd, buildOpen: (windowLimit: number) => Buffer): void {
    this.setWindowLimit(Math.min(this.clientMaxWindow, server.peer.maxStreamWindow));
    server.peer.sendFrame(buildOpen(this.windowLimit));
    this.server = server;
    const early = this.early;
    this.early = [];
    for (const frame of early) this.forward(server, frame.message, frame.offset, frame.length);
  }

  /**
   * A frame from one end. `message`/`offset` locate the frame so it can be forwarded as a
   * view of the received buffer. Returns false when the sender broke flow control.
   */
  receive(from: "client" | "server", type: number, payloadLength: number, message: Buffer, offset: number): boolean {
    if (this.isClosed) return true;
    const fromClient = from === "client";
    switch (type) {
      case FrameType.DATA: {
        const credit = fromClient ? this.clientToServer : this.serverToClient;
        if ((fromClient ? this.hasClientFin : this.hasServerFin) || !credit.consume(payloadLength)) return false;
        if (fromClient) this.bytesFromClient += payloadLength;
        else this.bytesFromServer += payloadLength;
        break;
      }
      case FrameType.WINDOW: {
        // decodeWindow, not a bare read: a short payload would read the next frame's header.
        const increment = decodeWindow(payloadOf(message, offset, payloadLength));
        // A WINDOW from one end is credit for the other end's sending.
        (fromClient ? this.serverToClient : this.clientToServer).grant(increment);
        break;
      }
      case FrameType.FIN:
        if (fromClient) this.hasClientFin = true;
        else this.hasServerFin = true;
        break;
      case FrameType.OPEN_OK: {
        if (fromClient) return false;
        // A peer hub's OPEN_OK states the limit it agreed with the exposing agent, which may be
        // lower than ours: both hubs and both agents then keep the same books. An agent's states
        // none. Either may carry the exposing agent's end-to-end handshake answer, passed on unread.
        const payload = payloadOf(message, offset, payloadLength);
        let handshake: Buffer | undefined;
        if (this.server?.peer.isHub) {
          const agreed = decodeOpenOk(payload);
          if (agreed.maxWindow !== undefined && agreed.maxWindow < this.windowLimit) this.setWindowLimit(agreed.maxWindow);
          handshake = agreed.handshake;
        } else {
          handshake = decodeAgentOpenOk(payload);
        }
        // An answer to a handshake nobody sent is the exposing agent breaking the protocol.
        if (handshake !== undefined) {
          if (!this.carriesHandshake) {
            throw new ProtocolError("OPEN_OK carries a handshake answer on a stream opened without a handshake");
          }
          this.isEndToEnd = true;
        }
        // Our own OPEN_OK instead of the agent's: it tells the client how far it may grow
        // the window of its downloads.
        this.client.peer.sendFrame(encodeOpenOk(this.client.id, this.windowLimit, handshake));
        return true;
      }
      case FrameType.RST:
        // Checked before it reaches the other end, which would reject a malformed one.
        decodeReset(payloadOf(message, offset, payloadLength));
        this.relayTo(fromClient ? "server" : "client", message, offset, payloadLength);
        this.close();
        return true;
    }
    this.relayTo(fromClient ? "server" : "client", message, offset, payloadLength);
    if (this.hasClientFin && this.hasServerFin) this.close();
    return true;
  }

  private setWindowLimit(limit: number): void {
    this.windowLimit = limit;
    this.clientToServer.setMax(limit);
    this.serverToClient.setMax(limit);
  }

  /** Resets both ends (for example on revocation, a limit, or a vanished agent). */
  reset(code: number, reason: string, except?: StreamPeer): void {
    if (this.isClosed) return;
    if (this.client.peer !== except) this.client.peer.sendReset(this.client.id, code, reason);
    if (this.server && this.server.peer !== except) this.server.peer.sendReset(this.server.id, code, reason);
    this.close();
  }

  private relayTo(to: "client" | "server", message: Buffer, offset: number, payloadLength: number): void {
    const target = to === "client" ? this.client : this.server;
    if (target) this.forward(target, message, offset, payloadLength);
    else this.early.push({ message, offset, length: payloadLength });
  }

  private forward(target: StreamEnd, message: Buffer, offset: number, payloadLength: number): void {
    if (message[offset + 1] !== 0 && !target.peer.understandsDataFlags) {
      // A SENDER_BLOCKED signal means nothing to an older agent, and it would reject the flag.
      if (payloadLength === 0) return;
      message[offset + 1] = 0;
    }
    rewriteStreamId(message, offset, target.id);
    target.peer.sendFrame(message.subarray(offset, offset + FRAME_HEADER_BYTES + payloadLength));
  }

  private close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.early = [];
    this.client.peer.detachStream(this.client.id);
    if (this.server) this.server.peer.detachStream(this.server.id);
    this.onClosed(this);
  }
}

function payloadOf(message: Buffer, offset: number, payloadLength: number): Buffer {
  const start = offset + FRAME_HEADER_BYTES;
  return message.subarray(start, start + payloadLength);
}
