import { isIPv4, isIPv6 } from "node:net";
import type { ApiDeps } from "../../deps.js";
import { normalizeIp } from "../agents/record-agent-seen.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";

export interface LinkAccess {
  linkId: string;
  workspaceId: string;
  serviceName: string;
  slugHint: string;
  /** The visitor's address, whole: it is masked here, before it is stored. */
  ip: string | undefined;
  method: string;
  /** The normalized path, without the query string (which may carry the visitor's secrets). */
  path: string;
  status: number;
  durationMs: number;
  /** True when the request reached the service (it counts in access_count and last_access_at). */
  isServed: boolean;
  at: Date;
}

/**
 * A visitor's address, blurred: `192.168.x.x`, or the first two groups of an IPv6 address. A
 * public link's visitors are not the workspace's members, so the log keeps only what tells a
 * burst from one network apart from a spread, not who they are.
 */
export function maskIp(ip: string | undefined): string | undefined {
  const normalized = normalizeIp(ip);
  if (normalized === undefined) return undefined;
  if (isIPv4(normalized)) {
    const [first, second] = normalized.split(".");
    return `${first}.${second}.x.x`;
  }
  if (isIPv6(normalized)) {
    // Groups before a "::" gap are the leading ones; missing leading groups are zeros ("::1").
    const head = normalized.split("::")[0] ?? "";
    const groups = head.split(":").filter((group) => group !== "");
    return `${groups[0] ?? "0"}:${groups[1] ?? "0"}:x:x:x:x:x:x`;
  }
  return "x";
}

/**
 * Records one request through a link: an audit event (masked address, method, path, status,
 * duration) and, when it reached the service, the link's counters. The hub calls this after the
 * response, without awaiting it: a visitor never waits on the database.
 */
export async function recordLinkAccess(deps: ApiDeps, access: LinkAccess): Promise<void> {
  const { workspaceId, linkId } = access;
  await deps.db.withWorkspace(workspaceId, async (tx) => {
    if (access.isServed) {
      await tx.publicLink.updateMany({
        where: { id: linkId, workspaceId },
        data: { accessCount: { increment: 1 }, lastAccessAt: access.at },
      });
    }
    await recordAuditEvent(tx, workspaceId, {
      type: "link",
      action: "access",
      actor: { type: "system" },
      target: access.serviceName,
      ip: maskIp(access.ip),
      data: {
        linkId,
        slugHint: access.slugHint,
        method: access.method,
        path: access.path,
        status: access.status,
        durationMs: access.durationMs,
      },
      occurredAt: access.at,
    });
  });
}
