import type { ApiDeps } from "../../deps.js";
import type { WorkspaceE2ePolicy } from "../../schemas/e2e.js";
import type { ServiceView } from "../../schemas/services.js";
import { effectiveE2ePolicy } from "../e2e/e2e-policy.js";

/** The columns a workspace member may see of a service; never the whole row. */
export const serviceViewSelect = {
  id: true,
  name: true,
  agentId: true,
  targetHost: true,
  targetPort: true,
  e2ePolicy: true,
  agent: { select: { label: true } },
} as const;

interface ServiceViewRow {
  id: string;
  name: string;
  agentId: string;
  targetHost: string;
  targetPort: number;
  e2ePolicy: string;
  agent: { label: string };
}

/**
 * Asks presence once for all the rows' agents, however many services each agent exposes. The
 * rows are of one workspace, whose policy (readWorkspaceE2ePolicy) decides their effective one.
 */
export async function toServiceViews(
  deps: ApiDeps,
  rows: ServiceViewRow[],
  workspacePolicy: WorkspaceE2ePolicy,
): Promise<ServiceView[]> {
  const onlineAgents = await deps.presence.findOnlineAgents([...new Set(rows.map((row) => row.agentId))]);
  return rows.map((row) => toServiceView(row, onlineAgents, workspacePolicy));
}

function toServiceView(row: ServiceViewRow, onlineAgents: ReadonlySet<string>, workspacePolicy: WorkspaceE2ePolicy): ServiceView {
  return {
    id: row.id,
    name: row.name,
    agentId: row.agentId,
    agentLabel: row.agent.label,
    targetHost: row.targetHost,
    targetPort: row.targetPort,
    online: onlineAgents.has(row.agentId),
    e2ePolicy: effectiveE2ePolicy(workspacePolicy, row.e2ePolicy),
  };
}
