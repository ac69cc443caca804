import type { WorkspaceTx } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AGENT_NOT_FOUND, AppError } from "../../errors.js";
import type { RevokedAgentView } from "../../schemas/agents.js";
import { type AuditActor, auditActorFor } from "../audit/record-audit-event.js";
import { resolveOperatorWorkspace } from "./resolve-operator-workspace.js";
import { publishRevocations, revokeAgentsInTransaction } from "./revoke-agents.js";

export const MEMBER_REVOKES_OWN_AGENTS_ONLY =
  "A member can revoke only the agents they let in themselves (with connect login): ask an owner of this workspace to revoke this one";
export const PROVISIONED_AGENT_REVOKES_ITSELF_ONLY =
  "A provisioned agent can revoke only itself: ask an owner of this workspace, or use an API key, to revoke another agent";
export const AGENT_REVOKES_OWN_KIND_ONLY =
  "This agent can revoke only itself and the agents its approver let in: ask an owner of this workspace, or use an API key";

interface TargetAgent {
  id: string;
  label: string;
  revokedAt: Date | null;
  createdByType: string | null;
  createdById: string | null;
}

/**
 * Revokes an agent of the caller's workspace: its token (and a pending rotation's) stops working
 * at once, and the relay closes its connection and resets its streams as soon as the revocation
 * is published. Who may (anyone else gets FORBIDDEN, naming who can):
 * - an owner signed in, or an API key (keys have full workspace scope): any agent;
 * - a member signed in: the agents they approved themselves;
 * - an agent token: itself; and what the one it acts for could revoke: an agent created by an API
 *   key, or approved by someone who is an owner now, acts for an owner; one approved by a member,
 *   for that member. Provisioned agents, short-lived and minted for a runtime, only themselves.
 * Another workspace's agent, or none, is "Agent not found". Revoking twice answers with the first
 * revocation (and audits once).
 */
export async function revokeAgent(deps: ApiDeps, principal: Principal, input: { agentId: string }): Promise<RevokedAgentView> {
  const { workspaceId } = principal;
  return revokeOneAgent(deps, workspaceId, auditActorFor(principal), (tx) =>
    findAgent(tx, workspaceId, { id: input.agentId }).then(async (target) => {
      if (target !== null) await assertMayRevoke(tx, principal, target);
      return target;
    }),
  );
}

/**
 * The hub operator's revocation (`connect-hub agent revoke`), by id or label: no principal, the
 * audit log records the hub itself. A label shared by several live agents is refused with their
 * ids, so the operator never revokes the wrong machine.
 */
export async function revokeAgentAsHubOperator(
  deps: ApiDeps,
  input: { workspace: string; agent: string },
): Promise<RevokedAgentView & { workspace: { id: string; name: string; slug: string } }> {
  const workspace = await resolveOperatorWorkspace(deps, input.workspace);
  const workspaceId = workspace.id;
  const revoked = await revokeOneAgent(deps, workspaceId, { type: "system" }, async (tx) => {
    const byId = UUID_PATTERN.test(input.agent) ? await findAgent(tx, workspaceId, { id: input.agent }) : null;
    if (byId !== null) return byId;
    const byLabel = await tx.agent.findMany({
      where: { workspaceId, label: input.agent, revokedAt: null },
      select: { id: true, label: true, revokedAt: true, createdByType: true, createdById: true },
      take: 10,
    });
    if (byLabel.length > 1) {
      throw new AppError(
        "CONFLICT",
        `Several agents are labelled ${input.agent}: revoke one by its id (${byLabel.map((agent) => agent.id).join(", ")}), see connect-hub agent list`,
      );
    }
    return byLabel[0] ?? null;
  });
  return { ...revoked, workspace };
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function revokeOneAgent(
  deps: ApiDeps,
  workspaceId: string,
  actor: AuditActor,
  findTarget: (tx: WorkspaceTx) => Promise<TargetAgent | null>,
): Promise<RevokedAgentView> {
  const now = currentTime(deps);
  const outcome = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const target = await findTarget(tx);
    if (target === null) throw new AppError("NOT_FOUND", AGENT_NOT_FOUND);
    if (target.revokedAt !== null) {
      return { view: { agentId: target.id, label: target.label, revokedAt: target.revokedAt.toISOString() }, revocations: [] };
    }
    const { revoked, revocations } = await revokeAgentsInTransaction(tx, {
      workspaceId,
      agentIds: [target.id],
      actor,
      cause: "revoked",
      now,
    });
    const first = revoked[0];
    if (first === undefined) {
      // A concurrent revocation won the row between our read and our update: answer with it.
      const current = await findAgent(tx, workspaceId, { id: target.id });
      if (current?.revokedAt == null) throw new AppError("NOT_FOUND", AGENT_NOT_FOUND);
      return { view: { agentId: current.id, label: current.label, revokedAt: current.revokedAt.toISOString() }, revocations: [] };
    }
    return { view: { agentId: first.agentId, label: first.label, revokedAt: first.revokedAt.toISOString() }, revocations };
  });
  publishRevocations(deps, outcome.revocations);
  return outcome.view;
}

function findAgent(tx: WorkspaceTx, workspaceId: string, where: { id: string }): Promise<TargetAgent | null> {
  return tx.agent.findFirst({
    where: { id: where.id, workspaceId },
    select: { id: true, label: true, revokedAt: true, createdByType: true, createdById: true },
  });
}

async function assertMayRevoke(tx: WorkspaceTx, principal: Principal, target: TargetAgent): Promise<void> {
  switch (principal.kind) {
    case "apiKey":
      return;
    case "user":
      if (principal.role === "owner") return;
      if (isCreatedByUser(target, principal.userId)) return;
      throw new AppError("FORBIDDEN", MEMBER_REVOKES_OWN_AGENTS_ONLY);
    case "agent":
      return assertAgentMayRevoke(tx, principal, target);
  }
}

async function assertAgentMayRevoke(tx: WorkspaceTx, principal: AgentPrincipal, target: TargetAgent): Promise<void> {
  if (target.id === principal.agentId) return;
  const caller = await tx.agent.findFirst({
    where: { id: principal.agentId, workspaceId: principal.workspaceId, revokedAt: null },
    select: { createdByType: true, createdById: true, provisionedAt: true },
  });
  // Authenticated a moment ago; gone or revoked since: it acts for nobody.
  if (caller === null) throw new AppError("FORBIDDEN", AGENT_REVOKES_OWN_KIND_ONLY);
  if (caller.provisionedAt !== null || caller.createdByType === "provisioning_key") {
    throw new AppError("FORBIDDEN", PROVISIONED_AGENT_REVOKES_ITSELF_ONLY);
  }
  if (caller.createdByType === "api_key") return;
  if (caller.createdByType === "user" && caller.createdById !== null) {
    // The approver's role now, not when they approved: a demoted owner's agents act for a member.
    const approver = await tx.membership.findFirst({
      where: { workspaceId: principal.workspaceId, userId: caller.createdById },
      select: { role: true },
    });
    if (approver?.role === "owner") return;
    if (approver !== null && isCreatedByUser(target, caller.createdById)) return;
  }
  throw new AppError("FORBIDDEN", AGENT_REVOKES_OWN_KIND_ONLY);
}

function isCreatedByUser(target: TargetAgent, userId: string): boolean {
  return target.createdByType === "user" && target.createdById === userId;
}
