import { randomBytes, randomUUID } from "node:crypto";
import { isUniqueConstraintError, sha256Hex } from "@private-connect/db";
import type { ApiDeps } from "../../deps.js";
import { AppError } from "../../errors.js";
import { type CreateWorkspaceInput, type CreateWorkspaceResult, createWorkspaceInput } from "../../schemas/workspaces.js";
import { generateApiKey, getApiKeyPrefix } from "../auth/secrets.js";

const MAX_ATTEMPTS = 5;
const MAX_SLUG_BASE_LENGTH = 48;

/**
 * Creates a workspace, its owner (reusing the user if the email is known), the owner membership
 * and a first API key named "default". The key is returned in plaintext once and stored only as
 * its SHA-256. Runs entirely as the runtime role: the workspace id is chosen here so the insert
 * can happen inside that workspace's own RLS context.
 */
export async function createWorkspace(deps: ApiDeps, rawInput: CreateWorkspaceInput): Promise<CreateWorkspaceResult> {
  const parsed = createWorkspaceInput.safeParse(rawInput);
  if (!parsed.success) {
    throw new AppError("BAD_REQUEST", parsed.error.issues.map((issue) => issue.message).join("; "));
  }
  const { name, ownerEmail } = parsed.data;
  const baseSlug = slugify(name);

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    // The plain slug first; on a clash (unique index: the only thing RLS lets us learn about
    // other workspaces) a random suffix.
    const slug = attempt === 0 ? baseSlug : `${baseSlug}-${randomBytes(3).toString("hex")}`;
    const workspaceId = randomUUID();
    const apiKey = generateApiKey();
    try {
      const workspace = await deps.db.withWorkspace(workspaceId, async (tx) => {
        const created = await tx.workspace.create({
          data: { id: workspaceId, name, slug },
          select: { id: true, name: true, slug: true },
        });
        const owner = await tx.user.upsert({
          where: { email: ownerEmail },
          create: { email: ownerEmail },
          update: {},
          select: { id: true },
        });
        await tx.membership.create({ data: { workspaceId, userId: owner.id, role: "owner" }, select: { id: true } });
        await tx.apiKey.create({
          data: {
            workspaceId,
            name: "default",
            prefix: getApiKeyPrefix(apiKey),
            keyHash: sha256Hex(apiKey),
            createdByUserId: owner.id,
          },
          select: { id: true },
        });
        return created;
      });
      return { workspace, apiKey, apiKeyPrefix: getApiKeyPrefix(apiKey) };
    } catch (error) {
      // Slug taken, or a concurrent first sign-up of the same email: try again from scratch.
      if (isUniqueConstraintError(error)) continue;
      throw error;
    }
  }
  throw new AppError("CONFLICT", "Could not find a free workspace slug: try again, or choose a more specific name");
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
