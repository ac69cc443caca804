import type { ApiDeps, Principal } from "../../deps.js";
import { serviceNotFound } from "../../errors.js";
import type { ServiceE2ePolicy } from "../../schemas/e2e.js";
import { SERVICE_NAME_PATTERN } from "../../schemas/services.js";
import { effectiveE2ePolicy, readWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";
import { findSharedServices, pickSharedService } from "../shares/find-shared-service.js";
import { recordShareOpen } from "../shares/record-share-open.js";

export interface StreamRoute {
  serviceId: string;
  serviceName: string;
  /** The exposing agent: the only one the hub may ask to dial, and only its own target. */
  agentId: string;
  workspaceId: string;
  /** Set when the stream crosses workspaces through a share: revoking it resets the stream. */
  share?: { id: string; expiresAt: Date };
  /**
   * The service's effective end-to-end policy, in its own workspace (for a shared service, the
   * sharing one's): "required" means the hub refuses an open without a handshake (E2E_REQUIRED)
   * and never relays plaintext to it; "off" means reaching agents open in plaintext, unless they
   * already pinned the exposing agent (which still answers any handshake it is offered).
   */
  e2ePolicy: ServiceE2ePolicy;
}

/** The agent exposing a service, as a reaching agent needs it for its handshake and its pin. */
export interface StreamExposer {
  agentId: string;
  label: string;
  workspaceId: string;
  /** Its registered static key; null for an agent that registered none. */
  e2ePublicKey: string | null;
}

export interface StreamOpenRequest {
  service: string;
  /** Only through a share: of this sharing workspace (slug) or share (name). */
  from?: string | undefined;
}

/**
 * THE authorization decision, run at every stream open. A name resolves to the principal's own
 * workspace's service first; failing that (or when `from` asks for a share), to a service that a
 * share the agent joined grants it, checked live in the sharing workspace. Everything else is
 * "Service not found", with no hint whether the name exists in another workspace.
 */
export async function authorizeStreamOpen(
  deps: ApiDeps,
  principal: Principal,
  request: StreamOpenRequest,
  connection: { ip?: string | undefined } = {},
): Promise<StreamRoute> {
  const own = await resolveStreamTarget(deps, principal, request);
  if (own.kind === "own") return own.route;
  // Counting, limiting and re-checking the share happen only for a stream about to flow.
  if (principal.kind !== "agent") throw serviceNotFound();
  await recordShareOpen(deps, principal, own.candidate, connection.ip);
  const { candidate } = own;
  return {
    serviceId: candidate.serviceId,
    serviceName: candidate.serviceName,
    agentId: candidate.agentId,
    workspaceId: candidate.ownerWorkspaceId,
    share: { id: candidate.shareId, expiresAt: candidate.expiresAt },
    e2ePolicy: candidate.e2ePolicy,
  };
}

type StreamTarget =
  | { kind: "own"; route: StreamRoute; exposer: StreamExposer }
  | { kind: "shared"; candidate: Awaited<ReturnType<typeof findSharedServices>>[number] };

/**
 * Which service a name means for this principal, without admitting a stream: used by the open
 * check above and by `services.resolve` (so `connect reach` fails early on a name that cannot be
 * reached, with the same answer a stream open would get).
 */
export async function resolveStreamTarget(
  deps: ApiDeps,
  principal: Principal,
  request: StreamOpenRequest,
): Promise<StreamTarget> {
  // Names that could never have been exposed need no database round trip.
  if (!SERVICE_NAME_PATTERN.test(request.service)) throw serviceNotFound();
  const { workspaceId } = principal;
  if (request.from === undefined) {
    const found = await deps.db.withWorkspace(workspaceId, async (tx) => {
      const service = await tx.service.findFirst({
        where: { workspaceId, name: request.service },
        select: {
          id: true,
          name: true,
          agentId: true,
          workspaceId: true,
          e2ePolicy: true,
          agent: { select: { label: true, e2ePublicKey: true } },
        },
      });
      // Only for a service found: a miss costs no second query.
      return service === null ? null : { service, workspacePolicy: await readWorkspaceE2ePolicy(tx, workspaceId) };
    });
    const row = found?.service;
    // Redundant with RLS and the where clause; kept because a wrong answer here leaks a tenant.
    if (found !== null && row !== undefined && row.workspaceId === workspaceId) {
      return {
        kind: "own",
        route: {
          serviceId: row.id,
          serviceName: row.name,
          agentId: row.agentId,
          workspaceId: row.workspaceId,
          e2ePolicy: effectiveE2ePolicy(found.workspacePolicy, row.e2ePolicy),
        },
        exposer: {
          agentId: row.agentId,
          label: row.agent.label,
          workspaceId: row.workspaceId,
          e2ePublicKey: row.agent.e2ePublicKey,
        },
      };
    }
  }
  // Shares are joined by agents; API keys and users have none.
  if (principal.kind !== "agent") throw serviceNotFound();
  const candidates = await findSharedServices(deps, principal, request.service, request.from);
  return { kind: "shared", candidate: pickSharedService(candidates, request.service) };
}
