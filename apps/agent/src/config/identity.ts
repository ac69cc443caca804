import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "./json-file.js";

export const identitySchema = z.object({
  hubUrl: z.string().min(1),
  agentId: z.string().min(1),
  token: z.string().min(1),
  tokenExpiresAt: z.string().min(1),
  workspace: z.object({ id: z.string().min(1), name: z.string() }),
  label: z.string(),
  /** A provisioned token (short-lived, cannot be rotated): `connect up --token`. */
  isProvisioned: z.boolean().optional(),
  /** When the hub registered this agent, and the last moment a rotation can extend its token to. */
  registeredAt: z.string().optional(),
  tokenMaxExpiresAt: z.string().optional(),
});

/** Who this agent is on which hub: what `connect up` saves after registering. */
export type AgentIdentity = z.infer<typeof identitySchema>;

export function readIdentity(path: string): Promise<AgentIdentity | undefined> {
  return readJsonFile(path, identitySchema);
}

export async function writeIdentity(path: string, identity: AgentIdentity): Promise<void> {
  // The token is a bearer secret: owner-only, like an SSH key.
  await writeJsonFileAtomic(path, identitySchema.parse(identity), 0o600);
}
