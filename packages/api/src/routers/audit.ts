import {
  auditStatsInput,
  auditStatsOutput,
  listAuditEventsInput,
  listAuditEventsOutput,
  reportActionInput,
  reportActionOutput,
} from "../schemas/audit.js";
import { getAuditStats } from "../services/audit/get-audit-stats.js";
import { listAuditEvents } from "../services/audit/list-audit-events.js";
import { reportAgentAction } from "../services/audit/report-agent-action.js";
import { router, workspaceProcedure } from "../trpc.js";

// Reading is for any principal of the workspace; reporting for agents and API keys (the service
// refuses browser sessions). Row-level security keeps both to the caller's workspace.
export const auditRouter = router({
  list: workspaceProcedure
    .input(listAuditEventsInput)
    .output(listAuditEventsOutput)
    .query(({ ctx, input }) => listAuditEvents(ctx.deps, ctx.principal, input)),

  stats: workspaceProcedure
    .input(auditStatsInput)
    .output(auditStatsOutput)
    .query(({ ctx, input }) => getAuditStats(ctx.deps, ctx.principal, input)),

  /** What an AI agent runtime or its guard did with an action: allow, review or block. */
  reportAction: workspaceProcedure
    .input(reportActionInput)
    .output(reportActionOutput)
    .mutation(({ ctx, input }) => reportAgentAction(ctx.deps, ctx.principal, input, { ip: ctx.ip, userAgent: ctx.userAgent })),
});
