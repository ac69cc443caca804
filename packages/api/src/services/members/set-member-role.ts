import { type ApiDeps, currentTime, type MemberRole, type Principal } from "../../deps.js";
import { AppError, MEMBER_NOT_FOUND } from "../../errors.js";
import type { MemberView } from "../../schemas/members.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { requireMembersOwner } from "../auth/require-role.js";
import { assertAnotherOwnerRemains, lockWorkspaceMembers } from "./lock-workspace-members.js";
import { memberViewSelect, toMemberView } from "./member-view.js";

/**
 * Makes a member an owner or an owner a member. Owners only; never demotes the last owner. A real
 * change appends a `member` `role_change` event in the same transaction; setting the role someone
 * already has changes and records nothing.
 */
export async function setMemberRole(
  deps: ApiDeps,
  principal: Principal,
  input: { userId: string; role: MemberRole },
): Promise<MemberView> {
  const owner = requireMembersOwner(principal);
  const { workspaceId } = owner;
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    await lockWorkspaceMembers(tx, workspaceId);
    const target = await tx.membership.findFirst({
      where: { workspaceId, userId: input.userId },
      select: { id: true, role: true },
    });
    if (target === null) throw new AppError("NOT_FOUND", MEMBER_NOT_FOUND);
    if (target.role === "owner" && input.role !== "owner") await assertAnotherOwnerRemains(tx, workspaceId);
    const row = await tx.membership.update({
      where: { id: target.id, workspaceId },
      data: { role: input.role },
      select: memberViewSelect,
    });
    if (target.role !== input.role) {
      await recordAuditEvent(tx, workspaceId, {
        type: "member",
        action: "role_change",
        actor: { type: "user", id: owner.userId },
        target: row.user.email,
        data: { userId: input.userId, email: row.user.email, role: input.role, previousRole: target.role },
        occurredAt: currentTime(deps),
      });
    }
    return toMemberView(row);
  });
}
