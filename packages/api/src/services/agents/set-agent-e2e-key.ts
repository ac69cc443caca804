import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError, INVALID_CREDENTIALS } from "../../errors.js";
import type { SetE2eKeyInput, SetE2eKeyOutput } from "../../schemas/agents.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { fingerprintE2eKey } from "../e2e/key-fingerprint.js";

/**
 * Registers the calling agent's static end-to-end public key, which reaching agents get from
 * services.resolve and pin on first contact. The agent sends it on every `connect up`, so the
 * same key again changes and records nothing. A different key replacing one on record is audited
 * (`agent` `e2e_key_changed`, both fingerprints): every agent that pinned the old key will refuse
 * this one until a person runs connect trust, and the log should say why.
 */
export async function setAgentE2eKey(deps: ApiDeps, principal: AgentPrincipal, input: SetE2eKeyInput): Promise<SetE2eKeyOutput> {
  const { workspaceId, agentId } = principal;
  const fingerprint = fingerprintE2eKey(input.publicKey);
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    // Locked, so that two registrations racing (a copied config directory on two machines) each
    // see the other's key and both changes are audited, instead of one overwriting silently.
    const rows = await tx.$queryRaw<{ e2e_public_key: string | null }[]>`
      SELECT e2e_public_key FROM agents WHERE id = ${agentId}::uuid AND workspace_id = ${workspaceId}::uuid FOR UPDATE`;
    const current = rows[0];
    // The token authenticated a moment ago; an agent revoked since then has no row to update.
    if (current === undefined) throw new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
    const previousKey = current.e2e_public_key;
    if (previousKey === input.publicKey) return { publicKey: input.publicKey, fingerprint, isReplaced: false };
    await tx.agent.update({ where: { id: agentId, workspaceId }, data: { e2ePublicKey: input.publicKey }, select: { id: true } });
    if (previousKey === null) return { publicKey: input.publicKey, fingerprint, isReplaced: false };
    await recordAuditEvent(tx, workspaceId, {
      type: "agent",
      action: "e2e_key_changed",
      actor: { type: "agent", id: agentId },
      clientType: principal.clientType,
      target: agentId,
      data: {
        agentId,
        agentLabel: principal.label,
        fingerprint,
        // A key the column's CHECK admitted; a malformed one (none can be) would be shown as unknown.
        previousFingerprint: safeFingerprint(previousKey),
      },
      occurredAt: currentTime(deps),
    });
    return { publicKey: input.publicKey, fingerprint, isReplaced: true };
  });
}

function safeFingerprint(publicKey: string): string | null {
  try {
    return fingerprintE2eKey(publicKey);
  } catch {
    return null;
  }
}
