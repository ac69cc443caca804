import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError, serviceNotFound } from "../../errors.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import type { SharedServiceCandidate } from "./find-shared-service.js";

/**
 * Admits one stream through a share: applies the share's per-minute limit, then, in one
 * transaction of the sharing workspace, re-checks that the share is still live (a revocation
 * committed since the lookup wins), counts the use for the share and the joined agent, and
 * records the access in the sharing workspace's audit log.
 */
export async function recordShareOpen(
  deps: ApiDeps,
  principal: AgentPrincipal,
  route: SharedServiceCandidate,
  ip: string | undefined,
): Promise<void> {
  const now = currentTime(deps);
  if (route.rateLimitPerMinute !== null) {
    const decision = await deps.rateLimiter.take(
      [{ key: `share-open:${route.shareId}`, rule: { limit: route.rateLimitPerMinute, windowMs: 60_000 } }],
      now.getTime(),
    );
    if (!decision.isAllowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw new AppError(
        "RATE_LIMITED",
        `The share for ${route.serviceName} allows ${route.rateLimitPerMinute} new connections per minute: try again in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
  }
  const { ownerWorkspaceId } = route;
  await deps.db.withWorkspace(ownerWorkspaceId, async (tx) => {
    const share = await tx.share.updateMany({
      where: { id: route.shareId, workspaceId: ownerWorkspaceId, revokedAt: null, expiresAt: { gt: now } },
      data: { useCount: { increment: 1 }, lastUsedAt: now },
    });
    const grant = await tx.shareGrant.updateMany({
      where: { shareId: route.shareId, workspaceId: ownerWorkspaceId, granteeAgentId: principal.agentId },
      data: { useCount: { increment: 1 }, lastUsedAt: now },
    });
    if (share.count === 0 || grant.count === 0) throw serviceNotFound();
    await recordAuditEvent(tx, ownerWorkspaceId, {
      type: "share",
      action: "access",
      actor: { type: "agent", id: principal.agentId },
      clientType: principal.clientType,
      target: route.serviceName,
      ip,
      data: { shareId: route.shareId, shareName: route.shareName, agentLabel: principal.label, status: "opened" },
      occurredAt: now,
    });
  });
}
