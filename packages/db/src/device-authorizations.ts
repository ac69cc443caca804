import { isSha256Hex } from "./hash.js";
import type { WorkspaceTx } from "./prisma.js";

export interface DecideDeviceAuthorizationInput {
  userCodeHash: string;
  isApproved: boolean;
  now: Date;
  /** Who decides: exactly one of them is set. */
  decidedByApiKeyId: string | null;
  decidedByUserId: string | null;
}

export interface DecidedDeviceAuthorization {
  id: string;
  label: string;
  status: "approved" | "denied";
}

/**
 * Approves or denies a pending, unexpired `connect login` request for the workspace of `tx`
 * (a withWorkspace transaction). A pending request has no workspace yet, so row-level security
 * hides it from the runtime; the SECURITY DEFINER function takes the workspace from the
 * transaction's own app.workspace_id, never from an argument. Null when no pending request has
 * that user code (unknown, expired or already decided).
 */
export async function decideDeviceAuthorization(
  tx: WorkspaceTx,
  input: DecideDeviceAuthorizationInput,
): Promise<DecidedDeviceAuthorization | null> {
  if (!isSha256Hex(input.userCodeHash)) return null;
  const rows = await tx.$queryRaw<{ id: string; label: string; status: string }[]>`
    SELECT id, label, status
      FROM pc_auth_device_decide(${input.userCodeHash}, ${input.isApproved}, ${input.now.toISOString()}::timestamptz,
                                 ${input.decidedByApiKeyId}::uuid, ${input.decidedByUserId}::uuid)`;
  const row = rows[0];
  if (row === undefined) return null;
  return { id: row.id, label: row.label, status: row.status === "approved" ? "approved" : "denied" };
}
