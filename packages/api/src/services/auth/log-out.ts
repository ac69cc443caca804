import type { ApiDeps } from "../../deps.js";
import { isAppError } from "../../errors.js";
import { recordUserSessionEvent, type SessionRequest } from "../audit/record-user-session-event.js";
import { authenticateSession } from "./authenticate-session.js";
import { signOut } from "./sign-out.js";

/**
 * What auth.logout does: revokes this browser's session and records the logout in each of the
 * user's workspaces. Harmless when already signed out; a session that had already ended (idle,
 * revoked, another tab's logout) records nothing, so one logout is one event.
 */
export async function logOut(deps: ApiDeps, sessionToken: string | undefined, request: SessionRequest): Promise<void> {
  if (sessionToken === undefined) return;
  // Who is signing out, read while the session still exists.
  const session = await authenticateSession(deps, sessionToken).catch((error: unknown) => {
    if (isAppError(error)) return null;
    throw error;
  });
  const isRevoked = await signOut(deps, sessionToken);
  if (session === null || !isRevoked) return;
  await recordUserSessionEvent(deps, session.principal, "logout", request);
}
