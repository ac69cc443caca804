import type { ApiDeps } from "../../deps.js";
import type { ServiceView } from "../../schemas/services.js";

/** The columns a workspace member may see of a service; never the whole row. */
export const serviceViewSelect = {
  id: true,
  name: true,
  agentId: true,
  targetHost: true,
  targetPort: true,
  agent: { select: { label: true } },
} as const;

interface ServiceViewRow {
  id: string;
  name: string;
  agentId: string;
  targetHost: string;
  targetPort: number;
  agent: { label: string };
}

/** Asks presence once for all the rows' agents, however many services each agent exposes. */
export async function toServiceViews(deps: ApiDeps, rows: ServiceViewRow[]): Promise<ServiceView[]> {
  const onlineAgents = await deps.presence.findOnlineAgents([...new Set(rows.map((row) => row.agentId))]);
  return rows.map((row) => toServiceView(row, onlineAgents));
}

function toServiceView(row: ServiceViewRow, onlineAgents: ReadonlySet<string>): ServiceView {
  return {
    id: row.id,
    name: row.name,
    agentId: row.agentId,
    agentLabel: row.agent.label,
    targetHost: row.targetHost,
    targetPort: row.targetPort,
    online: onlineAgents.has(row.agentId),
  };
}
