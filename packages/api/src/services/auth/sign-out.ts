import { revokeSessionHash, sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { BROWSER_TOKEN_PATTERN } from "./secrets.js";

/**
 * Revokes the session of this cookie value, if there is one; harmless for anything else. True
 * when this call ended a session that was still active.
 */
export async function signOut(deps: ApiDeps, sessionToken: string | undefined): Promise<boolean> {
  if (sessionToken === undefined || !BROWSER_TOKEN_PATTERN.test(sessionToken)) return false;
  return revokeSessionHash(deps.db.prisma, sha256Hex(sessionToken), currentTime(deps));
}
