import { z } from "zod";
import { userWorkspace } from "../schemas/auth.js";
import { answerInvitationInput, declineInvitationOutput, myInvitationView } from "../schemas/members.js";
import { acceptInvitation } from "../services/members/accept-invitation.js";
import { declineInvitation } from "../services/members/decline-invitation.js";
import { listMyInvitations } from "../services/members/list-my-invitations.js";
import { router, userProcedure } from "../trpc.js";

// The invitee's side: no workspace is named, since they are not a member of the inviting one yet.
export const invitationsRouter = router({
  list: userProcedure.output(z.array(myInvitationView)).query(({ ctx }) => listMyInvitations(ctx.deps, ctx.principal)),

  /** Becomes a member of the invitation's workspace; the answer is that workspace. */
  accept: userProcedure
    .input(answerInvitationInput)
    .output(userWorkspace)
    .mutation(({ ctx, input }) => acceptInvitation(ctx.deps, ctx.principal, input)),

  decline: userProcedure
    .input(answerInvitationInput)
    .output(declineInvitationOutput)
    .mutation(({ ctx, input }) => declineInvitation(ctx.deps, ctx.principal, input)),
});
