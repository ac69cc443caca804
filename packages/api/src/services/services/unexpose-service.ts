import type { AgentPrincipal, ApiDeps } from "../../deps.js";
import { serviceNotFound } from "../../errors.js";
import type { UnexposeServiceInput } from "../../schemas/services.js";

/** Removes one of the calling agent's own services; anyone else's is "not found". */
export async function unexposeService(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: UnexposeServiceInput,
): Promise<{ removed: boolean }> {
  const { workspaceId, agentId } = principal;
  const { count } = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.service.deleteMany({ where: { workspaceId, agentId, name: input.name } }),
  );
  if (count === 0) throw serviceNotFound();
  deps.events.publish(workspaceId, { type: "service.removed", name: input.name, agentId });
  return { removed: true };
}
