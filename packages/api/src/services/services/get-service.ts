import type { ApiDeps, Principal } from "../../deps.js";
import { serviceNotFound } from "../../errors.js";
import type { GetServiceInput, ServiceView } from "../../schemas/services.js";
import { serviceViewSelect, toServiceViews } from "./service-view.js";

/** One service of the caller's workspace; "Service not found" whether it exists elsewhere or nowhere. */
export async function getService(deps: ApiDeps, principal: Principal, input: GetServiceInput): Promise<ServiceView> {
  const { workspaceId } = principal;
  const row = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.service.findFirst({ where: { workspaceId, name: input.name }, select: serviceViewSelect }),
  );
  if (row === null) throw serviceNotFound();
  const [view] = await toServiceViews(deps, [row]);
  if (view === undefined) throw serviceNotFound();
  return view;
}
