import type { ApiDeps, Principal } from "../../deps.js";
import { serviceNotFound } from "../../errors.js";
import { SERVICE_NAME_PATTERN } from "../../schemas/services.js";

export interface StreamRoute {
  serviceId: string;
  serviceName: string;
  /** The exposing agent: the only one the hub may ask to dial, and only its own target. */
  agentId: string;
  workspaceId: string;
}

/**
 * THE authorization decision, run at every stream open: the service must belong to the
 * principal's workspace. Everything else is "Service not found", with no hint whether the name
 * exists in another workspace.
 */
export async function authorizeStreamOpen(
  deps: ApiDeps,
  principal: Principal,
  request: { service: string },
): Promise<StreamRoute> {
  // Names that could never have been exposed need no database round trip.
  if (!SERVICE_NAME_PATTERN.test(request.service)) throw serviceNotFound();
  const { workspaceId } = principal;
  const row = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.service.findFirst({
      where: { workspaceId, name: request.service },
      select: { id: true, name: true, agentId: true, workspaceId: true },
    }),
  );
  // Redundant with RLS and the where clause; kept because a wrong answer here leaks a tenant.
  if (row === null || row.workspaceId !== workspaceId) throw serviceNotFound();
  return { serviceId: row.id, serviceName: row.name, agentId: row.agentId, workspaceId: row.workspaceId };
}
