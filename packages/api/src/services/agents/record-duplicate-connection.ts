import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { normalizeIp } from "./record-agent-seen.js";

export const DUPLICATE_CONNECTION_REASON =
  "A second connection used this agent's token while another was still live (the newest one was kept): if this machine did not just reconnect, the token may have been copied; rotate it with connect up --rotate-token";

export interface DuplicateConnection {
  /** Where the connection that was replaced came from. */
  previousIp?: string | undefined;
  /** Where the connection that replaced it comes from. */
  newIp?: string | undefined;
  /** The hub that held the replaced connection, when several hubs share the agents. */
  previousHubId?: string | undefined;
  /** The hub that accepted the new connection. */
  hubId?: string | undefined;
}

/**
 * The relay's hook for a connection of an agent token that arrived while another connection of
 * the same token was live, on this hub or another: appends a `token`/`duplicate_connection`
 * event to the agent's workspace. "Possibly" cloned: an agent that reconnects after a network
 * change also looks like this until its old connection's keepalive gives up, so this is a record
 * for the owner to judge, and nothing is refused here. Addresses are kept whole, as every audit
 * event keeps them; the dashboard masks previousIp and newIp like its address column.
 */
export async function recordDuplicateConnection(
  deps: ApiDeps,
  agent: Pick<AgentPrincipal, "agentId" | "workspaceId" | "label"> & { clientType?: string | undefined },
  connection: DuplicateConnection,
): Promise<void> {
  const { agentId, workspaceId } = agent;
  const newIp = normalizeIp(connection.newIp);
  await recordAuditEvent(deps, workspaceId, {
    type: "token",
    action: "duplicate_connection",
    actor: { type: "agent", id: agentId },
    clientType: agent.clientType,
    target: agentId,
    reason: DUPLICATE_CONNECTION_REASON,
    ip: newIp,
    data: {
      agentId,
      label: agent.label,
      previousIp: normalizeIp(connection.previousIp) ?? null,
      newIp: newIp ?? null,
      ...(connection.previousHubId === undefined ? {} : { previousHubId: connection.previousHubId }),
      ...(connection.hubId === undefined ? {} : { hubId: connection.hubId }),
    },
    occurredAt: currentTime(deps),
  });
}
