import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import { type CreatedShare, type CreateShareInput, createShareInput } from "../../schemas/shares.js";
import { auditActorFor, recordAuditEvent } from "../audit/record-audit-event.js";
import { requireSecretHashKey } from "./keyed-hash.js";
import { generateShareCode, getShareCodeHint, hashShareCode } from "./share-codes.js";

/**
 * Creates a share code for some of the caller's services. Without a list, the share covers the
 * services exposed right now: a snapshot, so exposing something later never shares it by
 * accident. The code is returned once and stored only as its keyed hash (keyed-hash.ts).
 */
export async function createShare(deps: ApiDeps, principal: Principal, rawInput: CreateShareInput): Promise<CreatedShare> {
  const input = createShareInput.parse(rawInput);
  const { workspaceId } = principal;
  const now = currentTime(deps);
  const code = generateShareCode();
  const codeHash = hashShareCode(requireSecretHashKey(deps), code);
  if (codeHash === undefined) throw new Error("generated share code does not normalize");
  const actor = auditActorFor(principal);
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const exposed = await tx.service.findMany({ where: { workspaceId }, select: { name: true }, orderBy: { name: "asc" } });
    const exposedNames = new Set(exposed.map((service) => service.name));
    let services: string[];
    if (input.services === undefined) {
      services = [...exposedNames];
      if (services.length === 0) {
        throw new AppError(
          "BAD_REQUEST",
          "This workspace exposes no services yet, so there is nothing to share: expose one first (connect expose HOST:PORT --name NAME) or name them with --services",
        );
      }
    } else {
      services = [...new Set(input.services)];
      const missing = services.filter((name) => !exposedNames.has(name));
      if (missing.length > 0) {
        throw new AppError(
          "NOT_FOUND",
          `Service not found in this workspace: ${missing.join(", ")}. Expose it first, or leave it out of --services`,
        );
      }
    }
    const expiresAt = new Date(now.getTime() + input.expiresInSeconds * 1000);
    const share = await tx.share.create({
      data: {
        workspaceId,
        name: input.name,
        codeHash,
        codeHint: getShareCodeHint(code),
        services,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        createdByType: actor.type,
        createdById: actor.id,
        createdAt: now,
        expiresAt,
      },
      select: { id: true },
    });
    await recordAuditEvent(tx, workspaceId, {
      type: "share",
      action: "create",
      actor,
      clientType: principal.kind === "agent" ? principal.clientType : undefined,
      target: input.name,
      data: {
        shareId: share.id,
        services,
        expiresAt: expiresAt.toISOString(),
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      },
      occurredAt: now,
    });
    return {
      id: share.id,
      name: input.name,
      code,
      services,
      expiresAt: expiresAt.toISOString(),
      rateLimitPerMinute: input.rateLimitPerMinute ?? null,
    };
  });
}
