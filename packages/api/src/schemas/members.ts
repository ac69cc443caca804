import { z } from "zod";
import { emailAddress, memberRole } from "./auth.js";

export const memberView = z.object({
  userId: z.uuid(),
  email: z.string(),
  role: memberRole,
  joinedAt: z.iso.datetime(),
});
export type MemberView = z.infer<typeof memberView>;

export const inviteMemberInput = z.object({ email: emailAddress, role: memberRole.default("member") });
export type InviteMemberInput = z.input<typeof inviteMemberInput>;

export const removeMemberInput = z.object({ userId: z.uuid("userId must be a user id from members.list") });
export type RemoveMemberInput = z.input<typeof removeMemberInput>;
export const removeMemberOutput = z.object({ removed: z.literal(true) });

export const setMemberRoleInput = z.object({ userId: z.uuid("userId must be a user id from members.list"), role: memberRole });
export type SetMemberRoleInput = z.input<typeof setMemberRoleInput>;
