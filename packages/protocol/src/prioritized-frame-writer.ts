import { FrameType } from "./frame-types.js";
import { type BatchSink, FrameWriter } from "./frame-writer.js";

/**
 * DATA frames up to this size are interactive (a query, a keystroke, a ping): they leave ahead
 * of bulk data batched in the same turn. A relayed read of bulk data is 64 KiB.
 */
export const INTERACTIVE_DATA_BYTES = 4 * 1024;

/** The interactive lane's slab: its batches are small, so a small slab serves many turns. */
const INTERACTIVE_SLAB_BYTES = 64 * 1024;

/**
 * A FrameWriter with two lanes, for a connection that carries bulk transfers and interactive
 * streams at once. Each turn's interactive frames (small DATA, credit, control) go out as one
 * message before that turn's bulk frames, so a 64-byte round trip no longer waits behind up to a
 * message of bulk data at every hop; windows stay as large as WAN throughput needs.
 *
 * Order within a stream is kept: once a stream has a frame in this turn's bulk lane, its later
 * frames of the turn follow it there (the interactive lane leaves first, so anything put there
 * afterwards would overtake). WINDOW frames only grant credit for the opposite direction, so
 * they may overtake this stream's own DATA.
 */
export class PrioritizedFrameWriter {
  private readonly interactive: FrameWriter;
  private readonly bulk: FrameWriter;
  /** Streams with a frame in this turn's bulk lane. */
  private readonly bulkStreams = new Set<number>();
  private isFlushScheduled = false;

  constructor(sink: BatchSink, bulkSlabBytes?: number) {
    const scheduleFlush = () => {
      if (this.isFlushScheduled) return;
      this.isFlushScheduled = true;
      setImmediate(this.flush);
    };
    this.interactive = new FrameWriter(sink, INTERACTIVE_SLAB_BYTES, undefined, scheduleFlush);
    // A bulk batch that fills up mid-turn leaves at once: the interactive frames written before
    // it go first, or a stream's earlier small frame would arrive after its later bulk data.
    const bulkSink: BatchSink = (message, written) => {
      this.interactive.flush();
      sink(message, written);
    };
    this.bulk = new FrameWriter(bulkSink, bulkSlabBytes, undefined, scheduleFlush);
  }

  /** A DATA frame (see FrameWriter.writeData); small ones take the interactive lane. */
  writeData(streamId: number, payload: Uint8Array, second?: Uint8Array, third?: Uint8Array): void {
    const length = payload.length + (second?.length ?? 0) + (third?.length ?? 0);
    if (length <= INTERACTIVE_DATA_BYTES && !this.bulkStreams.has(streamId)) {
      this.interactive.writeData(streamId, payload, second, third);
      return;
    }
    this.bulkStreams.add(streamId);
    this.bulk.writeData(streamId, payload, second, third);
  }

  /** An encoded frame: interactive, unless its stream already has bulk data in this turn. */
  writeFrame(frame: Buffer): void {
    const type = frame[0];
    const streamId = frame.readUInt32BE(2);
    const isInteractive = type === FrameType.WINDOW || type === FrameType.CONTROL || !this.bulkStreams.has(streamId);
    (isInteractive ? this.interactive : this.bulk).writeFrame(frame);
  }

  /** Sends the interactive batch, then the bulk one. */
  readonly flush = (): void => {
    this.isFlushScheduled = false;
    this.interactive.flush();
    this.bulk.flush();
    this.bulkStreams.clear();
  };

  discard(): void {
    this.interactive.discard();
    this.bulk.discard();
    this.bulkStreams.clear();
  }
}
