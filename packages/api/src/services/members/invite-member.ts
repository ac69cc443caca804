import { ensureUserByEmail, isUniqueConstraintError } from "@private-connect/db";
import { type ApiDeps, currentTime, type MemberRole, type Principal } from "../../deps.js";
import { AppError, isAppError } from "../../errors.js";
import type { MemberView } from "../../schemas/members.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { requireMembersOwner } from "../auth/require-role.js";
import { sendSignInLink, takeSignInLinkAttempt } from "../auth/sign-in-link.js";
import { memberViewSelect, toMemberView } from "./member-view.js";

/**
 * Adds someone by email (creating their user if the address is new) and emails them a sign-in
 * link. Owners only. The address's sign-in link limit applies, so invitations cannot flood an
 * inbox either.
 */
export async function inviteMember(
  deps: ApiDeps,
  principal: Principal,
  input: { email: string; role: MemberRole },
): Promise<MemberView> {
  const owner = requireMembersOwner(principal);
  const { workspaceId } = owner;
  const { email, role } = input;
  const alreadyMember = () =>
    new AppError("CONFLICT", `${email} is already a member of this workspace: change their role with members.setRole`);
  takeSignInLinkAttempt(deps, email, null);
  let member: MemberView;
  try {
    member = await deps.db.withWorkspace(workspaceId, async (tx) => {
      const userId = await ensureUserByEmail(tx, email);
      const existing = await tx.membership.findFirst({ where: { workspaceId, userId }, select: { id: true } });
      if (existing !== null) throw alreadyMember();
      const row = await tx.membership.create({ data: { workspaceId, userId, role }, select: memberViewSelect });
      await recordAuditEvent(tx, workspaceId, {
        type: "member",
        action: "invite",
        actor: { type: "user", id: owner.userId },
        target: email,
        data: { userId, email, role },
        occurredAt: currentTime(deps),
      });
      return toMemberView(row);
    });
  } catch (error) {
    // Two invitations of the same address at once: the unique index let one through.
    if (isUniqueConstraintError(error)) throw alreadyMember();
    throw error;
  }
  try {
    await sendSignInLink(deps, email);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new AppError(
      "INTERNAL",
      `${email} was added to the workspace, but the invitation email could not be sent: ask them to request a sign-in link with this address`,
      { cause: error },
    );
  }
  return member;
}
