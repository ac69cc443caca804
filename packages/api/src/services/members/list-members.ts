import type { ApiDeps, Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { MemberView } from "../../schemas/members.js";
import { memberViewSelect, toMemberView } from "./member-view.js";

/** The workspace's members, oldest first. For its users (any role) and its API keys. */
export async function listMembers(deps: ApiDeps, principal: Principal): Promise<MemberView[]> {
  if (principal.kind === "agent") {
    throw new AppError("FORBIDDEN", "Agent tokens cannot list members: use an API key, or sign in");
  }
  const { workspaceId } = principal;
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.membership.findMany({ where: { workspaceId }, select: memberViewSelect, orderBy: [{ createdAt: "asc" }, { id: "asc" }] }),
  );
  return rows.map(toMemberView);
}
