// Typed wrappers of the sharing functions (migration 20251129040000_sharing). A share code or a
// link slug is a secret that crosses workspaces, so the lookups by its hash are SECURITY DEFINER
// functions; everything after the lookup runs under the owning workspace's row-level security.
import { isSha256Hex } from "./hash.js";
import type { IdentitySql } from "./identity.js";
import type { WorkspaceTx } from "./prisma.js";

export interface JoinedShareGrant {
  shareId: string;
  ownerWorkspaceId: string;
  ownerSlug: string;
  shareName: string;
  services: string[];
  expiresAt: Date;
}

/**
 * Joins the share with this code hash for `agentId`, which must belong to the workspace of `tx`
 * (a withWorkspace transaction of the joining workspace). Null for an unknown, expired or
 * revoked code, or a share of the joiner's own workspace: the caller cannot tell which.
 */
export async function joinShareByCodeHash(
  tx: WorkspaceTx,
  input: { codeHash: string; agentId: string; now: Date },
): Promise<JoinedShareGrant | null> {
  if (!isSha256Hex(input.codeHash)) return null;
  const rows = await tx.$queryRaw<
    {
      share_id: string;
      owner_workspace_id: string;
      owner_slug: string;
      share_name: string;
      services: string[];
      expires_at: Date | string;
    }[]
  >`SELECT share_id, owner_workspace_id, owner_slug, share_name, services, expires_at
      FROM pc_share_join(${input.codeHash}, ${input.agentId}::uuid, ${input.now.toISOString()}::timestamptz)`;
  const row = rows[0];
  if (row === undefined) return null;
  return {
    shareId: row.share_id,
    ownerWorkspaceId: row.owner_workspace_id,
    ownerSlug: row.owner_slug,
    shareName: row.share_name,
    services: row.services,
    expiresAt: new Date(row.expires_at),
  };
}

/** The link and its workspace for the SHA-256 of a slug, or null; expiry and revocation are the caller's to judge. */
export async function findPublicLinkBySlugHash(
  sql: IdentitySql,
  slugHash: string,
): Promise<{ linkId: string; workspaceId: string } | null> {
  if (!isSha256Hex(slugHash)) return null;
  const rows = await sql.$queryRaw<{ link_id: string; workspace_id: string }[]>`
    SELECT link_id, workspace_id FROM pc_link_by_slug(${slugHash})`;
  const row = rows[0];
  return row === undefined ? null : { linkId: row.link_id, workspaceId: row.workspace_id };
}
