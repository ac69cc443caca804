import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError, MEMBER_NOT_FOUND, OWNER_REQUIRED_FOR_MEMBERS } from "../../errors.js";
import type { Revocation } from "../../events/revocations.js";
import { publishRevocations, revokeAgentsInTransaction } from "../agents/revoke-agents.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { requireWorkspaceUser } from "../auth/require-role.js";
import { assertAnotherOwnerRemains, lockWorkspaceMembers } from "./lock-workspace-members.js";

/**
 * Removes a member: an owner removes anyone, a member only themselves (leaving). Never the last
 * owner. Their sessions stay (they may belong to other workspaces) but the next request naming
 * this workspace is refused, since membership is checked on every request. The `member` `remove`
 * event (a member leaving is one too, with themselves as actor) commits with the removal, and so
 * does the revocation of every agent they let in (connect login approvals): access they granted
 * leaves with them, and those agents' relay connections close at once. Their dashboard tabs that
 * are open on this workspace lose its live updates at once too, with a 403 saying why.
 */
export async function removeMember(deps: ApiDeps, principal: Principal, input: { userId: string }): Promise<{ removed: true }> {
  const actor = requireWorkspaceUser(principal);
  const { workspaceId } = actor;
  if (actor.role !== "owner" && actor.userId !== input.userId) throw new AppError("FORBIDDEN", OWNER_REQUIRED_FOR_MEMBERS);
  const now = currentTime(deps);
  const revocations = await deps.db.withWorkspace(workspaceId, async (tx) => {
    await lockWorkspaceMembers(tx, workspaceId);
    const target = await tx.membership.findFirst({
      where: { workspaceId, userId: input.userId },
      select: { id: true, role: true, user: { select: { email: true } } },
    });
    if (target === null) throw new AppError("NOT_FOUND", MEMBER_NOT_FOUND);
    if (target.role === "owner") await assertAnotherOwnerRemains(tx, workspaceId);
    await tx.membership.deleteMany({ where: { id: target.id, workspaceId } });
    await recordAuditEvent(tx, workspaceId, {
      type: "member",
      action: "remove",
      actor: { type: "user", id: actor.userId },
      target: target.user.email,
      data: { userId: input.userId, email: target.user.email, role: target.role },
      occurredAt: now,
    });
    const agents = await revokeAgentsInTransaction(tx, {
      workspaceId,
      createdBy: { types: ["user"], id: input.userId },
      actor: { type: "user", id: actor.userId },
      cause: "member_removed",
      now,
    });
    const workspace = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { name: true } });
    const member: Revocation = {
      kind: "member",
      userId: input.userId,
      workspaceId,
      reason: describeMembershipEnd(workspace?.name ?? "this workspace", actor.userId === input.userId),
    };
    return [...agents.revocations, member];
  });
  publishRevocations(deps, revocations);
  return { removed: true };
}

/**
 * What the removed member's open dashboard shows when its live updates end. Only they see it, and
 * they know the workspace's name already.
 */
export function describeMembershipEnd(workspaceName: string, isLeaving: boolean): string {
  return isLeaving
    ? `You left ${workspaceName}: ask an owner to invite you again if you need it back`
    : `You no longer have access to ${workspaceName}: an owner removed you. Ask an owner to invite you again`;
}
