import type { AgentPrincipal, ApiDeps } from "../../deps.js";
import { AppError, INVALID_CREDENTIALS } from "../../errors.js";
import type { AgentProfile } from "../../schemas/agents.js";

/** Who the calling agent is, as the hub sees it. */
export async function getAgentProfile(deps: ApiDeps, principal: AgentPrincipal): Promise<AgentProfile> {
  const { workspaceId } = principal;
  const workspace = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.workspace.findFirst({ where: { id: workspaceId }, select: { id: true, name: true } }),
  );
  if (workspace === null) throw new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
  return {
    agentId: principal.agentId,
    label: principal.label,
    clientType: principal.clientType,
    tokenExpiresAt: principal.tokenExpiresAt.toISOString(),
    workspace,
  };
}
