import { z } from "zod";
import { displayName } from "./display-name.js";
import { serviceE2ePolicy } from "./e2e.js";
import { serviceLookupName, serviceName } from "./services.js";

export const SHARE_TTL_MIN_SECONDS = 60;
export const SHARE_TTL_MAX_SECONDS = 365 * 86_400;
export const SHARE_TTL_DEFAULT_SECONDS = 7 * 86_400;
export const SHARE_RATE_LIMIT_MAX = 100_000;

export const createShareInput = z.object({
  name: displayName({
    field: "Share name",
    max: 64,
    emptyMessage: "Give the share a name, for example --name acme-contractor",
    tooLongMessage: "Share names are at most 64 characters",
    fix: "pass a different --name, for example acme-contractor",
  }),
  expiresInSeconds: z
    .number()
    .int()
    .min(SHARE_TTL_MIN_SECONDS, "A share lasts at least 1 minute: pass --expires 1h, 7d or similar")
    .max(SHARE_TTL_MAX_SECONDS, "A share lasts at most 365 days: pass a shorter --expires")
    .default(SHARE_TTL_DEFAULT_SECONDS),
  /** Omitted: every service the workspace exposes right now (a snapshot, not a wildcard). */
  services: z
    .array(serviceName)
    .min(1, "List at least one service with --services, or leave it out to share every exposed service")
    .max(100, "A share names at most 100 services")
    .optional(),
  rateLimitPerMinute: z
    .number()
    .int()
    .min(1, "--rate-limit is new connections per minute: at least 1")
    .max(SHARE_RATE_LIMIT_MAX, `--rate-limit is at most ${SHARE_RATE_LIMIT_MAX} connections per minute`)
    .optional(),
});
export type CreateShareInput = z.input<typeof createShareInput>;

export const createdShareOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  /** Shown once: only its hash is stored. */
  code: z.string(),
  services: z.array(z.string()),
  expiresAt: z.iso.datetime(),
  rateLimitPerMinute: z.number().int().nullable(),
});
export type CreatedShare = z.infer<typeof createdShareOutput>;

export const shareJoinerView = z.object({
  agentLabel: z.string(),
  joinedAt: z.iso.datetime(),
  useCount: z.number().int(),
  lastUsedAt: z.iso.datetime().nullable(),
});

export const shareView = z.object({
  id: z.uuid(),
  name: z.string(),
  /** The code's first group, to tell shares apart; the code itself cannot be shown again. */
  codeHint: z.string(),
  services: z.array(z.string()),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
  status: z.enum(["active", "expired", "revoked"]),
  rateLimitPerMinute: z.number().int().nullable(),
  useCount: z.number().int(),
  lastUsedAt: z.iso.datetime().nullable(),
  joiners: z.array(shareJoinerView),
});
export type ShareView = z.infer<typeof shareView>;

/** A share by its code (as printed, dashes optional) or by its id (from a list). */
export const revokeShareInput = z.union([z.object({ code: z.string().min(1).max(64) }), z.object({ id: z.uuid() })]);
export type RevokeShareInput = z.infer<typeof revokeShareInput>;
export const revokeShareOutput = z.object({ id: z.uuid(), name: z.string(), revokedAt: z.iso.datetime() });

export const joinShareInput = z.object({ code: z.string().min(1).max(64) });
export const joinedShareView = z.object({
  shareId: z.uuid(),
  shareName: z.string(),
  /** The sharing workspace's slug: what `connect reach NAME --from SLUG` takes. */
  from: z.string(),
  services: z.array(z.string()),
  expiresAt: z.iso.datetime(),
  status: z.enum(["active", "expired", "revoked"]),
  joinedAt: z.iso.datetime(),
});
export type JoinedShareView = z.infer<typeof joinedShareView>;

export const resolveServiceInput = z.object({ name: serviceLookupName, from: z.string().min(1).max(63).optional() });
export const resolvedServiceOutput = z.object({
  name: z.string(),
  /** Absent for the caller's own service; the sharing workspace's slug for a shared one. */
  from: z.string().optional(),
  shareName: z.string().optional(),
  /**
   * The agent exposing it (for a shared service, in the sharing workspace): who a reaching agent
   * runs its handshake with and pins the key of (pins are per peer agent).
   */
  agent: z.object({ id: z.uuid(), label: z.string(), workspaceId: z.uuid() }),
  e2e: z.object({
    /** Effective, as the hub enforces it at the stream open. */
    policy: serviceE2ePolicy,
    /** The exposing agent's registered static key; null when it registered none (an older agent). */
    publicKey: z.string().nullable(),
  }),
});
export type ResolvedService = z.infer<typeof resolvedServiceOutput>;
