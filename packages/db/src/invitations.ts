// Typed wrappers of the invitee's invitation functions (migration 20261203020000_member_invitations).
// An invitee is not a member of the inviting workspace, so their view of it goes through these
// SECURITY DEFINER functions, which match the invitation's address to the signed-in user's own.
import type { IdentitySql } from "./identity.js";
import { isUuid } from "./uuid.js";

export interface PendingInvitation {
  invitationId: string;
  workspaceId: string;
  workspaceName: string;
  workspaceSlug: string;
  role: string;
  /** Null when the inviter's account is gone. */
  invitedByEmail: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** The user's open, unexpired invitations to workspaces they are not a member of, oldest first. */
export async function listInvitationsForUser(sql: IdentitySql, userId: string, now: Date): Promise<PendingInvitation[]> {
  if (!isUuid(userId)) return [];
  const rows = await sql.$queryRaw<
    {
      invitation_id: string;
      workspace_id: string;
      workspace_name: string;
      workspace_slug: string;
      role: string;
      invited_by_email: string | null;
      created_at: Date | string;
      expires_at: Date | string;
    }[]
  >`SELECT invitation_id, workspace_id, workspace_name, workspace_slug, role, invited_by_email, created_at, expires_at
      FROM pc_invitations_for_user(${userId}::uuid, ${now.toISOString()}::timestamptz)`;
  return rows.map((row) => ({
    invitationId: row.invitation_id,
    workspaceId: row.workspace_id,
    workspaceName: row.workspace_name,
    workspaceSlug: row.workspace_slug,
    role: row.role,
    invitedByEmail: row.invited_by_email,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
  }));
}

export interface AcceptedInvitation {
  workspaceId: string;
  workspaceName: string;
  workspaceSlug: string;
  role: string;
  email: string;
}

/**
 * Accepts the invitation for `userId` and makes them a member, or null when it is not an open,
 * unexpired invitation addressed to that user's email (someone else's looks like none at all).
 */
export async function acceptInvitation(
  sql: IdentitySql,
  input: { invitationId: string; userId: string; now: Date },
): Promise<AcceptedInvitation | null> {
  if (!isUuid(input.invitationId) || !isUuid(input.userId)) return null;
  const rows = await sql.$queryRaw<
    { workspace_id: string; workspace_name: string; workspace_slug: string; role: string; email: string }[]
  >`SELECT workspace_id, workspace_name, workspace_slug, role, email
      FROM pc_accept_invitation(${input.invitationId}::uuid, ${input.userId}::uuid, ${input.now.toISOString()}::timestamptz)`;
  const row = rows[0];
  return row === undefined
    ? null
    : {
        workspaceId: row.workspace_id,
        workspaceName: row.workspace_name,
        workspaceSlug: row.workspace_slug,
        role: row.role,
        email: row.email,
      };
}

/** Declines the user's own open invitation; the workspace it was for, or null (as for accept). */
export async function declineInvitation(
  sql: IdentitySql,
  input: { invitationId: string; userId: string; now: Date },
): Promise<{ workspaceId: string; email: string } | null> {
  if (!isUuid(input.invitationId) || !isUuid(input.userId)) return null;
  const rows = await sql.$queryRaw<{ workspace_id: string; email: string }[]>`
    SELECT workspace_id, email
      FROM pc_decline_invitation(${input.invitationId}::uuid, ${input.userId}::uuid, ${input.now.toISOString()}::timestamptz)`;
  const row = rows[0];
  return row === undefined ? null : { workspaceId: row.workspace_id, email: row.email };
}
