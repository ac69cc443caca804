import type { ApiDeps, Principal } from "../../deps.js";
import type { AuditStatsOutput } from "../../schemas/audit.js";
import { type AuditFilter, resolveSince } from "./audit-filter.js";

/**
 * How many events of each type and each action the workspace's audit log holds for the period
 * and filters, most frequent first: `connect audit --stats`. Same access as listAuditEvents.
 */
export async function getAuditStats(deps: ApiDeps, principal: Principal, input: AuditFilter): Promise<AuditStatsOutput> {
  const { workspaceId } = principal;
  const since = resolveSince(deps, input.since);
  const where = {
    workspaceId,
    ...(input.type === undefined ? {} : { type: input.type }),
    ...(input.action === undefined ? {} : { action: input.action }),
    ...(since === undefined ? {} : { occurredAt: { gte: since } }),
  };
  const [byType, byAction] = await deps.db.withWorkspace(workspaceId, async (tx) => [
    await tx.auditEvent.groupBy({ by: ["type"], where, _count: { _all: true } }),
    await tx.auditEvent.groupBy({ by: ["action"], where, _count: { _all: true } }),
  ]);
  const types = byType
    .map((group) => ({ type: group.type, count: group._count._all }))
    .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type));
  const actions = byAction
    .map((group) => ({ action: group.action, count: group._count._all }))
    .sort((a, b) => b.count - a.count || a.action.localeCompare(b.action));
  return {
    since: since?.toISOString() ?? null,
    total: types.reduce((sum, group) => sum + group.count, 0),
    byType: types,
    byAction: actions,
  };
}
