import {
  type AgentListItem,
  type ApiDeps,
  createWorkspace,
  listAgents,
  resolveOperatorWorkspace,
  revokeAgentAsHubOperator,
} from "@private-connect/api";
import type { AdminCall } from "./admin-socket.js";

export interface OperatorAgentList {
  workspace: { id: string; name: string; slug: string };
  agents: AgentListItem[];
}

/**
 * What the hub operator's commands do, in one place for both ways they run: inside the running
 * hub (over the admin socket, so a revocation also closes the agent's relay connection at once)
 * or on the database directly when no hub holds the data directory.
 */
export async function runAdminCall(deps: ApiDeps, call: AdminCall, hubUrl?: string): Promise<unknown> {
  switch (call.method) {
    case "workspace.create":
      return { ...(await createWorkspace(deps, call.params)), ...(hubUrl === undefined ? {} : { hubUrl }) };
    case "agent.revoke":
      return revokeAgentAsHubOperator(deps, call.params);
    case "agent.list": {
      const workspace = await resolveOperatorWorkspace(deps, call.params.workspace);
      const list: OperatorAgentList = { workspace, agents: await listAgents(deps, { workspaceId: workspace.id }) };
      return list;
    }
  }
}
