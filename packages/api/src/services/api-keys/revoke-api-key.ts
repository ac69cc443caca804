import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { API_KEY_NOT_FOUND, AppError } from "../../errors.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { requireApiKeyManager } from "../auth/require-role.js";

/**
 * Revokes a key of the workspace. Takes effect on the very next request: every request looks the
 * key up again (pc_auth_api_key skips revoked keys) and nothing caches a principal beyond one
 * request. Revoking twice answers with the first revocation (and records one `api_key` `revoke`
 * event, with the revocation's transaction); another workspace's key is not found.
 */
export async function revokeApiKey(
  deps: ApiDeps,
  principal: Principal,
  input: { id: string },
): Promise<{ id: string; revokedAt: string }> {
  requireApiKeyManager(principal);
  const { workspaceId } = principal;
  const now = currentTime(deps);
  const row = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const revoked = await tx.apiKey.updateMany({
      where: { id: input.id, workspaceId, revokedAt: null },
      data: { revokedAt: now },
    });
    const key = await tx.apiKey.findFirst({
      where: { id: input.id, workspaceId },
      select: { id: true, name: true, revokedAt: true },
    });
    if (revoked.count > 0 && key !== null) {
      await recordAuditEvent(tx, workspaceId, {
        type: "api_key",
        action: "revoke",
        actor: auditActorFor(principal),
        target: key.id,
        data: { apiKeyId: key.id, name: key.name },
        occurredAt: now,
      });
    }
    return key;
  });
  if (row?.revokedAt === null || row?.revokedAt === undefined) throw new AppError("NOT_FOUND", API_KEY_NOT_FOUND);
  return { id: row.id, revokedAt: row.revokedAt.toISOString() };
}
