import { isUniqueConstraintError, type WorkspaceTx } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { ExposedService, ExposeServiceInput } from "../../schemas/services.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";

const exposedServiceSelect = { id: true, name: true, targetHost: true, targetPort: true, agentId: true } as const;

/**
 * Exposes (or re-announces) a service of the calling agent. Idempotent for the same agent, which
 * re-exposes everything after each reconnect; a name held by another agent is a conflict. The
 * audit log gets an `expose` event when the service is created or its target changes, not for
 * the identical re-announcement every reconnect makes (the `connect` event already says that).
 */
export async function exposeService(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: ExposeServiceInput,
): Promise<ExposedService> {
  let exposed: ExposedService;
  try {
    exposed = await upsertOwnService(deps, principal, input);
  } catch (error) {
    // Two agents (or two reconnects of one) raced past the existence check; the unique index
    // settled it, so one more pass now sees the winner and answers accordingly.
    if (!isUniqueConstraintError(error)) throw error;
    exposed = await upsertOwnService(deps, principal, input);
  }
  // After the commit, so subscribers never hear of a service that was rolled back.
  deps.events.publish(principal.workspaceId, { type: "service.exposed", name: exposed.name, agentId: exposed.agentId });
  return exposed;
}

async function upsertOwnService(deps: ApiDeps, principal: AgentPrincipal, input: ExposeServiceInput): Promise<ExposedService> {
  const { workspaceId, agentId } = principal;
  const recordExpose = (tx: WorkspaceTx, previous?: { targetHost: string; targetPort: number }) =>
    recordAuditEvent(tx, workspaceId, {
      type: "service",
      action: "expose",
      actor: { type: "agent", id: agentId },
      clientType: principal.clientType,
      target: input.name,
      data: {
        serviceName: input.name,
        target: `${formatHost(input.targetHost)}:${input.targetPort}`,
        agentId,
        agentLabel: principal.label,
        ...(previous === undefined ? {} : { previousTarget: `${formatHost(previous.targetHost)}:${previous.targetPort}` }),
      },
      occurredAt: currentTime(deps),
    });
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const existing = await tx.service.findFirst({
      where: { workspaceId, name: input.name },
      select: { id: true, agentId: true, targetHost: true, targetPort: true, agent: { select: { label: true } } },
    });
    if (existing === null) {
      const created = await tx.service.create({
        data: { workspaceId, agentId, name: input.name, targetHost: input.targetHost, targetPort: input.targetPort },
        select: exposedServiceSelect,
      });
      await recordExpose(tx);
      return created;
    }
    if (existing.agentId !== agentId) {
      throw new AppError(
        "CONFLICT",
        `Service name ${input.name} is already exposed by agent ${existing.agent.label}: choose another --name, or remove it there with connect expose --remove ${input.name}`,
      );
    }
    const updated = await tx.service.update({
      where: { id: existing.id, workspaceId, agentId },
      data: { targetHost: input.targetHost, targetPort: input.targetPort },
      select: exposedServiceSelect,
    });
    if (existing.targetHost !== input.targetHost || existing.targetPort !== input.targetPort) {
      await recordExpose(tx, existing);
    }
    return updated;
  });
}

/** host:port as people write it: an IPv6 address in brackets. */
export function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
