import { type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";

/**
 * Device-login starts allowed per client address and window. Starting is unauthenticated and
 * writes a row, so it is bounded; ten logins in ten minutes from one address is far more than
 * a person (or an office behind one NAT) needs.
 */
export const DEVICE_STARTS_PER_WINDOW = 10;
export const DEVICE_START_WINDOW_MS = 10 * 60 * 1000;

/** Counts one start for `ip` on the hub's limiter; throws RATE_LIMITED when the address is over. */
export async function takeDeviceStart(deps: ApiDeps, ip: string | undefined): Promise<void> {
  // Callers without a known address (in-process callers) share one bucket.
  const key = `device-start:ip:${ip ?? "unknown"}`;
  const decision = await deps.rateLimiter.take(
    [{ key, rule: { limit: DEVICE_STARTS_PER_WINDOW, windowMs: DEVICE_START_WINDOW_MS } }],
    currentTime(deps).getTime(),
  );
  if (decision.isAllowed) return;
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new AppError(
    "RATE_LIMITED",
    `Too many logins started from this address: wait ${Math.ceil(retryAfterSeconds / 60)} minute(s), then run connect login again`,
    { retryAfterSeconds },
  );
}
