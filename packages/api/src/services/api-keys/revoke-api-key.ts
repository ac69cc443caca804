import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { API_KEY_NOT_FOUND, AppError } from "../../errors.js";
import type { Revocation } from "../../events/revocations.js";
import { publishRevocations, revokeAgentsInTransaction } from "../agents/revoke-agents.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { requireApiKeyManager } from "../auth/require-role.js";

/** What a stream opened with a key that was then revoked ends with; only the key's holder sees it. */
export const API_KEY_REVOKED =
  "This API key was revoked: use another one (an owner creates keys on the dashboard's API keys page)";

/**
 * Revokes a key of the workspace. Takes effect on the very next request: every request looks the
 * key up again (pc_auth_api_key skips revoked keys) and nothing caches a principal beyond one
 * request. Revoking twice answers with the first revocation (and records one `api_key` `revoke`
 * event, with the revocation's transaction); another workspace's key is not found.
 * The agents the key registered, provisioned or let in through connect login are revoked with it
 * (their relay connections close at once), unless `keepAgents`: a leaked key must not leave the
 * machines it enrolled behind. Asked again without keepAgents, it revokes the ones kept before.
 * A live-updates stream opened with the key ends at once (it authenticated only when it opened).
 */
export async function revokeApiKey(
  deps: ApiDeps,
  principal: Principal,
  input: { id: string; keepAgents?: boolean | undefined },
): Promise<{ id: string; revokedAt: string; revokedAgentIds: string[] }> {
  requireApiKeyManager(principal);
  const { workspaceId } = principal;
  const now = currentTime(deps);
  const outcome = await deps.db.withWorkspace(workspaceId, async (tx) => {
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
    // Only the call that revoked the key ends its streams; asking again has nothing left to end.
    const keyRevocations: Revocation[] =
      revoked.count > 0 && key !== null ? [{ kind: "apiKey", apiKeyId: key.id, workspaceId, reason: API_KEY_REVOKED }] : [];
    if (key?.revokedAt == null || input.keepAgents === true) return { key, revokedAgentIds: [], revocations: keyRevocations };
    const cascade = await revokeAgentsInTransaction(tx, {
      workspaceId,
      createdBy: { types: ["api_key", "provisioning_key"], id: key.id },
      actor: auditActorFor(principal),
      cause: "api_key_revoked",
      now,
    });
    return {
      key,
      revokedAgentIds: cascade.revoked.map((agent) => agent.agentId),
      revocations: [...keyRevocations, ...cascade.revocations],
    };
  });
  const { key } = outcome;
  if (key?.revokedAt === null || key?.revokedAt === undefined) throw new AppError("NOT_FOUND", API_KEY_NOT_FOUND);
  publishRevocations(deps, outcome.revocations);
  return { id: key.id, revokedAt: key.revokedAt.toISOString(), revokedAgentIds: outcome.revokedAgentIds };
}
