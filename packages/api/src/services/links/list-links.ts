import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import type { LinkView } from "../../schemas/links.js";

/** Every link of the workspace, newest first, revoked and expired ones included (with their status). */
export async function listLinks(deps: ApiDeps, principal: Principal): Promise<LinkView[]> {
  const { workspaceId } = principal;
  const now = currentTime(deps).getTime();
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.publicLink.findMany({
      where: { workspaceId },
      select: {
        id: true,
        serviceName: true,
        slugHint: true,
        methods: true,
        paths: true,
        rateLimitPerMinute: true,
        createdAt: true,
        expiresAt: true,
        revokedAt: true,
        accessCount: true,
        lastAccessAt: true,
      },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    }),
  );
  return rows.map((row) => ({
    id: row.id,
    service: row.serviceName,
    slugHint: row.slugHint,
    methods: row.methods,
    paths: row.paths,
    rateLimitPerMinute: row.rateLimitPerMinute,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    status: row.revokedAt !== null ? "revoked" : row.expiresAt.getTime() <= now ? "expired" : "active",
    accessCount: Number(row.accessCount),
    lastAccessAt: row.lastAccessAt?.toISOString() ?? null,
  }));
}
