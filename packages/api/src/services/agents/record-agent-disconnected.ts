import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { normalizeIp } from "./record-agent-seen.js";

/**
 * The relay's hook for an agent connection that ended: appends the `disconnect` event to the
 * workspace's audit log. A transaction of its own: a disconnect changes nothing else to join.
 */
export async function recordAgentDisconnected(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: { ip?: string | undefined },
): Promise<void> {
  const { workspaceId, agentId } = principal;
  await recordAuditEvent(deps, workspaceId, {
    type: "agent",
    action: "disconnect",
    actor: { type: "agent", id: agentId },
    clientType: principal.clientType,
    target: agentId,
    ip: normalizeIp(input.ip),
    data: { agentId, label: principal.label },
    occurredAt: currentTime(deps),
  });
}
