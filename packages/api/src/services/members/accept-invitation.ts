import { acceptInvitation as acceptInvitationRow } from "@private-connect/db";
import { type ApiDeps, currentTime, type UserPrincipal } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { UserWorkspaceView } from "../../schemas/auth.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { toMemberRole } from "../auth/user-workspace-view.js";
import { INVITATION_NOT_FOUND } from "./invitation-view.js";

/**
 * The signed-in user accepts an invitation addressed to their own email, and only now becomes a
 * member. Someone else's invitation, or one that is no longer open, is "Invitation not found":
 * an outsider learns nothing from guessing ids.
 */
export async function acceptInvitation(deps: ApiDeps, user: UserPrincipal, input: { id: string }): Promise<UserWorkspaceView> {
  const now = currentTime(deps);
  const accepted = await acceptInvitationRow(deps.db.prisma, { invitationId: input.id, userId: user.userId, now });
  if (accepted === null) throw new AppError("NOT_FOUND", INVITATION_NOT_FOUND);
  await recordAuditEvent(deps, accepted.workspaceId, {
    type: "member",
    action: "accept_invitation",
    actor: { type: "user", id: user.userId },
    target: accepted.email,
    data: { invitationId: input.id, userId: user.userId, email: accepted.email, role: accepted.role },
    occurredAt: now,
  });
  return {
    id: accepted.workspaceId,
    name: accepted.workspaceName,
    slug: accepted.workspaceSlug,
    role: toMemberRole(accepted.role),
  };
}
