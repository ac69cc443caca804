import type { InvitationView } from "../../schemas/members.js";
import { toMemberRole } from "../auth/user-workspace-view.js";

/** How long an invitation stays open: long enough for a holiday, short enough to be forgotten safely. */
export const INVITATION_TTL_MS = 14 * 24 * 60 * 60 * 1000;

export const INVITATION_NOT_FOUND =
  "Invitation not found: it may have been accepted, declined, cancelled or have expired, or be addressed to another email. Ask an owner of the workspace to invite the address you sign in with";

/** Open: neither accepted, declined nor cancelled (expiry is checked against the clock). */
export const openInvitationWhere = { acceptedAt: null, declinedAt: null, cancelledAt: null } as const;

export const invitationViewSelect = { id: true, email: true, role: true, createdAt: true, expiresAt: true } as const;

interface InvitationViewRow {
  id: string;
  email: string;
  role: string;
  createdAt: Date;
  expiresAt: Date;
}

export function toInvitationView(row: InvitationViewRow): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: toMemberRole(row.role),
    invitedAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}
