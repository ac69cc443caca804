import type { ApiDeps, UserPrincipal } from "../../deps.js";
import type { UserWorkspaceView } from "../../schemas/auth.js";
import { insertOwnedWorkspace, retryOnSlugClash } from "./insert-workspace.js";

/** A new workspace owned by the signed-in user (no API key: they create one when they need it). */
export async function createUserWorkspace(
  deps: ApiDeps,
  principal: UserPrincipal,
  input: { name: string },
): Promise<UserWorkspaceView> {
  return retryOnSlugClash((chooseSlug, workspaceId) =>
    deps.db.withWorkspace(workspaceId, async (tx) => {
      const workspace = await insertOwnedWorkspace(tx, {
        workspaceId,
        name: input.name,
        slug: chooseSlug(input.name),
        ownerUserId: principal.userId,
      });
      return { ...workspace, role: "owner" as const };
    }),
  );
}
