import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError, WORKSPACE_NOT_FOUND } from "../../errors.js";
import type { SetWorkspaceE2ePolicyInput, WorkspaceView } from "../../schemas/workspaces.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { requireSettingsOwner } from "../auth/require-role.js";
import { toWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";
import { toWorkspaceView, workspaceViewSelect } from "./get-workspace.js";

/**
 * Sets the workspace's end-to-end policy. Owners only, signed in. "required" holds every service
 * of the workspace to end-to-end encryption from the next stream open on (the hub reads the
 * effective policy at each open; streams already open keep running as they were), refuses
 * `--e2e off` exposes and new public links, and closes existing links. A real change is audited
 * (`workspace` `e2e_policy_changed`); setting the policy the workspace already has records nothing.
 */
export async function setWorkspaceE2ePolicy(
  deps: ApiDeps,
  principal: Principal,
  input: SetWorkspaceE2ePolicyInput,
): Promise<WorkspaceView> {
  const owner = requireSettingsOwner(principal);
  const { workspaceId } = owner;
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    // Locked so two owners changing it at once are audited in the order they took effect.
    const rows = await tx.$queryRaw<{ e2e_policy: string }[]>`
      SELECT e2e_policy FROM workspaces WHERE id = ${workspaceId}::uuid FOR UPDATE`;
    const current = rows[0];
    if (current === undefined) throw new AppError("NOT_FOUND", WORKSPACE_NOT_FOUND);
    const row = await tx.workspace.update({
      where: { id: workspaceId },
      data: { e2ePolicy: input.policy },
      select: workspaceViewSelect,
    });
    const previousPolicy = toWorkspaceE2ePolicy(current.e2e_policy);
    if (previousPolicy !== input.policy) {
      await recordAuditEvent(tx, workspaceId, {
        type: "workspace",
        action: "e2e_policy_changed",
        actor: { type: "user", id: owner.userId },
        target: workspaceId,
        data: { policy: input.policy, previousPolicy },
        occurredAt: currentTime(deps),
      });
    }
    return toWorkspaceView(row);
  });
}
