import { isUniqueConstraintError } from "@private-connect/db";
import { type ApiDeps, currentTime, type MemberRole, type Principal } from "../../deps.js";
import { AppError, isAppError } from "../../errors.js";
import type { InvitationView } from "../../schemas/members.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { requireMembersOwner } from "../auth/require-role.js";
import { sendSignInLink, takeSignInLinkAttempt } from "../auth/sign-in-link.js";
import { INVITATION_TTL_MS, invitationViewSelect, openInvitationWhere, toInvitationView } from "./invitation-view.js";

/**
 * Invites someone by email: a pending invitation, never a membership. Only the person who signs
 * in with that address can accept it (in the dashboard), so an owner cannot put anyone's account
 * into a workspace they did not agree to join. Existing account or new address alike: no user is
 * created here, the address gets a sign-in link, and after signing in they accept or decline.
 * Inviting an address again renews its open invitation (role, expiry) and sends a new link.
 * Owners only; the address's sign-in link limit applies, so invitations cannot flood an inbox.
 */
export async function inviteMember(
  deps: ApiDeps,
  principal: Principal,
  input: { email: string; role: MemberRole },
): Promise<InvitationView> {
  const owner = requireMembersOwner(principal);
  const { workspaceId } = owner;
  const { email, role } = input;
  await takeSignInLinkAttempt(deps, email, null);
  const now = currentTime(deps);
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS);
  let invitation: InvitationView;
  try {
    invitation = await deps.db.withWorkspace(workspaceId, async (tx) => {
      // Users are readable here only through a membership of this workspace: exactly the check.
      const member = await tx.membership.findFirst({ where: { workspaceId, user: { email } }, select: { id: true } });
      if (member !== null) {
        throw new AppError("CONFLICT", `${email} is already a member of this workspace: change their role with members.setRole`);
      }
      const open = await tx.memberInvitation.findFirst({
        where: { workspaceId, email, ...openInvitationWhere },
        select: { id: true },
      });
      const row =
        open === null
          ? await tx.memberInvitation.create({
              data: { workspaceId, email, role, invitedByUserId: owner.userId, createdAt: now, expiresAt },
              select: invitationViewSelect,
            })
          : await tx.memberInvitation.update({
              where: { id: open.id },
              data: { role, invitedByUserId: owner.userId, expiresAt },
              select: invitationViewSelect,
            });
      await recordAuditEvent(tx, workspaceId, {
        type: "member",
        action: "invite",
        actor: { type: "user", id: owner.userId },
        target: email,
        data: { invitationId: row.id, email, role, expiresAt: expiresAt.toISOString(), renewed: open !== null },
        occurredAt: now,
      });
      return toInvitationView(row);
    });
  } catch (error) {
    // Two invitations of the same address at once: the open-invitation index let one through.
    if (isUniqueConstraintError(error)) {
      throw new AppError("CONFLICT", `${email} was just invited by someone else: see the invitations on the members page`);
    }
    throw error;
  }
  try {
    await sendSignInLink(deps, email);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new AppError(
      "INTERNAL",
      `${email} is invited, but the email could not be sent: ask them to sign in with this address and accept the invitation`,
      { cause: error },
    );
  }
  return invitation;
}
