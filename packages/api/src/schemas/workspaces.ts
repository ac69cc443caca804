import { z } from "zod";
import { displayName } from "./display-name.js";
import { workspaceE2ePolicy } from "./e2e.js";

/** What `connect-hub workspace create --name` and the dashboard's "New workspace" take. */
const workspaceName = displayName({
  field: "Workspace name",
  max: 128,
  emptyMessage: "Workspace name must not be empty",
  fix: "choose a name without them",
});

export const createWorkspaceInput = z.object({
  name: workspaceName,
  // Stored lower-case so that one person is one user whatever they type.
  ownerEmail: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z
        .email("Owner email is not a valid address: pass --owner you@example.com")
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
  name: workspaceName,
});
export type CreateUserWorkspaceInput = z.input<typeof createUserWorkspaceInput>;

/** The workspace the caller acts in, with its settings (workspaces.get). */
export const workspaceView = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  /** "required": every service's streams are end-to-end encrypted, and none can have a public link. */
  e2ePolicy: workspaceE2ePolicy,
});
export type WorkspaceView = z.infer<typeof workspaceView>;

export const setWorkspaceE2ePolicyInput = z.strictObject({ policy: workspaceE2ePolicy });
export type SetWorkspaceE2ePolicyInput = z.infer<typeof setWorkspaceE2ePolicyInput>;
