import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError, serviceNotFound } from "../../errors.js";
import { type CreatedLink, type CreateLinkInput, createLinkInput } from "../../schemas/links.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { readWorkspaceE2ePolicy, toServiceE2ePolicy } from "../e2e/e2e-policy.js";
import { requireSecretHashKey } from "../shares/keyed-hash.js";
import { describeLinkRefusedByService, describeLinkRefusedByWorkspace } from "./link-messages.js";
import { buildLinkUrl, generateLinkSlug, getLinkSlugHint, hashLinkSlug } from "./link-slugs.js";

/**
 * Creates a public link in front of one of the workspace's services. The URL (with its slug) is
 * returned once; the database keeps the slug's keyed hash and a short hint. The service must exist
 * now ("Service not found" otherwise, whether it exists in another workspace or nowhere); if it
 * is unexposed later the link answers 502 until it is exposed again. A service held to end-to-end
 * encryption gets no link: the hub terminates a link's HTTP to apply its methods and paths, so the
 * link would be the plaintext path around the encryption the service asked for.
 */
export async function createLink(deps: ApiDeps, principal: Principal, rawInput: CreateLinkInput): Promise<CreatedLink> {
  const input = createLinkInput.parse(rawInput);
  const { workspaceId } = principal;
  const now = currentTime(deps);
  const expiresAt = new Date(now.getTime() + input.expiresInSeconds * 1000);
  const key = requireSecretHashKey(deps);
  const slug = generateLinkSlug();
  const slugHint = getLinkSlugHint(slug);
  const methods = input.methods ?? [];
  const paths = input.paths ?? [];
  const rateLimitPerMinute = input.rateLimitPerMinute ?? null;
  const actor = auditActorFor(principal);
  const link = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const service = await tx.service.findFirst({
      where: { workspaceId, name: input.service },
      select: { name: true, e2ePolicy: true },
    });
    if (service === null) throw serviceNotFound();
    // Checked in the transaction that creates the link; a service switched to "required" later
    // gets 403 at each request instead (resolveLinkForRequest).
    if ((await readWorkspaceE2ePolicy(tx, workspaceId)) === "required") {
      throw new AppError("FORBIDDEN", describeLinkRefusedByWorkspace(service.name));
    }
    if (toServiceE2ePolicy(service.e2ePolicy) === "required") {
      throw new AppError("FORBIDDEN", describeLinkRefusedByService(service.name));
    }
    const created = await tx.publicLink.create({
      data: {
        workspaceId,
        serviceName: service.name,
        slugHash: hashLinkSlug(key, slug),
        slugHint,
        methods,
        paths,
        rateLimitPerMinute,
        createdByType: actor.type,
        createdById: actor.id,
        // The injected clock dates the row too, so expiry tests and the expiry check agree.
        createdAt: now,
        expiresAt,
      },
      select: { id: true, serviceName: true },
    });
    await recordAuditEvent(tx, workspaceId, {
      type: "link",
      action: "create",
      actor,
      clientType: principal.kind === "agent" ? principal.clientType : undefined,
      target: created.serviceName,
      data: { linkId: created.id, slugHint, methods, paths, rateLimitPerMinute, expiresAt: expiresAt.toISOString() },
      occurredAt: now,
    });
    return created;
  });
  return {
    id: link.id,
    service: link.serviceName,
    url: buildLinkUrl(deps.config, slug),
    slugHint,
    methods,
    paths,
    rateLimitPerMinute,
    createdAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
  };
}
