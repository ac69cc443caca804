import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";

/** Room above the live heap for short-lived buffers before V8 starts a full collection. */
export const RELAY_HEAP_HEADROOM_BYTES = 64 * 1024 * 1024;
/**
 * While little is relayed, the most V8 may let the heap and external memory together grow
 * past what is live. It matters for a hub on the embedded database, whose ~250 MB of
 * WebAssembly memory V8 also multiplies by the growing factor.
 */
export const QUIET_TOTAL_HEADROOM_BYTES = 128 * 1024 * 1024;
/** A relay moving at least this much per second is relaying in bulk. */
const BULK_BYTES_PER_SECOND = 32 * 1000 * 1000;
/** Bounds of the growing factor, in percent over the live heap (V8's own range is 10-300). */
const MIN_GROWING_PERCENT = 10;
const MAX_GROWING_PERCENT = 500;

/**
 * The heap growing percentage that leaves about RELAY_HEAP_HEADROOM_BYTES above `liveBytes`
 * (the live JavaScript heap): a large factor for an agent (~15 MB), a smaller one for a hub
 * (~40 MB, more with many streams), so the extra memory stays near the headroom instead of
 * growing with the heap.
 */
export function growingPercentFor(liveBytes: number): number {
  const percent = Math.ceil((RELAY_HEAP_HEADROOM_BYTES / Math.max(liveBytes, 1)) * 100);
  return Math.min(MAX_GROWING_PERCENT, Math.max(MIN_GROWING_PERCENT, percent));
}

/**
 * The growing percentage while little is relayed: the same, unless that would let the heap and
 * external memory grow by more than QUIET_TOTAL_HEADROOM_BYTES in all.
 */
export function quietGrowingPercentFor(liveHeapBytes: number, externalBytes: number): number {
  const totalCap = Math.ceil((QUIET_TOTAL_HEADROOM_BYTES / Math.max(liveHeapBytes + externalBytes, 1)) * 100);
  return Math.min(growingPercentFor(liveHeapBytes), Math.max(MIN_GROWING_PERCENT, totalCap));
}

let isTuned = false;
let isBulk = true;
let appliedPercent = 0;

/** Right after a full collection, what is in use is what is live. */
function applyGrowingPercent(): void {
  const heap = getHeapStatistics();
  const percent = isBulk
    ? growingPercentFor(heap.used_heap_size)
    : quietGrowingPercentFor(heap.used_heap_size, heap.external_memory);
  if (percent === appliedPercent) return;
  appliedPercent = percent;
  // V8 reads it when it next sets its limits, at the end of a full collection.
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

export interface RelayGcOptions {
  /**
   * Payload bytes relayed so far. When given, the extra room is kept only while at least
   * 32 MB/s flow (checked every second): a hub spends most of its life on the control plane,
   * where the room would only hold garbage.
   */
  bytesRelayed?: () => number;
}

/**
 * Tunes V8's garbage collector for a process whose job is relaying bytes: the hub, and an
 * agent run by `connect up`. Call it once at start-up, from an entry point that owns the
 * process; the SDK never calls it, because it would change someone else's program.
 *
 * Why: every socket read and every received WebSocket message is a fresh Buffer, so a relay
 * allocates several times the bytes it moves, outside the JavaScript heap and nearly all dead
 * within microseconds. V8 counts that external memory against the old generation's limit,
 * which it sizes from the live heap: in an agent (~15 MB live) the limit was reached every few
 * megabytes relayed, and `npm run bench` counted 250-350 full collections per agent in one
 * run. Leaving 64 MiB of room lets the young-generation collections free those buffers first;
 * full collections drop to a handful per run. The room is recomputed after each full
 * collection, so a large heap grows by about that much, not by a multiple of its size.
 */
export function tuneGarbageCollectorForRelaying(options: RelayGcOptions = {}): void {
  if (isTuned) return;
  isTuned = true;
  const { bytesRelayed } = options;
  if (bytesRelayed) {
    isBulk = false;
    let previous = bytesRelayed();
    const timer = setInterval(() => {
      const now = bytesRelayed();
      isBulk = now - previous >= BULK_BYTES_PER_SECOND;
      previous = now;
      applyGrowingPercent();
    }, 1000);
    timer.unref();
  }
  applyGrowingPercent();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) applyGrowingPercent();
    }
  });
  observer.observe({ entryTypes: ["gc"] });
}
