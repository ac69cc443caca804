import { listInvitationsForUser } from "@private-connect/db";
import { type ApiDeps, currentTime, type UserPrincipal } from "../../deps.js";
import type { MyInvitationView } from "../../schemas/members.js";
import { toMemberRole } from "../auth/user-workspace-view.js";

/**
 * The open invitations addressed to the signed-in user's own email, to workspaces they are not
 * in yet: what the dashboard offers to accept or decline. The inviting workspace's name and the
 * inviter's address are all an invitee learns of it before accepting.
 */
export async function listMyInvitations(deps: ApiDeps, user: UserPrincipal): Promise<MyInvitationView[]> {
  const rows = await listInvitationsForUser(deps.db.prisma, user.userId, currentTime(deps));
  return rows.map((row) => ({
    id: row.invitationId,
    workspace: { id: row.workspaceId, name: row.workspaceName, slug: row.workspaceSlug },
    role: toMemberRole(row.role),
    invitedBy: row.invitedByEmail,
    invitedAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  }));
}
