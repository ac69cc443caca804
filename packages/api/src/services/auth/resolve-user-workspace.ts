import { isUuid } from "@private-connect/db";
import type { ApiDeps, UserPrincipal, WorkspaceUserPrincipal } from "../../deps.js";
import { AppError, WORKSPACE_NOT_FOUND, WORKSPACE_REQUIRED } from "../../errors.js";
import { toMemberRole } from "./user-workspace-view.js";

/**
 * The workspace a signed-in user's request acts in (x-pc-workspace), checked against their
 * memberships on every request, so removing a member locks them out at once. A workspace they
 * do not belong to is "Workspace not found", exactly like one that does not exist.
 */
export async function resolveUserWorkspace(
  deps: ApiDeps,
  user: UserPrincipal,
  workspaceId: string | undefined,
): Promise<WorkspaceUserPrincipal> {
  if (workspaceId === undefined || workspaceId === "") throw new AppError("BAD_REQUEST", WORKSPACE_REQUIRED);
  if (!isUuid(workspaceId)) throw new AppError("NOT_FOUND", WORKSPACE_NOT_FOUND);
  const id = workspaceId.toLowerCase();
  const membership = await deps.db.withWorkspace(id, (tx) =>
    tx.membership.findFirst({ where: { workspaceId: id, userId: user.userId }, select: { role: true } }),
  );
  if (membership === null) throw new AppError("NOT_FOUND", WORKSPACE_NOT_FOUND);
  return { ...user, workspaceId: id, role: toMemberRole(membership.role) };
}
