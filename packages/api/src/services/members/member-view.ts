import type { MemberView } from "../../schemas/members.js";
import { toMemberRole } from "../auth/user-workspace-view.js";

/** What any member may see of another: never sessions, never when they last signed in. */
export const memberViewSelect = { userId: true, role: true, createdAt: true, user: { select: { email: true } } } as const;

interface MemberViewRow {
  userId: string;
  role: string;
  createdAt: Date;
  user: { email: string };
}

export function toMemberView(row: MemberViewRow): MemberView {
  return { userId: row.userId, email: row.user.email, role: toMemberRole(row.role), joinedAt: row.createdAt.toISOString() };
}
