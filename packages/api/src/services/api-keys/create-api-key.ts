import { sha256Hex } from "@private-connect/db";
import type { ApiDeps, Principal } from "../../deps.js";
import type { CreatedApiKey } from "../../schemas/api-keys.js";
import { requireApiKeyManager } from "../auth/require-role.js";
import { generateApiKey, getApiKeyPrefix } from "../auth/secrets.js";

/** A new key of the workspace, returned in clear exactly once; only its SHA-256 is stored. */
export async function createApiKey(deps: ApiDeps, principal: Principal, input: { name: string }): Promise<CreatedApiKey> {
  requireApiKeyManager(principal);
  const { workspaceId } = principal;
  const key = generateApiKey();
  const row = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.apiKey.create({
      data: {
        workspaceId,
        name: input.name,
        prefix: getApiKeyPrefix(key),
        keyHash: sha256Hex(key),
        createdByUserId: principal.kind === "user" ? principal.userId : null,
      },
      select: { id: true, name: true, prefix: true, createdAt: true },
    }),
  );
  return { id: row.id, name: row.name, prefix: row.prefix, key, createdAt: row.createdAt.toISOString() };
}
