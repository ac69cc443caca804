/** How the hub answered the open of one reached stream, as `connect check` asks for it. */
export interface StreamOpening {
  isOpened: boolean;
  /** From the OPEN sent to the hub's answer. */
  openMs: number;
  /** Why the hub (or this agent) refused the stream, when it did. */
  refusal?: { code: number; reason: string };
}

/** A local connection to a reach: the reach's port and the client's own port name it uniquely. */
export function getStreamKey(reachPort: number, clientPort: number): string {
  return `${reachPort}:${clientPort}`;
}

/** Answers nobody asked for are kept this long: the client asks right after it connected. */
const KEEP_MS = 60_000;
/** Every local connection to a reach leaves an answer here: old ones go first past this many. */
const MAX_KEPT = 256;

interface Waiter {
  resolve(opening: StreamOpening | undefined): void;
  timer: NodeJS.Timeout;
}

/**
 * Matches the hub's answers to stream opens (from the tunnel) with the clients that wait for
 * them (over the control socket), whichever comes first. The answer may arrive before the
 * question (the client's control request is slower than a fast hub), so answers are kept a
 * while; memory stays bounded by MAX_KEPT whatever the clients do.
 */
export class StreamOpenings {
  readonly #answers = new Map<string, { opening: StreamOpening; at: number }>();
  readonly #waiters = new Map<string, Waiter[]>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  record(key: string, opening: StreamOpening): void {
    const waiters = this.#waiters.get(key);
    if (waiters !== undefined) {
      this.#waiters.delete(key);
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.resolve({ ...opening });
      }
      return;
    }
    this.#answers.delete(key);
    this.#answers.set(key, { opening, at: this.now() });
    this.#prune();
  }

  /** The answer for this connection, waiting up to timeoutMs for it; undefined if none came. */
  wait(key: string, timeoutMs: number): Promise<StreamOpening | undefined> {
    this.#prune();
    const known = this.#answers.get(key);
    if (known !== undefined) {
      this.#answers.delete(key);
      return Promise.resolve({ ...known.opening });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const left = (this.#waiters.get(key) ?? []).filter((other) => other !== waiter);
          if (left.length === 0) this.#waiters.delete(key);
          else this.#waiters.set(key, left);
          resolve(undefined);
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), waiter]);
    });
  }

  #prune(): void {
    const oldest = this.now() - KEEP_MS;
    for (const [key, answer] of this.#answers) {
      // Insertion order is arrival order: the first young one ends the old ones.
      if (answer.at >= oldest && this.#answers.size <= MAX_KEPT) break;
      this.#answers.delete(key);
    }
  }
}
