import { FRAME_HEADER_BYTES, FrameType, INITIAL_STREAM_WINDOW, rewriteStreamId, SendCredit } from "@private-connect/protocol";

/** What a relay stream needs from a connection: a way to send raw frames, and its stream table. */
export interface StreamPeer {
  readonly label: string;
  sendFrame(frame: Buffer): void;
  sendReset(streamId: number, code: number, reason: string): void;
  detachStream(streamId: number): void;
}

export interface StreamEnd {
  peer: StreamPeer;
  id: number;
}

/**
 * The most credit one receiver may hold out for a stream. Agents grant 256 KiB; allowing
 * some headroom lets future agents tune windows, while a receiver colluding with a fast
 * sender can still make the hub hold at most this much for the stream.
 */
const MAX_STREAM_WINDOW = 16 * INITIAL_STREAM_WINDOW;

/**
 * One relayed stream: the reaching agent's end ("client") and, once authorized, the
 * exposing agent's end ("server"). The hub forwards frames between the ends by rewriting
 * the stream id in place: payload bytes are never copied, decoded or logged. It does keep
 * the credit books of both directions, so no agent can make the hub buffer more than the
 * other side granted.
 */
export class RelayStream {
  server: StreamEnd | undefined;
  private readonly clientToServer = new SendCredit(INITIAL_STREAM_WINDOW, MAX_STREAM_WINDOW);
  private readonly serverToClient = new SendCredit(INITIAL_STREAM_WINDOW, MAX_STREAM_WINDOW);
  /** Frames the client sent while we were still authorizing (early data, FIN, WINDOW). */
  private early: { message: Buffer; offset: number; length: number }[] = [];
  private hasClientFin = false;
  private hasServerFin = false;
  private isClosed = false;
  bytesFromClient = 0;
  bytesFromServer = 0;
  /** Set for a stream that crosses workspaces through a share: its revocation or expiry ends it. */
  share: { id: string; expiresAt: Date } | undefined;

  constructor(
    readonly client: StreamEnd,
    readonly service: string,
    private readonly onClosed: (stream: RelayStream) => void,
  ) {}

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Authorization succeeded: connect the exposing end and replay what the client sent. */
  attachServer(server: StreamEnd): void {
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
        const increment = message.readUInt32BE(offset + FRAME_HEADER_BYTES);
        // A WINDOW from one end is credit for the other end's sending.
        (fromClient ? this.serverToClient : this.clientToServer).grant(increment);
        break;
      }
      case FrameType.FIN:
        if (fromClient) this.hasClientFin = true;
        else this.hasServerFin = true;
        break;
      case FrameType.OPEN_OK:
        if (fromClient) return false;
        break;
      case FrameType.RST:
        this.relayTo(fromClient ? "server" : "client", message, offset, payloadLength);
        this.close();
        return true;
    }
    this.relayTo(fromClient ? "server" : "client", message, offset, payloadLength);
    if (this.hasClientFin && this.hasServerFin) this.close();
    return true;
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
