import type { WorkspaceTx } from "@private-connect/db";
import type { ServiceE2ePolicy, WorkspaceE2ePolicy } from "../../schemas/e2e.js";

/**
 * The policy a service's streams are held to: the workspace's "required" wins over whatever the
 * exposing agent asked for, so an owner's setting cannot be undone by one `--e2e off`.
 */
export function effectiveE2ePolicy(workspacePolicy: string, servicePolicy: string): ServiceE2ePolicy {
  if (toWorkspaceE2ePolicy(workspacePolicy) === "required") return "required";
  return toServiceE2ePolicy(servicePolicy);
}

/**
 * The CHECK constraint allows only the three values; anything else (a row written by a newer hub
 * with a value this one does not know) is read as the strictest, never as plaintext.
 */
export function toServiceE2ePolicy(policy: string): ServiceE2ePolicy {
  return policy === "preferred" || policy === "off" ? policy : "required";
}

/** As toServiceE2ePolicy: an unknown value reads as "required". */
export function toWorkspaceE2ePolicy(policy: string): WorkspaceE2ePolicy {
  return policy === "preferred" ? "preferred" : "required";
}

/**
 * The workspace's own policy, read in the caller's withWorkspace transaction (the one row of
 * workspaces its policy lets it see). Read once per transaction rather than joined on every
 * service row. A workspace that cannot be seen reads as "required": fail closed, never plaintext.
 */
export async function readWorkspaceE2ePolicy(tx: WorkspaceTx, workspaceId: string): Promise<WorkspaceE2ePolicy> {
  const row = await tx.workspace.findFirst({ where: { id: workspaceId }, select: { e2ePolicy: true } });
  return row === null ? "required" : toWorkspaceE2ePolicy(row.e2ePolicy);
}
