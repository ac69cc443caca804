import { AppError } from "../errors.js";
import type { WorkspaceEvent } from "../schemas/events.js";

/**
 * In-process live updates, one channel per workspace. A subscriber names no channel itself: the
 * caller passes the workspace of an authenticated principal, so one workspace can never listen
 * to another's. With several hubs the hub's cluster bus wraps this one and
 * carries each event to the other hubs' subscribers through Redis.
 */
export interface WorkspaceEvents {
  /** Hands the event to the workspace's current subscribers; never blocks and never throws. */
  publish(workspaceId: string, event: WorkspaceEvent): void;
  /**
   * Registers at once, not on the first next(): every event published after this call returns
   * is delivered. Ends when the signal aborts or return() is called.
   */
  subscribe(workspaceId: string, options?: { signal?: AbortSignal | undefined }): AsyncIterableIterator<WorkspaceEvent>;
  /** Open subscriptions of one workspace, or of all of them. */
  countSubscribers(workspaceId?: string): number;
}

export interface CreateWorkspaceEventsOptions {
  /** Events queued for a subscriber that does not read; beyond this it is dropped. Default 1000. */
  maxQueuedPerSubscriber?: number;
}

const DEFAULT_MAX_QUEUED = 1_000;

export const SUBSCRIBER_FELL_BEHIND =
  "Live updates fell behind: this subscriber stopped reading, so it was dropped; subscribe again and refetch the current state";

export function createWorkspaceEvents(options: CreateWorkspaceEventsOptions = {}): WorkspaceEvents {
  const maxQueued = options.maxQueuedPerSubscriber ?? DEFAULT_MAX_QUEUED;
  const channels = new Map<string, Set<Subscriber>>();

  function unregister(workspaceId: string, subscriber: Subscriber): void {
    const channel = channels.get(workspaceId);
    if (channel === undefined) return;
    channel.delete(subscriber);
    if (channel.size === 0) channels.delete(workspaceId);
  }

  return {
    publish(workspaceId, event) {
      const channel = channels.get(workspaceId);
      if (channel === undefined) return;
      // Copy: a subscriber dropped for overflow leaves the set while we iterate.
      for (const subscriber of [...channel]) subscriber.push(event);
    },
    subscribe(workspaceId, subscribeOptions = {}) {
      const subscriber = new Subscriber(maxQueued, subscribeOptions.signal, () => unregister(workspaceId, subscriber));
      if (!subscriber.isClosed) {
        const channel = channels.get(workspaceId) ?? new Set<Subscriber>();
        channel.add(subscriber);
        channels.set(workspaceId, channel);
      }
      return subscriber;
    },
    countSubscribers(workspaceId) {
      if (workspaceId !== undefined) return channels.get(workspaceId)?.size ?? 0;
      let total = 0;
      for (const channel of channels.values()) total += channel.size;
      return total;
    },
  };
}

/**
 * A hand-written iterator rather than an async generator: a generator parked on an await cannot
 * be returned until that await settles, so an idle subscriber would never be cleaned up.
 */
class Subscriber implements AsyncIterableIterator<WorkspaceEvent> {
  private readonly queue: WorkspaceEvent[] = [];
  private waiting: ((result: IteratorResult<WorkspaceEvent, undefined>) => void) | undefined;
  private failure: AppError | undefined;
  private closed = false;
  private readonly onAbort = () => this.close();

  constructor(
    private readonly maxQueued: number,
    private readonly signal: AbortSignal | undefined,
    private readonly unregister: () => void,
  ) {
    if (signal?.aborted) this.closed = true;
    else signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(event: WorkspaceEvent): void {
    if (this.closed) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting({ value: event, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      // Bounded memory whatever a stalled client does; it learns on its next read.
      this.queue.length = 0;
      this.failure = new AppError("RATE_LIMITED", SUBSCRIBER_FELL_BEHIND);
      this.close();
      return;
    }
    this.queue.push(event);
  }

  next(): Promise<IteratorResult<WorkspaceEvent, undefined>> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve({ value: queued, done: false });
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<WorkspaceEvent, undefined>> {
    this.close();
    this.queue.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WorkspaceEvent> {
    return this;
  }

  private close(): void {
    if (!this.closed) {
      this.closed = true;
      this.signal?.removeEventListener("abort", this.onAbort);
    }
    this.unregister();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }
}
