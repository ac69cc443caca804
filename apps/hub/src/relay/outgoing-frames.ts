import { MAX_WS_MESSAGE_BYTES } from "@private-connect/protocol";

/** Where batches go: one WebSocket message per call (a `ws` WebSocket is one). */
export interface MessageSocket {
  send(message: Buffer): void;
}

/**
 * The sending side of a relay connection (an agent's, or a peer hub's). Frames leave in batches,
 * once per event-loop turn. Relayed frames are views into the message they arrived in, so
 * consecutive frames of one incoming batch bound for the same connection sit next to each other
 * in memory and leave as one message, without a copy; a frame that is not adjacent (another
 * buffer, a gap) sends what was gathered and starts the next batch. A batch never grows past
 * MAX_WS_MESSAGE_BYTES, what the far side accepts as one message.
 */
export class OutgoingFrames {
  private pending: Buffer | undefined;
  private isClosed = false;

  constructor(
    private readonly socket: MessageSocket,
    private readonly maxMessageBytes: number = MAX_WS_MESSAGE_BYTES,
  ) {}

  send(frame: Buffer): void {
    if (this.isClosed) return;
    const pending = this.pending;
    if (pending) {
      const isAdjacent = pending.buffer === frame.buffer && pending.byteOffset + pending.length === frame.byteOffset;
      if (isAdjacent && pending.length + frame.length <= this.maxMessageBytes) {
        this.pending = Buffer.from(pending.buffer, pending.byteOffset, pending.length + frame.length);
        return;
      }
      this.socket.send(pending);
    } else {
      setImmediate(this.flush);
    }
    this.pending = frame;
  }

  /** Sends what is gathered now: before closing the socket, so the last frames (an error, RSTs) go first. */
  readonly flush = (): void => {
    const pending = this.pending;
    this.pending = undefined;
    if (pending && !this.isClosed) this.socket.send(pending);
  };

  /** The socket is gone: drop what is gathered and send nothing more. */
  close(): void {
    this.isClosed = true;
    this.pending = undefined;
  }
}
