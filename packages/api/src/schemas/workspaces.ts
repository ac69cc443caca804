import { z } from "zod";

export const createWorkspaceInput = z.object({
  name: z.string().trim().min(1, "Workspace name must not be empty").max(128, "Workspace name must be at most 128 characters"),
  // Stored lower-case so that one person is one user whatever they type.
  ownerEmail: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z
        .email("Owner email is not a valid address: pass --email you@example.com")
        .max(254, "Owner email must be at most 254 characters"),
    ),
});
export type CreateWorkspaceInput = z.input<typeof createWorkspaceInput>;

export interface CreateWorkspaceResult {
  workspace: { id: string; name: string; slug: string };
  /** Plaintext, shown once; only its SHA-256 is stored. */
  apiKey: string;
  apiKeyPrefix: string;
}

/** workspaces.create by a signed-in user, who becomes its owner. */
export const createUserWorkspaceInput = z.object({
  name: z.string().trim().min(1, "Workspace name must not be empty").max(128, "Workspace name must be at most 128 characters"),
});
export type CreateUserWorkspaceInput = z.input<typeof createUserWorkspaceInput>;
