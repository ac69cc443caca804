import type { AgentPrincipal, ApiDeps } from "../../deps.js";

export interface AgentCredentialState {
  tokenExpiresAt: Date;
  isRevoked: boolean;
  /** Minted by POST /v1/agents/provision: its expiry message points at a new provisioning, not a rotation. */
  isProvisioned: boolean;
}

/**
 * The agent's credential as stored now, not as it was when its connection authenticated:
 * a long-lived relay connection re-checks this at its token's expiry, so a rotation that
 * extended it keeps the connection, and an expired or revoked agent is cut off.
 * Undefined when the agent no longer exists.
 */
export async function readAgentCredential(deps: ApiDeps, principal: AgentPrincipal): Promise<AgentCredentialState | undefined> {
  const { workspaceId, agentId } = principal;
  const row = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.agent.findFirst({
      where: { id: agentId, workspaceId },
      select: { tokenExpiresAt: true, revokedAt: true, provisionedAt: true },
    }),
  );
  return row
    ? { tokenExpiresAt: row.tokenExpiresAt, isRevoked: row.revokedAt !== null, isProvisioned: row.provisionedAt !== null }
    : undefined;
}
