import type { ApiDeps, Principal } from "../../deps.js";
import type { AgentListItem } from "../../schemas/agents.js";
import { maskIp } from "../links/record-link-access.js";

/** IP changes shown per agent: the latest few tell "this token moved"; the audit log keeps the rest. */
const IP_CHANGES_PER_AGENT = 5;

/**
 * The workspace's agents (revoked ones left out), online ones first, then by label: what the
 * dashboard's overview shows. Addresses are masked here, before they leave the API, since a
 * member who may see that an agent moved need not learn where it is.
 */
export async function listAgents(deps: ApiDeps, principal: Principal): Promise<AgentListItem[]> {
  const { workspaceId } = principal;
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.agent.findMany({
      where: { workspaceId, revokedAt: null },
      orderBy: [{ label: "asc" }, { createdAt: "asc" }],
      select: {
        id: true,
        label: true,
        clientType: true,
        lastSeenAt: true,
        lastIp: true,
        tokenExpiresAt: true,
        provisionedAt: true,
        createdAt: true,
        ipChanges: {
          orderBy: [{ changedAt: "desc" }, { id: "desc" }],
          take: IP_CHANGES_PER_AGENT,
          select: { previousIp: true, newIp: true, changedAt: true },
        },
      },
    }),
  );
  const agents = rows.map(
    (row): AgentListItem => ({
      agentId: row.id,
      label: row.label,
      clientType: row.clientType,
      online: deps.presence.isAgentOnline(row.id),
      lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
      lastIp: maskIp(row.lastIp ?? undefined) ?? null,
      tokenExpiresAt: row.tokenExpiresAt.toISOString(),
      isProvisioned: row.provisionedAt !== null,
      createdAt: row.createdAt.toISOString(),
      recentIpChanges: row.ipChanges.map((change) => ({
        previousIp: maskIp(change.previousIp) ?? "x",
        newIp: maskIp(change.newIp) ?? "x",
        at: change.changedAt.toISOString(),
      })),
    }),
  );
  // Stable sort: online agents first, each group still by label.
  return agents.sort((a, b) => Number(b.online) - Number(a.online));
}
