import { revokeSessionHash, sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { BROWSER_TOKEN_PATTERN } from "./secrets.js";

/** Revokes the session of this cookie value, if there is one; harmless for anything else. */
export async function signOut(deps: ApiDeps, sessionToken: string | undefined): Promise<void> {
  if (sessionToken === undefined || !BROWSER_TOKEN_PATTERN.test(sessionToken)) return;
  await revokeSessionHash(deps.db.prisma, sha256Hex(sessionToken), currentTime(deps));
}
