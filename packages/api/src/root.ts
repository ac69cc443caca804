import { agentsRouter } from "./routers/agents.js";
import { eventsRouter } from "./routers/events.js";
import { servicesRouter } from "./routers/services.js";
import { createCallerFactory, router } from "./trpc.js";

export const appRouter = router({
  agents: agentsRouter,
  events: eventsRouter,
  services: servicesRouter,
});

export type AppRouter = typeof appRouter;

/** `createCaller(await createContextInner(...))`: call procedures in-process (tests, server code). */
export const createCaller = createCallerFactory(appRouter);
