import { z } from "zod";
import {
  cancelInvitationInput,
  cancelInvitationOutput,
  invitationView,
  inviteMemberInput,
  memberView,
  removeMemberInput,
  removeMemberOutput,
  setMemberRoleInput,
} from "../schemas/members.js";
import { cancelInvitation } from "../services/members/cancel-invitation.js";
import { inviteMember } from "../services/members/invite-member.js";
import { listInvitations } from "../services/members/list-invitations.js";
import { listMembers } from "../services/members/list-members.js";
import { removeMember } from "../services/members/remove-member.js";
import { setMemberRole } from "../services/members/set-member-role.js";
import { router, workspaceProcedure } from "../trpc.js";

// Who may do what is decided in the services (owners manage, members may leave), so the rules
// hold for any caller of those functions, not only for these procedures.
export const membersRouter = router({
  list: workspaceProcedure.output(z.array(memberView)).query(({ ctx }) => listMembers(ctx.deps, ctx.principal)),

  /** A pending invitation, never a membership: the invitee accepts it (invitations.accept). */
  invite: workspaceProcedure
    .input(inviteMemberInput)
    .output(invitationView)
    .mutation(({ ctx, input }) => inviteMember(ctx.deps, ctx.principal, input)),

  invitations: workspaceProcedure.output(z.array(invitationView)).query(({ ctx }) => listInvitations(ctx.deps, ctx.principal)),

  cancelInvitation: workspaceProcedure
    .input(cancelInvitationInput)
    .output(cancelInvitationOutput)
    .mutation(({ ctx, input }) => cancelInvitation(ctx.deps, ctx.principal, input)),

  remove: workspaceProcedure
    .input(removeMemberInput)
    .output(removeMemberOutput)
    .mutation(({ ctx, input }) => removeMember(ctx.deps, ctx.principal, input)),

  setRole: workspaceProcedure
    .input(setMemberRoleInput)
    .output(memberView)
    .mutation(({ ctx, input }) => setMemberRole(ctx.deps, ctx.principal, input)),
});
