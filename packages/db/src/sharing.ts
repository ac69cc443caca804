// Typed wrappers of the sharing functions (migrations 20251129040000_sharing and
// 20261203010000_keyed_share_codes). A share code or a link slug is a secret that crosses
// workspaces, so the lookups by its keyed hash are SECURITY DEFINER functions;
// everything after the lookup runs under the owning workspace's row-level security.
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

/**
 * Records `fingerprint` as the one the codes and slugs of this database are keyed with, unless one
 * is on record already; returns the one on record (migration 20261203010000_keyed_share_codes).
 */
export async function claimKeyFingerprint(sql: IdentitySql, purpose: string, fingerprint: string): Promise<string> {
  if (!isSha256Hex(fingerprint)) throw new TypeError("claimKeyFingerprint: fingerprint must be 64 hex characters");
  const rows = await sql.$queryRaw<{ fingerprint: string | null }[]>`
    SELECT pc_claim_key_fingerprint(${purpose}, ${fingerprint}) AS fingerprint`;
  const stored = rows[0]?.fingerprint;
  if (stored === undefined || stored === null) throw new Error("pc_claim_key_fingerprint returned nothing");
  return stored;
}

/** The key fingerprint on record, or null before any hub has started with a key. */
export async function readKeyFingerprint(sql: IdentitySql, purpose: string): Promise<string | null> {
  const rows = await sql.$queryRaw<{ fingerprint: string | null }[]>`SELECT pc_key_fingerprint(${purpose}) AS fingerprint`;
  return rows[0]?.fingerprint ?? null;
}

export interface LegacySecretHash {
  kind: "share" | "link";
  id: string;
  /** SHA-256 of the code or slug, as rows were stored before keyed hashes. */
  legacyHash: string;
}

/** Up to `limit` share codes and link slugs still stored as a bare SHA-256. */
export async function listLegacySecretHashes(sql: IdentitySql, limit: number): Promise<LegacySecretHash[]> {
  const rows = await sql.$queryRaw<{ kind: string; id: string; legacy_hash: string }[]>`
    SELECT kind, id, legacy_hash FROM pc_legacy_secret_hashes(${limit}::integer)`;
  return rows.map((row) => ({ kind: row.kind === "link" ? "link" : "share", id: row.id, legacyHash: row.legacy_hash }));
}

/** Replaces one legacy hash by its keyed form; false when it was no longer that legacy hash. */
export async function rekeySecretHash(sql: IdentitySql, legacy: LegacySecretHash, keyedHash: string): Promise<boolean> {
  if (!isSha256Hex(keyedHash)) throw new TypeError("rekeySecretHash: keyedHash must be 64 hex characters");
  const rows = await sql.$queryRaw<{ rekeyed: boolean }[]>`
    SELECT pc_rekey_secret_hash(${legacy.kind}, ${legacy.id}::uuid, ${legacy.legacyHash}, ${keyedHash}) AS rekeyed`;
  return rows[0]?.rekeyed === true;
}
