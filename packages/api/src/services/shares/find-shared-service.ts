import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError, serviceNotFound } from "../../errors.js";
import type { ServiceE2ePolicy } from "../../schemas/e2e.js";
import { effectiveE2ePolicy, readWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";
import { groupJoinedSharesByOwner, liveGrantedShares } from "./joined-share-owners.js";

/** A service of another workspace that one of the agent's joined shares grants it. */
export interface SharedServiceCandidate {
  shareId: string;
  shareName: string;
  /** The sharing workspace, and its slug: what --from names. */
  ownerWorkspaceId: string;
  ownerSlug: string;
  serviceId: string;
  serviceName: string;
  /** The exposing agent, in the sharing workspace. */
  agentId: string;
  /** The exposing agent's label and static key: who a reaching agent runs its handshake with. */
  agentLabel: string;
  agentE2ePublicKey: string | null;
  /** Effective, in the sharing workspace: its policy and the service's, never the joiner's. */
  e2ePolicy: ServiceE2ePolicy;
  expiresAt: Date;
  rateLimitPerMinute: number | null;
}

/**
 * The services named `service` that this agent may reach through shares it joined, optionally
 * only those `from` a given sharing workspace (its slug) or share (its name). Read in two steps:
 * the agent's own workspace says where it joined; then, in each sharing workspace, the share
 * must be unrevoked and unexpired, still name the service, still hold the agent's grant, and the
 * service must exist there now.
 */
export async function findSharedServices(
  deps: ApiDeps,
  principal: AgentPrincipal,
  service: string,
  from: string | undefined,
): Promise<SharedServiceCandidate[]> {
  const { workspaceId, agentId } = principal;
  const joined = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.joinedShare.findMany({
      where: {
        workspaceId,
        agentId,
        ...(from === undefined ? {} : { OR: [{ ownerSlug: from }, { shareName: from }] }),
      },
      select: { shareId: true, ownerWorkspaceId: true, ownerSlug: true },
    }),
  );
  const now = currentTime(deps);
  const byOwner = groupJoinedSharesByOwner(joined);
  const candidates: SharedServiceCandidate[] = [];
  for (const [ownerWorkspaceId, owner] of byOwner) {
    const found = await deps.db.withWorkspace(ownerWorkspaceId, async (tx) => {
      const shares = await tx.share.findMany({
        where: { ...liveGrantedShares(ownerWorkspaceId, owner, agentId, now), services: { has: service } },
        select: { id: true, name: true, expiresAt: true, rateLimitPerMinute: true },
      });
      if (shares.length === 0) return [];
      const target = await tx.service.findFirst({
        where: { workspaceId: ownerWorkspaceId, name: service },
        select: {
          id: true,
          name: true,
          agentId: true,
          workspaceId: true,
          e2ePolicy: true,
          agent: { select: { label: true, e2ePublicKey: true } },
        },
      });
      // Redundant with RLS; kept because a wrong answer here would leak a tenant's service.
      if (target === null || target.workspaceId !== ownerWorkspaceId) return [];
      // The sharing workspace's policy, read in its own context like the rest.
      const e2ePolicy = effectiveE2ePolicy(await readWorkspaceE2ePolicy(tx, ownerWorkspaceId), target.e2ePolicy);
      return shares.map((share) => ({
        shareId: share.id,
        shareName: share.name,
        ownerWorkspaceId,
        ownerSlug: owner.slug,
        serviceId: target.id,
        serviceName: target.name,
        agentId: target.agentId,
        agentLabel: target.agent.label,
        agentE2ePublicKey: target.agent.e2ePublicKey,
        e2ePolicy,
        expiresAt: share.expiresAt,
        rateLimitPerMinute: share.rateLimitPerMinute,
      }));
    });
    candidates.push(...found);
  }
  return candidates;
}

/**
 * One shared service out of the candidates. Several shares of one workspace granting the same
 * service are one route (the longest-lived share is used); several workspaces offering the name
 * are ambiguous, and the caller must pick with --from.
 */
export function pickSharedService(candidates: SharedServiceCandidate[], service: string): SharedServiceCandidate {
  if (candidates.length === 0) throw serviceNotFound();
  const owners = [...new Set(candidates.map((candidate) => candidate.ownerSlug))].sort();
  if (owners.length > 1) {
    throw new AppError(
      "CONFLICT",
      `${service} is shared with this agent by several workspaces (${owners.join(", ")}): choose one with --from, for example connect reach ${service} --from ${owners[0]}`,
    );
  }
  return candidates.reduce((best, candidate) => (candidate.expiresAt > best.expiresAt ? candidate : best));
}
