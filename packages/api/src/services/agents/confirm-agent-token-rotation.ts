import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { ConfirmAgentTokenRotationOutput } from "../../schemas/agents.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";

/**
 * Makes a rotation's new token the agent's token, which ends the old one. Must be called with
 * the NEW token: that proves the agent holds (and has saved) it before the old one stops working.
 */
export async function confirmAgentTokenRotation(
  deps: ApiDeps,
  principal: AgentPrincipal,
): Promise<ConfirmAgentTokenRotationOutput> {
  const { workspaceId, agentId, tokenExpiresAt } = principal;
  if (principal.tokenSlot !== "pending") {
    const agent = await deps.db.withWorkspace(workspaceId, (tx) =>
      tx.agent.findFirst({ where: { id: agentId, workspaceId }, select: { pendingTokenHash: true } }),
    );
    // Nothing pending: a retried confirmation whose answer was lost, with the token it promoted.
    // Answer as before rather than fail a rotation that worked.
    if (agent !== null && agent.pendingTokenHash === null) return { tokenExpiresAt: tokenExpiresAt.toISOString() };
    throw new AppError(
      "BAD_REQUEST",
      "Confirm a rotation with the new token from agents.rotateToken, not the current one: save the new token, then call agents.confirmRotation with it",
    );
  }
  const now = currentTime(deps);
  const confirmed = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const promoted = await tx.$executeRaw`
      UPDATE agents
         SET token_hash = pending_token_hash,
             token_expires_at = pending_token_expires_at,
             pending_token_hash = NULL,
             pending_token_expires_at = NULL,
             token_rotated_at = ${now.toISOString()}::timestamptz
       WHERE id = ${agentId}::uuid
         AND workspace_id = ${workspaceId}::uuid
         AND revoked_at IS NULL
         AND pending_token_hash IS NOT NULL
         -- The pending token this caller authenticated with, not one a later rotation put there.
         AND pending_token_expires_at = ${tokenExpiresAt.toISOString()}::timestamptz`;
    if (promoted !== 1) return false;
    // Recorded when the old token stops working, not when the new one was issued: an unconfirmed
    // rotation changes nothing about who can connect.
    await recordAuditEvent(tx, workspaceId, {
      type: "token",
      action: "rotated",
      actor: { type: "agent", id: agentId },
      clientType: principal.clientType,
      target: agentId,
      data: { agentId, tokenExpiresAt: tokenExpiresAt.toISOString() },
      occurredAt: now,
    });
    return true;
  });
  if (!confirmed) {
    throw new AppError(
      "CONFLICT",
      "This rotation was replaced by a newer one or already confirmed: use the token saved last, or run connect up --rotate-token again",
    );
  }
  return { tokenExpiresAt: tokenExpiresAt.toISOString() };
}
