import { z } from "zod";
import { normalizePathPrefix } from "../services/links/link-path.js";
import { serviceLookupName } from "./services.js";

export const LINK_TTL_MIN_SECONDS = 60;
export const LINK_TTL_MAX_SECONDS = 365 * 86_400;
export const LINK_TTL_DEFAULT_SECONDS = 7 * 86_400;
export const LINK_RATE_LIMIT_MAX = 100_000;
/** Bounds of the database's checks (public_links_methods_check, public_links_paths_check). */
export const LINK_MAX_METHODS = 16;
export const LINK_MAX_PATHS = 32;

// RFC 9110 token characters, upper case only: methods are case-sensitive on the wire and every
// method a client sends in practice is upper case, so "get" is read as GET rather than refused.
const METHOD_PATTERN = /^[A-Z0-9!#$%&'*+.^_`|~-]{1,32}$/;

const linkMethod = z
  .string()
  .trim()
  .transform((method) => method.toUpperCase())
  .refine((method) => METHOD_PATTERN.test(method), {
    error: (issue) => `--methods takes HTTP method names such as GET,HEAD: "${String(issue.input)}" is not one`,
  });

const linkPathPrefix = z
  .string()
  .max(1024, "A path prefix is at most 1024 characters")
  .transform((raw, ctx) => {
    const result = normalizePathPrefix(raw);
    if (result.ok) return result.prefix;
    ctx.addIssue({ code: "custom", message: result.message });
    return z.NEVER;
  });

export const createLinkInput = z.object({
  service: serviceLookupName,
  expiresInSeconds: z
    .number()
    .int()
    .min(LINK_TTL_MIN_SECONDS, "A link lasts at least 1 minute: pass --expires 1h, 30d or similar")
    .max(LINK_TTL_MAX_SECONDS, "A link lasts at most 365 days: pass a shorter --expires")
    .default(LINK_TTL_DEFAULT_SECONDS),
  /** Omitted or empty: every method. Others get 405. */
  methods: z
    .array(linkMethod)
    .max(LINK_MAX_METHODS, `--methods lists at most ${LINK_MAX_METHODS} methods`)
    .transform((methods) => [...new Set(methods)])
    .optional(),
  /** Omitted or empty: every path. Others get 403. Prefixes match on whole segments. */
  paths: z
    .array(linkPathPrefix)
    .max(LINK_MAX_PATHS, `--paths lists at most ${LINK_MAX_PATHS} prefixes`)
    .transform((paths) => [...new Set(paths)])
    .optional(),
  rateLimitPerMinute: z
    .number()
    .int()
    .min(1, "--rate-limit is requests per minute per client address: at least 1")
    .max(LINK_RATE_LIMIT_MAX, `--rate-limit is at most ${LINK_RATE_LIMIT_MAX} requests per minute`)
    .optional(),
});
export type CreateLinkInput = z.input<typeof createLinkInput>;

export const createdLinkOutput = z.object({
  id: z.uuid(),
  service: z.string(),
  /** Shown once: the hub keeps only the SHA-256 of the slug in it. */
  url: z.string(),
  slugHint: z.string(),
  methods: z.array(z.string()),
  paths: z.array(z.string()),
  rateLimitPerMinute: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type CreatedLink = z.infer<typeof createdLinkOutput>;

export const LINK_STATUSES = ["active", "expired", "revoked"] as const;

/** What a listing shows of a link: never its URL or slug (only a hash is stored), only the hint. */
export const linkView = z.object({
  id: z.uuid(),
  service: z.string(),
  slugHint: z.string(),
  methods: z.array(z.string()),
  paths: z.array(z.string()),
  rateLimitPerMinute: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
  status: z.enum(LINK_STATUSES),
  accessCount: z.number().int(),
  lastAccessAt: z.iso.datetime().nullable(),
});
export type LinkView = z.infer<typeof linkView>;

/** A link by its slug (or its whole URL, as printed) or by its id (from a list). */
export const revokeLinkInput = z.union([
  z.object({ slug: z.string().min(1).max(2048) }),
  z.object({ id: z.uuid("id must be a link id from links.list") }),
]);
export type RevokeLinkInput = z.infer<typeof revokeLinkInput>;

export const revokedLinkOutput = z.object({
  id: z.uuid(),
  service: z.string(),
  slugHint: z.string(),
  revokedAt: z.iso.datetime(),
});
export type RevokedLink = z.infer<typeof revokedLinkOutput>;
