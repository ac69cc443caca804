// Typed wrappers of the pc_auth_* identity functions (migration 20251129010000_user_identity).
// The runtime role has no privilege on sessions and magic_links and cannot write users, so these
// SECURITY DEFINER functions are the only way in. Each wrapper takes a client so it can run on
// db.prisma or inside a transaction (withWorkspace's tx): a sign-in consumes its link, creates
// the user's first workspace and opens the session in one transaction.
import { isSha256Hex } from "./hash.js";
import type { WorkspaceTx } from "./prisma.js";
import { isUuid } from "./uuid.js";

/** Anything that runs a tagged raw query: `db.prisma`, or the `tx` of withWorkspace. */
export type IdentitySql = Pick<WorkspaceTx, "$queryRaw">;

export interface MagicLinkSignIn {
  userId: string;
  email: string;
  /** True the first time this user completes a sign-in (an invited user too). */
  isFirstSignIn: boolean;
}

export interface SessionAuth {
  sessionId: string;
  userId: string;
  email: string;
  /** True when this lookup slid the session's inactivity window forward. */
  isRenewed: boolean;
}

/** When a session counts as active, and when its last use is old enough to be stamped again. */
export interface SessionWindow {
  now: Date;
  /** A session last used at or before this instant has expired. */
  activeAfter: Date;
  /** A session last used before this instant gets last_used_at = now. */
  renewBefore: Date;
}

export interface UserWorkspace {
  workspaceId: string;
  name: string;
  slug: string;
  role: string;
}

/** The id of the user with this lower-case address, created if missing. */
export async function ensureUserByEmail(sql: IdentitySql, email: string): Promise<string> {
  const rows = await sql.$queryRaw<{ id: string }[]>`SELECT pc_auth_ensure_user(${email}) AS id`;
  const id = rows[0]?.id;
  if (id === undefined || id === null) throw new Error("pc_auth_ensure_user returned no id");
  return id;
}

/**
 * Stores a sign-in link by the SHA-256 of its token, deleting the address's older unused links
 * (20261203030000_sign_in_link_supersede): only the newest link mailed to an address works.
 */
export async function issueMagicLinkHash(
  sql: IdentitySql,
  input: { email: string; tokenHash: string; now: Date; expiresAt: Date },
): Promise<void> {
  if (!isSha256Hex(input.tokenHash)) throw new TypeError("issueMagicLinkHash: tokenHash must be a SHA-256 hex digest");
  await sql.$queryRaw`SELECT 1 AS issued FROM pc_auth_issue_magic_link(
    ${input.email}, ${input.tokenHash}, ${input.now}::timestamptz, ${input.expiresAt}::timestamptz)`;
}

/**
 * Uses a sign-in link once: null when it is unknown, already used or expired at `now` (on
 * purpose indistinguishable). Creates the user on first use of an address.
 */
export async function consumeMagicLinkHash(sql: IdentitySql, tokenHash: string, now: Date): Promise<MagicLinkSignIn | null> {
  if (!isSha256Hex(tokenHash)) return null;
  const rows = await sql.$queryRaw<{ user_id: string; email: string; is_first_sign_in: boolean }[]>`
    SELECT user_id, email, is_first_sign_in FROM pc_auth_consume_magic_link(${tokenHash}, ${now}::timestamptz)`;
  const row = rows[0];
  return row === undefined ? null : { userId: row.user_id, email: row.email, isFirstSignIn: row.is_first_sign_in };
}

/** Opens a session by the SHA-256 of its cookie; prunes sessions last used before `pruneBefore`. */
export async function createSessionHash(
  sql: IdentitySql,
  input: { userId: string; tokenHash: string; now: Date; pruneBefore: Date },
): Promise<string> {
  if (!isSha256Hex(input.tokenHash)) throw new TypeError("createSessionHash: tokenHash must be a SHA-256 hex digest");
  if (!isUuid(input.userId)) throw new TypeError("createSessionHash: userId must be a UUID");
  const rows = await sql.$queryRaw<{ id: string }[]>`
    SELECT pc_auth_create_session(${input.userId}::uuid, ${input.tokenHash}, ${input.now}::timestamptz,
                                  ${input.pruneBefore}::timestamptz) AS id`;
  const id = rows[0]?.id;
  if (id === undefined || id === null) throw new Error("pc_auth_create_session returned no id");
  return id;
}

/** The active, non-revoked session of this cookie hash (sliding it forward when due), or null. */
export async function authenticateSessionHash(
  sql: IdentitySql,
  tokenHash: string,
  window: SessionWindow,
): Promise<SessionAuth | null> {
  if (!isSha256Hex(tokenHash)) return null;
  const rows = await sql.$queryRaw<{ session_id: string; user_id: string; email: string; is_renewed: boolean }[]>`
    SELECT session_id, user_id, email, is_renewed
      FROM pc_auth_session(${tokenHash}, ${window.now}::timestamptz, ${window.activeAfter}::timestamptz,
                           ${window.renewBefore}::timestamptz)`;
  const row = rows[0];
  return row === undefined
    ? null
    : { sessionId: row.session_id, userId: row.user_id, email: row.email, isRenewed: row.is_renewed };
}

/** Revokes the session of this cookie hash; true if it was still active. */
export async function revokeSessionHash(sql: IdentitySql, tokenHash: string, now: Date): Promise<boolean> {
  if (!isSha256Hex(tokenHash)) return false;
  const rows = await sql.$queryRaw<{ revoked: boolean }[]>`
    SELECT pc_auth_revoke_session(${tokenHash}, ${now}::timestamptz) AS revoked`;
  return rows[0]?.revoked === true;
}

/** Every workspace the user is a member of, with the role, by name. */
export async function listUserWorkspaces(sql: IdentitySql, userId: string): Promise<UserWorkspace[]> {
  if (!isUuid(userId)) return [];
  const rows = await sql.$queryRaw<{ workspace_id: string; name: string; slug: string; role: string }[]>`
    SELECT workspace_id, name, slug, role FROM pc_auth_user_workspaces(${userId}::uuid)`;
  return rows.map((row) => ({ workspaceId: row.workspace_id, name: row.name, slug: row.slug, role: row.role }));
}
