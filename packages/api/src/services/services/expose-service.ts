import { isUniqueConstraintError } from "@private-connect/db";
import type { AgentPrincipal, ApiDeps } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { ExposedService, ExposeServiceInput } from "../../schemas/services.js";

const exposedServiceSelect = { id: true, name: true, targetHost: true, targetPort: true, agentId: true } as const;

/**
 * Exposes (or re-announces) a service of the calling agent. Idempotent for the same agent, which
 * re-exposes everything after each reconnect; a name held by another agent is a conflict.
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
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const existing = await tx.service.findFirst({
      where: { workspaceId, name: input.name },
      select: { id: true, agentId: true, agent: { select: { label: true } } },
    });
    if (existing === null) {
      return tx.service.create({
        data: { workspaceId, agentId, name: input.name, targetHost: input.targetHost, targetPort: input.targetPort },
        select: exposedServiceSelect,
      });
    }
    if (existing.agentId !== agentId) {
      throw new AppError(
        "CONFLICT",
        `Service name ${input.name} is already exposed by agent ${existing.agent.label}: choose another --name, or remove it there with connect expose --remove ${input.name}`,
      );
    }
    return tx.service.update({
      where: { id: existing.id, workspaceId, agentId },
      data: { targetHost: input.targetHost, targetPort: input.targetPort },
      select: exposedServiceSelect,
    });
  });
}
