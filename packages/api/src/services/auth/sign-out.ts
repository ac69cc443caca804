import { authenticateSessionHash, revokeSessionHash, sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { BROWSER_TOKEN_PATTERN } from "./secrets.js";

/** A window that neither slides the session forward nor skips an idle one: a plain look-up. */
const LOOK_UP_ONLY = { activeAfter: new Date(0), renewBefore: new Date(0) };

/**
 * Revokes the session of this cookie value, if there is one; harmless for anything else. True
 * when this call ended a session that was still active; then that session's open live-updates
 * streams end too (they authenticated once, when they opened), in every workspace.
 */
export async function signOut(deps: ApiDeps, sessionToken: string | undefined): Promise<boolean> {
  if (sessionToken === undefined || !BROWSER_TOKEN_PATTERN.test(sessionToken)) return false;
  const tokenHash = sha256Hex(sessionToken);
  const now = currentTime(deps);
  // Read before revoking: a revoked session is no longer found. The hash names one session for good.
  const session = await authenticateSessionHash(deps.db.prisma, tokenHash, { now, ...LOOK_UP_ONLY });
  const isRevoked = await revokeSessionHash(deps.db.prisma, tokenHash, now);
  if (isRevoked && session !== null) {
    deps.revocations.publish({ kind: "session", sessionId: session.sessionId, userId: session.userId });
  }
  return isRevoked;
}
