import { z } from "zod";
import {
  createdShareOutput,
  createShareInput,
  joinedShareView,
  joinShareInput,
  revokeShareInput,
  revokeShareOutput,
  shareView,
} from "../schemas/shares.js";
import { createShare } from "../services/shares/create-share.js";
import { joinShare } from "../services/shares/join-share.js";
import { listJoinedShares } from "../services/shares/list-joined-shares.js";
import { listShares } from "../services/shares/list-shares.js";
import { revokeShare } from "../services/shares/revoke-share.js";
import { agentProcedure, router, workspaceProcedure } from "../trpc.js";

export const sharesRouter = router({
  create: workspaceProcedure
    .input(createShareInput)
    .output(createdShareOutput)
    .mutation(({ ctx, input }) => createShare(ctx.deps, ctx.principal, input)),

  list: workspaceProcedure.output(z.array(shareView)).query(({ ctx }) => listShares(ctx.deps, ctx.principal)),

  revoke: workspaceProcedure
    .input(revokeShareInput)
    .output(revokeShareOutput)
    .mutation(({ ctx, input }) => revokeShare(ctx.deps, ctx.principal, input)),

  /** Joining grants the calling agent, so only an agent can join. */
  join: agentProcedure
    .input(joinShareInput)
    .output(joinedShareView)
    .mutation(({ ctx, input }) => joinShare(ctx.deps, ctx.principal, input, ctx.ip)),

  joined: agentProcedure.output(z.array(joinedShareView)).query(({ ctx }) => listJoinedShares(ctx.deps, ctx.principal)),
});
