import type { ApiDeps, Principal } from "../../deps.js";
import { AppError, WORKSPACE_NOT_FOUND } from "../../errors.js";
import type { WorkspaceView } from "../../schemas/workspaces.js";
import { toWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";

export const workspaceViewSelect = { id: true, name: true, slug: true, e2ePolicy: true } as const;

export function toWorkspaceView(row: { id: string; name: string; slug: string; e2ePolicy: string }): WorkspaceView {
  return { id: row.id, name: row.name, slug: row.slug, e2ePolicy: toWorkspaceE2ePolicy(row.e2ePolicy) };
}

/** The caller's workspace and its settings: any principal of it may read them. */
export async function getWorkspace(deps: ApiDeps, principal: Principal): Promise<WorkspaceView> {
  const { workspaceId } = principal;
  const row = await deps.db.withWorkspace(workspaceId, (tx) =>
    tx.workspace.findFirst({ where: { id: workspaceId }, select: workspaceViewSelect }),
  );
  if (row === null) throw new AppError("NOT_FOUND", WORKSPACE_NOT_FOUND);
  return toWorkspaceView(row);
}
