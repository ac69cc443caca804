import { sha256Hex } from "@private-connect/db";
import type { ZodError } from "zod";
import { type ApiDeps, type ApiKeyPrincipal, currentTime } from "../../deps.js";
import { AppError, INVALID_CREDENTIALS } from "../../errors.js";
import { type ProvisionAgentOutput, provisionAgentInput } from "../../schemas/agents.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { generateAgentToken } from "../auth/secrets.js";

/** Fields a caller might try to set that only the hub chooses. */
const HUB_CHOSEN_FIELDS = new Set(["agentId", "token", "id", "tokenHash", "expiresAt", "tokenExpiresAt"]);

/**
 * Mints a short-lived agent for an AI agent runtime (`POST /v1/agents/provision`): a new agent
 * in the API key's workspace with its own token, valid for ttlSeconds (default 2 hours, 5
 * minutes to 24 hours). The hub generates both the agent id and the token; the caller can only
 * describe the client. The agent row keeps when, for how long and by which key it was
 * provisioned, and the same transaction records the PROVISIONED event. Validates `rawInput` itself,
 * so a REST route can pass the parsed JSON body as it came (hence `unknown`; the shape is
 * ProvisionAgentInput).
 */
export async function provisionAgent(
  deps: ApiDeps,
  principal: ApiKeyPrincipal,
  rawInput: unknown,
): Promise<ProvisionAgentOutput> {
  const parsed = provisionAgentInput.safeParse(rawInput);
  if (!parsed.success) throw new AppError("BAD_REQUEST", describeProvisionIssues(parsed.error));
  const { clientType, ttlSeconds } = parsed.data;
  const label = parsed.data.label ?? clientType;
  const token = generateAgentToken();
  const now = currentTime(deps);
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  const { workspaceId } = principal;
  const agent = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const workspace = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { id: true } });
    // The key authenticated a moment ago; its workspace can only be missing if it was just deleted.
    if (workspace === null) throw new AppError("UNAUTHORIZED", INVALID_CREDENTIALS);
    const created = await tx.agent.create({
      data: {
        workspaceId,
        label,
        clientType,
        tokenHash: sha256Hex(token),
        tokenExpiresAt: expiresAt,
        createdAt: now,
        provisionedAt: now,
        provisionedTtlSeconds: ttlSeconds,
        provisionedByApiKeyId: principal.apiKeyId,
        createdByType: "provisioning_key",
        createdById: principal.apiKeyId,
      },
      select: { id: true },
    });
    await recordAuditEvent(tx, workspaceId, {
      type: "token",
      action: "provisioned",
      actor: { type: "api_key", id: principal.apiKeyId },
      clientType,
      target: created.id,
      data: { agentId: created.id, label, ttlSeconds, expiresAt: expiresAt.toISOString() },
      occurredAt: now,
    });
    return created;
  });
  return { agentId: agent.id, token, expiresAt: expiresAt.toISOString() };
}

function describeProvisionIssues(error: ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") {
        const chosenByHub = issue.keys.filter((key) => HUB_CHOSEN_FIELDS.has(key));
        if (chosenByHub.length > 0) {
          return `${chosenByHub.join(" and ")} cannot be chosen by the caller: the hub generates them, remove ${chosenByHub.length > 1 ? "them" : "it"} from the request`;
        }
        return `Unknown field ${issue.keys.join(", ")}: send only clientType, label and ttlSeconds`;
      }
      if (issue.code === "invalid_type" && issue.path.length === 0) {
        return 'Send a JSON object such as { "clientType": "claude-code", "ttlSeconds": 3600 }';
      }
      return issue.message;
    })
    .join("; ");
}
