import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { RevokeShareInput } from "../../schemas/shares.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { requireSecretHashKey } from "./keyed-hash.js";
import { hashShareCode } from "./share-codes.js";

export const SHARE_NOT_FOUND = "Share not found in this workspace: check the code, or use the id from connect share list";

/**
 * Revokes one of the caller's workspace's shares, by code or id. Instant: once committed, the
 * relay hears of it and resets every open stream of the share, and no stream opens through it
 * again. Revoking twice is harmless and keeps the first revocation time.
 */
export async function revokeShare(
  deps: ApiDeps,
  principal: Principal,
  input: RevokeShareInput,
): Promise<{ id: string; name: string; revokedAt: string }> {
  const { workspaceId } = principal;
  const now = currentTime(deps);
  let where: { id: string } | { codeHash: string };
  if ("id" in input) where = { id: input.id };
  else {
    const codeHash = hashShareCode(requireSecretHashKey(deps), input.code);
    if (codeHash === undefined) throw new AppError("NOT_FOUND", SHARE_NOT_FOUND);
    where = { codeHash };
  }
  const revoked = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const share = await tx.share.findFirst({
      where: { ...where, workspaceId },
      select: { id: true, name: true, revokedAt: true, services: true },
    });
    if (share === null) throw new AppError("NOT_FOUND", SHARE_NOT_FOUND);
    if (share.revokedAt !== null) return { id: share.id, name: share.name, revokedAt: share.revokedAt.toISOString() };
    await tx.share.update({ where: { id: share.id, workspaceId }, data: { revokedAt: now }, select: { id: true } });
    await recordAuditEvent(tx, workspaceId, {
      type: "share",
      action: "revoke",
      actor: auditActorFor(principal),
      clientType: principal.kind === "agent" ? principal.clientType : undefined,
      target: share.name,
      data: { shareId: share.id, services: share.services },
      occurredAt: now,
    });
    return { id: share.id, name: share.name, revokedAt: now.toISOString() };
  });
  // After the commit: a stream that opens between commit and this call is refused by the open
  // check, which reads the committed revocation.
  deps.revocations.publish({ kind: "share", shareId: revoked.id, workspaceId });
  return revoked;
}
