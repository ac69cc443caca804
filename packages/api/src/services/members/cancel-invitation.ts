import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { requireMembersOwner } from "../auth/require-role.js";
import { INVITATION_NOT_FOUND, openInvitationWhere } from "./invitation-view.js";

/** Cancels an open invitation of the workspace (owners only): accepting it fails from then on. */
export async function cancelInvitation(
  deps: ApiDeps,
  principal: Principal,
  input: { id: string },
): Promise<{ id: string; email: string; cancelledAt: string }> {
  const owner = requireMembersOwner(principal);
  const { workspaceId } = owner;
  const now = currentTime(deps);
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    // One statement, so an acceptance racing the cancellation either wins or finds it cancelled.
    const cancelled = await tx.memberInvitation.updateMany({
      where: { id: input.id, workspaceId, ...openInvitationWhere },
      data: { cancelledAt: now },
    });
    if (cancelled.count === 0) throw new AppError("NOT_FOUND", INVITATION_NOT_FOUND);
    const row = await tx.memberInvitation.findFirstOrThrow({ where: { id: input.id, workspaceId }, select: { email: true } });
    await recordAuditEvent(tx, workspaceId, {
      type: "member",
      action: "cancel_invitation",
      actor: { type: "user", id: owner.userId },
      target: row.email,
      data: { invitationId: input.id, email: row.email },
      occurredAt: now,
    });
    return { id: input.id, email: row.email, cancelledAt: now.toISOString() };
  });
}
