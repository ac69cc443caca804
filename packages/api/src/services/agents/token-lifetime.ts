import type { ApiDeps } from "../../deps.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** TOKEN_MAX_LIFETIME_DAYS when the hub sets none. */
export const DEFAULT_TOKEN_MAX_LIFETIME_DAYS = 365;

/**
 * The latest an agent's token may ever expire, however often it rotates: its registration plus
 * TOKEN_MAX_LIFETIME_DAYS. A provisioned token cannot rotate, so its own expiry is its cap.
 */
export function tokenMaxExpiresAt(deps: ApiDeps, registeredAt: Date, provisioned?: { tokenExpiresAt: Date } | undefined): Date {
  if (provisioned !== undefined) return provisioned.tokenExpiresAt;
  const days = deps.config.tokenMaxLifetimeDays ?? DEFAULT_TOKEN_MAX_LIFETIME_DAYS;
  return new Date(registeredAt.getTime() + days * DAY_MS);
}
