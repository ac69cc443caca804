import { joinShareByCodeHash } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { JoinedShareView } from "../../schemas/shares.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { describeNetwork } from "../auth/sign-in-link.js";
import { assertKeyOnRecord, requireSecretHashKey } from "./keyed-hash.js";
import { hashShareCode } from "./share-codes.js";

/**
 * Join attempts allowed per client network and window, counted before the code is checked, so
 * right and wrong codes cost the same. With 80-bit codes this makes guessing hopeless while
 * leaving plenty for a team joining a handful of shares.
 */
export const SHARE_JOINS_PER_WINDOW = 20;
export const SHARE_JOIN_WINDOW_MS = 10 * 60 * 1000;

export const SHARE_CODE_NOT_VALID =
  "Share code not valid: it may be mistyped, expired or revoked, or belong to your own workspace. Ask the sharer for a new code";

/**
 * Joins a share of another workspace for the calling agent. One answer for every failure (wrong,
 * expired, revoked, own workspace): the code is the only secret and the caller learns nothing
 * more from a miss.
 */
export async function joinShare(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: { code: string },
  ip: string | undefined,
): Promise<JoinedShareView> {
  const now = currentTime(deps);
  await takeJoinAttempt(deps, ip, now);
  const key = requireSecretHashKey(deps);
  const codeHash = hashShareCode(key, input.code);
  if (codeHash === undefined) throw new AppError("NOT_FOUND", SHARE_CODE_NOT_VALID);
  const joined = await deps.db.withWorkspace(principal.workspaceId, async (tx) => {
    const grant = await joinShareByCodeHash(tx, { codeHash, agentId: principal.agentId, now });
    if (grant === null) return null;
    await recordAuditEvent(tx, principal.workspaceId, {
      type: "share",
      action: "join",
      actor: { type: "agent", id: principal.agentId },
      clientType: principal.clientType,
      target: grant.shareName,
      ip,
      data: { shareId: grant.shareId, from: grant.ownerSlug, services: grant.services },
      occurredAt: now,
    });
    return grant;
  });
  if (joined === null) {
    await assertKeyOnRecord(deps, key);
    throw new AppError("NOT_FOUND", SHARE_CODE_NOT_VALID);
  }
  // The sharing workspace's own record of who joined, in its log.
  await recordAuditEvent(deps, joined.ownerWorkspaceId, {
    type: "share",
    action: "join",
    actor: { type: "agent", id: principal.agentId },
    clientType: principal.clientType,
    target: joined.shareName,
    ip,
    data: { shareId: joined.shareId, agentLabel: principal.label, joinerWorkspaceId: principal.workspaceId },
    occurredAt: now,
  });
  return {
    shareId: joined.shareId,
    shareName: joined.shareName,
    from: joined.ownerSlug,
    services: joined.services,
    expiresAt: joined.expiresAt.toISOString(),
    status: "active",
    joinedAt: now.toISOString(),
  };
}

async function takeJoinAttempt(deps: ApiDeps, ip: string | undefined, now: Date): Promise<void> {
  const decision = await deps.rateLimiter.take(
    [{ key: `share-join:ip:${describeNetwork(ip)}`, rule: { limit: SHARE_JOINS_PER_WINDOW, windowMs: SHARE_JOIN_WINDOW_MS } }],
    now.getTime(),
  );
  if (decision.isAllowed) return;
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new AppError(
    "RATE_LIMITED",
    `Too many share codes tried from this address: wait ${Math.ceil(retryAfterSeconds / 60)} minute(s), then run connect join again`,
    { retryAfterSeconds },
  );
}
