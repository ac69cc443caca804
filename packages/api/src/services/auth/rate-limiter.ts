export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

export type RateLimitDecision =
  | { isAllowed: true }
  | {
      isAllowed: false;
      /** Until the last of the exhausted keys frees a slot. */
      retryAfterMs: number;
      /** The keys that were over their limit. */
      limitedKeys: string[];
    };

/**
 * Counts attempts per key in a sliding window. Asynchronous because the store may be remote: a
 * cluster of hubs shares one budget through Redis (the hub's createSharedRateLimiter), where a
 * store that cannot be reached throws AppError UNAVAILABLE (REDIS_UNAVAILABLE_MESSAGE).
 */
export interface RateLimiter {
  /**
   * Counts one attempt against every key when all of them are under their limit, and none when
   * any is over (so a request refused for its address does not also use up its IP's budget).
   * `nowMs` comes from the caller's clock, which tests inject.
   */
  take(attempts: { key: string; rule: RateLimitRule }[], nowMs: number): Promise<RateLimitDecision>;
}

const DEFAULT_MAX_KEYS = 100_000;

/**
 * In memory, so per process: the embedded default's one hub. `maxKeys` bounds memory whatever a caller sprays (random addresses, many IPs): past it the
 * least recently used keys are forgotten, which can only make the limiter more lenient for them.
 */
export function createRateLimiter(options: { maxKeys?: number } = {}): RateLimiter {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  // Attempt times per key, oldest first; Map order doubles as least-recently-used order.
  const attemptsByKey = new Map<string, number[]>();

  function readRecent(key: string, rule: RateLimitRule, nowMs: number): number[] {
    const times = attemptsByKey.get(key) ?? [];
    const windowStart = nowMs - rule.windowMs;
    const recent = times.filter((time) => time > windowStart && time <= nowMs);
    return recent;
  }

  return {
    async take(attempts, nowMs) {
      const recentByKey = attempts.map(({ key, rule }) => ({ key, rule, recent: readRecent(key, rule, nowMs) }));
      let retryAfterMs = 0;
      const limitedKeys: string[] = [];
      for (const { key, rule, recent } of recentByKey) {
        if (recent.length < rule.limit) continue;
        // The attempt that frees a slot is the oldest one still counted.
        const oldest = recent[recent.length - rule.limit] ?? nowMs;
        retryAfterMs = Math.max(retryAfterMs, oldest + rule.windowMs - nowMs, 1);
        limitedKeys.push(key);
      }
      if (limitedKeys.length > 0) return { isAllowed: false, retryAfterMs, limitedKeys };
      for (const { key, recent } of recentByKey) {
        attemptsByKey.delete(key);
        attemptsByKey.set(key, [...recent, nowMs]);
      }
      while (attemptsByKey.size > maxKeys) {
        const oldestKey = attemptsByKey.keys().next().value;
        if (oldestKey === undefined) break;
        attemptsByKey.delete(oldestKey);
      }
      return { isAllowed: true };
    },
  };
}
