import { ProtocolError } from "./codec.js";
import { INITIAL_STREAM_WINDOW, MAX_STREAM_WINDOW } from "./limits.js";

/**
 * What a sender may still send on one stream. The receiver grants credit with WINDOW
 * frames as it hands bytes on; a sender with no credit must stop reading its source.
 * This is what bounds memory at every hop: nobody can be sent more than it granted.
 */
export class SendCredit {
  private available: number;

  constructor(
    initial: number = INITIAL_STREAM_WINDOW,
    /** Most credit that may be outstanding at once; more is a misbehaving peer. */
    private max: number = MAX_STREAM_WINDOW,
  ) {
    this.available = initial;
  }

  get bytes(): number {
    return this.available;
  }

  /** Lowers or raises the most credit that may be outstanding (once both ends are known). */
  setMax(max: number): void {
    this.max = max;
  }

  /** Records `bytes` as sent; false when the sender exceeded its credit. */
  consume(bytes: number): boolean {
    if (bytes > this.available) return false;
    this.available -= bytes;
    return true;
  }

  grant(increment: number): void {
    const next = this.available + increment;
    if (next > this.max) throw new ProtocolError(`window of ${next} bytes exceeds the ${this.max}-byte maximum`);
    this.available = next;
  }
}

/**
 * Receiver side: counts bytes handed on (written to the local socket and accepted by it)
 * and decides when to return them to the sender as credit. Returning credit in chunks of
 * at least a quarter window keeps WINDOW frames rare without stalling the sender.
 *
 * The window grows (doubling, up to the stream's limit) when the window itself is what
 * holds the sender back: the sender says it ran out of credit with more to send, while our
 * reader had caught up. A slow reader keeps bytes waiting here, so its window stays as it
 * is and memory stays bounded by what that reader takes. A lower limit shrinks the window.
 */
export class ReceiveWindow {
  private size: number;
  private limit: number;
  private unacknowledged = 0;
  /** Credit still to withhold after the window shrank: bytes the sender may have in flight beyond it. */
  private debt = 0;

  constructor(private readonly initial: number = INITIAL_STREAM_WINDOW) {
    this.size = initial;
    this.limit = initial;
  }

  /** The current window: the most the sender may have in flight. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Sets how far the window may grow. A limit below the current window shrinks it: the
   * difference is withheld from the credit returned next, so the sender's bytes in flight
   * fall to the new size before it gets more. Never below the initial window.
   */
  setLimit(limit: number): void {
    this.limit = Math.max(limit, this.initial);
    if (this.size > this.limit) {
      this.debt += this.size - this.limit;
      this.size = this.limit;
    }
  }

  /** Marks `bytes` as delivered; returns the WINDOW increment to send now, or 0. */
  release(bytes: number): number {
    this.unacknowledged += bytes;
    if (this.debt > 0) {
      const repaid = Math.min(this.debt, this.unacknowledged);
      this.debt -= repaid;
      this.unacknowledged -= repaid;
    }
    if (this.unacknowledged < this.size / 4) return 0;
    const increment = this.unacknowledged;
    this.unacknowledged = 0;
    return increment;
  }

  /**
   * The sender ran out of credit with more to send. `isReaderIdle`: everything received
   * before had already been handed on. Returns the WINDOW increment to send now (the growth
   * plus what was delivered and not yet returned), or 0 when the window stays as it is.
   */
  senderBlocked(isReaderIdle: boolean): number {
    if (!isReaderIdle || this.debt > 0 || this.size >= this.limit) return 0;
    const grown = Math.min(this.size * 2, this.limit);
    const increment = grown - this.size + this.unacknowledged;
    this.size = grown;
    this.unacknowledged = 0;
    return increment;
  }
}
