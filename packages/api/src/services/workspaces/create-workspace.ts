import { randomUUID } from "node:crypto";
import { ensureUserByEmail, isUniqueConstraintError, sha256Hex } from "@private-connect/db";
import type { ApiDeps } from "../../deps.js";
import { AppError } from "../../errors.js";
import { type CreateWorkspaceInput, type CreateWorkspaceResult, createWorkspaceInput } from "../../schemas/workspaces.js";
import { generateApiKey, getApiKeyPrefix } from "../auth/secrets.js";
import { insertOwnedWorkspace, slugify } from "./insert-workspace.js";

export { slugify } from "./insert-workspace.js";

/**
 * Creates a workspace, its owner (reusing the user if the email is known), the owner membership
 * and a first API key named "default": what `connect-hub workspace create` does. The key is
 * returned in plaintext once and stored only as its SHA-256. Runs entirely as the runtime role:
 * the workspace id is chosen here so the insert can happen inside that workspace's own RLS
 * context, and the user comes from pc_auth_ensure_user (the runtime cannot write users).
 *
 * A name whose slug is taken is refused, not given a suffix: the operator names workspaces by
 * slug in every other command (`agent list --workspace acme`), and a silent "acme-3f2a1b" next
 * to the first "acme" leaves them guessing which one a key belongs to.
 */
export async function createWorkspace(deps: ApiDeps, rawInput: CreateWorkspaceInput): Promise<CreateWorkspaceResult> {
  const parsed = createWorkspaceInput.safeParse(rawInput);
  if (!parsed.success) {
    throw new AppError("BAD_REQUEST", parsed.error.issues.map((issue) => issue.message).join("; "));
  }
  const { name, ownerEmail } = parsed.data;
  const slug = slugify(name);
  const workspaceId = randomUUID();
  const apiKey = generateApiKey();
  try {
    const workspace = await deps.db.withWorkspace(workspaceId, async (tx) => {
      const ownerUserId = await ensureUserByEmail(tx, ownerEmail);
      const created = await insertOwnedWorkspace(tx, { workspaceId, name, slug, ownerUserId });
      await tx.apiKey.create({
        data: {
          workspaceId,
          name: "default",
          prefix: getApiKeyPrefix(apiKey),
          keyHash: sha256Hex(apiKey),
          createdByUserId: ownerUserId,
        },
        select: { id: true },
      });
      return created;
    });
    return { workspace, apiKey, apiKeyPrefix: getApiKeyPrefix(apiKey) };
  } catch (error) {
    // The slug index is the only unique one a fresh workspace can clash with.
    if (isUniqueConstraintError(error)) throw new AppError("CONFLICT", describeSlugTaken(name, slug));
    throw error;
  }
}

function describeSlugTaken(name: string, slug: string): string {
  return `A workspace with the slug "${slug}" already exists (from the name "${name}"): choose another name, or use that workspace (connect-hub agent list --workspace ${slug})`;
}
