import { declineInvitation as declineInvitationRow } from "@private-connect/db";
import { type ApiDeps, currentTime, type UserPrincipal } from "../../deps.js";
import { AppError } from "../../errors.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { INVITATION_NOT_FOUND } from "./invitation-view.js";

/** The signed-in user declines an invitation addressed to them; the workspace's owners see it in the audit log. */
export async function declineInvitation(deps: ApiDeps, user: UserPrincipal, input: { id: string }): Promise<{ declined: true }> {
  const now = currentTime(deps);
  const declined = await declineInvitationRow(deps.db.prisma, { invitationId: input.id, userId: user.userId, now });
  if (declined === null) throw new AppError("NOT_FOUND", INVITATION_NOT_FOUND);
  await recordAuditEvent(deps, declined.workspaceId, {
    type: "member",
    action: "decline_invitation",
    actor: { type: "user", id: user.userId },
    target: declined.email,
    data: { invitationId: input.id, email: declined.email },
    occurredAt: now,
  });
  return { declined: true };
}
