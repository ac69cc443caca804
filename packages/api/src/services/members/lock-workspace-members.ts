import type { WorkspaceTx } from "@private-connect/db";
import { AppError, LAST_OWNER, WORKSPACE_NOT_FOUND } from "../../errors.js";

/**
 * Serialises changes to one workspace's members: without it two owners demoting each other at
 * the same moment would each still count the other as an owner, and leave none.
 */
export async function lockWorkspaceMembers(tx: WorkspaceTx, workspaceId: string): Promise<void> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM workspaces WHERE id = ${workspaceId}::uuid FOR UPDATE`;
  if (rows.length === 0) throw new AppError("NOT_FOUND", WORKSPACE_NOT_FOUND);
}

/** Refuses a change that would leave the workspace with no owner. Call after lockWorkspaceMembers. */
export async function assertAnotherOwnerRemains(tx: WorkspaceTx, workspaceId: string): Promise<void> {
  const owners = await tx.membership.count({ where: { workspaceId, role: "owner" } });
  if (owners <= 1) throw new AppError("CONFLICT", LAST_OWNER);
}
