import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import type { ShareView } from "../../schemas/shares.js";
import { getShareStatus } from "./share-status.js";

/** The caller's workspace's shares, newest first, with who joined and how often each was used. */
export async function listShares(deps: ApiDeps, principal: Principal): Promise<ShareView[]> {
  const { workspaceId } = principal;
  const now = currentTime(deps);
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.share.findMany({
      where: { workspaceId },
      orderBy: { createdAt: "desc" },
      select: {
        id: true,
        name: true,
        codeHint: true,
        services: true,
        createdAt: true,
        expiresAt: true,
        revokedAt: true,
        rateLimitPerMinute: true,
        useCount: true,
        lastUsedAt: true,
        grants: {
          orderBy: { joinedAt: "asc" },
          select: { granteeLabel: true, joinedAt: true, useCount: true, lastUsedAt: true },
        },
      },
    }),
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    codeHint: row.codeHint,
    services: row.services,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    status: getShareStatus(row, now),
    rateLimitPerMinute: row.rateLimitPerMinute,
    useCount: Number(row.useCount),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    joiners: row.grants.map((grant) => ({
      agentLabel: grant.granteeLabel,
      joinedAt: grant.joinedAt.toISOString(),
      useCount: Number(grant.useCount),
      lastUsedAt: grant.lastUsedAt?.toISOString() ?? null,
    })),
  }));
}
