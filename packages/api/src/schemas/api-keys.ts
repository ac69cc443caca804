import { z } from "zod";
import { displayName } from "./display-name.js";

export const createApiKeyInput = z.object({
  name: displayName({
    field: "API key name",
    max: 64,
    emptyMessage: "API key name must not be empty: name it after where it is used, for example ci",
    fix: "name it after where it is used, for example ci",
  }),
});
export type CreateApiKeyInput = z.input<typeof createApiKeyInput>;

export const createdApiKeyOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  /** Plaintext, returned exactly once; the hub keeps only its SHA-256. */
  key: z.string().regex(/^pc_[A-Za-z0-9]{32}$/),
  createdAt: z.iso.datetime(),
});
export type CreatedApiKey = z.infer<typeof createdApiKeyOutput>;

/** What a listing shows of a key: never the key, never its hash. */
export const apiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeyView>;

export const revokeApiKeyInput = z.object({
  id: z.uuid("id must be an API key id from apiKeys.list"),
  /** Keep the agents this key registered or provisioned working; by default they are revoked with it. */
  keepAgents: z.boolean().default(false),
});
export type RevokeApiKeyInput = z.input<typeof revokeApiKeyInput>;
export const revokeApiKeyOutput = z.object({
  id: z.uuid(),
  revokedAt: z.iso.datetime(),
  /** The agents the key registered or provisioned that were revoked with it (none with keepAgents). */
  revokedAgentIds: z.array(z.uuid()),
});
