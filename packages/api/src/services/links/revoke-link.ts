import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import type { RevokedLink, RevokeLinkInput } from "../../schemas/links.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { requireSecretHashKey } from "../shares/keyed-hash.js";
import { linkNotFound } from "./link-messages.js";
import { extractLinkSlug, hashLinkSlug } from "./link-slugs.js";

/**
 * Revokes a link of the workspace, by slug (or URL) or id. Instant: after the commit the
 * revocation is published, and the hub's link proxy cuts the link's requests and WebSockets in
 * flight; new requests read the committed revocation and get 404. Revoking twice answers with the
 * first revocation; another workspace's link is "Link not found".
 */
export async function revokeLink(deps: ApiDeps, principal: Principal, input: RevokeLinkInput): Promise<RevokedLink> {
  const { workspaceId } = principal;
  let where: { id: string } | { slugHash: string };
  if ("id" in input) {
    where = { id: input.id };
  } else {
    const slug = extractLinkSlug(input.slug);
    if (slug === undefined) throw linkNotFound();
    where = { slugHash: hashLinkSlug(requireSecretHashKey(deps), slug) };
  }
  const now = currentTime(deps);
  const revoked = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const link = await tx.publicLink.findFirst({
      where: { ...where, workspaceId },
      select: { id: true, serviceName: true, slugHint: true, revokedAt: true },
    });
    if (link === null) return null;
    if (link.revokedAt !== null) return { ...link, revokedAt: link.revokedAt };
    await tx.publicLink.updateMany({ where: { id: link.id, workspaceId, revokedAt: null }, data: { revokedAt: now } });
    await recordAuditEvent(tx, workspaceId, {
      type: "link",
      action: "revoke",
      actor: auditActorFor(principal),
      clientType: principal.kind === "agent" ? principal.clientType : undefined,
      target: link.serviceName,
      data: { linkId: link.id, slugHint: link.slugHint },
      occurredAt: now,
    });
    return { ...link, revokedAt: now };
  });
  if (revoked === null) throw linkNotFound();
  // Published on a repeat too: harmless, and it cuts anything a lost first notice left running.
  deps.revocations.publish({ kind: "link", linkId: revoked.id, workspaceId });
  return {
    id: revoked.id,
    service: revoked.serviceName,
    slugHint: revoked.slugHint,
    revokedAt: revoked.revokedAt.toISOString(),
  };
}
