/** An agent's joined shares, grouped by the workspace that shares them. */
export interface JoinedShareOwner {
  /** The sharing workspace's slug, as `reach --from` takes it. */
  slug: string;
  shareIds: string[];
}

/**
 * Groups an agent's joinedShare rows by the sharing workspace, so that each sharing workspace is
 * read once, inside its own withWorkspace, never across workspaces in one query.
 */
export function groupJoinedSharesByOwner(
  rows: readonly { shareId: string; ownerWorkspaceId: string; ownerSlug: string }[],
): Map<string, JoinedShareOwner> {
  const byOwner = new Map<string, JoinedShareOwner>();
  for (const row of rows) {
    const owner = byOwner.get(row.ownerWorkspaceId) ?? { slug: row.ownerSlug, shareIds: [] };
    owner.shareIds.push(row.shareId);
    byOwner.set(row.ownerWorkspaceId, owner);
  }
  return byOwner;
}

/**
 * The shares of `ownerWorkspaceId` among `shareIds` that still let `agentId` in at `now`: not
 * revoked, not expired, and still holding the agent's grant. What every stream open through a
 * share checks, and what `connect services` lists.
 */
export function liveGrantedShares(ownerWorkspaceId: string, owner: JoinedShareOwner, agentId: string, now: Date) {
  return {
    workspaceId: ownerWorkspaceId,
    id: { in: owner.shareIds },
    revokedAt: null,
    expiresAt: { gt: now },
    grants: { some: { granteeAgentId: agentId } },
  };
}
