import { FrameType } from "./frame-types.js";
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD, MAX_WS_MESSAGE_BYTES } from "./limits.js";

/** Where finished batches go: one WebSocket message each. */
export type BatchSink = (message: Buffer) => void;

/**
 * Builds outgoing frames in large slabs and sends the frames of one event-loop turn as one
 * WebSocket message. Two costs dominate a relay at speed: allocating a buffer per frame
 * (garbage-collector pressure) and a send per frame (syscalls, per-message work at the
 * hub). Here a DATA frame's header and payload are written straight into the slab, and
 * the frames written before the next `setImmediate` leave together, in order.
 */
export class FrameWriter {
  private slab: Buffer;
  private used = 0;
  private batchStart = 0;
  private isFlushScheduled = false;

  constructor(
    private readonly sink: BatchSink,
    private readonly slabBytes: number = 1024 * 1024,
    private readonly maxBatchBytes: number = MAX_WS_MESSAGE_BYTES,
  ) {
    this.slab = Buffer.allocUnsafe(slabBytes);
  }

  /** A DATA frame carrying a copy of `payload` (at most MAX_FRAME_PAYLOAD bytes). */
  writeData(streamId: number, payload: Uint8Array): void {
    if (payload.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
    const offset = this.reserve(FRAME_HEADER_BYTES + payload.length);
    const slab = this.slab;
    slab[offset] = FrameType.DATA;
    slab[offset + 1] = 0;
    slab.writeUInt32BE(streamId >>> 0, offset + 2);
    slab.writeUInt32BE(payload.length, offset + 6);
    slab.set(payload, offset + FRAME_HEADER_BYTES);
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
    this.sink(batch);
  }

  /** Drops whatever is batched (the connection is gone). */
  discard(): void {
    this.batchStart = this.used;
  }

  private reserve(bytes: number): number {
    if (this.used - this.batchStart + bytes > this.maxBatchBytes) this.flush();
    if (this.used + bytes > this.slab.length) {
      this.flush();
      // Sent batches still point into the old slab; a fresh one means nothing is overwritten.
      this.slab = Buffer.allocUnsafe(Math.max(this.slabBytes, bytes));
      this.used = 0;
      this.batchStart = 0;
    }
    const offset = this.used;
    this.used += bytes;
    if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      setImmediate(() => this.flush());
    }
    return offset;
  }
}
