import { sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import type { CreatedApiKey } from "../../schemas/api-keys.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { requireApiKeyManager } from "../auth/require-role.js";
import { generateApiKey, getApiKeyPrefix } from "../auth/secrets.js";

/**
 * A new key of the workspace, returned in clear exactly once; only its SHA-256 is stored. The
 * audit log's `api_key` `create` event commits with it (the key by id and name, never its text).
 */
export async function createApiKey(deps: ApiDeps, principal: Principal, input: { name: string }): Promise<CreatedApiKey> {
  requireApiKeyManager(principal);
  const { workspaceId } = principal;
  const key = generateApiKey();
  const row = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const created = await tx.apiKey.create({
      data: {
        workspaceId,
        name: input.name,
        prefix: getApiKeyPrefix(key),
        keyHash: sha256Hex(key),
        createdByUserId: principal.kind === "user" ? principal.userId : null,
      },
      select: { id: true, name: true, prefix: true, createdAt: true },
    });
    await recordAuditEvent(tx, workspaceId, {
      type: "api_key",
      action: "create",
      actor: auditActorFor(principal),
      target: created.id,
      data: { apiKeyId: created.id, name: created.name },
      occurredAt: currentTime(deps),
    });
    return created;
  });
  return { id: row.id, name: row.name, prefix: row.prefix, key, createdAt: row.createdAt.toISOString() };
}
