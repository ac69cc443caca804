import type { ApiDeps, Principal } from "../../deps.js";
import type { ResolvedService } from "../../schemas/shares.js";
import { resolveStreamTarget } from "./authorize-stream-open.js";

/** What `connect reach NAME [--from X]` would reach: own service, or which share grants it. */
export async function resolveService(
  deps: ApiDeps,
  principal: Principal,
  input: { name: string; from?: string | undefined },
): Promise<ResolvedService> {
  const target = await resolveStreamTarget(deps, principal, { service: input.name, from: input.from });
  if (target.kind === "own") return { name: target.route.serviceName };
  return { name: target.candidate.serviceName, from: target.candidate.ownerSlug, shareName: target.candidate.shareName };
}
