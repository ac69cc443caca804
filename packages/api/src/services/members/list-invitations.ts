import type { ApiDeps, Principal } from "../../deps.js";
import { currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { InvitationView } from "../../schemas/members.js";
import { invitationViewSelect, openInvitationWhere, toInvitationView } from "./invitation-view.js";

/** The workspace's open, unexpired invitations, oldest first. For whoever may list its members. */
export async function listInvitations(deps: ApiDeps, principal: Principal): Promise<InvitationView[]> {
  if (principal.kind === "agent") {
    throw new AppError("FORBIDDEN", "Agent tokens cannot list invitations: use an API key, or sign in");
  }
  const { workspaceId } = principal;
  const now = currentTime(deps);
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.memberInvitation.findMany({
      where: { workspaceId, ...openInvitationWhere, expiresAt: { gt: now } },
      select: invitationViewSelect,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    }),
  );
  return rows.map(toInvitationView);
}
