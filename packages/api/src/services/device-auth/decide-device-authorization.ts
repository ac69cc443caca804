import { decideDeviceAuthorization as decideInDatabase, sha256Hex } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { DecideDeviceAuthorizationOutput } from "../../schemas/device-auth.js";
import { normalizeUserCode } from "./device-codes.js";

/** Whoever may let a machine into a workspace: a signed-in user of it, or an API key (full workspace scope). */
export type DeviceApprover = Exclude<Principal, AgentPrincipal>;

export const NO_PENDING_LOGIN =
  "No pending login with this code: check the code connect login printed, or run connect login again for a new one";

/**
 * Approves or denies a pending `connect login` by the code its machine printed, for the
 * approver's workspace: an approved machine becomes an agent of that workspace when it next polls.
 */
export async function decideDeviceAuthorization(
  deps: ApiDeps,
  principal: DeviceApprover,
  input: { userCode: string },
  decision: "approve" | "deny",
): Promise<DecideDeviceAuthorizationOutput> {
  const userCode = normalizeUserCode(input.userCode);
  if (userCode === undefined) throw new AppError("NOT_FOUND", NO_PENDING_LOGIN);
  const decidedBy = describeApprover(principal);
  const decided = await deps.db.withWorkspace(principal.workspaceId, (tx) =>
    decideInDatabase(tx, {
      userCodeHash: sha256Hex(userCode),
      isApproved: decision === "approve",
      now: currentTime(deps),
      decidedByApiKeyId: decidedBy.apiKeyId,
      decidedByUserId: decidedBy.userId,
    }),
  );
  if (decided === null) throw new AppError("NOT_FOUND", NO_PENDING_LOGIN);
  return { status: decided.status, label: decided.label };
}

function describeApprover(principal: DeviceApprover): { apiKeyId: string | null; userId: string | null } {
  if (principal.kind === "apiKey") return { apiKeyId: principal.apiKeyId, userId: null };
  return { apiKeyId: null, userId: principal.userId };
}
