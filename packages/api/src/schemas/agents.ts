import { z } from "zod";

export const CLIENT_TYPES = ["cli", "sdk", "cursor", "claude-code", "codex", "devin", "github-actions", "other"] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

export const registerAgentInput = z.object({
  label: z
    .string()
    .trim()
    .min(1, "Agent label must not be empty: pass --label <name>")
    .max(64, "Agent label must be at most 64 characters: pass a shorter --label"),
  clientType: z.enum(CLIENT_TYPES).default("cli"),
});
export type RegisterAgentInput = z.input<typeof registerAgentInput>;

const workspaceSummary = z.object({ id: z.uuid(), name: z.string() });

export const registerAgentOutput = z.object({
  agentId: z.uuid(),
  /** Plaintext, returned exactly once; the hub keeps only its SHA-256. */
  token: z.string().regex(/^[0-9a-f]{64}$/),
  tokenExpiresAt: z.iso.datetime(),
  workspace: workspaceSummary,
});
export type RegisterAgentOutput = z.infer<typeof registerAgentOutput>;

export const agentProfileOutput = z.object({
  agentId: z.uuid(),
  label: z.string(),
  clientType: z.string(),
  tokenExpiresAt: z.iso.datetime(),
  workspace: workspaceSummary,
});
export type AgentProfile = z.infer<typeof agentProfileOutput>;
