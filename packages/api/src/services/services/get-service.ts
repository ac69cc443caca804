import type { ApiDeps, Principal } from "../../deps.js";
import { serviceNotFound } from "../../errors.js";
import type { GetServiceInput, ServiceView } from "../../schemas/services.js";
import { readWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";
import { serviceViewSelect, toServiceViews } from "./service-view.js";

/** One service of the caller's workspace; "Service not found" whether it exists elsewhere or nowhere. */
export async function getService(deps: ApiDeps, principal: Principal, input: GetServiceInput): Promise<ServiceView> {
  const { workspaceId } = principal;
  const { row, workspacePolicy } = await deps.db.withWorkspace(workspaceId, async (tx) => ({
    row: await tx.service.findFirst({ where: { workspaceId, name: input.name }, select: serviceViewSelect }),
    workspacePolicy: await readWorkspaceE2ePolicy(tx, workspaceId),
  }));
  if (row === null) throw serviceNotFound();
  const [view] = await toServiceViews(deps, [row], workspacePolicy);
  if (view === undefined) throw serviceNotFound();
  return view;
}
