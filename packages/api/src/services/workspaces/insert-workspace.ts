import { randomBytes, randomUUID } from "node:crypto";
import { isUniqueConstraintError, type WorkspaceTx } from "@private-connect/db";
import { AppError } from "../../errors.js";

const MAX_ATTEMPTS = 5;
const MAX_SLUG_BASE_LENGTH = 48;

/**
 * Runs `attempt` with a fresh workspace id and a slug chooser: the plain slug of a name first,
 * then with a random suffix each time a unique index reports a clash (the slug index is the only
 * thing RLS lets us learn about other workspaces). `attempt` must be one transaction, so a clash
 * rolls back everything it did before retrying.
 */
export async function retryOnSlugClash<T>(
  attempt: (chooseSlug: (name: string) => string, workspaceId: string) => Promise<T>,
): Promise<T> {
  for (let index = 0; index < MAX_ATTEMPTS; index += 1) {
    const suffix = index === 0 ? "" : `-${randomBytes(3).toString("hex")}`;
    try {
      return await attempt((name) => `${slugify(name)}${suffix}`, randomUUID());
    } catch (error) {
      if (isUniqueConstraintError(error)) continue;
      throw error;
    }
  }
  throw new AppError("CONFLICT", "Could not find a free workspace slug: try again, or choose a more specific name");
}

/**
 * Inserts a workspace and its owner's membership. Call inside withWorkspace(workspaceId): the
 * rows must satisfy that context's policies.
 */
export async function insertOwnedWorkspace(
  tx: WorkspaceTx,
  input: { workspaceId: string; name: string; slug: string; ownerUserId: string },
): Promise<{ id: string; name: string; slug: string }> {
  const workspace = await tx.workspace.create({
    data: { id: input.workspaceId, name: input.name, slug: input.slug },
    select: { id: true, name: true, slug: true },
  });
  await tx.membership.create({
    data: { workspaceId: input.workspaceId, userId: input.ownerUserId, role: "owner" },
    select: { id: true },
  });
  return workspace;
}

/** "Acme Corp!" -> "acme-corp"; falls back to "workspace" when nothing usable is left. */
export function slugify(name: string): string {
  const slug = name
    // Decompose "é" into "e" + a combining accent, then drop the accent, so it does not become "-".
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_SLUG_BASE_LENGTH)
    .replace(/-+$/g, "");
  return slug === "" ? "workspace" : slug;
}
