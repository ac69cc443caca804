/** From this close to expiry on, `connect up` and `connect status` warn. */
export const TOKEN_EXPIRY_WARNING_DAYS = 7;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

export interface TokenExpiryInput {
  tokenExpiresAt: string;
  isProvisioned?: boolean | undefined;
  /** Registration + the hub's TOKEN_MAX_LIFETIME_DAYS: no rotation extends the token past it. */
  tokenMaxExpiresAt?: string | undefined;
}

/**
 * The warning to show about the agent token, or undefined while it has more than
 * TOKEN_EXPIRY_WARNING_DAYS left. `now` is injected so tests can stand anywhere in time.
 */
export function describeTokenExpiry(identity: TokenExpiryInput, now: Date): string | undefined {
  const expiresAt = Date.parse(identity.tokenExpiresAt);
  if (Number.isNaN(expiresAt)) return undefined;
  const remainingMs = expiresAt - now.getTime();
  if (remainingMs > TOKEN_EXPIRY_WARNING_DAYS * DAY_MS) return undefined;
  if (remainingMs <= 0) {
    return identity.isProvisioned === true
      ? "Provisioned agent token expired: provision a new one and run connect up --token <token>"
      : "Agent token expired: register this machine again with connect up --api-key <key> or connect login --hub <url>";
  }
  const remaining = formatRemaining(remainingMs);
  // A provisioned token cannot be rotated (that would outlive its TTL); it is replaced.
  if (identity.isProvisioned === true) {
    return `Provisioned agent token expires in ${remaining}: provision a new one and run connect up --token <token>`;
  }
  // Near the maximum lifetime a rotation gains (almost) nothing: only a new registration helps.
  const maxExpiresAt = identity.tokenMaxExpiresAt === undefined ? Number.NaN : Date.parse(identity.tokenMaxExpiresAt);
  if (!Number.isNaN(maxExpiresAt) && maxExpiresAt - expiresAt < DAY_MS) {
    return `Agent token expires in ${remaining} and reaches its maximum lifetime then: register this machine again with connect up --api-key <key> or connect login --hub <url>`;
  }
  return `Agent token expires in ${remaining}: run connect up --rotate-token`;
}

/** "6 days", "1 day", "5 hours", "12 minutes": rounded up, so "1 day" never means 20 hours left. */
export function formatRemaining(ms: number): string {
  const [amount, unit] =
    ms > DAY_MS
      ? [Math.ceil(ms / DAY_MS), "day"]
      : ms > HOUR_MS
        ? [Math.ceil(ms / HOUR_MS), "hour"]
        : [Math.max(1, Math.ceil(ms / MINUTE_MS)), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
