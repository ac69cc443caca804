import type { AgentPrincipal, ApiDeps } from "../../deps.js";

type AnnouncedAgent = Pick<AgentPrincipal, "agentId" | "workspaceId" | "label">;

/** Tells the agent's own workspace that its relay connection is up. */
export function announceAgentOnline(deps: ApiDeps, agent: AnnouncedAgent): void {
  deps.events.publish(agent.workspaceId, { type: "agent.online", agentId: agent.agentId, label: agent.label });
}

/** Tells the agent's own workspace that its relay connection is gone. */
export function announceAgentOffline(deps: ApiDeps, agent: AnnouncedAgent): void {
  deps.events.publish(agent.workspaceId, { type: "agent.offline", agentId: agent.agentId, label: agent.label });
}
