import { agentsRouter } from "./routers/agents.js";
import { apiKeysRouter } from "./routers/api-keys.js";
import { auditRouter } from "./routers/audit.js";
import { authRouter } from "./routers/auth.js";
import { deviceAuthRouter } from "./routers/device-auth.js";
import { eventsRouter } from "./routers/events.js";
import { invitationsRouter } from "./routers/invitations.js";
import { linksRouter } from "./routers/links.js";
import { membersRouter } from "./routers/members.js";
import { servicesRouter } from "./routers/services.js";
import { sharesRouter } from "./routers/shares.js";
import { workspacesRouter } from "./routers/workspaces.js";
import { createCallerFactory, router } from "./trpc.js";

export const appRouter = router({
  agents: agentsRouter,
  apiKeys: apiKeysRouter,
  audit: auditRouter,
  auth: authRouter,
  deviceAuth: deviceAuthRouter,
  events: eventsRouter,
  invitations: invitationsRouter,
  links: linksRouter,
  members: membersRouter,
  services: servicesRouter,
  shares: sharesRouter,
  workspaces: workspacesRouter,
});

export type AppRouter = typeof appRouter;

/** `createCaller(await createContextInner(...))`: call procedures in-process (tests, server code). */
export const createCaller = createCallerFactory(appRouter);
