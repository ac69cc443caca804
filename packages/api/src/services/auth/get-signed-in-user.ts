import { listUserWorkspaces } from "@private-connect/db";
import type { ApiDeps, UserPrincipal } from "../../deps.js";
import type { SignedInUser } from "../../schemas/auth.js";
import { toUserWorkspaceView } from "./user-workspace-view.js";

/** The signed-in user and every workspace they belong to, with their role in each. */
export async function getSignedInUser(deps: ApiDeps, principal: UserPrincipal): Promise<SignedInUser> {
  const workspaces = await listUserWorkspaces(deps.db.prisma, principal.userId);
  return { user: { id: principal.userId, email: principal.email }, workspaces: workspaces.map(toUserWorkspaceView) };
}
