import { isIPv4, isIPv6 } from "node:net";
import { issueMagicLinkHash, sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { RateLimitRule } from "./rate-limiter.js";
import { generateBrowserToken } from "./secrets.js";

export const MAGIC_LINK_TTL_MS = 15 * 60 * 1000;
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
export const MAGIC_LINKS_PER_ADDRESS: RateLimitRule = { limit: 5, windowMs: FIFTEEN_MINUTES_MS };
export const MAGIC_LINKS_PER_IP: RateLimitRule = { limit: 20, windowMs: FIFTEEN_MINUTES_MS };

/**
 * Counts one sign-in link for the address (so nobody can flood an inbox) and, when `ip` is not
 * null, for the requesting network (so nobody can spray addresses). Throws RATE_LIMITED with
 * when to retry. Invitations pass ip null: their sender is an authenticated owner.
 */
export async function takeSignInLinkAttempt(deps: ApiDeps, email: string, ip: string | undefined | null): Promise<void> {
  const addressKey = `sign-in-link:address:${email}`;
  const attempts = [{ key: addressKey, rule: MAGIC_LINKS_PER_ADDRESS }];
  if (ip !== null) attempts.push({ key: `sign-in-link:ip:${describeNetwork(ip)}`, rule: MAGIC_LINKS_PER_IP });
  const decision = await deps.rateLimiter.take(attempts, currentTime(deps).getTime());
  if (decision.isAllowed) return;
  const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
  // Which limit was hit is no secret: both apply whether or not the address has an account.
  const what = decision.limitedKeys.includes(addressKey) ? "for this address" : "from your network";
  throw new AppError(
    "RATE_LIMITED",
    `Too many sign-in links requested ${what}: try again in ${describeWait(retryAfterSeconds)}`,
    {
      retryAfterSeconds,
    },
  );
}

/**
 * Issues a single-use link for the address and emails it. The token exists in clear only in the
 * email: the database gets its SHA-256. The URL comes from configuration and never from the
 * request's Host header, which a caller controls: a forged Host would otherwise mail a victim a
 * genuine token pointing at the attacker's site.
 */
export async function sendSignInLink(deps: ApiDeps, email: string): Promise<void> {
  // The link opens the dashboard's verify page, wherever the dashboard is served.
  const publicUrl = deps.config.dashboardUrl || deps.config.publicUrl;
  if (publicUrl === undefined || publicUrl === "") {
    throw new AppError("INTERNAL", "Sign-in by email is not set up on this hub: its operator must configure its public URL");
  }
  const token = generateBrowserToken();
  const now = currentTime(deps);
  await issueMagicLinkHash(deps.db.prisma, {
    email,
    tokenHash: sha256Hex(token),
    now,
    expiresAt: new Date(now.getTime() + MAGIC_LINK_TTL_MS),
  });
  try {
    await deps.mailer.sendMagicLink(email, buildSignInUrl(publicUrl, token));
  } catch (error) {
    throw new AppError(
      "INTERNAL",
      "The sign-in email could not be sent: try again in a minute; if it keeps failing, the hub's SMTP settings need a look",
      { cause: error },
    );
  }
}

export function buildSignInUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/auth/verify?token=${token}`;
}

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/**
 * The unit an IP limit counts (sign-in links, share joins, public link visitors): the address for
 * IPv4, the /64 for IPv6 (one subscriber usually holds a whole /64, so per-address counting would
 * be no limit at all).
 */
export function describeNetwork(ip: string | undefined): string {
  if (ip === undefined || ip === "") return "unknown";
  const address = ip.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const [head = "", tail] = address.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array.from({ length: Math.max(0, 8 - headGroups.length - tailGroups.length) }, () => "0");
  const groups = [...headGroups, ...zeros, ...tailGroups].slice(0, 4).map((group) => group.replace(/^0+(?=.)/, ""));
  return `${groups.join(":")}::/64`;
}
