import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import type { JoinedShareView } from "../../schemas/shares.js";
import { getShareStatus } from "./share-status.js";

/**
 * The shares this agent joined, with their current state read from each sharing workspace (a
 * share revoked or expired there shows as such here; one deleted there disappears).
 */
export async function listJoinedShares(deps: ApiDeps, principal: AgentPrincipal): Promise<JoinedShareView[]> {
  const { workspaceId, agentId } = principal;
  const joined = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.joinedShare.findMany({
      where: { workspaceId, agentId },
      orderBy: { joinedAt: "desc" },
      select: { shareId: true, shareName: true, ownerWorkspaceId: true, ownerSlug: true, joinedAt: true },
    }),
  );
  const now = currentTime(deps);
  const views: JoinedShareView[] = [];
  for (const row of joined) {
    const share = await deps.db.withWorkspace(row.ownerWorkspaceId, (tx) =>
      tx.share.findFirst({
        where: {
          id: row.shareId,
          workspaceId: row.ownerWorkspaceId,
          grants: { some: { granteeAgentId: agentId } },
        },
        select: { services: true, expiresAt: true, revokedAt: true },
      }),
    );
    if (share === null) continue;
    views.push({
      shareId: row.shareId,
      shareName: row.shareName,
      from: row.ownerSlug,
      services: share.services,
      expiresAt: share.expiresAt.toISOString(),
      status: getShareStatus(share, now),
      joinedAt: row.joinedAt.toISOString(),
    });
  }
  return views;
}
