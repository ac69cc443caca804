import { listUserWorkspaces } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { normalizeIp } from "../agents/record-agent-seen.js";
import { recordAuditEvent } from "./record-audit-event.js";

const MAX_USER_AGENT_LENGTH = 512;

export interface SessionRequest {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * Appends a `user` `login` or `logout` event to every workspace the user is a member of: a
 * browser session belongs to the person, not to one workspace, and each workspace's owners should
 * see who signs in to it. One transaction per workspace (each under its own RLS context), after
 * the session change has committed; see verifyMagicLink and logOut for what a failure undoes.
 */
export async function recordUserSessionEvent(
  deps: ApiDeps,
  user: { userId: string; email: string },
  action: "login" | "logout",
  request: SessionRequest,
  workspaceIds?: readonly string[],
): Promise<void> {
  const ids = workspaceIds ?? (await listUserWorkspaces(deps.db.prisma, user.userId)).map((w) => w.workspaceId);
  const occurredAt = currentTime(deps);
  for (const workspaceId of ids) {
    await recordAuditEvent(deps, workspaceId, {
      type: "user",
      action,
      actor: { type: "user", id: user.userId },
      target: user.email,
      ip: normalizeIp(request.ip),
      userAgent: request.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) || undefined,
      data: { userId: user.userId, email: user.email, ...(action === "login" ? { method: "magic_link" } : {}) },
      occurredAt,
    });
  }
}
