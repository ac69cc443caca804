import type { AgentPrincipal, ApiDeps } from "../../deps.js";
import { AppError, INVALID_CREDENTIALS } from "../../errors.js";
import type { AgentProfile } from "../../schemas/agents.js";
import { tokenMaxExpiresAt } from "./token-lifetime.js";

/** How many IP changes agents.me reports: enough for `connect status` to show what happened lately. */
const RECENT_IP_CHANGES = 10;

/** Who the calling agent is, as the hub sees it. */
export async function getAgentProfile(deps: ApiDeps, principal: AgentPrincipal): Promise<AgentProfile> {
  const { workspaceId, agentId } = principal;
  const found = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const workspace = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { id: true, name: true } });
    const agent = await tx.agent.findFirst({
      where: { id: agentId, workspaceId },
      select: { provisionedAt: true, createdAt: true, e2ePublicKey: true },
    });
    const ipChanges = await tx.agentIpChange.findMany({
      where: { agentId, workspaceId },
      orderBy: [{ changedAt: "desc" }, { id: "desc" }],
      take: RECENT_IP_CHANGES,
      select: { previousIp: true, newIp: true, changedAt: true },
    });
    return { workspace, agent, ipChanges };
  });
  if (found.workspace === null || found.agent === null) throw new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
  return {
    agentId,
    label: principal.label,
    clientType: principal.clientType,
    tokenExpiresAt: principal.tokenExpiresAt.toISOString(),
    workspace: found.workspace,
    isProvisioned: found.agent.provisionedAt !== null,
    isRotationPending: principal.tokenSlot === "pending",
    recentIpChanges: found.ipChanges.map((change) => ({
      previousIp: change.previousIp,
      newIp: change.newIp,
      at: change.changedAt.toISOString(),
    })),
    registeredAt: found.agent.createdAt.toISOString(),
    tokenMaxExpiresAt: tokenMaxExpiresAt(
      deps,
      found.agent.createdAt,
      found.agent.provisionedAt === null ? undefined : { tokenExpiresAt: principal.tokenExpiresAt },
    ).toISOString(),
    e2ePublicKey: found.agent.e2ePublicKey,
  };
}
