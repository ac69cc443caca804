import { z } from "zod";
import { agentLabel, displayName } from "./display-name.js";
import { e2eKeyFingerprint, e2ePublicKey } from "./e2e.js";
import { serviceName } from "./services.js";

export const CLIENT_TYPES = ["cli", "sdk", "cursor", "claude-code", "codex", "devin", "github-actions", "other"] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

export const registerAgentInput = z.object({
  label: agentLabel,
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

export const agentIpChange = z.object({
  previousIp: z.string(),
  newIp: z.string(),
  at: z.iso.datetime(),
});
export type AgentIpChangeView = z.infer<typeof agentIpChange>;

export const agentProfileOutput = z.object({
  agentId: z.uuid(),
  label: z.string(),
  clientType: z.string(),
  tokenExpiresAt: z.iso.datetime(),
  workspace: workspaceSummary,
  /** Minted by POST /v1/agents/provision: short-lived, cannot be rotated. */
  isProvisioned: z.boolean(),
  /** The calling token is a rotation's new token that still needs agents.confirmRotation. */
  isRotationPending: z.boolean(),
  /** Newest first: addresses this agent's token was used from, when they changed. */
  recentIpChanges: z.array(agentIpChange),
  /** When the agent was registered (or provisioned): where its maximum lifetime counts from. */
  registeredAt: z.iso.datetime(),
  /**
   * No rotation extends the token past this (registration + TOKEN_MAX_LIFETIME_DAYS; a
   * provisioned token's own expiry): after it the machine registers again.
   */
  tokenMaxExpiresAt: z.iso.datetime(),
  /** The static end-to-end key the hub has on record for this agent (agents.setE2eKey); null before one. */
  e2ePublicKey: z.string().nullable(),
});
export type AgentProfile = z.infer<typeof agentProfileOutput>;

export const rotateAgentTokenOutput = z.object({
  /** Plaintext, returned exactly once; stored as SHA-256 until confirmed, then as the token. */
  token: z.string().regex(/^[0-9a-f]{64}$/),
  tokenExpiresAt: z.iso.datetime(),
});
export type RotateAgentTokenOutput = z.infer<typeof rotateAgentTokenOutput>;

export const confirmAgentTokenRotationOutput = z.object({ tokenExpiresAt: z.iso.datetime() });
export type ConfirmAgentTokenRotationOutput = z.infer<typeof confirmAgentTokenRotationOutput>;

export const PROVISION_TTL_DEFAULT_SECONDS = 2 * 60 * 60;
export const PROVISION_TTL_MIN_SECONDS = 5 * 60;
export const PROVISION_TTL_MAX_SECONDS = 24 * 60 * 60;
export const PROVISION_TTL_BOUNDS_MESSAGE = "ttlSeconds must be between 300 (5 minutes) and 86400 (24 hours)";

/** What POST /v1/agents/provision accepts. Strict: agentId and token are the hub's to choose. */
export const provisionAgentInput = z.strictObject({
  clientType: z.enum(CLIENT_TYPES, { error: `clientType must be one of ${CLIENT_TYPES.join(", ")}` }),
  label: displayName({
    field: "label",
    max: 64,
    typeMessage: "label must be a string",
    emptyMessage: "label must not be empty: leave it out to use the client type",
    fix: "send a different label, or leave it out to use the client type",
  }).optional(),
  ttlSeconds: z
    .number({ error: PROVISION_TTL_BOUNDS_MESSAGE })
    .int(PROVISION_TTL_BOUNDS_MESSAGE)
    .min(PROVISION_TTL_MIN_SECONDS, PROVISION_TTL_BOUNDS_MESSAGE)
    .max(PROVISION_TTL_MAX_SECONDS, PROVISION_TTL_BOUNDS_MESSAGE)
    .default(PROVISION_TTL_DEFAULT_SECONDS),
});
export type ProvisionAgentInput = z.input<typeof provisionAgentInput>;

export const provisionAgentOutput = z.object({
  agentId: z.uuid(),
  /** Plaintext, returned exactly once; only its SHA-256 is stored. */
  token: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.iso.datetime(),
});
export type ProvisionAgentOutput = z.infer<typeof provisionAgentOutput>;

/** An IP change as the dashboard shows it: both addresses masked (192.168.x.x). */
export const maskedIpChange = z.object({ previousIp: z.string(), newIp: z.string(), at: z.iso.datetime() });

export const AGENT_CREATOR_TYPES = ["api_key", "user", "provisioning_key", "unknown"] as const;

/**
 * What let the agent in: the API key that registered it (or approved its connect login), the
 * user who approved its connect login, or the key that provisioned it. "unknown" for agents from
 * before this was recorded. `name` is the key's name or the user's email, null when no longer visible.
 */
export const agentCreator = z.object({
  type: z.enum(AGENT_CREATOR_TYPES),
  id: z.uuid().nullable(),
  name: z.string().nullable(),
});
export type AgentCreatorView = z.infer<typeof agentCreator>;

/** One agent of the workspace, for people looking at it (agents.list): never its token or hash. */
export const agentListItem = z.object({
  agentId: z.uuid(),
  label: z.string(),
  clientType: z.string(),
  online: z.boolean(),
  lastSeenAt: z.iso.datetime().nullable(),
  /** The last address the agent connected from, masked: enough to spot a new network, not to locate anyone. */
  lastIp: z.string().nullable(),
  tokenExpiresAt: z.iso.datetime(),
  isProvisioned: z.boolean(),
  createdAt: z.iso.datetime(),
  /** Newest first, masked. */
  recentIpChanges: z.array(maskedIpChange),
  createdBy: agentCreator,
  /** Registration + TOKEN_MAX_LIFETIME_DAYS (a provisioned token's own expiry): no rotation goes past it. */
  tokenMaxExpiresAt: z.iso.datetime(),
});
export type AgentListItem = z.infer<typeof agentListItem>;

export const revokeAgentInput = z.object({ agentId: z.uuid("agentId must be an agent id from agents.list") });
export type RevokeAgentInput = z.input<typeof revokeAgentInput>;

export const revokedAgentOutput = z.object({ agentId: z.uuid(), label: z.string(), revokedAt: z.iso.datetime() });
export type RevokedAgentView = z.infer<typeof revokedAgentOutput>;

/** agents.setE2eKey: the calling agent's static public key (never the private half: the schema has no room for it). */
export const setE2eKeyInput = z.strictObject({ publicKey: e2ePublicKey("publicKey") });
export type SetE2eKeyInput = z.infer<typeof setE2eKeyInput>;

export const setE2eKeyOutput = z.object({
  publicKey: z.string(),
  fingerprint: e2eKeyFingerprint,
  /** A different key was registered before and this one replaced it (audited as agent.e2e_key_changed). */
  isReplaced: z.boolean(),
});
export type SetE2eKeyOutput = z.infer<typeof setE2eKeyOutput>;

/**
 * What an agent saw of a peer's static key: "changed" (the hub offered a key other than the pin,
 * and the stream was refused), "trusted" (a person accepted the new key with connect trust),
 * "verified" (a person compared safety numbers with connect verify), "uncertified" (the agent has
 * a workspace certificate installed, and the peer's key was not certified by the same workspace
 * key: refused).
 */
export const PEER_KEY_EVENTS = ["changed", "trusted", "verified", "uncertified"] as const;
export type PeerKeyEvent = (typeof PEER_KEY_EVENTS)[number];

export const reportPeerKeyInput = z
  .strictObject({
    event: z.enum(PEER_KEY_EVENTS, { error: "event must be changed, trusted, verified or uncertified" }),
    peerAgentId: z.uuid("peerAgentId must be the peer agent's id, as known-agents.json holds it"),
    service: serviceName.optional(),
    pinnedKey: e2ePublicKey("pinnedKey").optional(),
    offeredKey: e2ePublicKey("offeredKey").optional(),
  })
  .refine((input) => input.event === "uncertified" || input.pinnedKey !== undefined, {
    message: "pinnedKey is required: send the key pinned for that agent",
    path: ["pinnedKey"],
  })
  .refine((input) => (input.event !== "changed" && input.event !== "uncertified") || input.offeredKey !== undefined, {
    message: "offeredKey is required for a changed or uncertified event: send the key the peer offered",
    path: ["offeredKey"],
  });
export type ReportPeerKeyInput = z.infer<typeof reportPeerKeyInput>;

export const reportPeerKeyOutput = z.object({ isRecorded: z.literal(true) });
export type ReportPeerKeyOutput = z.infer<typeof reportPeerKeyOutput>;
