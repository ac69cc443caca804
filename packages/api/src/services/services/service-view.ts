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

export function toServiceView(deps: ApiDeps, row: ServiceViewRow): ServiceView {
  return {
    id: row.id,
    name: row.name,
    agentId: row.agentId,
    agentLabel: row.agent.label,
    targetHost: row.targetHost,
    targetPort: row.targetPort,
    online: deps.presence.isAgentOnline(row.agentId),
  };
}
