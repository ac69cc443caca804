import type { ApiDeps, Principal } from "../../deps.js";
import type { ServiceView } from "../../schemas/services.js";
import { serviceViewSelect, toServiceViews } from "./service-view.js";

/** Every service of the caller's workspace, by name. */
export async function listServices(deps: ApiDeps, principal: Principal): Promise<ServiceView[]> {
  const { workspaceId } = principal;
  const rows = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.service.findMany({ where: { workspaceId }, select: serviceViewSelect, orderBy: { name: "asc" } }),
  );
  return toServiceViews(deps, rows);
}
