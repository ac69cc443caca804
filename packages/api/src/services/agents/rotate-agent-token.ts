import { sha256Hex } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError, INVALID_CREDENTIALS } from "../../errors.js";
import type { RotateAgentTokenOutput } from "../../schemas/agents.js";
import { generateAgentToken } from "../auth/secrets.js";
import { DEFAULT_TOKEN_MAX_LIFETIME_DAYS, tokenMaxExpiresAt } from "./token-lifetime.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Issues a new token for the calling agent, kept as a pending hash next to the current one:
 * both authenticate until the agent confirms the new one (confirmAgentTokenRotation), so a crash
 * before the agent has saved it loses nothing. A second call replaces an unconfirmed pending
 * token (the agent may never have saved it). Only an unexpired token gets here: authenticateBearer
 * refuses expired ones, which is what makes rotation possible "until expiry" and not after.
 * Rotation extends the expiry by TOKEN_EXPIRY_DAYS but never past the agent's registration plus
 * TOKEN_MAX_LIFETIME_DAYS: a stolen token rotated by the thief must not live forever. Once the
 * current token already reaches that cap, rotating is refused and the machine registers again.
 */
export async function rotateAgentToken(deps: ApiDeps, principal: AgentPrincipal): Promise<RotateAgentTokenOutput> {
  if (principal.tokenSlot === "pending") {
    throw new AppError(
      "CONFLICT",
      "This is the new token of a rotation that is not confirmed yet: confirm it first (agents.confirmRotation; connect up --rotate-token does this)",
    );
  }
  const { workspaceId, agentId } = principal;
  const token = generateAgentToken();
  const now = currentTime(deps);
  let tokenExpiresAt = new Date(now.getTime() + deps.config.tokenExpiryDays * DAY_MS);
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const agent = await tx.agent.findFirst({
      where: { id: agentId, workspaceId, revokedAt: null },
      select: { provisionedAt: true, pendingTokenExpiresAt: true, createdAt: true },
    });
    if (agent === null) throw new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
    if (agent.provisionedAt !== null) {
      // Rotating would stretch a token meant to live minutes or hours into a 30-day one.
      throw new AppError(
        "FORBIDDEN",
        "A provisioned agent token cannot be rotated: provision a new one with POST /v1/agents/provision",
      );
    }
    const cap = tokenMaxExpiresAt(deps, agent.createdAt);
    if (principal.tokenExpiresAt.getTime() >= cap.getTime()) {
      const days = deps.config.tokenMaxLifetimeDays ?? DEFAULT_TOKEN_MAX_LIFETIME_DAYS;
      throw new AppError(
        "FORBIDDEN",
        `This agent's token reached its maximum lifetime of ${days} days: register it again with connect up --api-key <key> (or connect login)`,
      );
    }
    if (tokenExpiresAt.getTime() > cap.getTime()) tokenExpiresAt = cap;
    // confirmAgentTokenRotation tells pending tokens apart by their expiry; two rotations within
    // the same millisecond must not share one (below the cap, a millisecond earlier will do).
    if (agent.pendingTokenExpiresAt !== null && agent.pendingTokenExpiresAt.getTime() >= tokenExpiresAt.getTime()) {
      const later = agent.pendingTokenExpiresAt.getTime() + 1;
      tokenExpiresAt = new Date(later <= cap.getTime() ? later : agent.pendingTokenExpiresAt.getTime() - 1);
    }
    await tx.agent.update({
      where: { id: agentId },
      data: { pendingTokenHash: sha256Hex(token), pendingTokenExpiresAt: tokenExpiresAt },
      select: { id: true },
    });
    return { token, tokenExpiresAt: tokenExpiresAt.toISOString() };
  });
}
