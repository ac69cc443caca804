import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { serviceNotFound } from "../../errors.js";
import type { UnexposeServiceInput } from "../../schemas/services.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { formatHost } from "./expose-service.js";

/** Removes one of the calling agent's own services; anyone else's is "not found". */
export async function unexposeService(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: UnexposeServiceInput,
): Promise<{ removed: boolean }> {
  const { workspaceId, agentId } = principal;
  const isRemoved = await deps.db.withWorkspace(workspaceId, async (tx) => {
    // Read first so the audit event can name the target that was removed.
    const service = await tx.service.findFirst({
      where: { workspaceId, agentId, name: input.name },
      select: { id: true, targetHost: true, targetPort: true },
    });
    if (service === null) return false;
    const { count } = await tx.service.deleteMany({ where: { id: service.id, workspaceId, agentId } });
    if (count === 0) return false;
    await recordAuditEvent(tx, workspaceId, {
      type: "service",
      action: "unexpose",
      actor: { type: "agent", id: agentId },
      clientType: principal.clientType,
      target: input.name,
      data: {
        serviceName: input.name,
        target: `${formatHost(service.targetHost)}:${service.targetPort}`,
        agentId,
        agentLabel: principal.label,
      },
      occurredAt: currentTime(deps),
    });
    return true;
  });
  if (!isRemoved) throw serviceNotFound();
  deps.events.publish(workspaceId, { type: "service.removed", name: input.name, agentId });
  return { removed: true };
}
