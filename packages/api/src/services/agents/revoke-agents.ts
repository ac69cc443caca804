import type { WorkspaceTx } from "@private-connect/db";
import { AGENT_REVOKED_MESSAGE_PREFIX } from "@private-connect/protocol";
import type { ApiDeps } from "../../deps.js";
import type { Revocation } from "../../events/revocations.js";
import { type AuditActor, recordAuditEvent } from "../audit/record-audit-event.js";

/** What let an agent in, as stored in agents.created_by_type. */
export type AgentCreatorType = "api_key" | "user" | "provisioning_key";

/** Why an agent is being revoked: decides the words the agent (and the audit log) get. */
export type AgentRevocationCause = "revoked" | "member_removed" | "api_key_revoked";

export interface RevokedAgent {
  agentId: string;
  label: string;
  revokedAt: Date;
}

/**
 * What the revoked agent is told, on its relay connection and on each tRPC call with its token.
 * Only the token's holder ever sees it, so naming the workspace tells an outsider nothing.
 */
export function describeAgentRevocation(workspaceName: string, cause: AgentRevocationCause = "revoked"): string {
  const prefix = `${AGENT_REVOKED_MESSAGE_PREFIX} by an owner of ${workspaceName}`;
  switch (cause) {
    case "member_removed":
      return `${prefix} (the member who let it in was removed from the workspace): ask them to let you in again`;
    case "api_key_revoked":
      return `${prefix} (the API key that registered it was revoked): ask them to let you in again`;
    case "revoked":
      return `${prefix}: ask them to let you in again`;
  }
}

/**
 * Revokes, inside the caller's withWorkspace transaction, the workspace's live agents that match
 * `where`, and records one `agent` `revoke` event per agent with the actor and the cause. Returns
 * the agents it revoked (not those revoked before) and the revocations to publish once the
 * transaction has committed: publishing earlier would cut a connection for a revocation that may
 * still roll back.
 */
export async function revokeAgentsInTransaction(
  tx: WorkspaceTx,
  input: {
    workspaceId: string;
    agentIds?: string[];
    createdBy?: { types: AgentCreatorType[]; id: string };
    actor: AuditActor;
    cause: AgentRevocationCause;
    now: Date;
  },
): Promise<{ revoked: RevokedAgent[]; revocations: Revocation[] }> {
  const { workspaceId, now } = input;
  const where = {
    workspaceId,
    revokedAt: null,
    ...(input.agentIds === undefined ? {} : { id: { in: input.agentIds } }),
    ...(input.createdBy === undefined ? {} : { createdByType: { in: input.createdBy.types }, createdById: input.createdBy.id }),
  };
  const candidates = await tx.agent.findMany({ where, select: { id: true, label: true, clientType: true } });
  if (candidates.length === 0) return { revoked: [], revocations: [] };
  const workspace = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { name: true } });
  const reason = describeAgentRevocation(workspace?.name ?? "this workspace", input.cause);
  const revoked: RevokedAgent[] = [];
  const revocations: Revocation[] = [];
  for (const agent of candidates) {
    // Guarded by revoked_at IS NULL: of two concurrent revocations, one wins and one audits.
    const updated = await tx.agent.updateMany({
      where: { id: agent.id, workspaceId, revokedAt: null },
      // The pending token of an unfinished rotation needs nothing: revoked_at refuses both slots.
      data: { revokedAt: now },
    });
    if (updated.count !== 1) continue;
    await recordAuditEvent(tx, workspaceId, {
      type: "agent",
      action: "revoke",
      actor: input.actor,
      clientType: agent.clientType,
      target: agent.id,
      reason: input.cause,
      data: { agentId: agent.id, label: agent.label },
      occurredAt: now,
    });
    revoked.push({ agentId: agent.id, label: agent.label, revokedAt: now });
    revocations.push({ kind: "agent", agentId: agent.id, workspaceId, reason });
  }
  return { revoked, revocations };
}

/** Hands committed revocations to the relay (and anything else listening). */
export function publishRevocations(deps: ApiDeps, revocations: Revocation[]): void {
  for (const revocation of revocations) deps.revocations.publish(revocation);
}

/**
 * The 401 message for a revoked agent's token: why, in the words its relay connection got. Asked
 * only after the token itself matched, so only its holder learns the workspace's name.
 */
export async function describeRevokedAgentToken(deps: ApiDeps, workspaceId: string, agentId: string): Promise<string> {
  const { workspace, event } = await deps.db.withWorkspace(workspaceId, async (tx) => ({
    workspace: await tx.workspace.findFirst({ where: { id: workspaceId }, select: { name: true } }),
    event: await tx.auditEvent.findFirst({
      where: { workspaceId, type: "agent", action: "revoke", target: agentId },
      orderBy: { occurredAt: "desc" },
      select: { reason: true },
    }),
  }));
  const cause = REVOCATION_CAUSES.find((known) => known === event?.reason) ?? "revoked";
  return describeAgentRevocation(workspace?.name ?? "this workspace", cause);
}

const REVOCATION_CAUSES: readonly AgentRevocationCause[] = ["revoked", "member_removed", "api_key_revoked"];
