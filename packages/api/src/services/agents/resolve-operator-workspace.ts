import type { ApiDeps } from "../../deps.js";
import { AppError, WORKSPACE_NOT_FOUND } from "../../errors.js";

/**
 * The workspace a hub operator names on the command line, by slug or id. Runs outside any
 * workspace (the admin CLI has no principal): the SECURITY DEFINER lookup returns only the id.
 */
export async function resolveOperatorWorkspace(deps: ApiDeps, ref: string): Promise<{ id: string; name: string; slug: string }> {
  const trimmed = ref.trim();
  const rows =
    trimmed === "" ? [] : await deps.db.prisma.$queryRaw<{ id: string | null }[]>`SELECT pc_admin_workspace_id(${trimmed}) AS id`;
  const id = rows[0]?.id ?? null;
  const workspace =
    id === null
      ? null
      : await deps.db.withWorkspace(id, (tx) =>
          tx.workspace.findFirst({ where: { id }, select: { id: true, name: true, slug: true } }),
        );
  if (workspace === null) {
    throw new AppError(
      "NOT_FOUND",
      `${WORKSPACE_NOT_FOUND}: ${trimmed} is neither the slug nor the id of a workspace on this hub`,
    );
  }
  return workspace;
}
