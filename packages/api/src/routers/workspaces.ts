import { userWorkspace } from "../schemas/auth.js";
import { createUserWorkspaceInput, setWorkspaceE2ePolicyInput, workspaceView } from "../schemas/workspaces.js";
import { createUserWorkspace } from "../services/workspaces/create-user-workspace.js";
import { getWorkspace } from "../services/workspaces/get-workspace.js";
import { setWorkspaceE2ePolicy } from "../services/workspaces/set-workspace-e2e-policy.js";
import { router, userProcedure, workspaceProcedure } from "../trpc.js";

export const workspacesRouter = router({
  /** A new workspace; the signed-in user becomes its owner. */
  create: userProcedure
    .input(createUserWorkspaceInput)
    .output(userWorkspace)
    .mutation(({ ctx, input }) => createUserWorkspace(ctx.deps, ctx.principal, input)),

  /** The caller's workspace and its settings. */
  get: workspaceProcedure.output(workspaceView).query(({ ctx }) => getWorkspace(ctx.deps, ctx.principal)),

  /** Owners only: "required" holds every service to end-to-end encryption (see setWorkspaceE2ePolicy). */
  setE2ePolicy: workspaceProcedure
    .input(setWorkspaceE2ePolicyInput)
    .output(workspaceView)
    .mutation(({ ctx, input }) => setWorkspaceE2ePolicy(ctx.deps, ctx.principal, input)),
});
