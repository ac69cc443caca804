import { FrameType } from "./frame-types.js";
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD, MAX_WS_MESSAGE_BYTES } from "./limits.js";

/**
 * Where finished batches go: one WebSocket message each. A sink that calls `written` once the
 * message's bytes have left for the kernel lets the writer reuse that memory for later frames;
 * one that never calls it simply gets fresh slabs.
 */
export type BatchSink = (message: Buffer, written: () => void) => void;

/** A slab and the batches cut from it that are still on their way out. */
interface Slab {
  bytes: Buffer;
  inFlight: number;
  isRetired: boolean;
}

/** Spare slabs kept for reuse: enough for the batches a busy connection has in flight. */
const MAX_SPARE_SLABS = 4;

/**
 * Builds outgoing frames in large slabs and sends the frames of one event-loop turn as one
 * WebSocket message. Two costs dominate a relay at speed: allocating a buffer per frame
 * (garbage-collector pressure) and a send per frame (syscalls, per-message work at the
 * hub). Here a DATA frame's header and payload are written straight into the slab, and
 * the frames written before the next `setImmediate` leave together, in order.
 */
export class FrameWriter {
  private current: Slab;
  private slab: Buffer;
  /**
   * Slabs whose batches have all been written: reused instead of allocating. At hundreds of
   * MB/s a fresh 1 MiB slab per MiB sent is external memory churn that forces full garbage
   * collections; recycling keeps it to a handful of slabs per connection.
   */
  private readonly spare: Buffer[] = [];
  private used = 0;
  private batchStart = 0;
  private isFlushScheduled = false;

  constructor(
    private readonly sink: BatchSink,
    private readonly slabBytes: number = 1024 * 1024,
    private readonly maxBatchBytes: number = MAX_WS_MESSAGE_BYTES,
    /**
     * Called on the first frame of a batch; flush() must follow before the turn ends. By default
     * a setImmediate; a writer that is one lane of several (PrioritizedFrameWriter) lets its
     * owner flush all lanes in order instead.
     */
    private readonly scheduleFlush: () => void = () => setImmediate(() => this.flush()),
  ) {
    this.slab = Buffer.allocUnsafe(slabBytes);
    this.current = { bytes: this.slab, inFlight: 0, isRetired: false };
  }

  /**
   * A DATA frame carrying a copy of `payload`, then of `second` and `third` when given (an
   * end-to-end record's further ciphertext and its tag, so the parts of a sealed record need not
   * be joined first); at most MAX_FRAME_PAYLOAD bytes in all. Fixed optional parts rather than a
   * rest parameter: this runs for every relayed chunk, and a rest array is an allocation each.
   */
  writeData(streamId: number, payload: Uint8Array, second?: Uint8Array, third?: Uint8Array): void {
    const length = payload.length + (second?.length ?? 0) + (third?.length ?? 0);
    if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
    const offset = this.reserve(FRAME_HEADER_BYTES + length);
    const slab = this.slab;
    slab[offset] = FrameType.DATA;
    slab[offset + 1] = 0;
    slab.writeUInt32BE(streamId >>> 0, offset + 2);
    slab.writeUInt32BE(length, offset + 6);
    let at = offset + FRAME_HEADER_BYTES;
    slab.set(payload, at);
    at += payload.length;
    if (second !== undefined) {
      slab.set(second, at);
      at += second.length;
    }
    if (third !== undefined) slab.set(third, at);
  }

  /** Any already-encoded frame (control, OPEN, WINDOW, FIN, RST), kept in order with DATA. */
  writeFrame(frame: Buffer): void {
    const offset = this.reserve(frame.length);
    frame.copy(this.slab, offset);
  }

  /** Sends what is batched now (used before closing, and by the scheduled flush). */
  flush(): void {
    this.isFlushScheduled = false;
    if (this.used === this.batchStart) return;
    const batch = this.slab.subarray(this.batchStart, this.used);
    this.batchStart = this.used;
    const slab = this.current;
    slab.inFlight++;
    let isWritten = false;
    this.sink(batch, () => {
      if (isWritten) return;
      isWritten = true;
      slab.inFlight--;
      this.recycle(slab);
    });
  }

  private recycle(slab: Slab): void {
    if (!slab.isRetired || slab.inFlight > 0 || slab.bytes.length !== this.slabBytes) return;
    // Unmarked, so that the slab enters the pool once only.
    slab.isRetired = false;
    if (this.spare.length < MAX_SPARE_SLABS) this.spare.push(slab.bytes);
  }

  /** Drops whatever is batched (the connection is gone). */
  discard(): void {
    this.batchStart = this.used;
  }

  private reserve(bytes: number): number {
    if (this.used - this.batchStart + bytes > this.maxBatchBytes) this.flush();
    if (this.used + bytes > this.slab.length) {
      this.flush();
      // Sent batches may still point into the old slab: it is reused only once all of them
      // have been written, so nothing is overwritten.
      const retired = this.current;
      retired.isRetired = true;
      this.recycle(retired);
      const spare = this.spare.pop();
      this.slab = spare !== undefined && spare.length >= bytes ? spare : Buffer.allocUnsafe(Math.max(this.slabBytes, bytes));
      this.current = { bytes: this.slab, inFlight: 0, isRetired: false };
      this.used = 0;
      this.batchStart = 0;
    }
    const offset = this.used;
    this.used += bytes;
    if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      this.scheduleFlush();
    }
    return offset;
  }
}
