import { z } from "zod";
import {
  exposedServiceOutput,
  exposeServiceInput,
  getServiceInput,
  serviceTrafficView,
  serviceView,
  sharedServiceView,
  unexposeServiceInput,
  unexposeServiceOutput,
} from "../schemas/services.js";
import { resolvedServiceOutput, resolveServiceInput } from "../schemas/shares.js";
import { exposeService } from "../services/services/expose-service.js";
import { getService } from "../services/services/get-service.js";
import { getServiceTraffic } from "../services/services/get-service-traffic.js";
import { listServices } from "../services/services/list-services.js";
import { listSharedServices } from "../services/services/list-shared-services.js";
import { resolveService } from "../services/services/resolve-service.js";
import { unexposeService } from "../services/services/unexpose-service.js";
import { agentProcedure, router, workspaceProcedure } from "../trpc.js";

export const servicesRouter = router({
  expose: agentProcedure
    .input(exposeServiceInput)
    .output(exposedServiceOutput)
    .mutation(({ ctx, input }) => exposeService(ctx.deps, ctx.principal, input)),

  unexpose: agentProcedure
    .input(unexposeServiceInput)
    .output(unexposeServiceOutput)
    .mutation(({ ctx, input }) => unexposeService(ctx.deps, ctx.principal, input)),

  list: workspaceProcedure.output(z.array(serviceView)).query(({ ctx }) => listServices(ctx.deps, ctx.principal)),

  /** What a reach of this name would connect to: the caller's own service, or a share's. */
  resolve: workspaceProcedure
    .input(resolveServiceInput)
    .output(resolvedServiceOutput)
    .query(({ ctx, input }) => resolveService(ctx.deps, ctx.principal, input)),

  /** Other workspaces' services the calling agent reaches through shares it joined (joins are per agent). */
  shared: agentProcedure.output(z.array(sharedServiceView)).query(({ ctx }) => listSharedServices(ctx.deps, ctx.principal)),

  get: workspaceProcedure
    .input(getServiceInput)
    .output(serviceView)
    .query(({ ctx, input }) => getService(ctx.deps, ctx.principal, input)),

  /** Open connections and bytes relayed per service, from the hub's relay. */
  traffic: workspaceProcedure.output(z.array(serviceTrafficView)).query(({ ctx }) => getServiceTraffic(ctx.deps, ctx.principal)),
});
