import { authenticateSessionHash, sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime, type UserPrincipal } from "../../deps.js";
import { AppError, SESSION_EXPIRED } from "../../errors.js";
import { BROWSER_TOKEN_PATTERN } from "./secrets.js";
import { SESSION_IDLE_TIMEOUT_MS, SESSION_RENEW_INTERVAL_MS } from "./session-cookie.js";

/**
 * Resolves a pc_session cookie to its user. A session lives while it is used: each use at least
 * a minute after the last one moves its 30-day inactivity window forward (isRenewed, so the
 * transport can re-send the cookie with a fresh lifetime). Unknown, revoked and idle sessions
 * all get UNAUTHORIZED with one message. Nothing is cached: a logout takes effect at once.
 */
export async function authenticateSession(
  deps: ApiDeps,
  sessionToken: string,
): Promise<{ principal: UserPrincipal; isRenewed: boolean }> {
  if (!BROWSER_TOKEN_PATTERN.test(sessionToken)) throw new AppError("UNAUTHORIZED", SESSION_EXPIRED);
  const now = currentTime(deps);
  const found = await authenticateSessionHash(deps.db.prisma, sha256Hex(sessionToken), {
    now,
    activeAfter: new Date(now.getTime() - SESSION_IDLE_TIMEOUT_MS),
    renewBefore: new Date(now.getTime() - SESSION_RENEW_INTERVAL_MS),
  });
  if (found === null) throw new AppError("UNAUTHORIZED", SESSION_EXPIRED);
  return {
    principal: { kind: "user", userId: found.userId, sessionId: found.sessionId, email: found.email },
    isRenewed: found.isRenewed,
  };
}
