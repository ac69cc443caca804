import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the old generation grow past the live heap before it starts a full
 * (mark-compact) collection, in percent: 400 means a limit of 5x the live size.
 */
export const RELAY_HEAP_GROWING_PERCENT = 400;

let isTuned = false;

/**
 * Tunes V8's garbage collector for a process whose job is relaying bytes: the hub, and an
 * agent run by `connect up`. Call it once at start-up, from an entry point that owns the
 * process; never from the SDK, which runs inside someone else's program.
 *
 * Why: every socket read and every received WebSocket message is a fresh Buffer, so a relay
 * allocates several times the bytes it moves, all outside the JavaScript heap and nearly all
 * dead within microseconds. V8 counts that external memory against the old generation's
 * limit, and it sizes that limit from the live heap, which in an agent is only ~15 MB. At a
 * few hundred MB/s the limit was reached every few dozen milliseconds: `npm run bench`
 * counted 250-350 full collections per agent in one run, and one agent spent more CPU per GB
 * than the whole SSH tunnel. With the limit at 5x the live heap the dead buffers are freed by
 * the cheap young-generation collections first, full collections drop to a handful per run,
 * and one stream moves about 1.5-2x as much (the README's benchmark section has the figures).
 * The cost is a higher ceiling before a full collection, tens of MB for an agent.
 */
export function tuneGarbageCollectorForRelaying(): void {
  if (isTuned) return;
  isTuned = true;
  setFlagsFromString(`--heap-growing-percent=${RELAY_HEAP_GROWING_PERCENT}`);
}
