import { createHash, randomUUID } from "node:crypto";
import { AppError, type RateLimitDecision, type RateLimiter, REDIS_UNAVAILABLE_MESSAGE } from "@private-connect/api";
import { type ClusterRedis, defineLuaScript, RedisUnavailable } from "./redis-client.js";

/**
 * The in-memory limiter's sliding window, in one script so that checking every key and counting
 * the attempt against all of them is one atomic step across the hubs. A sorted set per key:
 * member = a unique id per attempt, score = its time.
 *
 * KEYS: one sorted set per attempt. ARGV: now (ms), the attempt's member, then limit and window
 * (ms) per key. Returns {1} when counted, or {0, retryAfterMs, indexes of the limited keys}.
 *
 * Entries newer than `now` stay counted: they come from a hub whose clock is slightly ahead, and
 * ignoring them would let a skewed hub exceed the budget.
 */
const TAKE = defineLuaScript(`
local now = tonumber(ARGV[1])
local retry = 0
local limited = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    -- The attempt whose leaving frees a slot is the oldest one still counted past the limit.
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local at = tonumber(oldest[2]) or now
    retry = math.max(retry, at + window - now, 1)
    limited[#limited + 1] = i
  end
end
if #limited > 0 then
  local result = {0, retry}
  for _, index in ipairs(limited) do result[#result + 1] = index end
  return result
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, ARGV[2 + 2 * i])
end
return {1}
`);

/**
 * RateLimiter over the cluster's Redis: every hub spends from one budget per key (a share's
 * --rate-limit, sign-in and join limits, a link's per-address limit). Same decisions as
 * createRateLimiter: all-or-none over the keys of one take, retryAfterMs until the last exhausted
 * key frees a slot, limitedKeys as the caller named them. Keys expire one window after their
 * last attempt, so Redis holds no more than the recent attempts.
 *
 * Time is the caller's `nowMs`, not Redis's TIME: the decisions then match the in-memory limiter
 * exactly and tests can inject a clock. The cost is that hubs' clocks must agree (NTP): a skew of
 * a second moves a minute's window by a second, and attempts a hub ahead of the others recorded
 * keep counting (see TAKE).
 *
 * Key names are hashed: they carry email addresses and client networks, which Redis (its dumps,
 * its MONITOR) has no need to read.
 *
 * Redis away: take throws AppError UNAVAILABLE with REDIS_UNAVAILABLE_MESSAGE. Failing closed on
 * purpose: these limits guard against floods and guessing, and a hub that counted alone while
 * Redis was away would multiply every budget by the number of hubs.
 */
export function createSharedRateLimiter(redis: ClusterRedis): RateLimiter {
  return {
    async take(attempts, nowMs): Promise<RateLimitDecision> {
      if (attempts.length === 0) return { isAllowed: true };
      const keys = attempts.map(({ key }) => redis.key("rate", createHash("sha256").update(key).digest("hex")));
      const args: (string | number)[] = [Math.floor(nowMs), `${Math.floor(nowMs)}:${randomUUID()}`];
      for (const { rule } of attempts) args.push(rule.limit, rule.windowMs);
      let reply: unknown;
      try {
        reply = await redis.run((command) => TAKE.run(command, keys, args));
      } catch (error) {
        if (error instanceof RedisUnavailable) throw new AppError("UNAVAILABLE", REDIS_UNAVAILABLE_MESSAGE, { cause: error });
        throw error;
      }
      return readDecision(reply, attempts);
    },
  };
}

function readDecision(reply: unknown, attempts: { key: string }[]): RateLimitDecision {
  if (!Array.isArray(reply) || reply.some((value) => typeof value !== "number")) {
    throw new Error(`the rate limit script answered ${JSON.stringify(reply)}, not a list of numbers`);
  }
  const [isAllowed, retryAfterMs = 1, ...indexes] = reply as number[];
  if (isAllowed === 1) return { isAllowed: true };
  // Lua counts from 1.
  const limitedKeys = indexes.flatMap((index) => {
    const attempt = attempts[index - 1];
    return attempt === undefined ? [] : [attempt.key];
  });
  return { isAllowed: false, retryAfterMs, limitedKeys };
}
