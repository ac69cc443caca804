import type { ApiDeps, Principal } from "../../deps.js";
import type { ResolvedService } from "../../schemas/shares.js";
import { resolveStreamTarget } from "./authorize-stream-open.js";

/**
 * What `connect reach NAME [--from X]` would reach: own service, or which share grants it; and
 * the agent exposing it with its static key and the effective end-to-end policy, which the
 * reaching agent checks against its pin before its first handshake. For a shared service that
 * agent is the sharing workspace's: a share lets the joiner reach it, so the joiner must be able
 * to pin it, but nothing else of that workspace is told.
 */
export async function resolveService(
  deps: ApiDeps,
  principal: Principal,
  input: { name: string; from?: string | undefined },
): Promise<ResolvedService> {
  const target = await resolveStreamTarget(deps, principal, { service: input.name, from: input.from });
  if (target.kind === "own") {
    const { route, exposer } = target;
    return {
      name: route.serviceName,
      agent: { id: exposer.agentId, label: exposer.label, workspaceId: exposer.workspaceId },
      e2e: { policy: route.e2ePolicy, publicKey: exposer.e2ePublicKey },
    };
  }
  const { candidate } = target;
  return {
    name: candidate.serviceName,
    from: candidate.ownerSlug,
    shareName: candidate.shareName,
    agent: { id: candidate.agentId, label: candidate.agentLabel, workspaceId: candidate.ownerWorkspaceId },
    e2e: { policy: candidate.e2ePolicy, publicKey: candidate.agentE2ePublicKey },
  };
}
