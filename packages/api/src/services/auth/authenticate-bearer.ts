import { sha256Hex } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime, type Principal } from "../../deps.js";
import {
  AGENT_TOKEN_EXPIRED,
  AppError,
  INVALID_CREDENTIALS,
  MALFORMED_API_KEY,
  MALFORMED_CREDENTIALS,
  PROVISIONED_TOKEN_EXPIRED,
} from "../../errors.js";
import { describeRevokedAgentToken } from "../agents/revoke-agents.js";
import { recordTokenUse, type TokenUse } from "../audit/record-token-use.js";
import { AGENT_TOKEN_PATTERN, API_KEY_PATTERN } from "./secrets.js";

/**
 * Resolves a bearer (API key or agent token) to its principal and workspace.
 * Throws AppError UNAUTHORIZED (unknown: one message for all, so a probe learns nothing; malformed:
 * says what a key looks like, which is public, and is refused before any lookup; a revoked agent's
 * own token is told it was revoked and by whom, which only its holder can see) or TOKEN_EXPIRED. Never logs or echoes the bearer. Given `use` (where the
 * request came from), an agent token's use is appended to the audit log (throttled, see
 * recordTokenUse); without it, as for internal lookups, nothing is recorded.
 */
export async function authenticateBearer(deps: ApiDeps, bearer: string, use?: TokenUse): Promise<Principal> {
  if (bearer.startsWith("pc_")) {
    // Malformed keys cannot exist in the table; skip the lookup.
    if (!API_KEY_PATTERN.test(bearer)) throw new AppError("UNAUTHORIZED", MALFORMED_API_KEY);
    const found = await deps.db.authenticateApiKeyHash(sha256Hex(bearer));
    if (found === null) throw invalidCredentials();
    return { kind: "apiKey", apiKeyId: found.apiKeyId, workspaceId: found.workspaceId };
  }
  if (AGENT_TOKEN_PATTERN.test(bearer)) {
    const found = await deps.db.authenticateAgentTokenHash(sha256Hex(bearer));
    if (found === null) throw invalidCredentials();
    if (found.revokedAt !== null) {
      throw new AppError("UNAUTHORIZED", await describeRevokedAgentToken(deps, found.workspaceId, found.agentId));
    }
    if (found.tokenExpiresAt.getTime() <= currentTime(deps).getTime()) {
      throw new AppError("TOKEN_EXPIRED", await describeExpiredToken(deps, found.workspaceId, found.agentId));
    }
    const principal: AgentPrincipal = {
      kind: "agent",
      agentId: found.agentId,
      workspaceId: found.workspaceId,
      label: found.label,
      clientType: found.clientType,
      tokenExpiresAt: found.tokenExpiresAt,
      tokenSlot: found.tokenSlot,
    };
    if (use !== undefined) await recordTokenUse(deps, principal, use);
    return principal;
  }
  throw new AppError("UNAUTHORIZED", MALFORMED_CREDENTIALS);
}

function invalidCredentials(): AppError {
  return new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
}

/** The way back differs: a provisioned token is replaced by provisioning, not by registering. */
export async function describeExpiredToken(deps: ApiDeps, workspaceId: string, agentId: string): Promise<string> {
  const agent = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.agent.findFirst({ where: { id: agentId, workspaceId }, select: { provisionedAt: true } }),
  );
  return agent?.provisionedAt ? PROVISIONED_TOKEN_EXPIRED : AGENT_TOKEN_EXPIRED;
}
