import { ProtocolError } from "./codec.js";
import { INITIAL_STREAM_WINDOW } from "./limits.js";

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
    private readonly max: number = 16 * INITIAL_STREAM_WINDOW,
  ) {
    this.available = initial;
  }

  get bytes(): number {
    return this.available;
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
 */
export class ReceiveWindow {
  private unacknowledged = 0;

  constructor(private readonly window: number = INITIAL_STREAM_WINDOW) {}

  /** Marks `bytes` as delivered; returns the WINDOW increment to send now, or 0. */
  release(bytes: number): number {
    this.unacknowledged += bytes;
    if (this.unacknowledged < this.window / 4) return 0;
    const increment = this.unacknowledged;
    this.unacknowledged = 0;
    return increment;
  }
}
