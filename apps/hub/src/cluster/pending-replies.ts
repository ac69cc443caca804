/**
 * Questions sent to another process or hub that wait for their reply, by request id: each
 * settles once, by its reply, a failure or its timeout, whichever comes first, and then leaves
 * the map, so a peer that never answers costs one timer, not a leak. A question may name who was
 * asked; a reply from anyone else is ignored, so a bystander cannot answer for another.
 */
export class PendingReplies<T> {
  private readonly waiting = new Map<string | number, { from: string | undefined; settle: (outcome: T | Error) => void }>();

  /** Waits for the reply to `id` (from `from`, when given); rejects with `timeout()` after `timeoutMs`. */
  wait(id: string | number, timeoutMs: number, timeout: () => Error, from?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(id, timeout()), timeoutMs);
      this.waiting.set(id, {
        from,
        settle: (outcome) => {
          clearTimeout(timer);
          this.waiting.delete(id);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      });
    });
  }

  /** The reply to `id`, taken only from the one asked; false when nobody waits for it from `from`. */
  reply(id: string | number, value: T, from?: string): boolean {
    const pending = this.waiting.get(id);
    if (pending === undefined || (pending.from !== undefined && pending.from !== from)) return false;
    pending.settle(value);
    return true;
  }

  fail(id: string | number, error: Error): void {
    this.waiting.get(id)?.settle(error);
  }

  /** Fails every question put to `from` (it went away). */
  failFrom(from: string, error: Error): void {
    for (const pending of [...this.waiting.values()]) if (pending.from === from) pending.settle(error);
  }

  failAll(error: Error): void {
    for (const pending of [...this.waiting.values()]) pending.settle(error);
  }

  get size(): number {
    return this.waiting.size;
  }
}
