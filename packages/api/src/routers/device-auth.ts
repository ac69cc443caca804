import { AppError } from "../errors.js";
import {
  decideDeviceAuthorizationInput,
  decideDeviceAuthorizationOutput,
  pollDeviceAuthorizationInput,
  pollDeviceAuthorizationOutput,
  startDeviceAuthorizationInput,
  startDeviceAuthorizationOutput,
} from "../schemas/device-auth.js";
import { type DeviceApprover, decideDeviceAuthorization } from "../services/device-auth/decide-device-authorization.js";
import { pollDeviceAuthorization } from "../services/device-auth/poll-device-authorization.js";
import { startDeviceAuthorization } from "../services/device-auth/start-device-authorization.js";
import { publicProcedure, router, workspaceProcedure } from "../trpc.js";

/**
 * A person of the workspace: a signed-in user, or an API key (full workspace scope) until the
 * dashboard page exists. Never an agent: an agent that could approve logins could mint agents.
 */
const approverProcedure = workspaceProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind === "agent") {
    throw new AppError(
      "FORBIDDEN",
      "An agent token cannot approve a login: open the link connect login printed and approve it signed in to the dashboard (or with an API key)",
    );
  }
  const principal: DeviceApprover = ctx.principal;
  return next({ ctx: { principal } });
});

export const deviceAuthRouter = router({
  /** `connect login`: no credentials yet, so public and rate limited per address. */
  start: publicProcedure
    .input(startDeviceAuthorizationInput)
    .output(startDeviceAuthorizationOutput)
    .mutation(({ ctx, input }) => startDeviceAuthorization(ctx.deps, input, { ip: ctx.ip })),

  /** The machine's poll; the device code (a 256-bit secret) is its credential. */
  poll: publicProcedure
    .input(pollDeviceAuthorizationInput)
    .output(pollDeviceAuthorizationOutput)
    .mutation(({ ctx, input }) => pollDeviceAuthorization(ctx.deps, input)),

  approve: approverProcedure
    .input(decideDeviceAuthorizationInput)
    .output(decideDeviceAuthorizationOutput)
    .mutation(({ ctx, input }) => decideDeviceAuthorization(ctx.deps, ctx.principal, input, "approve")),

  deny: approverProcedure
    .input(decideDeviceAuthorizationInput)
    .output(decideDeviceAuthorizationOutput)
    .mutation(({ ctx, input }) => decideDeviceAuthorization(ctx.deps, ctx.principal, input, "deny")),
});
