import type { ApiDeps, MemberRole, Principal } from "../../deps.js";
import { AppError, MEMBER_NOT_FOUND } from "../../errors.js";
import type { MemberView } from "../../schemas/members.js";
import { requireMembersOwner } from "../auth/require-role.js";
import { assertAnotherOwnerRemains, lockWorkspaceMembers } from "./lock-workspace-members.js";
import { memberViewSelect, toMemberView } from "./member-view.js";

/** Makes a member an owner or an owner a member. Owners only; never demotes the last owner. */
export async function setMemberRole(
  deps: ApiDeps,
  principal: Principal,
  input: { userId: string; role: MemberRole },
): Promise<MemberView> {
  const { workspaceId } = requireMembersOwner(principal);
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
    return toMemberView(row);
  });
}
