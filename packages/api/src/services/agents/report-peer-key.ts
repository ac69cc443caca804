import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { PeerKeyEvent, ReportPeerKeyInput, ReportPeerKeyOutput } from "../../schemas/agents.js";
import { type AuditAction, recordAuditEvent } from "../audit/record-audit-event.js";
import { fingerprintE2eKey } from "../e2e/key-fingerprint.js";

/**
 * Reports one agent may make per minute. A changed key fails every stream to that peer, and a
 * client that retries in a loop would report each failure: the agent should report once per
 * change, and this bounds what a looping or compromised one can write to the audit log.
 */
export const PEER_KEY_REPORTS_PER_MINUTE = 120;

const ACTION_BY_EVENT: Record<PeerKeyEvent, AuditAction> = {
  changed: "peer_key_changed",
  trusted: "peer_key_trusted",
  verified: "peer_key_verified",
  uncertified: "peer_key_uncertified",
};

/**
 * Records what the calling agent saw of a peer agent's static key, in the caller's own workspace
 * (for a peer reached through a share, the joining workspace's log; the sharing workspace learns
 * nothing from it). Keys are public, but only their fingerprints are kept: the events stay small
 * and read side by side. The peer's id is the agent's claim, recorded as such: nothing about the
 * peer is looked up, so a report cannot be used to learn whether an agent id exists elsewhere.
 */
export async function reportPeerKey(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: ReportPeerKeyInput,
): Promise<ReportPeerKeyOutput> {
  const { workspaceId, agentId } = principal;
  const occurredAt = currentTime(deps);
  const decision = await deps.rateLimiter.take(
    [{ key: `report-peer-key:agent:${agentId}`, rule: { limit: PEER_KEY_REPORTS_PER_MINUTE, windowMs: 60_000 } }],
    occurredAt.getTime(),
  );
  if (!decision.isAllowed) {
    const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new AppError(
      "RATE_LIMITED",
      `Too many peer key reports (at most ${PEER_KEY_REPORTS_PER_MINUTE} a minute per agent): try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }
  await recordAuditEvent(deps, workspaceId, {
    type: "e2e",
    action: ACTION_BY_EVENT[input.event],
    actor: { type: "agent", id: agentId },
    clientType: principal.clientType,
    target: input.peerAgentId,
    data: {
      agentId,
      agentLabel: principal.label,
      peerAgentId: input.peerAgentId,
      service: input.service ?? null,
      pinnedFingerprint: input.pinnedKey === undefined ? null : fingerprintE2eKey(input.pinnedKey),
      offeredFingerprint: input.offeredKey === undefined ? null : fingerprintE2eKey(input.offeredKey),
    },
    occurredAt,
  });
  return { isRecorded: true };
}
