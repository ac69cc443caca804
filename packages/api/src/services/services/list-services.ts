import type { ApiDeps, Principal } from "../../deps.js";
import type { ServiceView } from "../../schemas/services.js";
import { readWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";
import { serviceViewSelect, toServiceViews } from "./service-view.js";

/** Every service of the caller's workspace, by name. */
export async function listServices(deps: ApiDeps, principal: Principal): Promise<ServiceView[]> {
  const { workspaceId } = principal;
  const { rows, workspacePolicy } = await deps.db.withWorkspace(workspaceId, async (tx) => ({
    rows: await tx.service.findMany({ where: { workspaceId }, select: serviceViewSelect, orderBy: { name: "asc" } }),
    workspacePolicy: await readWorkspaceE2ePolicy(tx, workspaceId),
  }));
  return toServiceViews(deps, rows, workspacePolicy);
}
