/** The end of a whole check, shared by its steps so no step can outlast it. */
export interface Deadline {
  /** Milliseconds left, never below zero. */
  remainingMs(): number;
  isPast(): boolean;
}

export function createDeadline(timeoutMs: number, now: () => number = () => performance.now()): Deadline {
  const endsAt = now() + timeoutMs;
  return {
    remainingMs: () => Math.max(0, Math.round(endsAt - now())),
    isPast: () => now() >= endsAt,
  };
}
