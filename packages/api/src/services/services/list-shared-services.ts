import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import type { SharedServiceView } from "../../schemas/services.js";
import { groupJoinedSharesByOwner, liveGrantedShares } from "../shares/joined-share-owners.js";

/**
 * The services of other workspaces that this agent can reach through the shares it joined, and
 * whether each one's exposing agent is online: what `connect services` lists beside the
 * workspace's own. Same rules as a stream open (findSharedServices): the share is unrevoked and
 * unexpired in the sharing workspace, still names the service and still holds this agent's
 * grant, and the service exists there now. The sharing workspace's agent labels and traffic are
 * not shown: a share grants reaching a service, not a view into the workspace behind it.
 */
export async function listSharedServices(deps: ApiDeps, principal: AgentPrincipal): Promise<SharedServiceView[]> {
  const { workspaceId, agentId } = principal;
  const joined = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.joinedShare.findMany({
      where: { workspaceId, agentId },
      select: { shareId: true, ownerWorkspaceId: true, ownerSlug: true },
    }),
  );
  const byOwner = groupJoinedSharesByOwner(joined);
  const now = currentTime(deps);
  const found: { name: string; from: string; shareName: string; expiresAt: Date; agentId: string }[] = [];
  for (const [ownerWorkspaceId, owner] of byOwner) {
    const rows = await deps.db.withWorkspace(ownerWorkspaceId, async (tx) => {
      const shares = await tx.share.findMany({
        where: liveGrantedShares(ownerWorkspaceId, owner, agentId, now),
        select: { name: true, services: true, expiresAt: true },
      });
      const names = [...new Set(shares.flatMap((share) => share.services))];
      if (names.length === 0) return [];
      const services = await tx.service.findMany({
        where: { workspaceId: ownerWorkspaceId, name: { in: names } },
        select: { name: true, agentId: true, workspaceId: true },
      });
      return services
        .filter((service) => service.workspaceId === ownerWorkspaceId) // redundant with RLS, as in findSharedServices
        .map((service) => {
          // Several shares of one workspace naming the service are one route: the longest-lived is used.
          const granting = shares
            .filter((share) => share.services.includes(service.name))
            .reduce((best, share) => (share.expiresAt > best.expiresAt ? share : best));
          return { name: service.name, agentId: service.agentId, shareName: granting.name, expiresAt: granting.expiresAt };
        });
    });
    for (const row of rows) found.push({ ...row, from: owner.slug });
  }
  const online = await deps.presence.findOnlineAgents([...new Set(found.map((row) => row.agentId))]);
  return found
    .sort((a, b) => a.name.localeCompare(b.name) || a.from.localeCompare(b.from))
    .map((row) => ({
      name: row.name,
      from: row.from,
      shareName: row.shareName,
      expiresAt: row.expiresAt.toISOString(),
      online: online.has(row.agentId),
    }));
}
