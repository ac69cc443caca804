import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";

const MAX_IP_LENGTH = 64;

/** Stamps last_seen_at (and last_ip when known) when an agent connects or calls in. */
export async function recordAgentSeen(deps: ApiDeps, principal: AgentPrincipal, input: { ip?: string }): Promise<void> {
  const { workspaceId, agentId } = principal;
  const lastIp = input.ip?.slice(0, MAX_IP_LENGTH);
  await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.agent.updateMany({
      where: { id: agentId, workspaceId },
      data: { lastSeenAt: currentTime(deps), ...(lastIp !== undefined && lastIp !== "" ? { lastIp } : {}) },
    }),
  );
}
