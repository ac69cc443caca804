import { sha256Hex } from "@private-connect/db";
import { type ApiDeps, type ApiKeyPrincipal, currentTime } from "../../deps.js";
import { AppError, INVALID_CREDENTIALS } from "../../errors.js";
import type { ClientType, RegisterAgentOutput } from "../../schemas/agents.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { generateAgentToken } from "../auth/secrets.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Registers a new agent in the API key's workspace and returns its token, once. */
export async function registerAgent(
  deps: ApiDeps,
  principal: ApiKeyPrincipal,
  input: { label: string; clientType: ClientType },
): Promise<RegisterAgentOutput> {
  const token = generateAgentToken();
  const now = currentTime(deps);
  const tokenExpiresAt = new Date(now.getTime() + deps.config.tokenExpiryDays * DAY_MS);
  const { workspaceId } = principal;
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const workspace = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { id: true, name: true } });
    // The key authenticated a moment ago; its workspace can only be missing if it was just deleted.
    if (workspace === null) throw new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
    const agent = await tx.agent.create({
      data: {
        workspaceId,
        label: input.label,
        clientType: input.clientType,
        tokenHash: sha256Hex(token),
        tokenExpiresAt,
        // The hub's clock, not the database's: the maximum lifetime counts from here.
        createdAt: now,
        // Revoking this key revokes the agents it registered (unless the owner keeps them).
        createdByType: "api_key",
        createdById: principal.apiKeyId,
      },
      select: { id: true },
    });
    await recordAuditEvent(tx, workspaceId, {
      type: "agent",
      action: "register",
      actor: { type: "api_key", id: principal.apiKeyId },
      clientType: input.clientType,
      target: agent.id,
      data: { agentId: agent.id, label: input.label, tokenExpiresAt: tokenExpiresAt.toISOString() },
      occurredAt: now,
    });
    return { agentId: agent.id, token, tokenExpiresAt: tokenExpiresAt.toISOString(), workspace };
  });
}
