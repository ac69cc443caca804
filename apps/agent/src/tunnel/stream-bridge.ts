import type { Socket } from "node:net";
import {
  clampStreamWindow,
  DataFlag,
  encodeFrame,
  encodeReset,
  encodeSenderBlocked,
  encodeWindow,
  FrameType,
  INITIAL_STREAM_WINDOW,
  MAX_FRAME_PAYLOAD,
  ReceiveWindow,
  ResetCode,
  type ResetInfo,
  SendCredit,
} from "@private-connect/protocol";
import type { SealedParts, StreamCiphers } from "./stream-cipher.js";

/** Where a bridge puts its frames: the agent's one hub connection. */
export interface FrameSink {
  send(frame: Buffer): void;
  /** A DATA frame; the sink copies `payload` (then `second` and `third`, when given) into its outgoing batch. */
  sendData(streamId: number, payload: Uint8Array, second?: Uint8Array, third?: Uint8Array): void;
  /** An end-to-end stream failed a record or was cut short: the stream is reset; this is for telling a person. */
  onEndToEndFailure?(streamId: number, reason: string): void;
}

/**
 * One relayed TCP connection: a local socket on one side, a stream of frames on the
 * other. Credit-based flow control in both directions: we read the socket only while the
 * far side has granted credit, and we grant credit back only for bytes the local socket
 * has accepted, so a stalled reader anywhere stalls its writer instead of filling memory.
 *
 * An end-to-end stream seals every DATA payload as one record and opens every one it receives;
 * credit counts the bytes on the wire (plaintext plus tag), as the hub counts them. Until its
 * handshake completes, a reaching end holds the first bytes its client sent and reads no more.
 * Before FIN it sends an empty record, the authenticated end of data: a FIN without one (which
 * the hub could forge) resets the stream instead of ending it short.
 */
export class StreamBridge {
  private readonly credit = new SendCredit();
  private readonly window = new ReceiveWindow();
  /** Bytes read from the socket that the far side has no credit for yet. */
  private unsent: Buffer[] = [];
  /** Bytes written to the socket while it was over its buffer mark; granted on 'drain'. */
  private undrainedBytes = 0;
  private isAwaitingDrain = false;
  private isCorked = false;
  /** Whether everything written before the current message had drained when it began. */
  private wasIdleAtCork = false;
  /**
   * The window limit the hub gave this stream (what both agents accept). Without one (an older
   * hub) windows never grow and SENDER_BLOCKED is never sent.
   */
  private hubWindowLimit: number | undefined;
  private hasSignalledBlocked = false;
  /** Other streams share this agent's hub connection: the window stays at its initial size. */
  private isSharingConnection = false;
  /** Set once the end-to-end handshake completes; undefined for a plaintext stream. */
  private ciphers: StreamCiphers | undefined;
  /**
   * The end of a large socket read, shorter than a record, held until the next read of the same
   * event-loop turn fills the record up (or the turn ends). A socket read is 64 KiB and a record
   * carries 17 bytes less; without this, every full read would seal a second record of 17 bytes,
   * which costs nearly as much as a full one.
   */
  private heldTail: Buffer | undefined;
  private isTailFlushScheduled = false;
  /** An end-to-end stream whose handshake is still on its way: nothing is sent yet. */
  private isAwaitingHandshake = false;
  private hasSentEndOfData = false;
  private hasReceivedEndOfData = false;
  private isReadEnded = false;
  private hasSentFin = false;
  private hasReceivedFin = false;
  private isClosed = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly sink: FrameSink,
    private readonly onClosed: (bridge: StreamBridge) => void,
  ) {
    socket.setNoDelay(true);
    // A socket dialed with a shared read buffer (see readIntoSharedBuffer) emits no 'data'.
    socket.on("data", (chunk: Buffer) => this.sendData(chunk, false));
    socket.on("end", () => {
      this.isReadEnded = true;
      this.maybeSendFin();
    });
    socket.on("drain", () => this.onSocketDrain());
    socket.on("error", () => this.abort("local connection failed"));
    socket.on("close", (hadError) => {
      // A clean close after both directions ended (we passed the far side's FIN on, the
      // local side sent its own) is normal even while echoed bytes still wait for credit:
      // they and our FIN go out as credit arrives. Anything else aborts the stream.
      if (!hadError && this.isReadEnded && this.hasReceivedFin) return;
      this.abort("local connection closed");
    });
  }

  /**
   * Holds this socket's writes until uncork(): the tunnel corks a bridge for the rest of the
   * message it is reading, so that message's DATA frames reach the socket in one write
   * instead of one system call each. True when this call corked it.
   */
  cork(): boolean {
    if (this.isCorked || this.isClosed) return false;
    this.isCorked = true;
    this.wasIdleAtCork = !this.isAwaitingDrain;
    this.socket.cork();
    return true;
  }

  uncork(): void {
    if (!this.isCorked) return;
    this.isCorked = false;
    this.socket.uncork();
  }

  /**
   * The window limit the hub stated for this stream, in OPEN or OPEN_OK. An older hub states
   * none (undefined): the window then keeps its initial size.
   */
  setHubWindowLimit(stated: number | undefined): void {
    if (stated === undefined) return;
    this.hubWindowLimit = clampStreamWindow(stated);
    this.applyWindowLimit();
  }

  /**
   * Whether other streams share this agent's hub connection. Bytes this stream has in flight
   * queue ahead of theirs, so its window then stays at (or shrinks back to) the initial size;
   * alone, it may grow to the hub's limit.
   */
  setSharingConnection(isSharing: boolean): void {
    if (this.isSharingConnection === isSharing) return;
    this.isSharingConnection = isSharing;
    this.applyWindowLimit();
  }

  /** Holds the client's bytes until startEncrypting: this stream will be end-to-end encrypted. */
  awaitHandshake(): void {
    this.isAwaitingHandshake = true;
  }

  /** The handshake completed: send what the client sent meanwhile, sealed, and read on. */
  startEncrypting(ciphers: StreamCiphers): void {
    if (this.isClosed) return;
    this.ciphers = ciphers;
    this.isAwaitingHandshake = false;
    this.sendQueued();
  }

  /**
   * Bytes the socket read into a buffer it reuses for its next read (net's `onread`): sent now,
   * and copied only where they must outlive this call (waiting for credit or a handshake, a
   * held record tail). Saves an allocation per read on the exposing side's busiest socket.
   */
  receiveBorrowedRead(chunk: Buffer): void {
    this.sendData(chunk, true);
  }

  get isEndToEnd(): boolean {
    return this.ciphers !== undefined;
  }

  private applyWindowLimit(): void {
    const limit = this.hubWindowLimit;
    if (limit === undefined) return;
    this.window.setLimit(this.isSharingConnection ? INITIAL_STREAM_WINDOW : limit);
  }

  /** DATA from the far side. */
  receiveData(payload: Buffer, flags = 0): void {
    if (this.isClosed || this.hasReceivedFin) return;
    if ((flags & DataFlag.SENDER_BLOCKED) !== 0) {
      // Within a corked message every write but the first finds bytes waiting: what counts is
      // whether the local socket had caught up when the message began.
      this.grant(this.window.senderBlocked(this.isCorked ? this.wasIdleAtCork : !this.isAwaitingDrain));
    }
    if (payload.length === 0) return;
    const plaintext = this.ciphers === undefined ? payload : this.openRecord(payload);
    if (plaintext === undefined || plaintext.length === 0) return;
    // Credit is returned for the bytes on the wire, as the sender and the hub counted them.
    const isBelowMark = this.socket.write(plaintext);
    if (isBelowMark && !this.isAwaitingDrain) {
      this.grant(this.window.release(payload.length));
    } else {
      this.isAwaitingDrain = true;
      this.undrainedBytes += payload.length;
    }
  }

  /** One received record's plaintext; undefined once the stream is aborted for a bad record. */
  private openRecord(record: Buffer): Buffer | undefined {
    if (this.ciphers === undefined) return record;
    if (this.hasReceivedEndOfData) {
      this.failEndToEnd("End-to-end encryption: data after the end of data");
      return undefined;
    }
    let plaintext: Buffer;
    try {
      plaintext = this.ciphers.receive.open(record);
    } catch {
      this.failEndToEnd("End-to-end encryption: a record failed to authenticate (altered or replayed on the way)");
      return undefined;
    }
    if (plaintext.length === 0) {
      this.hasReceivedEndOfData = true;
      // Its credit comes back at once: there is nothing for the socket to drain.
      this.grant(this.window.release(record.length));
    }
    return plaintext;
  }

  /** WINDOW from the far side: more bytes we may send. */
  receiveWindow(increment: number): void {
    if (this.isClosed) return;
    this.credit.grant(increment);
    this.hasSignalledBlocked = false;
    this.sendQueued();
  }

  /** Sends what waited for credit (or for the handshake), then reads the socket on if all went. */
  private sendQueued(): void {
    if (this.isAwaitingHandshake) return;
    const queued = this.unsent;
    this.unsent = [];
    for (const chunk of queued) this.sendData(chunk, false);
    if (this.unsent.length === 0) {
      this.socket.resume();
      this.maybeSendFin();
    }
  }

  /** FIN from the far side: it sends no more; pass the half-close on to the socket. */
  receiveFin(): void {
    if (this.isClosed || this.hasReceivedFin) return;
    if (this.ciphers !== undefined && !this.hasReceivedEndOfData) {
      this.abort(
        "End-to-end encryption: the stream ended without its sealed end of data (cut short on the way)",
        ResetCode.E2E_FAILED,
      );
      return;
    }
    this.hasReceivedFin = true;
    this.socket.end();
    this.maybeFinish();
  }

  /** RST from the far side, or the hub connection is gone: drop the socket at once. */
  receiveReset(_reset?: ResetInfo): void {
    if (this.isClosed) return;
    this.close();
    // A TCP reset tells the local client plainly that the connection did not survive.
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private failEndToEnd(reason: string): void {
    this.abort(reason, ResetCode.E2E_FAILED);
    this.sink.onEndToEndFailure?.(this.id, reason);
  }

  /** Aborts from our side: tell the far side, then drop the socket. */
  abort(reason: string, code: number = 10 /* ResetCode.CANCELLED */): void {
    if (this.isClosed) return;
    if (this.hasSentFin && this.hasReceivedFin) {
      this.close();
      return;
    }
    this.sink.send(encodeReset(this.id, code, reason));
    this.close();
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  /** `isBorrowed`: `chunk` is overwritten by the socket's next read, so whatever is kept is copied. */
  private sendData(chunk: Buffer, isBorrowed: boolean): void {
    if (this.isClosed) return;
    if (this.unsent.length > 0 || this.isAwaitingHandshake) {
      this.unsent.push(isBorrowed ? Buffer.from(chunk) : chunk);
      // Before the handshake completes, what one read brought is all this stream holds.
      if (this.isAwaitingHandshake) this.socket.pause();
      return;
    }
    if (this.ciphers === undefined) {
      this.sendPlain(chunk, isBorrowed);
    } else {
      this.sendSealed(chunk, this.ciphers, isBorrowed);
    }
  }

  private sendPlain(chunk: Buffer, isBorrowed: boolean): void {
    let offset = 0;
    while (offset < chunk.length) {
      const size = Math.max(0, Math.min(chunk.length - offset, MAX_FRAME_PAYLOAD, this.credit.bytes));
      if (size === 0) {
        this.waitForCredit(keep(chunk.subarray(offset), isBorrowed));
        return;
      }
      this.credit.consume(size);
      this.sink.sendData(this.id, chunk.subarray(offset, offset + size));
      offset += size;
    }
  }

  /**
   * Seals `chunk` as records of up to maxPlaintext bytes, after any tail held from the previous
   * read. When this read filled at least one whole record, its remainder is held for the next
   * read rather than sealed on its own (see heldTail); it goes out by the end of the turn anyway.
   */
  private sendSealed(chunk: Buffer, ciphers: StreamCiphers, isBorrowed: boolean): void {
    const { maxPlaintext, overhead } = ciphers.send;
    let head = this.heldTail;
    this.heldTail = undefined;
    let offset = 0;
    let hasSentFullRecord = false;
    for (;;) {
      const available = (head?.length ?? 0) + chunk.length - offset;
      if (available === 0) return;
      if (hasSentFullRecord && head === undefined && available < maxPlaintext) {
        this.holdTail(keep(chunk.subarray(offset), isBorrowed));
        return;
      }
      const size = Math.max(0, Math.min(available, maxPlaintext, this.credit.bytes - overhead));
      if (size === 0) {
        if (head !== undefined) this.unsent.push(head);
        this.waitForCredit(keep(chunk.subarray(offset), isBorrowed));
        return;
      }
      this.credit.consume(size + overhead);
      let sealed: SealedParts;
      if (head === undefined) {
        sealed = ciphers.send.seal(chunk.subarray(offset, offset + size));
        offset += size;
      } else if (size <= head.length) {
        sealed = ciphers.send.seal(head.subarray(0, size));
        head = size < head.length ? head.subarray(size) : undefined;
      } else {
        const fromChunk = size - head.length;
        sealed = ciphers.send.seal(head, chunk.subarray(offset, offset + fromChunk));
        offset += fromChunk;
        head = undefined;
      }
      this.sendRecord(sealed);
      if (size === maxPlaintext) hasSentFullRecord = true;
    }
  }

  private sendRecord({ body, continued, tag }: SealedParts): void {
    if (continued === undefined) this.sink.sendData(this.id, body, tag);
    else this.sink.sendData(this.id, body, continued, tag);
  }

  /** Holds `tail` for the next read; one flush per turn sends whatever is still held by then. */
  private holdTail(tail: Buffer): void {
    this.heldTail = tail;
    if (this.isTailFlushScheduled) return;
    this.isTailFlushScheduled = true;
    setImmediate(() => {
      this.isTailFlushScheduled = false;
      const held = this.heldTail;
      if (held === undefined || this.isClosed) return;
      this.heldTail = undefined;
      this.sendData(held, false);
      this.maybeSendFin();
    });
  }

  /** Out of credit: keep the rest, stop reading, and tell the hub this stream is blocked. */
  private waitForCredit(rest: Buffer): void {
    this.unsent.push(rest);
    this.socket.pause();
    if (this.hubWindowLimit !== undefined && !this.hasSignalledBlocked) {
      this.hasSignalledBlocked = true;
      this.sink.send(encodeSenderBlocked(this.id));
    }
  }

  /** The sealed end of data, once there is credit for it; true when it has been sent. */
  private sendEndOfData(): boolean {
    const ciphers = this.ciphers;
    if (ciphers === undefined || this.hasSentEndOfData) return true;
    if (this.credit.bytes < ciphers.send.overhead) return false;
    this.credit.consume(ciphers.send.overhead);
    this.sendRecord(ciphers.send.seal(Buffer.alloc(0)));
    this.hasSentEndOfData = true;
    return true;
  }

  private onSocketDrain(): void {
    if (!this.isAwaitingDrain) return;
    this.isAwaitingDrain = false;
    const bytes = this.undrainedBytes;
    this.undrainedBytes = 0;
    this.grant(this.window.release(bytes));
  }

  private grant(increment: number): void {
    if (increment > 0 && !this.isClosed) this.sink.send(encodeWindow(this.id, increment));
  }

  private maybeSendFin(): void {
    if (this.isClosed || this.hasSentFin || !this.isReadEnded || this.unsent.length > 0 || this.isAwaitingHandshake) return;
    if (this.heldTail !== undefined) return;
    if (!this.sendEndOfData()) return;
    this.hasSentFin = true;
    this.sink.send(encodeFrame(FrameType.FIN, this.id));
    this.maybeFinish();
  }

  private maybeFinish(): void {
    // Both directions are done; the socket closes itself once its writes flush.
    if (this.hasSentFin && this.hasReceivedFin) this.close();
  }

  private close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.unsent = [];
    this.heldTail = undefined;
    this.onClosed(this);
  }
}

/** `bytes` itself, or a copy of it when it lives in a read buffer the socket will reuse. */
function keep(bytes: Buffer, isBorrowed: boolean): Buffer {
  return isBorrowed ? Buffer.from(bytes) : bytes;
}
