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

/** An open invitation, as the inviting workspace sees it. */
export const invitationView = z.object({
  id: z.uuid(),
  email: z.string(),
  role: memberRole,
  invitedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type InvitationView = z.infer<typeof invitationView>;

export const cancelInvitationInput = z.object({ id: z.uuid("id must be an invitation id from members.invitations") });
export type CancelInvitationInput = z.input<typeof cancelInvitationInput>;
export const cancelInvitationOutput = z.object({ id: z.uuid(), email: z.string(), cancelledAt: z.iso.datetime() });

/** An invitation addressed to the signed-in user, as they see it before accepting. */
export const myInvitationView = z.object({
  id: z.uuid(),
  workspace: z.object({ id: z.uuid(), name: z.string(), slug: z.string() }),
  role: memberRole,
  /** Null when the inviter's account is gone. */
  invitedBy: z.string().nullable(),
  invitedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type MyInvitationView = z.infer<typeof myInvitationView>;

export const answerInvitationInput = z.object({ id: z.uuid("id must be an invitation id from invitations.list") });
export type AnswerInvitationInput = z.input<typeof answerInvitationInput>;
export const declineInvitationOutput = z.object({ declined: z.literal(true) });
