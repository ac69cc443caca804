import type { UserWorkspace } from "@private-connect/db";
import type { MemberRole } from "../../deps.js";
import type { UserWorkspaceView } from "../../schemas/auth.js";

/** The database allows only these two (CHECK constraint); anything else is treated as the lesser. */
export function toMemberRole(role: string): MemberRole {
  return role === "owner" ? "owner" : "member";
}

export function toUserWorkspaceView(workspace: UserWorkspace): UserWorkspaceView {
  return { id: workspace.workspaceId, name: workspace.name, slug: workspace.slug, role: toMemberRole(workspace.role) };
}
