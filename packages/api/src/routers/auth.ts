import {
  logoutOutput,
  requestMagicLinkInput,
  requestMagicLinkOutput,
  signedInUserOutput,
  verifyMagicLinkInput,
} from "../schemas/auth.js";
import { getSignedInUser } from "../services/auth/get-signed-in-user.js";
import { logOut } from "../services/auth/log-out.js";
import { requestMagicLink } from "../services/auth/request-magic-link.js";
import { buildClearedSessionCookie, buildSessionCookie, SESSION_COOKIE_NAME } from "../services/auth/session-cookie.js";
import { verifyMagicLink } from "../services/auth/verify-magic-link.js";
import { publicProcedure, router, userProcedure } from "../trpc.js";

export const authRouter = router({
  /** Emails a sign-in link; the same answer whether or not the address has an account. */
  requestMagicLink: publicProcedure
    .input(requestMagicLinkInput)
    .output(requestMagicLinkOutput)
    .mutation(({ ctx, input }) => requestMagicLink(ctx.deps, input, { ip: ctx.ip })),

  /** Uses a sign-in link and sets the pc_session cookie. */
  verifyMagicLink: publicProcedure
    .input(verifyMagicLinkInput)
    .output(signedInUserOutput)
    .mutation(async ({ ctx, input }) => {
      const { sessionToken, signedIn } = await verifyMagicLink(ctx.deps, input, {
        previousSessionToken: ctx.getCookie(SESSION_COOKIE_NAME),
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      });
      ctx.setCookie(buildSessionCookie(sessionToken, ctx.host));
      return signedIn;
    }),

  /** Revokes this browser's session and clears its cookie; fine to call when already signed out. */
  logout: publicProcedure.output(logoutOutput).mutation(async ({ ctx }) => {
    await logOut(ctx.deps, ctx.getCookie(SESSION_COOKIE_NAME), { ip: ctx.ip, userAgent: ctx.userAgent });
    ctx.clearCookie(buildClearedSessionCookie(ctx.host));
    return { isSignedOut: true as const };
  }),

  /** The signed-in user and their workspaces (the ids to send as x-pc-workspace). */
  me: userProcedure.output(signedInUserOutput).query(({ ctx }) => getSignedInUser(ctx.deps, ctx.principal)),
});
