import { sha256Hex, type WorkspaceTx } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { PollDeviceAuthorizationOutput } from "../../schemas/device-auth.js";
import { generateAgentToken } from "../auth/secrets.js";
import { DEVICE_CODE_PATTERN } from "./device-codes.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export const UNKNOWN_DEVICE_CODE = "Unknown login code: run connect login again";
export const DEVICE_LOGIN_APPROVER_GONE =
  "Whoever approved this login can no longer let machines in (removed from the workspace, or their API key was revoked): run connect login again and have an owner approve it";
export const DEVICE_CODE_USED =
  "This login was already completed and its code cannot be used again: run connect login to start a new one";

/**
 * What the polling machine learns about its login: pending, denied, expired, or approved with a
 * new agent and that agent's own token. The agent is created by the first poll after approval,
 * in the approving workspace, and the request is marked used in the same transaction, so the
 * token is handed out exactly once; every later poll is refused. The agent records who approved
 * it, so that removing that member (or revoking that key) revokes it too; an approver already
 * gone by the time of the poll lets nobody in.
 */
export async function pollDeviceAuthorization(
  deps: ApiDeps,
  input: { deviceCode: string },
): Promise<PollDeviceAuthorizationOutput> {
  if (!DEVICE_CODE_PATTERN.test(input.deviceCode)) throw new AppError("NOT_FOUND", UNKNOWN_DEVICE_CODE);
  const found = await deps.db.findDeviceAuthorizationByCodeHash(sha256Hex(input.deviceCode));
  if (found === null) throw new AppError("NOT_FOUND", UNKNOWN_DEVICE_CODE);
  if (found.consumedAt !== null) throw new AppError("CONFLICT", DEVICE_CODE_USED);
  if (found.status === "denied") return { status: "denied" };
  const now = currentTime(deps);
  // Strict: an approval that was not collected in time is as dead as a pending request.
  if (found.expiresAt.getTime() <= now.getTime()) return { status: "expired" };
  if (found.status === "pending" || found.workspaceId === null) return { status: "pending" };

  const workspaceId = found.workspaceId;
  const token = generateAgentToken();
  const tokenExpiresAt = new Date(now.getTime() + deps.config.tokenExpiryDays * DAY_MS);
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const workspace = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { id: true, name: true } });
    if (workspace === null) throw new AppError("NOT_FOUND", UNKNOWN_DEVICE_CODE);
    const createdBy = await findLiveApprover(tx, workspaceId, found.id);
    if (createdBy === null) throw new AppError("FORBIDDEN", DEVICE_LOGIN_APPROVER_GONE);
    const agent = await tx.agent.create({
      data: {
        workspaceId,
        label: found.label,
        clientType: "cli",
        tokenHash: sha256Hex(token),
        tokenExpiresAt,
        // The hub's clock, not the database's: the maximum lifetime counts from here.
        createdAt: now,
        createdByType: createdBy.type,
        createdById: createdBy.id,
      },
      select: { id: true },
    });
    // The row lock makes a concurrent second poll wait here and then find it consumed; throwing
    // rolls back its agent too.
    const claimed = await tx.deviceAuthorization.updateMany({
      where: { id: found.id, workspaceId, status: "approved", consumedAt: null },
      data: { consumedAt: now, agentId: agent.id },
    });
    if (claimed.count !== 1) throw new AppError("CONFLICT", DEVICE_CODE_USED);
    return {
      status: "approved" as const,
      agentId: agent.id,
      token,
      tokenExpiresAt: tokenExpiresAt.toISOString(),
      label: found.label,
      workspace,
    };
  });
}

/**
 * Who approved the request, if they still may let machines in: a member of the workspace now, or
 * an API key not revoked since. Null otherwise (the approval dies with the approver's access).
 */
async function findLiveApprover(
  tx: WorkspaceTx,
  workspaceId: string,
  requestId: string,
): Promise<{ type: "user" | "api_key"; id: string } | null> {
  const request = await tx.deviceAuthorization.findFirst({
    where: { id: requestId, workspaceId },
    select: { decidedByUserId: true, decidedByApiKeyId: true },
  });
  if (request?.decidedByUserId != null) {
    const membership = await tx.membership.findFirst({
      where: { workspaceId, userId: request.decidedByUserId },
      select: { id: true },
    });
    return membership === null ? null : { type: "user", id: request.decidedByUserId };
  }
  if (request?.decidedByApiKeyId != null) {
    const key = await tx.apiKey.findFirst({
      where: { id: request.decidedByApiKeyId, workspaceId, revokedAt: null },
      select: { id: true },
    });
    return key === null ? null : { type: "api_key", id: key.id };
  }
  return null;
}
