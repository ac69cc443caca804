import { z } from "zod";
import { createdLinkOutput, createLinkInput, linkView, revokedLinkOutput, revokeLinkInput } from "../schemas/links.js";
import { createLink } from "../services/links/create-link.js";
import { listLinks } from "../services/links/list-links.js";
import { revokeLink } from "../services/links/revoke-link.js";
import { router, workspaceProcedure } from "../trpc.js";

// Public links of the caller's workspace: agents, API keys and signed-in members alike.
export const linksRouter = router({
  create: workspaceProcedure
    .input(createLinkInput)
    .output(createdLinkOutput)
    .mutation(({ ctx, input }) => createLink(ctx.deps, ctx.principal, input)),

  list: workspaceProcedure.output(z.array(linkView)).query(({ ctx }) => listLinks(ctx.deps, ctx.principal)),

  revoke: workspaceProcedure
    .input(revokeLinkInput)
    .output(revokedLinkOutput)
    .mutation(({ ctx, input }) => revokeLink(ctx.deps, ctx.principal, input)),
});
