import { findPublicLinkBySlugHash } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { effectiveE2ePolicy, readWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";
import { assertKeyOnRecord, requireSecretHashKey } from "../shares/keyed-hash.js";
import { PUBLIC_LINK_E2E_REQUIRED, PUBLIC_LINK_EXPIRED, PUBLIC_LINK_NOT_FOUND } from "./link-messages.js";
import { hashLinkSlug, isLinkSlug } from "./link-slugs.js";

/** What the hub's link proxy needs of a live link to judge and route one request. */
export interface ResolvedLink {
  id: string;
  workspaceId: string;
  serviceName: string;
  slugHint: string;
  /** Empty: every method. */
  methods: string[];
  /** Canonical prefixes; empty: every path. */
  paths: string[];
  rateLimitPerMinute: number | null;
  expiresAt: Date;
  /** The agent exposing the service now, or undefined when nobody exposes it. */
  route: { agentId: string; serviceName: string } | undefined;
}

export type LinkRequestResolution =
  | { kind: "found"; link: ResolvedLink }
  | {
      kind: "refused";
      status: 403 | 404 | 410;
      message: string;
      /** The link, when there is one (revoked or expired), so the refusal can be recorded against it. */
      link?: { id: string; workspaceId: string; serviceName: string; slugHint: string };
    };

/**
 * Slug -> link and the exposing agent, or a refusal: unknown and revoked are 404 with the same
 * words, expired is 410, and a service that now requires end-to-end encryption (exposed again with
 * --e2e required, or its workspace switched to required after the link was made) is 403: the hub
 * reads a link's HTTP, so serving it would be the plaintext path around that policy. The lookup by the slug's keyed hash is the only cross-workspace step (a
 * SECURITY DEFINER function); the rest runs under the link's workspace's row-level security.
 */
export async function resolveLinkForRequest(deps: ApiDeps, slug: string): Promise<LinkRequestResolution> {
  const notFound = { kind: "refused", status: 404, message: PUBLIC_LINK_NOT_FOUND } as const;
  // A slug that could never have been issued needs no database round trip.
  if (!isLinkSlug(slug)) return notFound;
  const key = requireSecretHashKey(deps);
  const found = await findPublicLinkBySlugHash(deps.db.prisma, hashLinkSlug(key, slug));
  if (found === null) {
    // A hub with the wrong key finds no link at all: an error its operator sees, not a 404.
    await assertKeyOnRecord(deps, key);
    return notFound;
  }
  const { workspaceId } = found;
  const row = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const link = await tx.publicLink.findFirst({
      where: { id: found.linkId, workspaceId },
      select: {
        id: true,
        workspaceId: true,
        serviceName: true,
        slugHint: true,
        methods: true,
        paths: true,
        rateLimitPerMinute: true,
        expiresAt: true,
        revokedAt: true,
      },
    });
    if (link === null) return null;
    const service = await tx.service.findFirst({
      where: { workspaceId, name: link.serviceName },
      select: { agentId: true, name: true, e2ePolicy: true },
    });
    const e2ePolicy =
      service === null ? undefined : effectiveE2ePolicy(await readWorkspaceE2ePolicy(tx, workspaceId), service.e2ePolicy);
    return { link, service, e2ePolicy };
  });
  // Redundant with RLS and the where clause; kept because a wrong answer here leaks a tenant.
  if (row === null || row.link.workspaceId !== workspaceId) return notFound;
  const { link, service, e2ePolicy } = row;
  const summary = { id: link.id, workspaceId, serviceName: link.serviceName, slugHint: link.slugHint };
  if (link.revokedAt !== null) return { ...notFound, link: summary };
  if (link.expiresAt.getTime() <= currentTime(deps).getTime()) {
    return { kind: "refused", status: 410, message: PUBLIC_LINK_EXPIRED, link: summary };
  }
  if (e2ePolicy === "required") {
    return { kind: "refused", status: 403, message: PUBLIC_LINK_E2E_REQUIRED, link: summary };
  }
  return {
    kind: "found",
    link: {
      ...summary,
      methods: link.methods,
      paths: link.paths,
      rateLimitPerMinute: link.rateLimitPerMinute,
      expiresAt: link.expiresAt,
      route: service === null ? undefined : { agentId: service.agentId, serviceName: service.name },
    },
  };
}
