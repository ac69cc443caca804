import { userWorkspace } from "../schemas/auth.js";
import { createUserWorkspaceInput } from "../schemas/workspaces.js";
import { createUserWorkspace } from "../services/workspaces/create-user-workspace.js";
import { router, userProcedure } from "../trpc.js";

export const workspacesRouter = router({
  /** A new workspace; the signed-in user becomes its owner. */
  create: userProcedure
    .input(createUserWorkspaceInput)
    .output(userWorkspace)
    .mutation(({ ctx, input }) => createUserWorkspace(ctx.deps, ctx.principal, input)),
});
