import { AppError, toTRPCError } from "../errors.js";
import { streamWorkspaceEvents } from "../services/events/stream-workspace-events.js";
import { router, workspaceProcedure } from "../trpc.js";

export const eventsRouter = router({
  /**
   * Live updates of the caller's workspace over SSE (httpSubscriptionLink). No input: the
   * workspace is the authenticated principal's, never the client's choice.
   */
  workspace: workspaceProcedure.subscription(async function* ({ ctx, signal }) {
    try {
      yield* streamWorkspaceEvents(ctx.deps, ctx.principal, { signal });
    } catch (error) {
      // Errors thrown mid-stream bypass the error-mapping middleware, which only sees the start.
      if (error instanceof AppError) throw toTRPCError(error);
      throw error;
    }
  }),
});
