import { ensureUserByEmail, sha256Hex } from "@private-connect/db";
import type { ApiDeps } from "../../deps.js";
import { AppError } from "../../errors.js";
import { type CreateWorkspaceInput, type CreateWorkspaceResult, createWorkspaceInput } from "../../schemas/workspaces.js";
import { generateApiKey, getApiKeyPrefix } from "../auth/secrets.js";
import { insertOwnedWorkspace, retryOnSlugClash } from "./insert-workspace.js";

export { slugify } from "./insert-workspace.js";

/**
 * Creates a workspace, its owner (reusing the user if the email is known), the owner membership
 * and a first API key named "default": what `connect-hub workspace create` does. The key is
 * returned in plaintext once and stored only as its SHA-256. Runs entirely as the runtime role:
 * the workspace id is chosen here so the insert can happen inside that workspace's own RLS
 * context, and the user comes from pc_auth_ensure_user (the runtime cannot write users).
 */
export async function createWorkspace(deps: ApiDeps, rawInput: CreateWorkspaceInput): Promise<CreateWorkspaceResult> {
  const parsed = createWorkspaceInput.safeParse(rawInput);
  if (!parsed.success) {
    throw new AppError("BAD_REQUEST", parsed.error.issues.map((issue) => issue.message).join("; "));
  }
  const { name, ownerEmail } = parsed.data;
  return retryOnSlugClash(async (chooseSlug, workspaceId) => {
    const apiKey = generateApiKey();
    const workspace = await deps.db.withWorkspace(workspaceId, async (tx) => {
      const ownerUserId = await ensureUserByEmail(tx, ownerEmail);
      const created = await insertOwnedWorkspace(tx, { workspaceId, name, slug: chooseSlug(name), ownerUserId });
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
  });
}
