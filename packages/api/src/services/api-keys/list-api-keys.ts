import type { ApiDeps, Principal } from "../../deps.js";
import type { ApiKeyView } from "../../schemas/api-keys.js";
import { requireApiKeyManager } from "../auth/require-role.js";

/** The workspace's keys that still work, oldest first: name, prefix and use, never the hash. */
export async function listApiKeys(deps: ApiDeps, principal: Principal): Promise<ApiKeyView[]> {
  requireApiKeyManager(principal);
  const { workspaceId } = principal;
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.apiKey.findMany({
      where: { workspaceId, revokedAt: null },
      select: { id: true, name: true, prefix: true, createdAt: true, lastUsedAt: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    }),
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  }));
}
