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

interface KeptAnswer {
  keyOf: () => string;
  opening: StreamOpening;
  at: number;
}

/**
 * Matches the hub's answers to stream opens (from the tunnel) with the clients that wait for
 * them (over the control socket), whichever comes first. The answer may arrive before the
 * question (the client's control request is slower than a fast hub), so answers are kept a
 * while; memory stays bounded by MAX_KEPT whatever the clients do.
 *
 * Every reached stream leaves an answer, and few are ever asked for, so an answer's key (the
 * socket's two ports, a getsockname and a getpeername) is worked out only when a client waits.
 */
export class StreamOpenings {
  /** In arrival order. */
  readonly #answers: KeptAnswer[] = [];
  readonly #waiters = new Map<string, Waiter[]>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  record(keyOf: () => string, opening: StreamOpening): void {
    const waiters = this.#waiters.size === 0 ? undefined : this.#waiters.get(keyOf());
    if (waiters !== undefined) {
      this.#waiters.delete(keyOf());
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.resolve({ ...opening });
      }
      return;
    }
    this.#answers.push({ keyOf, opening, at: this.now() });
    this.#prune();
  }

  /** The answer for this connection, waiting up to timeoutMs for it; undefined if none came. */
  wait(key: string, timeoutMs: number): Promise<StreamOpening | undefined> {
    this.#prune();
    // Taken once: every answer kept for the key goes, and the newest one is the answer.
    const matching = this.#answers.filter((answer) => answer.keyOf() === key);
    const known = matching.at(-1);
    if (known !== undefined) {
      for (const answer of matching) this.#answers.splice(this.#answers.indexOf(answer), 1);
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
    let drop = 0;
    // Arrival order: the first young one ends the old ones.
    while (drop < this.#answers.length) {
      const answer = this.#answers[drop];
      if (answer !== undefined && answer.at >= oldest && this.#answers.length - drop <= MAX_KEPT) break;
      drop += 1;
    }
    if (drop > 0) this.#answers.splice(0, drop);
  }
}
