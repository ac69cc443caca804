import { Duplex } from "node:stream";
import {
  decodeReset,
  decodeWindow,
  encodeFrame,
  encodeReset,
  encodeWindow,
  FRAME_HEADER_BYTES,
  FrameType,
  INITIAL_STREAM_WINDOW,
  MAX_FRAME_PAYLOAD,
  MAX_STREAM_WINDOW,
  ReceiveWindow,
  ResetCode,
  SendCredit,
} from "@private-connect/protocol";
import type { RelayStream, StreamPeer } from "./relay-stream.js";

/** The id of the hub's own end inside its RelayStream. Frames to it never leave the process. */
const LOCAL_END_ID = 1;

/** How much a LocalStream's Readable side holds before it stops taking bytes from its queue. */
const READABLE_HIGH_WATER_MARK = 64 * 1024;

/** The stream was reset: by the far side (its reason) or by the hub (a revocation, a limit). */
export class LocalStreamReset extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "LocalStreamReset";
  }
}

/**
 * A stream the hub itself opens to a service (a public link's request), as a Node Duplex: the
 * client end of an ordinary RelayStream. It obeys the same credit flow control as an agent in
 * both directions, which is what keeps the hub's memory bounded whatever size a body has:
 * - writing: bytes leave as DATA only within the credit the exposing agent granted; a write whose
 *   credit ran out completes (and lets the writer continue) only when WINDOW brings more;
 * - reading: received DATA waits in a queue of at most one window (the far side cannot send
 *   more), and credit goes back as the consumer reads, not as bytes arrive.
 * It also has the few socket methods node:http calls on a connection, so it can be handed to
 * `http.request({ createConnection })`.
 */
export class LocalStream extends Duplex implements StreamPeer {
  readonly id = LOCAL_END_ID;
  /** The hub's own end accepts as much credit as any agent may grant. Its own window stays fixed. */
  readonly maxStreamWindow = MAX_STREAM_WINDOW;
  readonly understandsDataFlags = true;
  private relay: RelayStream | undefined;
  private readonly credit = new SendCredit(INITIAL_STREAM_WINDOW);
  private readonly window = new ReceiveWindow();
  /** DATA payloads received and not yet handed to the Readable side. */
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private isReadWanted = false;
  private hasReceivedFin = false;
  private hasPushedEnd = false;
  private hasSentFin = false;
  private isRelayClosed = false;
  private isSendingData = false;
  private pendingWrite: { chunk: Buffer; offset: number; callback: (error?: Error | null) => void } | undefined;
  /** True once the exposing agent has connected to its target (OPEN_OK). */
  isEstablished = false;

  constructor(readonly label: string) {
    super({ allowHalfOpen: true, readableHighWaterMark: READABLE_HIGH_WATER_MARK, decodeStrings: true });
  }

  /** Bytes received and waiting for the consumer: never more than the window granted. */
  get queuedBytes(): number {
    return this.receivedBytes;
  }

  /** Joins the relay stream this is the client end of (RelayServer.openLocalStream does it). */
  attach(relay: RelayStream): void {
    this.relay = relay;
  }

  /** Resets the stream from the hub's side with a code the exposing agent sees (for example REVOKED). */
  abort(code: number, reason: string): void {
    this.sendResetToRelay(code, reason);
    this.destroy(new LocalStreamReset(code, reason));
  }

  // --- StreamPeer: what the RelayStream calls -------------------------------------------------

  /** A frame from the exposing agent, already addressed to LOCAL_END_ID. */
  sendFrame(frame: Buffer): void {
    if (this.destroyed) return;
    const type = frame[0];
    const payload = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + frame.readUInt32BE(6));
    switch (type) {
      case FrameType.DATA:
        // The RelayStream already held the agent to the credit we granted, so the queue is bounded.
        // An empty frame only says the agent is out of credit: this end's window stays fixed.
        if (this.hasReceivedFin || payload.length === 0) return;
        this.received.push(payload);
        this.receivedBytes += payload.length;
        this.flushReceived();
        break;
      case FrameType.WINDOW:
        this.credit.grant(decodeWindow(payload));
        this.continueWrite();
        break;
      case FrameType.FIN:
        this.hasReceivedFin = true;
        this.flushReceived();
        break;
      case FrameType.OPEN_OK:
        this.isEstablished = true;
        this.emit("established");
        break;
      case FrameType.RST: {
        const reset = decodeReset(payload);
        this.isRelayClosed = true;
        this.destroy(new LocalStreamReset(reset.code, reset.reason));
        break;
      }
    }
  }

  /** The relay reset the stream (the agent vanished, a limit, a revocation). */
  sendReset(_streamId: number, code: number, reason: string): void {
    // The relay is closing the stream itself: nothing more may be sent into it.
    this.isRelayClosed = true;
    this.destroy(new LocalStreamReset(code, reason));
  }

  detachStream(_streamId: number): void {
    this.isRelayClosed = true;
    // Bytes of a write still waiting for credit can never leave now.
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.callback(new LocalStreamReset(ResetCode.CANCELLED, "The stream was closed"));
  }

  // --- Duplex ------------------------------------------------------------------------------------

  override _read(): void {
    this.isReadWanted = true;
    this.flushReceived();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.relay === undefined || this.isRelayClosed) {
      callback(new LocalStreamReset(ResetCode.CANCELLED, "The stream is closed"));
      return;
    }
    this.pendingWrite = { chunk, offset: 0, callback };
    this.continueWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.relay !== undefined && !this.isRelayClosed && !this.hasSentFin) {
      this.hasSentFin = true;
      this.relay.receive("client", FrameType.FIN, 0, encodeFrame(FrameType.FIN, this.id), 0);
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Ending before both directions finished tells the agent to drop its connection to the target.
    if (!(this.hasSentFin && this.hasReceivedFin)) {
      this.sendResetToRelay(ResetCode.CANCELLED, error?.message ?? "The hub closed the stream");
    }
    this.received = [];
    this.receivedBytes = 0;
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.callback(error ?? new LocalStreamReset(ResetCode.CANCELLED, "The stream was closed"));
    callback(error);
  }

  // --- What node:http expects of a socket ---------------------------------------------------------

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(_ms: number, callback?: () => void): this {
    if (callback) this.once("timeout", callback);
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // --- Internals -----------------------------------------------------------------------------------

  /** Hands queued bytes to the Readable side while it asks for more, granting credit for each. */
  private flushReceived(): void {
    while (this.isReadWanted && this.received.length > 0) {
      const chunk = this.received.shift();
      if (chunk === undefined) break;
      this.receivedBytes -= chunk.length;
      this.grant(chunk.length);
      this.isReadWanted = this.push(chunk);
    }
    if (this.received.length === 0 && this.hasReceivedFin && !this.hasPushedEnd) {
      this.hasPushedEnd = true;
      this.push(null);
    }
  }

  private grant(bytes: number): void {
    const increment = this.window.release(bytes);
    if (increment === 0 || this.relay === undefined || this.isRelayClosed || this.hasPushedEnd) return;
    this.relay.receive("client", FrameType.WINDOW, 4, encodeWindow(this.id, increment), 0);
  }

  /** Sends what the credit allows of the pending write; completes it once all of it has left. */
  private continueWrite(): void {
    const pending = this.pendingWrite;
    // A WINDOW can arrive while we are sending (a peer that answers at once): the loop below
    // reads the credit afresh on every frame, so the nested call has nothing to do.
    if (pending === undefined || this.relay === undefined || this.isSendingData) return;
    this.isSendingData = true;
    try {
      while (pending.offset < pending.chunk.length) {
        if (this.isRelayClosed) return;
        const size = Math.min(pending.chunk.length - pending.offset, MAX_FRAME_PAYLOAD, this.credit.bytes);
        if (size === 0) return;
        this.credit.consume(size);
        const frame = encodeFrame(FrameType.DATA, this.id, pending.chunk.subarray(pending.offset, pending.offset + size));
        pending.offset += size;
        if (!this.relay.receive("client", FrameType.DATA, size, frame, 0)) {
          // Cannot happen while both sides keep the same books; if it does, fail loudly.
          this.abort(ResetCode.FLOW_CONTROL, "The hub's own stream broke flow control");
          return;
        }
      }
    } finally {
      this.isSendingData = false;
    }
    if (this.pendingWrite !== pending) return;
    this.pendingWrite = undefined;
    pending.callback();
  }

  private sendResetToRelay(code: number, reason: string): void {
    if (this.relay === undefined || this.isRelayClosed) return;
    this.isRelayClosed = true;
    const frame = encodeReset(this.id, code, reason);
    this.relay.receive("client", FrameType.RST, frame.length - FRAME_HEADER_BYTES, frame, 0);
  }
}
